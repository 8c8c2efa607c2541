// The plan of a scenario's network inside its namespace: which bridges,
// taps and management links exist, their names, addresses and the guests'
// MAC addresses. Planning is pure (unit-tested without root); setting the
// plan up and tearing it down goes through a Netlink.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "manifest/model.h"
#include "net/netlink.h"
#include "util/result.h"

namespace meros::net {

// One scenario bridge: a Linux bridge holding the scenario host's gateway
// address.
struct BridgeLink {
  std::string name;    // as in the manifest
  std::string ifname;  // "br-<name>", or "br<index>" when that is too long
  Ipv4 gateway;        // the subnet's first host
  int prefix = 24;
  PolicyType policy = PolicyType::isolated;
};

// One guest network interface (eth<index> in the guest) and the tap that
// backs it on the host side, attached to its bridge.
struct TapLink {
  int index = 0;              // position in the VM's networks: list
  std::string ifname;         // "<vm>-<index>", or "vm<i>-<index>" when too long
  std::string bridge;         // manifest name
  std::string bridge_ifname;  // the Linux bridge it is attached to
  Ipv4 address;               // the guest's
  int prefix = 24;
  Mac mac;                    // the guest's
};

// The point-to-point link the harness reaches a VM over (mgmt0 in the
// guest): a tap on no bridge, never forwarded.
struct ManagementLink {
  std::string ifname;  // "<vm>-m", or "vm<i>-m" when too long
  Ipv4 host_address;   // the scenario host's end
  Ipv4 guest_address;  // the guest's end
  int prefix = 30;
  Mac mac;             // the guest's
};

struct VmLinks {
  std::string vm;
  std::vector<TapLink> networks;
  ManagementLink management;
};

struct Topology {
  std::string run_id;
  std::string namespace_name;  // "meros-<runid>-<scenario>"
  std::vector<BridgeLink> bridges;
  std::vector<VmLinks> vms;

  const BridgeLink* find_bridge(std::string_view name) const;
  const VmLinks* find_vm(std::string_view name) const;
  std::vector<std::string> management_ifnames() const;
};

// "meros-<runid>-<scenario>", characters other than letters, digits, '-',
// '_' and '.' replaced by '-'.
std::string namespace_name(std::string_view run_id, std::string_view scenario);

// The management /30 of the VM at vm_index (manifest order): its network
// address is 100.127.0.0 + 4 * vm_index, the host takes +1 and the guest
// +2. That is 100.127.(4i / 256).(4i % 256) + 1 and + 2, room for 16384 VMs.
struct ManagementAddresses {
  Ipv4 host;
  Ipv4 guest;
};
Result<ManagementAddresses> management_addresses(std::size_t vm_index);

// A locally administered unicast MAC, 52:54:xx:xx:xx:xx, whose last four
// bytes hash the run id, the VM and the slot ("0", "1", ... or "m"): the
// same for every start of the same run, different between runs.
Mac derive_mac(std::string_view run_id, std::string_view vm, std::string_view slot);

// Plans a scenario's network. An Error only when names cannot be made
// unique or there are more VMs than management addresses.
Result<Topology> plan_topology(const Scenario& scenario, std::string_view run_id);

struct NetworkOptions {
  // Pass bridged IPv4 through the inet hooks (bridge-nf-call-iptables in
  // the namespace). Loads br_netfilter if the kernel lacks it.
  bool bridge_netfilter = true;
};

// Creates the plan's links in the namespace netlink acts on: loopback up,
// IPv4 forwarding on, bridges with their gateway addresses, taps attached
// to them, management taps with the host's end of their /30.
Status setup_network(const Topology& topology, Netlink& netlink, const NetworkOptions& options = {});

// Deletes every link of the plan, taps first; tries each and reports all
// failures together.
Status teardown_network(const Topology& topology, Netlink& netlink);

// Sets a guest interface's tap down or up (the `link:` fault injection).
Status set_network_link(const Topology& topology, Netlink& netlink, std::string_view vm, int network, bool up);

}  // namespace meros::net
