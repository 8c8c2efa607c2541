#include "net/topology.h"

#include <gtest/gtest.h>

#include <set>

#include "scenarios.h"

namespace meros::net {
namespace {

using test::make_scenario;

Topology plan(const Scenario& scenario, const std::string& run_id = "r1") {
  auto topology = plan_topology(scenario, run_id);
  if (!topology) ADD_FAILURE() << topology.error().message;
  return topology ? *topology : Topology{};
}

TEST(Topology, NamesNamespaceAfterRunAndScenario) {
  EXPECT_EQ(namespace_name("20240601-abc", "web-firewall"), "meros-20240601-abc-web-firewall");
  EXPECT_EQ(namespace_name("r1", "my scenario/v2"), "meros-r1-my-scenario-v2");
  EXPECT_EQ(plan(test::mixed()).namespace_name, "meros-r1-mixed");
}

TEST(Topology, NamesBridgesBrDashNameOrByIndex) {
  Topology topology = plan(test::mixed());
  ASSERT_EQ(topology.bridges.size(), 4u);
  EXPECT_EQ(topology.bridges[0].ifname, "br-lan");
  EXPECT_EQ(topology.bridges[1].ifname, "br-dmz");
  EXPECT_EQ(topology.bridges[2].ifname, "br-app");
  EXPECT_EQ(topology.bridges[3].ifname, "br3");  // br-a-very-long-bridge-name does not fit 15 characters
}

TEST(Topology, BridgesHoldTheGatewayAndPrefix) {
  Topology topology = plan(test::mixed());
  EXPECT_EQ(topology.bridges[0].gateway.str(), "10.0.10.1");
  EXPECT_EQ(topology.bridges[0].prefix, 24);
  EXPECT_EQ(topology.bridges[0].policy, PolicyType::host_access);
  EXPECT_EQ(topology.bridges[1].policy, PolicyType::isolated);
}

TEST(Topology, NamesTapsVmDashIndexOrByVmIndex) {
  Topology topology = plan(test::mixed());
  ASSERT_EQ(topology.vms.size(), 3u);
  const VmLinks& web = topology.vms[0];
  ASSERT_EQ(web.networks.size(), 2u);
  EXPECT_EQ(web.networks[0].ifname, "web-0");
  EXPECT_EQ(web.networks[0].bridge_ifname, "br-lan");
  EXPECT_EQ(web.networks[1].ifname, "web-1");
  EXPECT_EQ(web.networks[1].bridge_ifname, "br-dmz");
  EXPECT_EQ(web.management.ifname, "web-m");
  const VmLinks& collector = topology.vms[2];  // "monitoring-collector-0" is too long
  EXPECT_EQ(collector.networks[0].ifname, "vm2-0");
  EXPECT_EQ(collector.networks[0].bridge_ifname, "br3");
  EXPECT_EQ(collector.networks[1].ifname, "vm2-1");
  EXPECT_EQ(collector.management.ifname, "vm2-m");
}

TEST(Topology, GuestInterfacesCarryAddressAndPrefix) {
  Topology topology = plan(test::mixed());
  const TapLink& tap = topology.vms[0].networks[1];
  EXPECT_EQ(tap.index, 1);
  EXPECT_EQ(tap.bridge, "dmz");
  EXPECT_EQ(tap.address.str(), "10.0.20.2");
  EXPECT_EQ(tap.prefix, 24);
}

TEST(Topology, ResolvesNameCollisionsWithTheIndexedForm) {
  // VM "br"'s management tap would be "br-m", the name of bridge "m".
  Scenario scenario = make_scenario("clash", {{"m", "10.0.1.0/24"}}, {{"br", {{"m", "10.0.1.2"}}}});
  Topology topology = plan(scenario);
  EXPECT_EQ(topology.bridges[0].ifname, "br-m");
  EXPECT_EQ(topology.vms[0].management.ifname, "vm0-m");
  EXPECT_EQ(topology.vms[0].networks[0].ifname, "br-0");
}

TEST(Topology, FailsWhenNoUniqueNameIsLeft) {
  // VM 0, called "vm1", takes "vm1-m"; VM 1 is too long for "<vm>-m".
  Scenario scenario = make_scenario("clash", {{"lan", "10.0.1.0/24"}},
                                    {{"vm1", {{"lan", "10.0.1.2"}}}, {"a-name-that-is-too-long", {{"lan", "10.0.1.3"}}}});
  auto topology = plan_topology(scenario, "r1");
  ASSERT_FALSE(topology);
  EXPECT_EQ(topology.error().message, "cannot give a-name-that-is-too-long-m a unique interface name (vm1-m is taken too)");
}

TEST(Topology, ManagementAddressesFollowTheFormula) {
  // 100.127.(4i / 256).(4i % 256) + 1 for the host, + 2 for the guest.
  auto first = management_addresses(0);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->host.str(), "100.127.0.1");
  EXPECT_EQ(first->guest.str(), "100.127.0.2");
  EXPECT_EQ(management_addresses(1)->host.str(), "100.127.0.5");
  EXPECT_EQ(management_addresses(1)->guest.str(), "100.127.0.6");
  EXPECT_EQ(management_addresses(64)->host.str(), "100.127.1.1");
  EXPECT_EQ(management_addresses(255)->guest.str(), "100.127.3.254");
  EXPECT_EQ(management_addresses(16383)->guest.str(), "100.127.255.254");
  EXPECT_FALSE(management_addresses(16384));
}

TEST(Topology, ManagementLinksArePointToPointSlash30) {
  Topology topology = plan(test::mixed());
  for (std::size_t i = 0; i < topology.vms.size(); ++i) {
    const ManagementLink& mgmt = topology.vms[i].management;
    EXPECT_EQ(mgmt.prefix, 30);
    EXPECT_EQ(mgmt.host_address, management_addresses(i)->host);
    EXPECT_EQ(mgmt.guest_address, management_addresses(i)->guest);
  }
  EXPECT_EQ(topology.management_ifnames(), (std::vector<std::string>{"web-m", "api-m", "vm2-m"}));
}

TEST(Topology, DerivedMacsAreLocallyAdministeredUnicast) {
  Mac mac = derive_mac("run", "web", "0");
  EXPECT_EQ(mac.bytes[0], 0x52);
  EXPECT_EQ(mac.bytes[1], 0x54);
  EXPECT_EQ(mac.bytes[0] & 0x01, 0) << "unicast";
  EXPECT_EQ(mac.bytes[0] & 0x02, 0x02) << "locally administered";
}

TEST(Topology, DerivedMacsAreStablePerRunAndDifferBetweenRuns) {
  EXPECT_EQ(derive_mac("run", "web", "0"), derive_mac("run", "web", "0"));
  EXPECT_EQ(derive_mac("run", "web", "0").str(), derive_mac("run", "web", "0").str());
  EXPECT_NE(derive_mac("run", "web", "0"), derive_mac("run2", "web", "0"));
  EXPECT_NE(derive_mac("run", "web", "0"), derive_mac("run", "web", "1"));
  EXPECT_NE(derive_mac("run", "web", "0"), derive_mac("run", "api", "0"));
  EXPECT_NE(derive_mac("run", "web", "0"), derive_mac("run", "web", "m"));
  // The separators keep ("ab", "c") and ("a", "bc") apart.
  EXPECT_NE(derive_mac("ab", "c", "0"), derive_mac("a", "bc", "0"));
}

TEST(Topology, PlansTheSameMacsForTheSameRun) {
  Topology a = plan(test::mixed(), "run-a");
  Topology b = plan(test::mixed(), "run-a");
  Topology c = plan(test::mixed(), "run-b");
  EXPECT_EQ(a.vms[0].networks[0].mac, b.vms[0].networks[0].mac);
  EXPECT_EQ(a.vms[0].management.mac, b.vms[0].management.mac);
  EXPECT_NE(a.vms[0].networks[0].mac, c.vms[0].networks[0].mac);
}

TEST(Topology, ManifestMacWins) {
  Scenario scenario = test::mixed();
  scenario.vms[1].networks[0].mac = *parse_mac("52:54:00:aa:bb:cc");
  Topology topology = plan(scenario);
  EXPECT_EQ(topology.vms[1].networks[0].mac.str(), "52:54:00:aa:bb:cc");
}

TEST(Topology, MacsAreUniqueWithinAPlan) {
  Topology topology = plan(test::mixed());
  std::set<Mac> seen;
  for (const auto& vm : topology.vms) {
    EXPECT_TRUE(seen.insert(vm.management.mac).second);
    for (const auto& tap : vm.networks) EXPECT_TRUE(seen.insert(tap.mac).second);
  }
}

TEST(Topology, DerivedMacAvoidsAManifestMac) {
  Scenario scenario = test::mixed();
  Mac taken = derive_mac("r1", "web", "0");
  scenario.vms[1].networks[0].mac = taken;  // api claims the MAC web's eth0 would get
  Topology topology = plan(scenario);
  EXPECT_EQ(topology.vms[1].networks[0].mac, taken);
  EXPECT_NE(topology.vms[0].networks[0].mac, taken);
}

TEST(SetupNetwork, CreatesBridgesTapsAndManagementLinksInOrder) {
  Scenario scenario = make_scenario("s", {{"lan", "10.0.10.0/24", PolicyType::host_access}},
                                    {{"web", {{"lan", "10.0.10.2"}}}});
  Topology topology = plan(scenario);
  FakeNetlink netlink;
  netlink.sysctls["net.bridge.bridge-nf-call-iptables"] = "0";  // br_netfilter is there
  ASSERT_TRUE(setup_network(topology, netlink));
  EXPECT_EQ(netlink.calls, (std::vector<std::string>{
                               "set_up lo",
                               "set_sysctl net.ipv4.ip_forward=1",
                               "set_sysctl net.bridge.bridge-nf-call-iptables=1",
                               "create_bridge br-lan",
                               "add_address br-lan 10.0.10.1/24",
                               "set_up br-lan",
                               "create_tap web-m",
                               "add_address web-m 100.127.0.1/30",
                               "set_up web-m",
                               "create_tap web-0",
                               "set_master web-0 br-lan",
                               "set_up web-0",
                           }));
  auto links = netlink.list_links();
  ASSERT_TRUE(links);
  for (const auto& link : *links) {
    if (link.name == "web-0") {
      EXPECT_EQ(link.master, "br-lan");
    }
    if (link.name == "web-m") {
      EXPECT_EQ(link.master, "") << "management taps are on no bridge";
    }
  }
}

TEST(SetupNetwork, LoadsBrNetfilterOnlyWhenItsSysctlIsMissing) {
  Topology topology = plan(test::isolated_only());
  FakeNetlink with_module;
  with_module.sysctls["net.bridge.bridge-nf-call-iptables"] = "0";
  ASSERT_TRUE(setup_network(topology, with_module));
  EXPECT_TRUE(with_module.modules.empty());

  FakeNetlink without_module;
  ASSERT_TRUE(setup_network(topology, without_module));
  EXPECT_EQ(without_module.modules, (std::set<std::string>{"br_netfilter"}));
  EXPECT_EQ(without_module.sysctls["net.bridge.bridge-nf-call-iptables"], "1");
}

TEST(SetupNetwork, SkipsBridgeNetfilterWhenNotWanted) {
  FakeNetlink netlink;
  ASSERT_TRUE(setup_network(plan(test::isolated_only()), netlink, NetworkOptions{false}));
  EXPECT_TRUE(netlink.modules.empty());
  EXPECT_EQ(netlink.sysctls.count("net.bridge.bridge-nf-call-iptables"), 0u);
}

TEST(SetupNetwork, StopsAtTheFirstFailure) {
  FakeNetlink netlink;
  netlink.fail_on = {"set_master"};
  Status status = setup_network(plan(test::isolated_only()), netlink);
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().message, "injected failure: set_master db-0 br-dmz");
  EXPECT_EQ(netlink.calls.back(), "set_master db-0 br-dmz");
}

