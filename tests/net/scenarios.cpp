#include "scenarios.h"

#include <stdexcept>

namespace meros::net::test {

namespace {

template <class T>
T must(Result<T> result) {
  if (!result) throw std::runtime_error(result.error().message);
  return std::move(result.value());
}

}  // namespace

Scenario make_scenario(const std::string& name, const std::vector<BridgeSpec>& bridges, const std::vector<VmSpec>& vms) {
  Scenario scenario;
  scenario.name = name;
  for (const auto& spec : bridges) {
    Bridge bridge;
    bridge.name = spec.name;
    bridge.subnet = must(parse_cidr(spec.subnet));
    bridge.policy = spec.policy;
    bridge.allowed_ports = spec.ports;
    if (spec.ips) {
      bridge.allowed_ips.emplace();
      for (const auto& ip : *spec.ips) bridge.allowed_ips->push_back(must(parse_cidr_or_address(ip)));
    }
    bridge.allow_icmp = spec.icmp;
    scenario.bridges.push_back(bridge);
  }
  for (const auto& spec : vms) {
    VirtualMachine vm;
    vm.name = spec.name;
    for (const auto& [bridge, address] : spec.networks) {
      NetworkAttachment attachment;
      attachment.bridge = bridge;
      attachment.ip = must(parse_ipv4(address));
      vm.networks.push_back(attachment);
    }
    scenario.vms.push_back(vm);
  }
  return scenario;
}

Scenario isolated_only() {
  return make_scenario("isolated-only", {{"dmz", "10.0.20.0/24", PolicyType::isolated}},
                       {{"db", {{"dmz", "10.0.20.2"}}}, {"cache", {{"dmz", "10.0.20.3"}}}});
}

Scenario host_access_open() {
  return make_scenario("host-access-open", {{"lan", "10.0.10.0/24", PolicyType::host_access}},
                       {{"web", {{"lan", "10.0.10.2"}}}});
}

Scenario host_access_filtered() {
  return make_scenario("host-access-filtered",
                       {{"lan", "10.0.10.0/24", PolicyType::host_access, std::vector<int>{443, 22, 80},
                         std::vector<std::string>{"10.0.10.0/28", "10.0.10.200"}, false}},
                       {{"web", {{"lan", "10.0.10.2"}}}, {"client", {{"lan", "10.0.10.3"}}}});
}

Scenario two_host_access() {
  return make_scenario("two-host-access",
                       {{"lan", "10.0.10.0/24", PolicyType::host_access, std::vector<int>{80}},
                        {"app", "10.0.30.0/24", PolicyType::host_access, std::nullopt,
                         std::vector<std::string>{"10.0.30.0/25", "10.0.30.128/26"}}},
                       {{"web", {{"lan", "10.0.10.2"}}}, {"api", {{"app", "10.0.30.2"}}}});
}

Scenario mixed() {
  return make_scenario(
      "mixed",
      {{"lan", "10.0.10.0/24", PolicyType::host_access, std::vector<int>{22, 80, 443}, std::vector<std::string>{"10.0.10.0/28"}},
       {"dmz", "10.0.20.0/24", PolicyType::isolated},
       {"app", "10.0.30.0/24", PolicyType::host_access, std::nullopt, std::nullopt, false},
       {"a-very-long-bridge-name", "10.0.40.0/24", PolicyType::host_access, std::vector<int>{53}}},
      {{"web", {{"lan", "10.0.10.2"}, {"dmz", "10.0.20.2"}}},
       {"api", {{"app", "10.0.30.2"}}},
       {"monitoring-collector", {{"a-very-long-bridge-name", "10.0.40.2"}, {"lan", "10.0.10.3"}}}});
}

Scenario probe_scenario() {
  return make_scenario("probe",
                       {{"lan", "10.0.10.0/24", PolicyType::host_access, std::vector<int>{22, 80},
                         std::vector<std::string>{"10.0.10.0/28"}, false},
                        {"app", "10.0.30.0/24", PolicyType::host_access},
                        {"dmz", "10.0.20.0/24", PolicyType::isolated}},
                       {{"web", {{"lan", "10.0.10.2"}}},
                        {"peer", {{"lan", "10.0.10.3"}}},
                        {"outsider", {{"lan", "10.0.10.100"}}},
                        {"api", {{"app", "10.0.30.2"}}},
                        {"db", {{"dmz", "10.0.20.2"}}}});
}

}  // namespace meros::net::test
