#include "runner/case_facts.h"

#include <algorithm>

namespace meros {
namespace {

std::string join_ports(const std::optional<std::vector<int>>& ports) {
  if (!ports) return "all";
  if (ports->empty()) return "none";
  std::string text;
  for (int port : *ports) text += (text.empty() ? "" : ", ") + std::to_string(port);
  return text;
}

std::string join_cidrs(const std::optional<std::vector<Cidr>>& cidrs) {
  if (!cidrs) return "all";
  if (cidrs->empty()) return "none";
  std::string text;
  for (const Cidr& cidr : *cidrs) text += (text.empty() ? "" : ", ") + cidr.str();
  return text;
}

void add_unique(std::vector<std::string>& names, const std::string& name) {
  if (!name.empty() && std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
}

}  // namespace

Topology describe_topology(const Scenario& scenario) {
  Topology topology;
  for (const Bridge& bridge : scenario.bridges) {
    topology.bridges.push_back({bridge.name, bridge.subnet.str(), bridge.gateway().str(),
                                bridge.policy == PolicyType::host_access ? "host-access" : "isolated",
                                join_ports(bridge.allowed_ports), join_cidrs(bridge.allowed_ips), bridge.allow_icmp});
  }
  for (const VirtualMachine& vm : scenario.vms) {
    TopologyVm entry{vm.name, vm.image, {}};
    for (const NetworkAttachment& net : vm.networks) entry.addresses.push_back({net.bridge, net.ip ? net.ip->str() : ""});
    topology.vms.push_back(std::move(entry));
  }
  return topology;
}

void add_step_facts(std::vector<CaseResult>& cases, const TestStep& step, double started) {
  bool rows = step.kind == StepKind::matrix && cases.size() == step.checks.size();
  for (std::size_t i = 0; i < cases.size(); ++i) {
    CaseResult& c = cases[i];
    c.kind = std::string(to_string(step.kind));
    c.step = step.name;
    c.line = rows ? step.checks[i].mark.line : step.mark.line;
    c.started = started;
    // The row as the manifest wrote it, for the report's from x to grid.
    const ReachCheck* check = rows ? &step.checks[i] : step.kind == StepKind::reach && !step.checks.empty() ? &step.checks[0] : nullptr;
    if (check)
      c.extra["check"] = {{"from", check->from.text}, {"to", check->to.text}, {"target", check->target.str()},
                          {"expect", std::string(to_string(check->expect))}};
  }
}

std::vector<std::string> step_vms(const TestStep& step) {
  std::vector<std::string> vms;
  add_unique(vms, step.vm);
  for (const ReachCheck& check : step.checks) {
    if (check.from.kind == Endpoint::Kind::vm) add_unique(vms, check.from.vm);
    if (check.to.kind == Endpoint::Kind::vm) add_unique(vms, check.to.vm);
  }
  return vms;
}

void attach_evidence(CaseResult& c, const std::vector<std::string>& vms, const std::filesystem::path& scenario_artifacts,
                     const std::string& scenario) {
  if (c.status != CaseStatus::failed && c.status != CaseStatus::errored) return;
  for (const std::string& vm : vms) {
    for (const char* suffix : {".console.log", ".commands.log"}) {
      std::string file = vm + suffix;
      std::error_code ec;
      if (!std::filesystem::is_regular_file(scenario_artifacts / file, ec)) continue;
      std::string attachment = scenario + "/" + file;
      if (std::find(c.attachments.begin(), c.attachments.end(), attachment) == c.attachments.end())
        c.attachments.push_back(attachment);
    }
  }
}

}  // namespace meros
