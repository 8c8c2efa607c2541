// Carrying out the test steps of a running scenario: run, reach, matrix,
// push, pull and link, each turned into one or more report cases.
#pragma once

#include <chrono>
#include <vector>

#include "report/result.h"
#include "runner/session.h"

namespace meros {

// The cases a step produced (a matrix: one a row). Never throws; what the
// harness could not do is an errored case.
std::vector<CaseResult> run_step(ScenarioSession& session, const TestStep& step);

// The last lines of each named VM's serial console, for failure evidence.
std::string console_evidence(ScenarioSession& session, const std::vector<std::string>& vms, std::size_t lines = 50);

}  // namespace meros
