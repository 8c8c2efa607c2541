#include "net/topology.h"

#include <cctype>
#include <cstdint>
#include <set>

namespace meros::net {

namespace {

constexpr std::size_t kMaxIfname = 15;  // IFNAMSIZ - 1
constexpr std::uint32_t kManagementBase = (100u << 24) | (127u << 16);  // 100.127.0.0
constexpr std::size_t kManagementSlots = 65536 / 4;

std::uint64_t fnv1a(std::string_view text, std::uint64_t hash = 0xcbf29ce484222325ull) {
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 0x100000001b3ull;
  }
  return hash;
}

// Hands out interface names: the readable one when it fits and is free,
// else the index-based fallback.
class IfnameAllocator {
 public:
  Result<std::string> take(const std::string& preferred, const std::string& fallback) {
    for (const std::string& name : {preferred, fallback}) {
      if (name.size() <= kMaxIfname && used_.insert(name).second) return name;
    }
    return make_error("cannot give " + preferred + " a unique interface name (" + fallback + " is taken too)");
  }

 private:
  std::set<std::string> used_ = {"lo"};
};

// Derived MACs never repeat a MAC already in the plan.
class MacAllocator {
 public:
  explicit MacAllocator(std::string run_id) : run_id_(std::move(run_id)) {}

  void reserve(const Mac& mac) { used_.insert(mac); }

  Mac take(const std::optional<Mac>& given, const std::string& vm, const std::string& slot) {
    if (given) return *given;
    Mac mac = derive_mac(run_id_, vm, slot);
    for (int retry = 1; used_.count(mac); ++retry) mac = derive_mac(run_id_, vm, slot + "#" + std::to_string(retry));
    used_.insert(mac);
    return mac;
  }

 private:
  std::string run_id_;
  std::set<Mac> used_;
};

Result<VmLinks> plan_vm(const Scenario& scenario, const Topology& topology, std::size_t vm_index,
                        IfnameAllocator& names, MacAllocator& macs) {
  const VirtualMachine& vm = scenario.vms[vm_index];
  const std::string indexed = "vm" + std::to_string(vm_index);
  VmLinks links;
  links.vm = vm.name;
  auto addresses = management_addresses(vm_index);
  if (!addresses) return addresses.error();
  auto mgmt_name = names.take(vm.name + "-m", indexed + "-m");
  if (!mgmt_name) return mgmt_name.error();
  links.management = {*mgmt_name, addresses->host, addresses->guest, 30, macs.take(std::nullopt, vm.name, "m")};
  for (std::size_t n = 0; n < vm.networks.size(); ++n) {
    const NetworkAttachment& attachment = vm.networks[n];
    const BridgeLink* bridge = topology.find_bridge(attachment.bridge);
    if (bridge == nullptr) return make_error("VM " + vm.name + " names an unknown bridge " + attachment.bridge);
    if (!attachment.ip) return make_error("VM " + vm.name + " has no address on bridge " + attachment.bridge);
    const std::string slot = std::to_string(n);
    auto tap_name = names.take(vm.name + "-" + slot, indexed + "-" + slot);
    if (!tap_name) return tap_name.error();
    links.networks.push_back({static_cast<int>(n), *tap_name, bridge->name, bridge->ifname, *attachment.ip,
                              bridge->prefix, macs.take(attachment.mac, vm.name, slot)});
  }
  return links;
}

// Runs each step; stops at the first failure.
Status first_failure(std::initializer_list<std::function<Status()>> steps) {
  for (const auto& step : steps)
    if (Status status = step(); !status) return status;
  return {};
}

Status enable_bridge_netfilter(Netlink& netlink) {
  const std::string key = "net.bridge.bridge-nf-call-iptables";
  if (!netlink.has_sysctl(key)) {
    if (Status status = netlink.load_module("br_netfilter"); !status) return status;
    if (!netlink.has_sysctl(key)) return make_error("br_netfilter is loaded but " + key + " is missing");
  }
  return netlink.set_sysctl(key, "1");
}

}  // namespace

const BridgeLink* Topology::find_bridge(std::string_view name) const {
  for (const auto& bridge : bridges)
    if (bridge.name == name) return &bridge;
  return nullptr;
}

const VmLinks* Topology::find_vm(std::string_view name) const {
  for (const auto& vm : vms)
    if (vm.vm == name) return &vm;
  return nullptr;
}

std::vector<std::string> Topology::management_ifnames() const {
  std::vector<std::string> names;
  for (const auto& vm : vms) names.push_back(vm.management.ifname);
  return names;
}

