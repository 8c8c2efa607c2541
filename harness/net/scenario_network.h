// The "network" stage of the pipeline in one object: a scenario's
// namespace, the links of its plan, the generated bridge policy and the
// user's host.firewall on top.
#pragma once

#include <filesystem>
#include <memory>
#include <string_view>

#include "manifest/model.h"
#include "net/netlink.h"
#include "net/netns.h"
#include "net/nftables.h"
#include "net/policy.h"
#include "net/topology.h"
#include "util/result.h"

namespace meros::net {

// Owns everything network a running scenario has. Move-only; stop() or
// the destructor removes the namespace, and with it every link and rule.
// VMs must be stopped first: an open tap keeps the namespace alive.
class ScenarioNetwork {
 public:
  // Plans, creates the namespace, sets up links, applies the policy and
  // loads host.firewall. On failure nothing is left behind.
  static Result<ScenarioNetwork> start(const Scenario& scenario, std::string_view run_id,
                                       const NetworkOptions& options = {});
  // The same for a topology planned beforehand (plan_topology).
  static Result<ScenarioNetwork> start(const Scenario& scenario, Topology topology, const NetworkOptions& options = {});

  ScenarioNetwork(ScenarioNetwork&&) noexcept = default;
  ScenarioNetwork& operator=(ScenarioNetwork&&) = delete;
  ~ScenarioNetwork();

  const NetworkNamespace& ns() const { return *ns_; }
  const Topology& topology() const { return topology_; }
  const Policy& policy() const { return policy_; }
  Netlink& netlink() { return *netlink_; }
  Nftables& nftables() { return *nftables_; }

  // Writes nft-ruleset.txt (`nft list ruleset` with counters),
  // nft-policy.nft (the generated policy) and nft-counters.json (the
  // generated rules' counters) into dir.
  Status write_artifacts(const std::filesystem::path& dir);

  Status stop();

 private:
  ScenarioNetwork() = default;

  Topology topology_;
  Policy policy_;
  // Declared first, destroyed last: the others borrow it.
  std::unique_ptr<NetworkNamespace> ns_;
  std::unique_ptr<Netlink> netlink_;
  std::unique_ptr<Nftables> nftables_;
};

// Checks that a listing still holds the generated table: a host.firewall
// that says `flush ruleset` would have removed it.
Status check_policy_present(Nftables& nftables, const Policy& policy);

}  // namespace meros::net
