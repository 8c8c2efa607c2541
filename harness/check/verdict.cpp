#include "check/verdict.h"

#include "util/text.h"

namespace meros {

bool expectation_met(Expect expect, guest::Observed observed) {
  using guest::Observed;
  switch (expect) {
    case Expect::allow: return observed == Observed::open;
    case Expect::reject: return observed == Observed::refused || observed == Observed::unreachable;
    case Expect::drop: return observed == Observed::timeout;
    case Expect::deny: return observed != Observed::open;
  }
  return false;
}

std::string describe_observation(guest::Observed observed, std::chrono::microseconds elapsed) {
  long long ms = elapsed.count() / 1000;
  std::string time = ms > 0 ? std::to_string(ms) + " ms" : "under 1 ms";
  return guest::to_string(observed) + (observed == guest::Observed::timeout ? " after " : " in ") + time;
}

Verdict judge_reach(Expect expect, guest::Observed observed, std::chrono::microseconds elapsed) {
  Verdict verdict;
  verdict.passed = expectation_met(expect, observed);
  verdict.expected = std::string(to_string(expect));
  verdict.observed = describe_observation(observed, elapsed);
  verdict.message = "expected " + verdict.expected + ", observed " + verdict.observed;
  return verdict;
}

std::string describe_expectation(const OutputExpectation& expect) {
  std::string out;
  auto add = [&](const std::string& part) { out += (out.empty() ? "" : ", ") + part; };
  if (expect.exit_code) add("exit " + std::to_string(*expect.exit_code));
  if (expect.stdout_contains) add("stdout contains " + quote(*expect.stdout_contains));
  if (expect.stdout_matches) add("stdout matches /" + *expect.stdout_matches + "/");
  if (expect.stderr_contains) add("stderr contains " + quote(*expect.stderr_contains));
  if (expect.stderr_matches) add("stderr matches /" + *expect.stderr_matches + "/");
  return out.empty() ? "anything" : out;
}

namespace {

// With the parser's compiled pattern; an expectation made another way
// (tests, lifecycle commands) is compiled here. A pattern that does not
// compile matches nothing.
bool regex_found(const ExpectRegex& compiled, const std::string& pattern, const std::string& text) {
  if (compiled) return expect_regex_found(compiled, text);
  auto regex = compile_expect_regex(pattern);
  return regex && expect_regex_found(*regex, text);
}

// The first way result falls short of expect, or "".
std::string first_shortfall(const OutputExpectation& expect, const CommandResult& result) {
  if (expect.exit_code && result.exit_code != *expect.exit_code)
    return "exit " + std::to_string(result.exit_code) + (result.exit_code == 127 ? " (command not found)" : "") +
           ", expected exit " + std::to_string(*expect.exit_code);
  if (expect.stdout_contains && result.stdout_text.find(*expect.stdout_contains) == std::string::npos)
    return "stdout does not contain " + quote(*expect.stdout_contains);
  if (expect.stdout_matches && !regex_found(expect.stdout_regex, *expect.stdout_matches, result.stdout_text))
    return "stdout does not match /" + *expect.stdout_matches + "/";
  if (expect.stderr_contains && result.stderr_text.find(*expect.stderr_contains) == std::string::npos)
    return "stderr does not contain " + quote(*expect.stderr_contains);
  if (expect.stderr_matches && !regex_found(expect.stderr_regex, *expect.stderr_matches, result.stderr_text))
    return "stderr does not match /" + *expect.stderr_matches + "/";
  return "";
}

}  // namespace

Verdict judge_run(const OutputExpectation& expect, const CommandResult& result, std::chrono::milliseconds timeout) {
  Verdict verdict;
  verdict.expected = describe_expectation(expect);
  if (result.timed_out) {
    verdict.observed = "no exit within " + std::to_string(timeout.count() / 1000.0).substr(0, 4) + " s";
    verdict.message = "timed out after " + format_duration(timeout) + " (the command was killed)";
    return verdict;
  }
  verdict.observed = "exit " + std::to_string(result.exit_code);
  std::string shortfall = first_shortfall(expect, result);
  verdict.passed = shortfall.empty();
  verdict.message = shortfall;
  return verdict;
}

}  // namespace meros
