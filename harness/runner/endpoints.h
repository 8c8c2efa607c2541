// Resolves the two ends of a reachability check to what a probe needs:
// who probes (a VM over SSH, or the harness from the scenario's namespace)
// and which address it aims at (scenario-format.md, "Reachability
// semantics"). Pure; reads the scenario and its network plan.
#pragma once

#include <string>

#include "manifest/model.h"
#include "net/topology.h"

namespace meros {

struct ResolvedCheck {
  bool from_host = false;   // probed by the harness inside the namespace
  std::string source_vm;    // when !from_host
  std::string target_vm;    // empty when the target is the host or an address
  Ipv4 target_address;
  bool target_is_host = false;
};

Result<ResolvedCheck> resolve_check(const ReachCheck& check, const Scenario& scenario, const net::Topology& topology);

}  // namespace meros
