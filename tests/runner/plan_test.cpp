// The plan stage: typed machine specs, SSH routes, probe routes, listener
// sets and the run-state record, from a parsed scenario without root.
#include <gtest/gtest.h>

#include "fixture/facts.h"
#include "test_scenarios.h"

namespace meros {
namespace {

using test::plan_text;

const char* kTwoBridges = R"(
name: plan-sample
timeout: 2m
bridges:
  lan: {subnet: 10.0.10.0/24, policy_type: host-access}
  dmz: {subnet: 10.0.20.0/24, policy_type: isolated}
virtual_machines:
  web:
    networks: [{bridge: lan, ip_addr: 10.0.10.5}, {bridge: dmz, ip_addr: 10.0.20.5}]
    services: [tcp/80]
    memory: 512M
  db:
    networks: [{bridge: dmz, ip_addr: 10.0.20.6}]
    ssh_user: admin
tests:
  - name: rows
    matrix:
      - [db, web, 80/tcp, allow]
      - [db, web@lan, 8080/tcp, drop]
      - [web, host, 53/udp, allow]
      - [db, 10.0.10.5, icmp, drop]
      - [host, db, 5432/tcp, allow]
      - [web, db, 5432/tcp, allow]
)";

TEST(Plan, MachineSpecsAreComplete) {
  auto planned = plan_text(kTwoBridges);
  const Plan& plan = planned->plan;
  ASSERT_EQ(plan.vms.size(), 2u);
  const VmPlan& web = plan.vms[0];
  EXPECT_EQ(web.name(), "web");
  EXPECT_EQ(web.machine.memory_mib, 512u);
  EXPECT_EQ(web.machine.kernel, "/cache/kernel/default/bzImage");
  EXPECT_EQ(web.machine.root_device, "/dev/vda");
  EXPECT_EQ(web.machine.disk, "/cache/runs/r1/plan-sample/web.qcow2");
  EXPECT_EQ(web.machine.console_log, "/reports/r1/plan-sample/web.console.log");
  EXPECT_EQ(web.base_image, "/cache/image/busybox/rootfs.qcow2");
  ASSERT_EQ(web.machine.networks.size(), 2u);
  EXPECT_EQ(web.machine.networks[1].guest_ifname, "eth1");
  EXPECT_EQ(web.machine.networks[1].address.str(), "10.0.20.5");
  EXPECT_EQ(web.bridge_addresses, (std::vector<std::string>{"10.0.10.5", "10.0.20.5"}));
  ASSERT_TRUE(web.machine.management);
  EXPECT_EQ(web.machine.management->guest_ifname, "mgmt0");
}

TEST(Plan, SshRoutesUseTheManagementLinkAndTheImageHostKey) {
  auto planned = plan_text(kTwoBridges);
  const VmPlan* db = planned->plan.find_vm("db");
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(db->ssh.address.str(), "100.127.0.6");
  EXPECT_EQ(db->ssh.user, "admin");
  EXPECT_EQ(db->ssh.host_key, "ssh-ed25519 AAAAbusybox");
  EXPECT_EQ(db->ssh.private_key, "/cache/keys/id_ed25519");
}

TEST(Plan, ProbeRoutesResolveEveryEndpointKind) {
  auto planned = plan_text(kTwoBridges);
  const auto& rows = planned->plan.steps.at(0).rows;
  ASSERT_EQ(rows.size(), 6u);
  // vm: the interface on a bridge both share
  ASSERT_TRUE(rows[0].route);
  EXPECT_EQ(rows[0].route->source_vm, "db");
  EXPECT_EQ(rows[0].route->target_vm, "web");
  EXPECT_EQ(rows[0].route->target_address.str(), "10.0.20.5");
  // vm@bridge: that interface, even when another is shared
  EXPECT_EQ(rows[1].route->target_address.str(), "10.0.10.5");
  // host: the gateway of the source's bridge
  EXPECT_TRUE(rows[2].route->target_is_host);
  EXPECT_EQ(rows[2].route->target_address.str(), "10.0.10.1");
  // a literal address of a scenario VM: that VM's interface
  EXPECT_EQ(rows[3].route->target_address.str(), "10.0.10.5");
  EXPECT_EQ(rows[3].route->target_vm, "web");
  EXPECT_FALSE(rows[3].route->target_is_host);
  // from host
  EXPECT_TRUE(rows[4].route->from_host);
  EXPECT_EQ(rows[4].route->target_address.str(), "10.0.20.6");
  EXPECT_EQ(rows[0].name, "rows: db -> web 80/tcp allow");
}

// Spec v1.1: a literal address that belongs to a scenario VM is that VM's
// interface, listeners included; a bridge's gateway is the host; any other
// address is nobody's.
TEST(Plan, LiteralAddressesOfTheScenarioGetTheirOwnersListeners) {
  auto planned = plan_text(std::string(kTwoBridges) +
                           "  - name: literals\n    matrix:\n      - [web, 10.0.20.6, 7000/tcp, allow]\n"
                           "      - [db, 10.0.20.1, 7001/udp, allow]\n      - [web, 10.0.10.99, 7002/tcp, drop]\n");
  const StepPlan& step = planned->plan.steps.at(1);
  ASSERT_EQ(step.rows.size(), 3u);
  EXPECT_EQ(step.rows[0].route->target_vm, "db");
  EXPECT_TRUE(step.rows[1].route->target_is_host);
  EXPECT_TRUE(step.rows[2].route->target_vm.empty());
  EXPECT_FALSE(step.rows[2].route->target_is_host);
  ASSERT_EQ(step.listeners.size(), 2u);
  EXPECT_EQ(step.listeners[0].target, "");
  EXPECT_EQ(step.listeners[0].ports, (std::vector<PortProto>{{7001, Proto::udp}}));
  EXPECT_EQ(step.listeners[1].target, "db");
  EXPECT_EQ(step.listeners[1].ports, (std::vector<PortProto>{{7000, Proto::tcp}}));
}

TEST(Plan, ListenersLeaveOutServicesAndIcmp) {
  auto planned = plan_text(kTwoBridges);
  const auto& listeners = planned->plan.steps.at(0).listeners;
  ASSERT_EQ(listeners.size(), 3u);
  EXPECT_EQ(listeners[0].target, "");  // the host
  EXPECT_EQ(listeners[0].ports, (std::vector<PortProto>{{53, Proto::udp}}));
  EXPECT_EQ(listeners[1].target, "db");
  EXPECT_EQ(listeners[1].ports, (std::vector<PortProto>{{5432, Proto::tcp}}));
  // web serves 80/tcp itself: only 8080 needs the agent
  EXPECT_EQ(listeners[2].target, "web");
  EXPECT_EQ(listeners[2].ports, (std::vector<PortProto>{{8080, Proto::tcp}}));
}

TEST(Plan, RunStateRecordNamesEverythingBeforeItExists) {
  auto planned = plan_text(kTwoBridges);
  const RunState& state = planned->plan.state;
  EXPECT_EQ(state.run_id, "r1-plan-sample");
  EXPECT_EQ(state.netns, "meros-r1-plan-sample");
  EXPECT_EQ(state.paths, (std::vector<std::string>{"/cache/runs/r1/plan-sample", "/run/meros-test/r1-plan-sample"}));
  // QMP sockets live in the run's socket directory, not in the store.
  EXPECT_EQ(planned->plan.vms.at(0).machine.qmp_socket.parent_path(), "/run/meros-test/r1-plan-sample");
  EXPECT_EQ(state.client_key, "/cache/keys/id_ed25519");
  ASSERT_EQ(state.vms.size(), 2u);
  EXPECT_EQ(state.vms[0].addresses, "lan=10.0.10.5 dmz=10.0.20.5");
  EXPECT_EQ(state.vms[1].management_address, "100.127.0.6");
  EXPECT_EQ(planned->plan.scenario_timeout, Duration(120'000));
}

TEST(RunState, RoundTripsThroughJson) {
  RunState state;
  state.run_id = "abc-x";
  state.mode = "up";
  state.kept_for_inspection = true;
  state.owner = {42, 7};
  state.netns = "meros-abc-x";
  state.processes = {{100, 5}};
  state.paths = {"/w"};
  state.client_key = "/k";
  state.vms = {{"web", "100.127.0.2", "lan=10.0.0.2", "root", "ssh-ed25519 AAAA"}};
  auto back = RunState::from_json(state.to_json());
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->to_json(), state.to_json());
  ASSERT_NE(back->find_vm("web"), nullptr);
  EXPECT_EQ(back->find_vm("web")->host_key, "ssh-ed25519 AAAA");
  EXPECT_EQ(back->find_vm("nope"), nullptr);
  EXPECT_FALSE(RunState::from_json(nlohmann::json::object()));
}

TEST(FixtureFacts, RoundTripAndRefuseAManifestWithoutThem) {
  ImageFacts image;
  image.host_key = "ssh-ed25519 AAAA";
  image.root_device = "/dev/vda1";
  auto back = ImageFacts::from_json(image.to_json());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->root_device, "/dev/vda1");
  EXPECT_EQ(back->host_key, image.host_key);
  EXPECT_FALSE(ImageFacts::from_json({{"artifact", "rootfs.qcow2"}}));
  KernelFacts kernel{"vmlinuz", "initrd.img"};
  auto kernel_back = KernelFacts::from_json(kernel.to_json());
  ASSERT_TRUE(kernel_back);
  EXPECT_EQ(kernel_back->initrd, std::optional<std::string>("initrd.img"));
  EXPECT_FALSE(KernelFacts::from_json(KernelFacts{}.to_json())->initrd);
}

}  // namespace
}  // namespace meros
