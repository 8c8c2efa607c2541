#include <gtest/gtest.h>

#include "check/verdict.h"

namespace meros {
namespace {

using guest::Observed;
using std::chrono::microseconds;

TEST(ReachVerdict, MapsEachExpectationToItsObservations) {
  EXPECT_TRUE(expectation_met(Expect::allow, Observed::open));
  EXPECT_FALSE(expectation_met(Expect::allow, Observed::timeout));
  EXPECT_TRUE(expectation_met(Expect::reject, Observed::refused));
  EXPECT_TRUE(expectation_met(Expect::reject, Observed::unreachable));
  EXPECT_FALSE(expectation_met(Expect::reject, Observed::timeout));
  EXPECT_TRUE(expectation_met(Expect::drop, Observed::timeout));
  EXPECT_FALSE(expectation_met(Expect::drop, Observed::refused));
  EXPECT_TRUE(expectation_met(Expect::deny, Observed::refused));
  EXPECT_TRUE(expectation_met(Expect::deny, Observed::timeout));
  EXPECT_FALSE(expectation_met(Expect::deny, Observed::open));
}

TEST(ReachVerdict, SaysWhatWasExpectedAndObserved) {
  Verdict v = judge_reach(Expect::drop, Observed::open, microseconds(3200));
  EXPECT_FALSE(v.passed);
  EXPECT_EQ(v.message, "expected drop, observed open in 3 ms");
  EXPECT_EQ(judge_reach(Expect::drop, Observed::timeout, microseconds(1'000'400)).observed, "timeout after 1000 ms");
}

TEST(RunVerdict, ChecksExitCodeFirst) {
  OutputExpectation expect;
  CommandResult result;
  result.exit_code = 1;
  Verdict v = judge_run(expect, result, std::chrono::seconds(60));
  EXPECT_FALSE(v.passed);
  EXPECT_EQ(v.message, "exit 1, expected exit 0");
  EXPECT_EQ(v.observed, "exit 1");
}

TEST(RunVerdict, MatchesRegexesAtLineEnds) {
  OutputExpectation expect;
  expect.stdout_matches = "^vm1$";
  CommandResult result;
  result.exit_code = 0;
  result.stdout_text = "vm1\n";
  EXPECT_TRUE(judge_run(expect, result, std::chrono::seconds(60)).passed);
  result.stdout_text = "xvm1\n";
  EXPECT_EQ(judge_run(expect, result, std::chrono::seconds(60)).message, "stdout does not match /^vm1$/");
}

TEST(RunVerdict, UsesTheParsersCompiledRegex) {
  OutputExpectation expect;
  expect.stdout_matches = "^b+$";
  auto compiled = compile_expect_regex(*expect.stdout_matches);
  ASSERT_TRUE(compiled);
  expect.stdout_regex = *compiled;
  CommandResult result;
  result.exit_code = 0;
  result.stdout_text = "a\nbbb\nc";
  EXPECT_TRUE(judge_run(expect, result, std::chrono::seconds(60)).passed);
}

// RE2 matches in linear time: std::regex overflowed the stack on a long
// line with a pattern like this one.
TEST(RunVerdict, MatchesLongOutputWithoutRecursion) {
  OutputExpectation expect;
  expect.stdout_matches = "(a|b)*c";
  CommandResult result;
  result.exit_code = 0;
  result.stdout_text = std::string(8 << 20, 'a') + "c";
  EXPECT_TRUE(judge_run(expect, result, std::chrono::seconds(60)).passed);
  result.stdout_text.pop_back();
  EXPECT_FALSE(judge_run(expect, result, std::chrono::seconds(60)).passed);
}

TEST(ExpectRegex, CompileErrorsAreRe2sOwnWords) {
  auto unbalanced = compile_expect_regex("([a-z]+");
  ASSERT_FALSE(unbalanced);
  EXPECT_EQ(unbalanced.error().message, "missing ): ([a-z]+");
  EXPECT_EQ(compile_expect_regex("*error").error().message, "no argument for repetition operator: *");
  EXPECT_EQ(compile_expect_regex("(a)\\1").error().message, "invalid escape sequence: \\1");
  EXPECT_EQ(compile_expect_regex("(?=x)").error().message, "invalid perl operator: (?=");
  EXPECT_EQ(compile_expect_regex(std::string(1001, 'a')).error().message, "it is longer than 1000 characters");
  EXPECT_TRUE(compile_expect_regex("\\d+\\s\\w\\b"));
}

TEST(RunVerdict, ReportsSubstringsAndTimeouts) {
  OutputExpectation expect;
  expect.exit_code.reset();
  expect.stderr_contains = "denied";
  CommandResult result;
  result.exit_code = 2;
  EXPECT_EQ(judge_run(expect, result, std::chrono::seconds(5)).message, "stderr does not contain 'denied'");
  result.timed_out = true;
  Verdict v = judge_run(expect, result, std::chrono::seconds(5));
  EXPECT_FALSE(v.passed);
  EXPECT_EQ(v.message, "timed out after 5s (the command was killed)");
  EXPECT_EQ(describe_expectation(expect), "stderr contains 'denied'");
}

}  // namespace
}  // namespace meros
