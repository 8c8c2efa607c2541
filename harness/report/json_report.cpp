#include "report/json_report.h"

#include "report/text.h"

namespace meros {
namespace {

using nlohmann::json;

// An array of pairs rather than an object: property order is meaningful.
json properties_json(const std::vector<Property>& properties) {
  json list = json::array();
  for (const Property& property : properties) {
    list.push_back({{"name", property.name}, {"value", property.value}});
  }
  return list;
}

json counts_json(const Counts& counts, double time) {
  return {{"tests", counts.tests},     {"passed", counts.passed()},
          {"failures", counts.failures}, {"errors", counts.errors},
          {"skipped", counts.skipped}, {"flaky", counts.flaky},
          {"time", round_seconds(time)}};
}

json attempt_json(const Attempt& attempt) {
  return {{"status", to_string(attempt.status)},
          {"time", round_seconds(attempt.time)},
          {"message", one_line(attempt.message)}};
}

json case_json(const CaseResult& c) {
  json attempts = json::array();
  for (const Attempt& attempt : c.attempts) attempts.push_back(attempt_json(attempt));
  return {{"name", c.name},
          {"classname", c.classname},
          {"status", to_string(c.status)},
          {"time", round_seconds(c.time)},
          {"message", one_line(c.message)},
          {"detail", keep_tail(c.detail)},
          {"stdout", keep_tail(c.stdout_text)},
          {"stderr", keep_tail(c.stderr_text)},
          {"expected", c.expected},
          {"observed", c.observed},
          {"retries", c.retries},
          {"attempts", attempts},
          {"flaky", c.flaky},
          {"attachments", c.attachments},
          {"extra", c.extra}};
}

json suite_json(const SuiteResult& suite) {
  json cases = json::array();
  for (const CaseResult& c : suite.cases) cases.push_back(case_json(c));
  return {{"name", suite.name},
          {"path", suite.path},
          {"timestamp", suite.timestamp},
          {"time", round_seconds(suite.time)},
          {"properties", properties_json(suite.properties)},
          {"summary", counts_json(count_cases(suite), suite.time)},
          {"system_out", keep_tail(suite.system_out)},
          {"system_err", keep_tail(suite.system_err)},
          {"cases", cases}};
}

}  // namespace

nlohmann::json to_json(const RunReport& report) {
  json suites = json::array();
  for (const SuiteResult& suite : report.suites) suites.push_back(suite_json(suite));
  return {{"format", "meros-test report"},
          {"version", kJsonReportVersion},
          {"run_id", report.run_id},
          {"started", report.started},
          {"hostname", report.hostname},
          {"artifacts_dir", report.artifacts_dir},
          {"properties", properties_json(report.properties)},
          {"summary", counts_json(count_cases(report), total_time(report))},
          {"suites", suites}};
}

std::string render_json(const RunReport& report) {
  return to_json(report).dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace meros
