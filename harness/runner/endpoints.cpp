#include "runner/endpoints.h"

#include "util/text.h"

namespace meros {
namespace {

Cidr bridge_subnet(const net::BridgeLink& bridge) {
  Cidr subnet{bridge.gateway, bridge.prefix};
  subnet.network.value &= subnet.mask();
  return subnet;
}

// The bridges an endpoint is on: one for vm@bridge, all of a VM's otherwise.
std::vector<const net::TapLink*> endpoint_links(const Endpoint& endpoint, const net::Topology& topology) {
  std::vector<const net::TapLink*> links;
  const net::VmLinks* vm = topology.find_vm(endpoint.vm);
  if (!vm) return links;
  for (const auto& tap : vm->networks)
    if (endpoint.bridge.empty() || tap.bridge == endpoint.bridge) links.push_back(&tap);
  return links;
}

// The link of `endpoint` to use against the other end: one on a bridge
// both share, else its first.
const net::TapLink* choose_link(const Endpoint& endpoint, const Endpoint& other, const net::Topology& topology) {
  auto mine = endpoint_links(endpoint, topology);
  if (mine.empty()) return nullptr;
  if (other.kind == Endpoint::Kind::vm) {
    auto theirs = endpoint_links(other, topology);
    for (const auto* link : mine)
      for (const auto* their : theirs)
        if (link->bridge == their->bridge) return link;
  }
  if (other.kind == Endpoint::Kind::address)
    for (const auto* link : mine)
      if (const auto* bridge = topology.find_bridge(link->bridge); bridge && bridge_subnet(*bridge).contains(other.address))
        return link;
  return mine.front();
}

}  // namespace

Result<ResolvedCheck> resolve_check(const ReachCheck& check, const Scenario& scenario, const net::Topology& topology) {
  (void)scenario;
  ResolvedCheck resolved;
  resolved.from_host = check.from.kind == Endpoint::Kind::host;
  if (!resolved.from_host) resolved.source_vm = check.from.vm;
  switch (check.to.kind) {
    case Endpoint::Kind::address:
      resolved.target_address = check.to.address;
      return resolved;
    case Endpoint::Kind::vm: {
      const net::TapLink* link = choose_link(check.to, check.from, topology);
      if (!link) return make_error("VM " + quote(check.to.vm) + " has no interface to probe");
      resolved.target_vm = check.to.vm;
      resolved.target_address = link->address;
      return resolved;
    }
    case Endpoint::Kind::host: {
      // The host's gateway address on the bridge the source is on.
      const net::TapLink* link = choose_link(check.from, check.to, topology);
      if (!link) return make_error("VM " + quote(check.from.vm) + " has no bridge to reach the host over");
      const net::BridgeLink* bridge = topology.find_bridge(link->bridge);
      if (!bridge) return make_error("bridge " + quote(link->bridge) + " is not in the network plan");
      resolved.target_is_host = true;
      resolved.target_address = bridge->gateway;
      return resolved;
    }
  }
  return make_error("unknown endpoint");
}

}  // namespace meros
