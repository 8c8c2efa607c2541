// Judging what a step observed against what the manifest expects: run
// steps (exit code, stdout/stderr substrings and regexes) and reachability
// rows (allow/reject/drop/deny against open/refused/unreachable/timeout).
// Pure functions; the wording here is what users read in reports.
#pragma once

#include <chrono>
#include <string>

#include "check/ssh.h"
#include "guest/probe.h"
#include "manifest/model.h"

namespace meros {

struct Verdict {
  bool passed = false;
  std::string expected;  // "drop", "exit 0, stdout contains 'Linux'"
  std::string observed;  // "open in 3 ms", "exit 1"
  std::string message;   // one line for the report: "expected drop, observed open in 3 ms"
};

// allow = open; reject = refused or unreachable; drop = timeout; deny = any
// of reject or drop.
bool expectation_met(Expect expect, guest::Observed observed);
std::string describe_observation(guest::Observed observed, std::chrono::microseconds elapsed);
Verdict judge_reach(Expect expect, guest::Observed observed, std::chrono::microseconds elapsed);

std::string describe_expectation(const OutputExpectation& expect);
// Regexes match anywhere (search), '^'/'$' at line ends.
Verdict judge_run(const OutputExpectation& expect, const CommandResult& result, std::chrono::milliseconds timeout);

}  // namespace meros
