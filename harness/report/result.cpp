#include "report/result.h"

#include <unistd.h>

#include <climits>
#include <ctime>
#include <filesystem>

namespace meros {

std::string_view to_string(CaseStatus status) {
  switch (status) {
    case CaseStatus::passed: return "passed";
    case CaseStatus::failed: return "failed";
    case CaseStatus::errored: return "errored";
    case CaseStatus::skipped: return "skipped";
  }
  return "unknown";
}

Counts& Counts::operator+=(const Counts& other) {
  tests += other.tests;
  failures += other.failures;
  errors += other.errors;
  skipped += other.skipped;
  flaky += other.flaky;
  return *this;
}

Counts count_cases(const SuiteResult& suite) {
  Counts counts;
  for (const CaseResult& c : suite.cases) {
    ++counts.tests;
    if (c.status == CaseStatus::failed) ++counts.failures;
    if (c.status == CaseStatus::errored) ++counts.errors;
    if (c.status == CaseStatus::skipped) ++counts.skipped;
    if (c.status == CaseStatus::passed && c.flaky) ++counts.flaky;
  }
  return counts;
}

Counts count_cases(const RunReport& report) {
  Counts counts;
  for (const SuiteResult& suite : report.suites) counts += count_cases(suite);
  return counts;
}

bool all_passed(const Counts& counts) { return counts.failures == 0 && counts.errors == 0; }

double total_time(const RunReport& report) {
  double sum = 0;
  for (const SuiteResult& suite : report.suites) sum += suite.time;
  return sum;
}

std::string attachment_path(const RunReport& report, const std::string& attachment) {
  namespace fs = std::filesystem;
  fs::path full = report.artifacts_dir.empty() ? fs::path(attachment) : fs::path(report.artifacts_dir) / attachment;
  full = full.lexically_normal();
  if (report.working_dir.empty() || !full.is_absolute()) return full.string();
  fs::path relative = full.lexically_relative(report.working_dir);
  return relative.empty() ? full.string() : relative.string();
}

std::string format_iso8601(std::chrono::system_clock::time_point when) {
  std::time_t seconds = std::chrono::system_clock::to_time_t(when);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

std::string current_hostname() {
  char name[HOST_NAME_MAX + 1] = {};
  if (gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "localhost";
  return name;
}

}  // namespace meros