std::string namespace_name(std::string_view run_id, std::string_view scenario) {
  std::string name = "meros-" + std::string(run_id) + "-" + std::string(scenario);
  for (char& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') c = '-';
  return name;
}

Result<ManagementAddresses> management_addresses(std::size_t vm_index) {
  if (vm_index >= kManagementSlots)
    return make_error("at most " + std::to_string(kManagementSlots) + " VMs fit the management range 100.127.0.0/16");
  std::uint32_t network = kManagementBase + 4 * static_cast<std::uint32_t>(vm_index);
  return ManagementAddresses{Ipv4{network + 1}, Ipv4{network + 2}};
}

Mac derive_mac(std::string_view run_id, std::string_view vm, std::string_view slot) {
  std::uint64_t hash = fnv1a(run_id);
  hash = fnv1a(std::string_view("\0", 1), hash);
  hash = fnv1a(vm, hash);
  hash = fnv1a(std::string_view("\0", 1), hash);
  hash = fnv1a(slot, hash);
  Mac mac;
  mac.bytes[0] = 0x52;  // locally administered, unicast
  mac.bytes[1] = 0x54;
  for (int i = 0; i < 4; ++i) mac.bytes[2 + i] = static_cast<std::uint8_t>(hash >> (8 * i));
  return mac;
}

Result<Topology> plan_topology(const Scenario& scenario, std::string_view run_id) {
  Topology topology;
  topology.run_id = run_id;
  topology.namespace_name = namespace_name(run_id, scenario.name);
  IfnameAllocator names;
  for (std::size_t i = 0; i < scenario.bridges.size(); ++i) {
    const Bridge& bridge = scenario.bridges[i];
    auto ifname = names.take("br-" + bridge.name, "br" + std::to_string(i));
    if (!ifname) return ifname.error();
    topology.bridges.push_back({bridge.name, *ifname, bridge.gateway(), bridge.subnet.prefix, bridge.policy});
  }
  MacAllocator macs{std::string(run_id)};
  for (const auto& vm : scenario.vms)
    for (const auto& attachment : vm.networks)
      if (attachment.mac) macs.reserve(*attachment.mac);
  for (std::size_t i = 0; i < scenario.vms.size(); ++i) {
    auto links = plan_vm(scenario, topology, i, names, macs);
    if (!links) return links.error();
    topology.vms.push_back(std::move(*links));
  }
  return topology;
}

Status setup_network(const Topology& topology, Netlink& netlink, const NetworkOptions& options) {
  if (Status status = netlink.set_up("lo"); !status) return status;
  if (Status status = netlink.set_sysctl("net.ipv4.ip_forward", "1"); !status) return status;
  if (options.bridge_netfilter)
    if (Status status = enable_bridge_netfilter(netlink); !status) return status;
  for (const auto& bridge : topology.bridges) {
    Status status = first_failure({
        [&] { return netlink.create_bridge(bridge.ifname); },
        [&] { return netlink.add_address(bridge.ifname, bridge.gateway, bridge.prefix); },
        [&] { return netlink.set_up(bridge.ifname); },
    });
    if (!status) return status;
  }
  for (const auto& vm : topology.vms) {
    const ManagementLink& mgmt = vm.management;
    Status status = first_failure({
        [&] { return netlink.create_tap(mgmt.ifname); },
        [&] { return netlink.add_address(mgmt.ifname, mgmt.host_address, mgmt.prefix); },
        [&] { return netlink.set_up(mgmt.ifname); },
    });
    if (!status) return status;
    for (const auto& tap : vm.networks) {
      status = first_failure({
          [&] { return netlink.create_tap(tap.ifname); },
          [&] { return netlink.set_master(tap.ifname, tap.bridge_ifname); },
          [&] { return netlink.set_up(tap.ifname); },
      });
      if (!status) return status;
    }
  }
  return {};
}

Status teardown_network(const Topology& topology, Netlink& netlink) {
  std::vector<std::string> order;
  for (const auto& vm : topology.vms) {
    order.push_back(vm.management.ifname);
    for (const auto& tap : vm.networks) order.push_back(tap.ifname);
  }
  for (const auto& bridge : topology.bridges) order.push_back(bridge.ifname);
  std::string failures;
  for (const auto& name : order) {
    if (Status status = netlink.delete_link(name); !status) failures += (failures.empty() ? "" : "; ") + status.error().message;
  }
  if (!failures.empty()) return make_error("teardown left links behind: " + failures);
  return {};
}

Status set_network_link(const Topology& topology, Netlink& netlink, std::string_view vm, int network, bool up) {
  const VmLinks* links = topology.find_vm(vm);
  if (links == nullptr) return make_error("no VM " + std::string(vm) + " in the network plan");
  if (network < 0 || network >= static_cast<int>(links->networks.size()))
    return make_error("VM " + std::string(vm) + " has no network " + std::to_string(network));
  const std::string& tap = links->networks[network].ifname;
  return up ? netlink.set_up(tap) : netlink.set_down(tap);
}

}  // namespace meros::net
