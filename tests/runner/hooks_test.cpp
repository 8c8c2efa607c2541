// Event hooks: the host hook environment, the known_hosts file, and the
// HookRunner's order and failure semantics against a fake ProcessRunner.
#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include "runner/hooks.h"
#include "test_scenarios.h"

namespace meros {
namespace {

using test::plan_text;

const char* kScenario = R"(
name: hook-sample
bridges:
  lan: {subnet: 10.0.10.0/24}
  dmz: {subnet: 10.0.20.0/24}
virtual_machines:
  web-1:
    networks: [{bridge: lan, ip_addr: 10.0.10.5}, {bridge: dmz, ip_addr: 10.0.20.5}]
  db:
    networks: [{bridge: dmz, ip_addr: 10.0.20.6}]
)";

// Records every spec; answers with the exit codes it is given, in order.
class FakeRunner : public ProcessRunner {
 public:
  std::vector<int> exits;
  std::vector<ProcessSpec> specs;
  bool time_out = false;  // each hook runs out its whole timeout
  Result<ProcessResult> run(const ProcessSpec& spec) override {
    specs.push_back(spec);
    ProcessResult r;
    if (time_out) {
      std::this_thread::sleep_for(spec.timeout);
      r.timed_out = true;
    }
    r.exit_code = exits.empty() ? 0 : exits[(specs.size() - 1) % exits.size()];
    r.output = "line one\nhook says " + spec.argv[0] + "\n";
    return r;
  }
};

std::vector<Hook> hooks(std::initializer_list<const char*> names) {
  std::vector<Hook> out;
  for (const char* n : names) out.push_back(Hook{std::string("/scn/") + n, n, {}});
  return out;
}

TEST(Hooks, EnvironmentNamesEveryVm) {
  auto planned = plan_text(kScenario);
  auto env = host_hook_environment(planned->plan, "r1", "on_up", "/work/known_hosts");
  EXPECT_EQ(env.at("MEROS_EVENT"), "on_up");
  EXPECT_EQ(env.at("MEROS_RUN_ID"), "r1");
  EXPECT_EQ(env.at("MEROS_SCENARIO"), "hook-sample");
  EXPECT_EQ(env.at("MEROS_NETNS"), planned->plan.topology.namespace_name);
  EXPECT_EQ(env.at("MEROS_ARTIFACTS"), planned->plan.artifacts.string());
  EXPECT_EQ(env.at("MEROS_KNOWN_HOSTS"), "/work/known_hosts");
  EXPECT_EQ(env.at("MEROS_SSH_KEY"), "/cache/keys/id_ed25519");
  EXPECT_EQ(env.at("MEROS_VM_WEB_1_ADDRS"), "lan=10.0.10.5 dmz=10.0.20.5");
  EXPECT_EQ(env.at("MEROS_VM_DB_ADDRS"), "dmz=10.0.20.6");
  EXPECT_EQ(env.at("MEROS_VM_DB_MGMT"), planned->plan.find_vm("db")->ssh.address.str());
  EXPECT_EQ(env.count("MEROS_SCENARIO_DIR"), 1u);
}

TEST(Hooks, EnvNameUpperCasesAndReplaces) {
  EXPECT_EQ(hook_env_name("web-1.a_b"), "WEB_1_A_B");
  EXPECT_EQ(hook_env_name("Db9"), "DB9");
}

TEST(Hooks, KnownHostsPinsEachVmUnderItsManagementAddress) {
  auto planned = plan_text(kScenario);
  std::string text = known_hosts_text(planned->plan);
  EXPECT_EQ(text, planned->plan.vms[0].ssh.address.str() + " ssh-ed25519 AAAAbusybox\n" +
                      planned->plan.vms[1].ssh.address.str() + " ssh-ed25519 AAAAbusybox\n");
}

TEST(Hooks, FailingOnUpStopsAndNamesTheHookWithItsOutput) {
  auto planned = plan_text(kScenario);
  planned->plan.artifacts = testing::TempDir() + "/hooks-art";
  planned->plan.work = testing::TempDir() + "/hooks-work";
  FakeRunner runner;
  runner.exits = {0, 3};
  HookRunner hr(planned->plan, "r1", runner, Duration(180'000));
  Status up = hr.run_host("on_up", hooks({"a.sh", "b.sh", "c.sh"}), true);
  ASSERT_FALSE(up);
  EXPECT_NE(up.error().message.find("on_up hook b.sh (host) exited with status 3"), std::string::npos);
  EXPECT_NE(up.error().message.find("hook says /scn/b.sh"), std::string::npos);
  ASSERT_EQ(runner.specs.size(), 2u);  // c.sh never ran
  EXPECT_EQ(runner.specs[0].argv, std::vector<std::string>{"/scn/a.sh"});
  EXPECT_EQ(runner.specs[0].timeout, Duration(180'000));
  EXPECT_FALSE(runner.specs[0].runs_after_stop);
  ASSERT_EQ(hr.outcomes().size(), 2u);
  std::ifstream log(hr.outcomes()[1].log);
  std::string first;
  std::getline(log, first);
  EXPECT_EQ(first, "line one");
  std::ifstream known(planned->plan.work / "known_hosts");
  EXPECT_TRUE(known.good());
}

TEST(Hooks, FailingBeforeDownRunsTheRestAndSurvivesAStop) {
  auto planned = plan_text(kScenario);
  planned->plan.artifacts = testing::TempDir() + "/hooks-art2";
  planned->plan.work = testing::TempDir() + "/hooks-work2";
  FakeRunner runner;
  runner.exits = {1};
  HookRunner hr(planned->plan, "r1", runner, Duration(60'000));
  Status down = hr.run_host("before_down", hooks({"x.sh", "y.sh"}), false);
  EXPECT_FALSE(down);
  ASSERT_EQ(runner.specs.size(), 2u);
  EXPECT_TRUE(runner.specs[1].runs_after_stop);
  EXPECT_EQ(runner.specs[1].environment.at("MEROS_EVENT"), "before_down");
  EXPECT_EQ(hr.outcomes().size(), 2u);
}

// The setup hooks share the scenario's timeout; teardown hooks keep theirs.
TEST(Hooks, SetupHooksGetWhatIsLeftOfTheScenarioTimeout) {
  auto planned = plan_text(kScenario);
  planned->plan.artifacts = testing::TempDir() + "/hooks-art3";
  planned->plan.work = testing::TempDir() + "/hooks-work3";
  FakeRunner runner;
  HookRunner hr(planned->plan, "r1", runner, Duration(60'000));
  hr.count_setup_against(vm::steady_clock().now() + Duration(5'000), "5s");
  ASSERT_TRUE(hr.run_host("on_up", hooks({"a.sh"}), true));
  ASSERT_TRUE(hr.run_host("before_down", hooks({"z.sh"}), false));
  ASSERT_EQ(runner.specs.size(), 2u);
  EXPECT_LE(runner.specs[0].timeout, Duration(5'000));
  EXPECT_GT(runner.specs[0].timeout, Duration(4'000));
  EXPECT_EQ(runner.specs[1].timeout, Duration(60'000));
}

TEST(Hooks, ASetupHookTheScenarioTimeoutStopsSaysSoAndNoneStartsAfterIt) {
  auto planned = plan_text(kScenario);
  planned->plan.artifacts = testing::TempDir() + "/hooks-art4";
  planned->plan.work = testing::TempDir() + "/hooks-work4";
  FakeRunner runner;
  runner.time_out = true;
  HookRunner hr(planned->plan, "r1", runner, Duration(60'000));
  hr.count_setup_against(vm::steady_clock().now() + Duration(50), "2m");
  Status up = hr.run_host("on_up", hooks({"slow.sh", "next.sh"}), false);
  ASSERT_FALSE(up);
  EXPECT_NE(up.error().message.find("on_up hook slow.sh (host) was stopped after"), std::string::npos) << up.error().message;
  EXPECT_NE(up.error().message.find("the scenario's timeout (2m) ran out"), std::string::npos) << up.error().message;
  ASSERT_EQ(runner.specs.size(), 1u) << "next.sh started after the deadline";
  ASSERT_EQ(hr.outcomes().size(), 2u);
  EXPECT_EQ(hr.outcomes()[1].message, "was not started: the scenario's timeout (2m) had run out");
}

}  // namespace
}  // namespace meros
