// bench_net: how long the network stage takes for a 3-VM, 2-bridge
// scenario (taps instead of VMs): namespace, bridges, taps, management
// links, the generated policy; then teardown. Measured for meros-test's
// own implementation (libnl + one libnftnl batch) and, in the same run, for
// the same work done by a shell script of `ip` and `nft` processes.
// Needs root; everything happens in namespaces named meros-bench-<pid>-*.
//
//   bench_net [--runs N]        (default 20; prints medians)
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "net/scenario_network.h"

using namespace meros;
using namespace meros::net;
using Clock = std::chrono::steady_clock;

namespace {

constexpr double kTargetMs = 50.0;

Scenario bench_scenario() {
  Scenario scenario;
  scenario.name = "bench";
  Bridge lan;
  lan.name = "lan";
  lan.subnet = *parse_cidr("10.0.10.0/24");
  lan.policy = PolicyType::host_access;
  lan.allowed_ports = std::vector<int>{22, 80, 443};
  lan.allowed_ips = std::vector<Cidr>{*parse_cidr("10.0.10.0/28")};
  Bridge dmz;
  dmz.name = "dmz";
  dmz.subnet = *parse_cidr("10.0.20.0/24");
  dmz.policy = PolicyType::isolated;
  scenario.bridges = {lan, dmz};
  auto vm = [](std::string name, std::vector<std::pair<std::string, std::string>> networks) {
    VirtualMachine machine;
    machine.name = std::move(name);
    for (auto& [bridge, ip] : networks) {
      NetworkAttachment attachment;
      attachment.bridge = bridge;
      attachment.ip = *parse_ipv4(ip);
      machine.networks.push_back(attachment);
    }
    return machine;
  };
  scenario.vms = {vm("web", {{"lan", "10.0.10.2"}}), vm("api", {{"lan", "10.0.10.3"}, {"dmz", "10.0.20.3"}}),
                  vm("db", {{"dmz", "10.0.20.2"}})};
  return scenario;
}

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  std::size_t n = values.size();
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

struct Timing {
  std::vector<double> setup, teardown, total;
  void add(double s, double t) {
    setup.push_back(s);
    teardown.push_back(t);
    total.push_back(s + t);
  }
};

// The same plan, as the shell commands a script would run.
std::string shell_setup(const Topology& topology, const std::string& policy_file) {
  const std::string ns = topology.namespace_name;
  const std::string ip = "ip -n " + ns + " ";
  std::string script = "set -e\nip netns add " + ns + "\n" + ip + "link set lo up\n";
  script += "ip netns exec " + ns + " sysctl -qw net.ipv4.ip_forward=1\n";
  script += "ip netns exec " + ns + " sysctl -qw net.bridge.bridge-nf-call-iptables=1\n";
  for (const auto& bridge : topology.bridges) {
    script += ip + "link add " + bridge.ifname + " type bridge\n";
    script += ip + "addr add " + bridge.gateway.str() + "/" + std::to_string(bridge.prefix) + " dev " + bridge.ifname + "\n";
    script += ip + "link set " + bridge.ifname + " up\n";
  }
  for (const auto& vm : topology.vms) {
    const auto& mgmt = vm.management;
    script += ip + "tuntap add dev " + mgmt.ifname + " mode tap vnet_hdr\n";
    script += ip + "addr add " + mgmt.host_address.str() + "/30 dev " + mgmt.ifname + "\n";
    script += ip + "link set " + mgmt.ifname + " up\n";
    for (const auto& tap : vm.networks) {
      script += ip + "tuntap add dev " + tap.ifname + " mode tap vnet_hdr\n";
      script += ip + "link set " + tap.ifname + " master " + tap.bridge_ifname + "\n";
      script += ip + "link set " + tap.ifname + " up\n";
    }
  }
  script += "ip netns exec " + ns + " nft -f " + policy_file + "\n";
  return script;
}

bool run_shell(const std::string& script) {
  pid_t pid = ::fork();
  if (pid == 0) {
    ::execl("/bin/sh", "sh", "-c", script.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

std::string run_id(const char* kind, int i) { return "bench-" + std::to_string(::getpid()) + "-" + kind + std::to_string(i); }

bool measure_ours(const Scenario& scenario, int i, Timing& timing) {
  auto start = Clock::now();
  auto network = ScenarioNetwork::start(scenario, run_id("o", i));
  double setup = ms_since(start);
  if (!network) {
    std::cerr << "bench_net: " << network.error().message << "\n";
    return false;
  }
  start = Clock::now();
  Status stopped = network->stop();
  double teardown = ms_since(start);
  if (!stopped) {
    std::cerr << "bench_net: " << stopped.error().message << "\n";
    return false;
  }
  if (i >= 0) timing.add(setup, teardown);
  return true;
}

bool measure_shell(const Scenario& scenario, int i, const std::string& dir, Timing& timing) {
  auto topology = plan_topology(scenario, run_id("s", i));
  if (!topology) return false;
  std::string policy_file = dir + "/policy.nft";
  std::ofstream(policy_file) << render_nft(plan_policy(scenario, *topology));
  auto start = Clock::now();
  bool ok = run_shell(shell_setup(*topology, policy_file));
  double setup = ms_since(start);
  start = Clock::now();
  ok = run_shell("ip netns delete " + topology->namespace_name) && ok;
  double teardown = ms_since(start);
  if (!ok) {
    std::cerr << "bench_net: the ip/nft baseline failed (are ip and nft on PATH?)\n";
    return false;
  }
  if (i >= 0) timing.add(setup, teardown);
  return true;
}

void print(const char* what, const Timing& timing) {
  std::printf("%-36s setup %7.2f ms   teardown %7.2f ms   total %7.2f ms\n", what, median(timing.setup),
              median(timing.teardown), median(timing.total));
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 20;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--runs" && i + 1 < argc) runs = std::max(1, std::atoi(argv[++i]));
    else {
      std::cerr << "usage: bench_net [--runs N]\n";
      return 2;
    }
  }
  if (::geteuid() != 0) {
    std::cerr << "bench_net: needs root (network namespaces)\n";
    return 3;
  }
  Scenario scenario = bench_scenario();
  char dir_template[] = "/tmp/meros-bench-XXXXXX";
  std::string dir = ::mkdtemp(dir_template);
  Timing ours, shell;
  // One warm-up each (module loading, page cache), not counted.
  bool ok = measure_ours(scenario, -1, ours) && measure_shell(scenario, -1, dir, shell);
  for (int i = 0; ok && i < runs; ++i) ok = measure_ours(scenario, i, ours) && measure_shell(scenario, i, dir, shell);
  std::remove((dir + "/policy.nft").c_str());
  ::rmdir(dir.c_str());
  if (!ok) return 1;
  auto topology = plan_topology(scenario, "x");
  std::printf("network stage, 3 VMs (taps), 2 bridges, %zu rules; median of %d runs\n",
              plan_policy(scenario, *topology).rules.size(), runs);
  print("meros-test (libnl + libnftnl)", ours);
  print("shell baseline (ip + nft processes)", shell);
  double total = median(ours.total);
  std::printf("target: < %.0f ms for meros-test: %s (%.1fx faster than the baseline)\n", kTargetMs,
              total < kTargetMs ? "met" : "MISSED", median(shell.total) / total);
  return total < kTargetMs ? 0 : 1;
}
