#include "root_support.h"

#include <signal.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <sstream>

namespace meros::net::test {

namespace {

constexpr char kPrefix[] = "meros-nettest-";
// Carrier changes reach "running" in deferred kernel work, slow when many
// tests change links at once.
constexpr std::chrono::milliseconds kReadyTimeout{5000};

}  // namespace

std::string capture(const std::string& command) {
  std::string output;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return "(cannot run " + command + ")";
  std::array<char, 4096> buffer;
  while (std::size_t n = std::fread(buffer.data(), 1, buffer.size(), pipe)) output.append(buffer.data(), n);
  int status = ::pclose(pipe);
  if (status != 0) output += "\n(exit status " + std::to_string(status) + ")";
  return output;
}

std::string root_skip_reason() {
  if (::geteuid() != 0) return "needs root (network namespaces, bridges, nftables)";
  std::string name = test_prefix() + "check";
  auto ns = NetworkNamespace::create(name);
  if (!ns) return "cannot create network namespaces here: " + ns.error().message;
  return "";
}

std::string test_prefix() { return kPrefix + std::to_string(::getpid()) + "-"; }

std::string unique_run_id() {
  static std::atomic<int> counter{0};
  return "nettest-" + std::to_string(::getpid()) + "-" + std::to_string(++counter);
}

void sweep_leftovers() {
  for (const auto& name : list_netns(kPrefix)) {
    long pid = std::atol(name.c_str() + sizeof(kPrefix) - 1);
    if (pid > 0 && pid != ::getpid() && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) (void)remove_netns(name);
  }
}

HostState snapshot_host() {
  HostState state;
  for (const char* command : {"nft -j list ruleset", "ip -j link", "ip -j -br addr", "ip -j route", "ip -j -6 route",
                              "cat /proc/sys/net/ipv4/ip_forward", "cat /proc/sys/net/bridge/bridge-nf-call-iptables"})
    state.parts[command] = capture(command);
  // Not the namespace list: other tests (ours in parallel processes, other
  // parts') create and remove namespaces meanwhile. Each test checks that
  // its own, meros-nettest-<pid>-*, are gone.
  return state;
}

std::string host_difference(const HostState& before, const HostState& after) {
  std::string difference;
  for (const auto& [what, text] : before.parts) {
    auto it = after.parts.find(what);
    if (it == after.parts.end() || it->second != text)
      difference += "`" + what + "` changed:\n--- before\n" + text + "\n--- after\n" + (it == after.parts.end() ? "" : it->second) + "\n";
  }
  return difference;
}

Status VethTaps::create_tap(const std::string& name) {
  auto it = peers_.find(name);
  if (it == peers_.end()) return make_error("no endpoint for tap " + name);
  return inner_.create_veth(name, it->second.ifname, it->second.netns_fd);
}

Result<std::unique_ptr<Listeners>> Listeners::start(const NetworkNamespace& ns, const std::vector<guest::ListenSpec>& specs) {
  auto set = ns.call_inside([&] { return guest::ListenerSet::open(specs); });
  if (!set) return make_error("listeners in " + ns.name() + ": " + set.error().message);
  std::unique_ptr<Listeners> listeners(new Listeners);
  listeners->set_ = std::make_unique<guest::ListenerSet>(std::move(*set));
  listeners->thread_ = std::thread([raw = listeners->set_.get()] { (void)raw->serve(); });
  return listeners;
}

Listeners::~Listeners() {
  set_->stop();
  if (thread_.joinable()) thread_.join();
}

Result<std::unique_ptr<ProbeWorld>> ProbeWorld::create(const Scenario& scenario, const std::vector<guest::ListenSpec>& listen) {
  std::unique_ptr<ProbeWorld> world(new ProbeWorld);
  if (Status status = world->build(scenario, listen); !status) return status.error();
  return world;
}

Status ProbeWorld::build(const Scenario& scenario, const std::vector<guest::ListenSpec>& listen) {
  auto topology = plan_topology(scenario, unique_run_id());
  if (!topology) return topology.error();
  topology_ = *topology;
  policy_ = plan_policy(scenario, topology_);
  auto host = NetworkNamespace::create(topology_.namespace_name);
  if (!host) return host.error();
  host_ = std::make_unique<NetworkNamespace>(std::move(*host));
  std::map<std::string, VethTaps::Peer> peers;
  for (const auto& vm : topology_.vms) {
    auto ns = NetworkNamespace::create(topology_.namespace_name + "-ep-" + vm.vm);
    if (!ns) return ns.error();
    auto& endpoint = endpoints_[vm.vm] = std::make_unique<NetworkNamespace>(std::move(*ns));
    peers[vm.management.ifname] = {endpoint->fd(), "mgmt0"};
    for (const auto& tap : vm.networks) peers[tap.ifname] = {endpoint->fd(), "eth" + std::to_string(tap.index)};
  }
  auto netlink = RouteNetlink::open(*host_);
  if (!netlink) return netlink.error();
  host_netlink_ = std::move(*netlink);
  VethTaps veths(*host_netlink_, peers);
  if (Status status = setup_network(topology_, veths); !status) return status;
  for (const auto& vm : topology_.vms) {
    auto inside = RouteNetlink::open(*endpoints_[vm.vm]);
    if (!inside) return inside.error();
    Netlink& nl = **inside;
    if (Status s = nl.set_up("lo"); !s) return s;
    if (Status s = nl.add_address("mgmt0", vm.management.guest_address, vm.management.prefix); !s) return s;
    if (Status s = nl.set_up("mgmt0"); !s) return s;
    for (const auto& tap : vm.networks) {
      std::string eth = "eth" + std::to_string(tap.index);
      if (Status s = nl.add_address(eth, tap.address, tap.prefix); !s) return s;
      if (Status s = nl.set_up(eth); !s) return s;
    }
    if (!vm.networks.empty())
      if (Status s = nl.add_default_route(topology_.find_bridge(vm.networks[0].bridge)->gateway); !s) return s;
    std::vector<std::string> inside_names{"mgmt0"};
    for (const auto& tap : vm.networks) inside_names.push_back("eth" + std::to_string(tap.index));
    if (Status s = wait_until_running(nl, inside_names, kReadyTimeout); !s) return s;
  }
  std::vector<std::string> host_names;
  for (const auto& bridge : topology_.bridges) host_names.push_back(bridge.ifname);
  for (const auto& vm : topology_.vms) {
    host_names.push_back(vm.management.ifname);
    for (const auto& tap : vm.networks) host_names.push_back(tap.ifname);
  }
  if (Status s = wait_until_running(*host_netlink_, host_names, kReadyTimeout); !s) return s;
  auto nftables = NamespaceNftables::open(*host_);
  if (!nftables) return nftables.error();
  nftables_ = std::move(*nftables);
  if (Status status = nftables_->apply(policy_); !status) return status;
  if (scenario.host_firewall)
    if (Status status = nftables_->load_file(*scenario.host_firewall); !status) return status;
  if (!listen.empty()) {
    for (const NetworkNamespace* ns : [&] {
           std::vector<const NetworkNamespace*> all{host_.get()};
           for (const auto& [_, endpoint] : endpoints_) all.push_back(endpoint.get());
           return all;
         }()) {
      auto listeners = Listeners::start(*ns, listen);
      if (!listeners) return listeners.error();
      listeners_.push_back(std::move(*listeners));
    }
  }
  return {};
}

ProbeWorld::~ProbeWorld() {
  listeners_.clear();
  nftables_.reset();
  host_netlink_.reset();
  endpoints_.clear();
  host_.reset();
}

std::vector<Result<guest::ProbeOutcome>> ProbeWorld::probe_from(const std::string& from,
                                                                const std::vector<guest::ProbeRequest>& requests) const {
  std::vector<Result<guest::ProbeOutcome>> outcomes;
  Status status = place(from).run_inside([&] { outcomes = guest::probe_all(requests); });
  if (!status) outcomes.assign(requests.size(), status.error());
  return outcomes;
}

}  // namespace meros::net::test
