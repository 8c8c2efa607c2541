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
          {"stdout_dropped", c.stdout_dropped},
          {"stderr_dropped", c.stderr_dropped},
          {"expected", c.expected},
          {"observed", c.observed},
          {"retries", c.retries},
          {"attempts", attempts},
          {"flaky", c.flaky},
          {"attachments", c.attachments},
          {"extra", c.extra},
          {"kind", c.kind},
          {"step", c.step},
          {"line", c.line},
          {"started", round_seconds(c.started)}};
}

json timeline_json(const std::vector<TimelineEvent>& events) {
  json list = json::array();
  for (const TimelineEvent& e : events)
    list.push_back({{"name", e.name}, {"started", round_seconds(e.started)}, {"time", round_seconds(e.time)}, {"ok", e.ok}});
  return list;
}

json topology_json(const Topology& topology) {
  json bridges = json::array();
  for (const TopologyBridge& b : topology.bridges)
    bridges.push_back({{"name", b.name}, {"subnet", b.subnet}, {"gateway", b.gateway}, {"policy", b.policy},
                       {"allowed_ports", b.allowed_ports}, {"allowed_ips", b.allowed_ips}, {"allow_icmp", b.allow_icmp}});
  json vms = json::array();
  for (const TopologyVm& vm : topology.vms) {
    json addresses = json::array();
    for (const TopologyAddress& a : vm.addresses) addresses.push_back({{"bridge", a.bridge}, {"address", a.address}});
    vms.push_back({{"name", vm.name}, {"image", vm.image}, {"addresses", addresses}});
  }
  return {{"bridges", bridges}, {"vms", vms}};
}

json hooks_json(const std::vector<HookResult>& hooks) {
  json list = json::array();
  for (const HookResult& h : hooks) {
    json entry = {{"event", h.event}, {"hook", h.hook}, {"ok", h.ok}, {"output", h.output}, {"log", h.log}};
    if (!h.vm.empty()) entry["vm"] = h.vm;
    if (!h.ok) entry["message"] = h.message;
    list.push_back(entry);
  }
  return list;
}

json suite_json(const SuiteResult& suite) {
  json cases = json::array();
  for (const CaseResult& c : suite.cases) cases.push_back(case_json(c));
  json out = {{"name", suite.name},
          {"path", suite.path},
          {"timestamp", suite.timestamp},
          {"time", round_seconds(suite.time)},
          {"properties", properties_json(suite.properties)},
          {"summary", counts_json(count_cases(suite), suite.time)},
          {"system_out", keep_tail(suite.system_out)},
          {"system_err", keep_tail(suite.system_err)},
          {"cases", cases},
          {"timeline", timeline_json(suite.timeline)},
          {"topology", topology_json(suite.topology)}};
  // Only scenarios with hooks carry the key, so other reports stay as they were.
  if (!suite.hooks.empty()) out["hooks"] = hooks_json(suite.hooks);
  return out;
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