TEST(TeardownNetwork, DeletesTapsThenBridgesAndGoesOnAfterFailures) {
  Topology topology = plan(test::isolated_only());
  FakeNetlink netlink;
  ASSERT_TRUE(setup_network(topology, netlink));
  netlink.calls.clear();
  netlink.fail_on = {"delete_link db-0"};
  Status status = teardown_network(topology, netlink);
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().message, "teardown left links behind: injected failure: delete_link db-0");
  EXPECT_EQ(netlink.calls, (std::vector<std::string>{"delete_link db-m", "delete_link db-0", "delete_link cache-m",
                                                     "delete_link cache-0", "delete_link br-dmz"}));
}

TEST(SetNetworkLink, SetsTheGuestInterfacesTapDownAndUp) {
  Topology topology = plan(test::mixed());
  FakeNetlink netlink;
  ASSERT_TRUE(setup_network(topology, netlink));
  netlink.calls.clear();
  ASSERT_TRUE(set_network_link(topology, netlink, "web", 1, false));
  ASSERT_TRUE(set_network_link(topology, netlink, "web", 1, true));
  EXPECT_EQ(netlink.calls, (std::vector<std::string>{"set_down web-1", "set_up web-1"}));
  EXPECT_EQ(set_network_link(topology, netlink, "web", 2, false).error().message, "VM web has no network 2");
  EXPECT_EQ(set_network_link(topology, netlink, "nobody", 0, false).error().message, "no VM nobody in the network plan");
}

}  // namespace
}  // namespace meros::net
