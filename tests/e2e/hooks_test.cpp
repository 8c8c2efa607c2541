// Event hooks on real VMs (scenario-format.md, "Event hooks"): host hooks
// reaching a VM with OpenSSH and strict host-key checking, guest hooks, a
// failing on_up, and before_down after a failed test and an interrupt.
#include "e2e_support.h"

namespace {

using namespace e2e;

TEST_F(EndToEnd, HooksRunAtTheirEventsAndReachTheVmOverOpenSsh) {
  fs::path junit = out_ / "junit.xml";
  fs::path json = out_ / "report.json";
  fs::path artifacts = out_ / "artifacts";
  auto result = meros("tests/e2e/hooks --junit " + junit.string() + " --json " + json.string() + " --artifacts " + artifacts.string());
  EXPECT_EQ(result.exit_code, 1) << result.text;
  EXPECT_EQ(junit_summary(junit),
            "on_up wrote over ssh | passed |\n"
            "on_boot ran in the guest | passed |\n"
            "fails on purpose | failed | exit #, expected exit #\n")
      << result.text;
  expect_valid_junit(junit);
  EXPECT_EQ(read_file(artifacts / "e2e-hooks/before-down.txt"), "before_down e2e-hooks\n");
  EXPECT_EQ(read_file(artifacts / "e2e-hooks/on-failure.txt"), "on_failure\n");
  std::string report = read_file(json);
  for (const char* event : {"\"on_boot\"", "\"on_up\"", "\"on_failure\"", "\"before_shutdown\"", "\"before_down\""})
    EXPECT_NE(report.find(event), std::string::npos) << event << " missing from the JSON report";
  EXPECT_NE(report.find("guest before_shutdown"), std::string::npos);
  EXPECT_NE(read_file(junit).find("hook before_down hooks/down.sh: ok"), std::string::npos);
}

TEST_F(EndToEnd, AFailingOnUpHookErrorsTheSetupWithItsOutput) {
  fs::path junit = out_ / "junit.xml";
  fs::path artifacts = out_ / "artifacts";
  auto result = meros("tests/e2e/hooks-failing-up --junit " + junit.string() + " --artifacts " + artifacts.string());
  EXPECT_EQ(result.exit_code, 1) << result.text;
  EXPECT_EQ(junit_summary(junit),
            "scenario setup | errored | on_up hook hooks/seed.sh (host) exited with status #; the end of its output:\n"
            "never runs | skipped | not run: the scenario's setup failed\n")
      << result.text;
  std::string xml = read_file(junit);
  EXPECT_NE(xml.find("seed failed: no database at 100.127."), std::string::npos) << xml;
  EXPECT_EQ(read_file(artifacts / "e2e-hooks-failing-up/before-down.txt"), "before_down e2e-hooks-failing-up\n");
  expect_valid_junit(junit);
}

TEST_F(EndToEnd, BeforeDownRunsAfterAnInterrupt) {
  fs::path junit = out_ / "junit.xml";
  fs::path artifacts = out_ / "artifacts";
  pid_t child = meros_in_background("-v tests/e2e/hooks-interrupt --junit " + junit.string() + " --artifacts " + artifacts.string());
  ASSERT_TRUE(wait_for_log("vm: ready in")) << read_file(out_ / "log");
  std::this_thread::sleep_for(std::chrono::seconds(3));  // the long step is running by now
  expect_prompt_exit(child, SIGINT, "during a step");
  EXPECT_EQ(junit_summary(junit), "long step | skipped | interrupted (SIGINT) while running\n") << read_file(out_ / "log");
  EXPECT_EQ(read_file(artifacts / "e2e-hooks-interrupt/before-down.txt"), "before_down e2e-hooks-interrupt\n") << read_file(out_ / "log");
}

}  // namespace
