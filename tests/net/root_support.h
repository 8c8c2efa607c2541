// Support for the namespace tests (label "root;net"): skip reasons, the
// real host's network state before and after, leftover sweeps, and a
// scenario whose "VMs" are small namespaces joined by veth pairs.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "guest/listen.h"
#include "guest/probe.h"
#include "manifest/model.h"
#include "net/netlink.h"
#include "net/netns.h"
#include "net/nftables.h"
#include "net/policy.h"
#include "net/topology.h"

namespace meros::net::test {

// Why namespace tests cannot run here, or "" if they can.
std::string root_skip_reason();

// Every namespace these tests create starts with "meros-nettest-<pid>-".
std::string test_prefix();
// "nettest-<pid>-<n>", a fresh run id: the scenario namespace is
// meros-<run id>-<scenario>.
std::string unique_run_id();
// Removes namespaces of earlier test processes that are gone.
void sweep_leftovers();

// The real host's network state, as the tools print it: ruleset, links,
// addresses, routes, forwarding and br_netfilter sysctls.
struct HostState {
  std::map<std::string, std::string> parts;  // "nft -j list ruleset" -> output, ...
};
HostState snapshot_host();
// "" if equal, else what changed.
std::string host_difference(const HostState& before, const HostState& after);

// The fixture of every test here: skips without root, sweeps leftovers,
// and checks after the test that no namespace of it is left and that the
// real host's network state is as it was before.
class HostUnchangedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string reason = root_skip_reason(); !reason.empty()) GTEST_SKIP() << reason;
    sweep_leftovers();
    before_ = snapshot_host();
  }

  void TearDown() override {
    if (before_.parts.empty()) return;  // skipped
    EXPECT_EQ(list_netns(test_prefix()), std::vector<std::string>{}) << "namespaces left behind";
    EXPECT_EQ(host_difference(before_, snapshot_host()), "") << "the real host's network changed";
  }

  HostState before_;
};

// Output of a shell command (for reading host state only).
std::string capture(const std::string& command);

// Runs an `ip` command for a test's own set-up; fails the test loudly.
inline void ip(const std::string& args) {
  std::string out = capture("ip " + args);
  ASSERT_EQ(out.find("exit status"), std::string::npos) << "ip " << args << ": " << out;
}

// A Netlink that creates veth pairs where the scenario wants taps: the
// tap's name stays on the scenario side, the peer goes into the VM's
// endpoint namespace as eth<n> or mgmt0.
class VethTaps final : public Netlink {
 public:
  struct Peer {
    int netns_fd;
    std::string ifname;
  };
  VethTaps(Netlink& inner, std::map<std::string, Peer> peers) : inner_(inner), peers_(std::move(peers)) {}

  Status set_up(const std::string& n) override { return inner_.set_up(n); }
  Status set_down(const std::string& n) override { return inner_.set_down(n); }
  Status create_bridge(const std::string& n) override { return inner_.create_bridge(n); }
  Status create_tap(const std::string& name) override;
  Status create_veth(const std::string& n, const std::string& p, int fd) override { return inner_.create_veth(n, p, fd); }
  Status set_master(const std::string& i, const std::string& b) override { return inner_.set_master(i, b); }
  Status add_address(const std::string& i, Ipv4 a, int p) override { return inner_.add_address(i, a, p); }
  Status add_default_route(Ipv4 via) override { return inner_.add_default_route(via); }
  Status delete_link(const std::string& n) override { return inner_.delete_link(n); }
  Result<std::vector<LinkInfo>> list_links() override { return inner_.list_links(); }
  bool has_sysctl(const std::string& k) override { return inner_.has_sysctl(k); }
  Status set_sysctl(const std::string& k, const std::string& v) override { return inner_.set_sysctl(k, v); }
  Status load_module(const std::string& n) override { return inner_.load_module(n); }

 private:
  Netlink& inner_;
  std::map<std::string, Peer> peers_;
};

// Serves guest::ListenerSet sockets (opened inside a namespace) on a
// background thread until destroyed.
class Listeners {
 public:
  static Result<std::unique_ptr<Listeners>> start(const NetworkNamespace& ns, const std::vector<guest::ListenSpec>& specs);
  ~Listeners();

 private:
  Listeners() = default;
  std::unique_ptr<guest::ListenerSet> set_;
  std::thread thread_;
};

// A scenario set up for real: its namespace with bridges and the generated
// policy, one endpoint namespace per VM (addresses, default route via its
// first bridge's gateway, mgmt0), and listeners everywhere on the ports
// the tests probe.
class ProbeWorld {
 public:
  static Result<std::unique_ptr<ProbeWorld>> create(const Scenario& scenario, const std::vector<guest::ListenSpec>& listen);
  ~ProbeWorld();

  const NetworkNamespace& host() const { return *host_; }
  const NetworkNamespace& endpoint(const std::string& vm) const { return *endpoints_.at(vm); }
  // "host" or a VM name.
  const NetworkNamespace& place(const std::string& name) const { return name == "host" ? host() : endpoint(name); }
  const Topology& topology() const { return topology_; }
  const Policy& policy() const { return policy_; }
  Nftables& nftables() { return *nftables_; }

  // Probes from "host" or a VM's namespace.
  std::vector<Result<guest::ProbeOutcome>> probe_from(const std::string& from, const std::vector<guest::ProbeRequest>& requests) const;

 private:
  ProbeWorld() = default;
  Status build(const Scenario& scenario, const std::vector<guest::ListenSpec>& listen);

  Topology topology_;
  Policy policy_;
  std::unique_ptr<NetworkNamespace> host_;
  std::map<std::string, std::unique_ptr<NetworkNamespace>> endpoints_;
  std::unique_ptr<Netlink> host_netlink_;
  std::unique_ptr<Nftables> nftables_;
  std::vector<std::unique_ptr<Listeners>> listeners_;
};

}  // namespace meros::net::test
