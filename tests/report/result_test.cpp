#include "report/result.h"

#include <gtest/gtest.h>

#include <chrono>

#include "sample_report.h"

namespace meros {
namespace {

using testing::empty_report;
using testing::sample_report;

TEST(ResultModel, CountsEachStatusPerSuite) {
  Counts counts = count_cases(testing::web_firewall_suite());
  EXPECT_EQ(counts.tests, 5);
  EXPECT_EQ(counts.failures, 1);
  EXPECT_EQ(counts.errors, 1);
  EXPECT_EQ(counts.skipped, 1);
  EXPECT_EQ(counts.flaky, 1);
  EXPECT_EQ(counts.passed(), 2);
}

TEST(ResultModel, CountsTheWholeRun) {
  Counts counts = count_cases(sample_report());
  EXPECT_EQ(counts.tests, 6);
  EXPECT_EQ(counts.failures, 2);
  EXPECT_EQ(counts.errors, 1);
  EXPECT_EQ(counts.skipped, 1);
  EXPECT_EQ(counts.flaky, 1);
  EXPECT_EQ(counts.passed(), 2);
  EXPECT_FALSE(all_passed(counts));
}

TEST(ResultModel, EmptyRunCountsNothingAndPasses) {
  Counts counts = count_cases(empty_report());
  EXPECT_EQ(counts.tests, 0);
  EXPECT_EQ(counts.passed(), 0);
  EXPECT_TRUE(all_passed(counts));
  EXPECT_EQ(total_time(empty_report()), 0);
}

TEST(ResultModel, SkipsDoNotFailARun) {
  SuiteResult suite;
  suite.cases = {testing::make_case("a", "s", CaseStatus::skipped, 0),
                 testing::make_case("b", "s", CaseStatus::passed, 1)};
  EXPECT_TRUE(all_passed(count_cases(suite)));
}

TEST(ResultModel, FlakyFlagOnAFailedCaseIsNotCountedAsFlaky) {
  SuiteResult suite;
  CaseResult c = testing::make_case("a", "s", CaseStatus::failed, 0);
  c.flaky = true;
  suite.cases = {c};
  EXPECT_EQ(count_cases(suite).flaky, 0);
}

TEST(ResultModel, TotalTimeAddsSuiteTimes) {
  EXPECT_DOUBLE_EQ(total_time(sample_report()), 42.5 + 3.0 + 0.25);
}

TEST(ResultModel, StatusNames) {
  EXPECT_EQ(to_string(CaseStatus::passed), "passed");
  EXPECT_EQ(to_string(CaseStatus::failed), "failed");
  EXPECT_EQ(to_string(CaseStatus::errored), "errored");
  EXPECT_EQ(to_string(CaseStatus::skipped), "skipped");
}

TEST(ResultModel, FormatsTimestampsAsUtcIso8601) {
  auto when = std::chrono::system_clock::time_point(std::chrono::seconds(1714564800));
  EXPECT_EQ(format_iso8601(when), "2024-05-01T12:00:00Z");
}

TEST(ResultModel, HostnameIsNeverEmpty) { EXPECT_FALSE(current_hostname().empty()); }

}  // namespace
}  // namespace meros
