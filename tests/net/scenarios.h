// Scenarios for the network tests, built in code: each bridge policy shape
// the spec names, and the mixed scenario the namespace tests run probes in.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "manifest/model.h"

namespace meros::net::test {

struct BridgeSpec {
  std::string name;
  std::string subnet;
  PolicyType policy = PolicyType::isolated;
  std::optional<std::vector<int>> ports;
  std::optional<std::vector<std::string>> ips;
  bool icmp = true;
};

struct VmSpec {
  std::string name;
  std::vector<std::pair<std::string, std::string>> networks;  // bridge, address
};

Scenario make_scenario(const std::string& name, const std::vector<BridgeSpec>& bridges, const std::vector<VmSpec>& vms);

// The policy shapes of the golden tests.
Scenario isolated_only();
Scenario host_access_open();
Scenario host_access_filtered();  // allowed_ports + allowed_ips + allow_icmp: false
Scenario two_host_access();       // inter-bridge rules
Scenario mixed();                 // everything at once

// The namespace tests' scenario:
//   lan  host-access 10.0.10.0/24, ports 22 80, sources 10.0.10.0/28, no icmp
//        web 10.0.10.2, peer 10.0.10.3, outsider 10.0.10.100
//   app  host-access 10.0.30.0/24, no filters: api 10.0.30.2
//   dmz  isolated    10.0.20.0/24: db 10.0.20.2
Scenario probe_scenario();

}  // namespace meros::net::test
