// The real meros-test binary on real scenarios. A run's JUnit is checked
// against the XSD and, for the failing example, against the expected
// verdicts; the host's namespaces, links and ruleset must be unchanged.
#include "e2e_support.h"

namespace {

using namespace e2e;

TEST_F(EndToEnd, FailingScenarioReportsEachFailureAsExpected) {
  fs::path junit = out_ / "junit.xml";
  auto result = meros("tests/e2e/failing --junit " + junit.string() + " --artifacts " + (out_ / "artifacts").string());
  EXPECT_EQ(result.exit_code, 1) << result.text;
  EXPECT_EQ(junit_summary(junit), read_file(fs::path(MEROS_SOURCE_DIR) / "tests/e2e/failing.expected")) << result.text;
  expect_valid_junit(junit);
  EXPECT_TRUE(fs::exists(out_ / "artifacts/failing-on-purpose/alpha.console.log"));
  // The failure evidence: the console tail is in the testcase.
  EXPECT_NE(read_file(junit).find("serial console of alpha"), std::string::npos);
}

// A VM that cannot start and a guest firewall that cannot load: each
// scenario reports an errored "scenario setup" with the reason and its
// steps as skipped; the run goes on and writes a valid report.
TEST_F(EndToEnd, SetupFailuresBecomeErroredTestcases) {
  fs::path junit = out_ / "junit.xml";
  auto result = meros("tests/e2e/setup-errors --junit " + junit.string() + " --artifacts " + (out_ / "artifacts").string());
  EXPECT_EQ(result.exit_code, 1) << result.text;
  EXPECT_EQ(junit_summary(junit),
            "scenario setup | errored | vm alpha: QEMU exited with status # at start: qemu-system-x#_#: -no-such-option: invalid option\n"
            "never runs either | skipped | not run: the scenario's setup failed\n"
            "scenario setup | errored | alpha: cannot load the firewall alpha.nft: its image has no nft (add nftables to the image's packages)\n"
            "never runs | skipped | not run: the scenario's setup failed\n")
      << result.text;
  expect_valid_junit(junit);
}

// A step cannot outlive its scenario's timeout: it is killed when the
// scenario's time is up, and what follows is skipped.
TEST_F(EndToEnd, ScenarioTimeoutCutsTheRunningStep) {
  fs::path junit = out_ / "junit.xml";
  auto result = meros("tests/e2e/scenario-timeout --junit " + junit.string() + " --artifacts " + (out_ / "artifacts").string());
  EXPECT_EQ(result.exit_code, 1) << result.text;
  EXPECT_EQ(junit_summary(junit),
            "long step | failed | the scenario's timeout ran out during the step (the command was killed)\n"
            "after | skipped | not run: the scenario's timeout (#s) ran out\n")
      << result.text;
}

// The kernel's high-water mark of pid's resident memory, in KiB; 0 once
// it is gone (or a zombie).
long peak_rss_kib(pid_t pid) {
  std::istringstream status(read_file("/proc/" + std::to_string(pid) + "/status"));
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmHWM:", 0) == 0) return std::atol(line.c_str() + 6);
  return 0;
}

// testcase name="name"'s time attribute in the JUnit, or -1.
double junit_case_time(const fs::path& file, const std::string& name) {
  tinyxml2::XMLDocument doc;
  if (doc.LoadFile(file.c_str()) != tinyxml2::XML_SUCCESS) return -1;
  auto* suites = doc.FirstChildElement("testsuites");
  for (auto* suite = suites ? suites->FirstChildElement("testsuite") : nullptr; suite; suite = suite->NextSiblingElement("testsuite"))
    for (auto* tc = suite->FirstChildElement("testcase"); tc; tc = tc->NextSiblingElement("testcase"))
      if (tc->Attribute("name") && name == tc->Attribute("name")) return tc->DoubleAttribute("time", -1);
  return -1;
}

// A guest printing without end (issue #10): the step keeps 16 MiB of each
// stream and says how much it left out, the harness stays under 256 MiB
// resident, the step ends within its timeout plus a few seconds, the
// transcript and console logs stay capped, and the next step passes.
TEST_F(EndToEnd, AStepPrintingWithoutEndLeavesTheHarnessBounded) {
  fs::path junit = out_ / "junit.xml", json = out_ / "report.json", artifacts = out_ / "artifacts";
  // Multiplier 1: the step's timeout is its 20 s under TCG too.
  pid_t child = meros_in_background("tests/e2e/flood --timeout-multiplier 1 --junit " + junit.string() + " --json " + json.string() + " --artifacts " +
                                    artifacts.string());
  long peak_kib = 0;
  int status = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(30);
  while (::waitpid(child, &status, WNOHANG) != child) {
    // The high-water mark only grows, so the last read before exit is
    // (within 100 ms of) the whole run's peak.
    peak_kib = std::max(peak_kib, peak_rss_kib(child));
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(child, SIGKILL);
      ::waitpid(child, &status, 0);
      FAIL() << "still running after 30 minutes\n" << read_file(out_ / "log");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::cout << "meros-test peak RSS (VmHWM): " << peak_kib / 1024 << " MiB\n";
  std::string log = read_file(out_ / "log");
  ASSERT_TRUE(WIFEXITED(status)) << log;
  EXPECT_EQ(WEXITSTATUS(status), 1) << "the flood step times out, so the run fails\n" << log;
  EXPECT_GT(peak_kib, 0);
  EXPECT_LT(peak_kib, 256 * 1024) << "peak RSS " << peak_kib << " KiB";
  EXPECT_EQ(junit_summary(junit),
            "flood | failed | timed out after #s (the command was killed)\n"
            "after | passed |\n")
      << log;
  double flood_time = junit_case_time(junit, "flood");
  std::cout << "flood step: " << flood_time << " s against its 20 s timeout\n";
  EXPECT_GE(flood_time, 19.0);
  EXPECT_LE(flood_time, 25.0);
  expect_valid_junit(junit);
  std::string xml = read_file(junit);
  static const std::regex not_kept("output: [0-9]+ bytes of stdout and [0-9]+ bytes of stderr not kept");
  EXPECT_TRUE(std::regex_search(xml, not_kept)) << "the JUnit does not say what was not kept";
  std::string report = read_file(json);
  EXPECT_TRUE(std::regex_search(report, std::regex("\"stdout_dropped\": [1-9][0-9]*")));
  EXPECT_TRUE(std::regex_search(report, std::regex("\"stderr_dropped\": [1-9][0-9]*")));
  // The transcript and the serial console: head, marker, tail, capped.
  fs::path transcript = artifacts / "flood/vm.commands.log", console = artifacts / "flood/vm.console.log";
  ASSERT_TRUE(fs::exists(transcript));
  ASSERT_TRUE(fs::exists(console));
  EXPECT_LE(fs::file_size(transcript), (9u << 20) + 200);
  EXPECT_NE(read_file(transcript).find("bytes not kept ...]"), std::string::npos);
  EXPECT_NE(read_file(transcript).find("$ echo still here\nstill here\n"), std::string::npos);
  EXPECT_LE(fs::file_size(console), (9u << 20) + 200);
  EXPECT_NE(read_file(console).find("MEROS-READY"), std::string::npos) << "the head of the console is kept";
  EXPECT_NE(read_file(console).find("console-flood"), std::string::npos);
  std::cout << "transcript " << fs::file_size(transcript) << " bytes, console log " << fs::file_size(console) << " bytes\n";
}

// --keep-on-failure holds the failed scenario until `down`; the run then
// ends as a failed run (exit 1, not interrupted) with its report written.
TEST_F(EndToEnd, KeptScenarioIsReleasedByDown) {
  fs::path junit = out_ / "junit.xml";
  pid_t child = meros_in_background("--keep-on-failure tests/e2e/setup-errors/no-nft --junit " + junit.string() +
                                    " --artifacts " + (out_ / "artifacts").string());
  std::string id;
  for (int i = 0; i < 600 && id.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    std::smatch match;
    std::string log = read_file(out_ / "log");
    if (std::regex_search(log, match, std::regex("meros-test down (\\S+-setup-no-nft)"))) id = match[1];
  }
  ASSERT_FALSE(id.empty()) << read_file(out_ / "log");
  auto exec = meros("exec " + id + " alpha -- hostname");
  EXPECT_EQ(exec.text, "alpha\n");
  auto down = meros("down " + id);
  EXPECT_EQ(down.exit_code, 0) << down.text;
  int status = 0;
  ::waitpid(child, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1) << read_file(out_ / "log");
  EXPECT_NE(junit_summary(junit).find("scenario setup | errored | alpha: cannot load the firewall"), std::string::npos);
}

// SIGKILL of meros-test while its VMs boot: QEMU dies with it (parent-death
// signal) and gc removes the namespace and overlays it left.
TEST_F(EndToEnd, SigkillDuringBootThenGcLeavesNothing) {
  pid_t child = meros_in_background("tests/e2e/failing --artifacts " + (out_ / "artifacts").string());
  ASSERT_TRUE(wait_for_booting(child)) << read_file(out_ / "log");
  std::istringstream qemus(qemu_children(child));
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  std::this_thread::sleep_for(std::chrono::seconds(2));
  for (std::string pid; qemus >> pid;) EXPECT_TRUE(gone_soon(std::stoi(pid))) << "QEMU " << pid << " outlived meros-test by 2 s";
  auto gc = meros("gc");
  EXPECT_EQ(gc.exit_code, 0) << gc.text;
  EXPECT_NE(gc.text.find("1 run(s) removed"), std::string::npos) << gc.text;
}


// `up` with a path, then exec and down by that same path: the run's
// directory in the store is gone when down returns, and so is a run's.
// up and down run the scenario's hooks as a run does.
TEST_F(EndToEnd, DownTakesThePathGivenToUpAndLeavesNoRunsDirectory) {
  auto up = meros("up scenarios/smoke --artifacts " + (out_ / "up").string());
  ASSERT_EQ(up.exit_code, 0) << up.text;
  std::smatch match;
  ASSERT_TRUE(std::regex_search(up.text, match, std::regex("constellation ([0-9a-f]+)-smoke is up"))) << up.text;
  std::string run_id = match[1];
  EXPECT_TRUE(fs::exists(store_root() / "runs" / run_id)) << "the constellation's overlays should live there";
  auto exec = meros("exec scenarios/smoke/ vm1 -- hostname");
  EXPECT_EQ(exec.text, "vm1\n");
  // up sets up as a run does: the guest on_boot and host on_up hooks ran.
  EXPECT_EQ(meros("exec scenarios/smoke vm1 -- cat /tmp/on-boot /tmp/seeded").text, "booted vm1\nseeded by the host\n");
  EXPECT_FALSE(fs::exists(out_ / "up" / "smoke" / "before-down.txt")) << "before_down ran before down";
  auto down = meros("down scenarios/smoke");
  EXPECT_EQ(down.exit_code, 0) << down.text;
  EXPECT_NE(down.text.find("(smoke) is down"), std::string::npos) << down.text;
  // ... and down tears down as a run does: the teardown hooks ran, each
  // hook's outcome is in up.log and its output under hooks/.
  EXPECT_EQ(read_file(out_ / "up" / "smoke" / "before-down.txt"), "before_down smoke lan=10.0.10.21\n");
  std::string up_log = read_file(out_ / "up" / "up.log");
  for (const char* line : {"hook on_boot hooks/vm1-boot.sh (VM vm1): ok", "hook on_up hooks/seed.sh: ok",
                           "hook before_shutdown hooks/vm1-stop.sh (VM vm1): ok", "hook before_down hooks/collect.sh: ok"})
    EXPECT_NE(up_log.find(line), std::string::npos) << line << " is not in up.log:\n" << up_log;
  bool stop_output = false;
  for (const auto& entry : fs::directory_iterator(out_ / "up" / "smoke" / "hooks"))
    stop_output |= entry.path().filename().string().find("before_shutdown-vm1") != std::string::npos &&
                   read_file(entry.path()) == "stopping vm1\n";
  EXPECT_TRUE(stop_output) << "no hooks/*before_shutdown-vm1* log holding the hook's output";
  EXPECT_FALSE(fs::exists(store_root() / "runs" / run_id)) << "down left runs/" << run_id;
  EXPECT_EQ(meros("down scenarios/smoke").exit_code, 2) << "nothing is up any more";

  auto run = meros("scenarios/smoke --junit " + (out_ / "junit.xml").string() + " --artifacts " + (out_ / "run").string());
  EXPECT_EQ(run.exit_code, 0) << run.text;
  ASSERT_TRUE(std::regex_search(run.text, match, std::regex("meros-test run ([0-9a-f]+):"))) << run.text;
  EXPECT_FALSE(fs::exists(store_root() / "runs" / std::string(match[1]))) << "the run left runs/" << match[1];
}

// connect: the VM's host key goes to a private directory that is gone when
// ssh ends, and a symlink planted at the old predictable name
// ($TMPDIR/meros-known-hosts-<run id>) is neither followed nor touched.
TEST_F(EndToEnd, ConnectLeavesNoKnownHostsBehindAndFollowsNoPlantedLink) {
  auto up = meros("up scenarios/smoke --artifacts " + (out_ / "up").string());
  ASSERT_EQ(up.exit_code, 0) << up.text;
  std::smatch match;
  ASSERT_TRUE(std::regex_search(up.text, match, std::regex("constellation ([0-9a-f]+)-smoke is up"))) << up.text;
  std::string run_id = match[1];
  fs::path tmp = out_ / "tmp";
  fs::create_directories(tmp);
  std::ofstream(out_ / "canary") << "keep\n";
  fs::path planted = tmp / ("meros-known-hosts-" + run_id);
  fs::create_symlink(out_ / "canary", planted);
  ::setenv("TMPDIR", tmp.c_str(), 1);
  auto connect = meros("connect " + run_id + " vm1 -- hostname </dev/null");
  ::unsetenv("TMPDIR");
  EXPECT_EQ(connect.exit_code, 0) << connect.text;
  EXPECT_NE(connect.text.find("vm1\n"), std::string::npos) << connect.text;
  EXPECT_EQ(read_file(out_ / "canary"), "keep\n") << "connect wrote through the planted link";
  EXPECT_EQ(fs::read_symlink(planted), out_ / "canary");
  std::vector<std::string> left;
  for (const auto& entry : fs::directory_iterator(tmp)) left.push_back(entry.path().filename().string());
  EXPECT_EQ(left, std::vector<std::string>{planted.filename().string()}) << "connect left its private directory behind";
  // A command that fails: its status comes back, and nothing is left either.
  ::setenv("TMPDIR", tmp.c_str(), 1);
  auto failing = meros("connect " + run_id + " vm1 -- exit 3 </dev/null");
  ::unsetenv("TMPDIR");
  EXPECT_EQ(failing.exit_code, 3) << failing.text;
  EXPECT_EQ(std::distance(fs::directory_iterator(tmp), fs::directory_iterator()), 1);
  EXPECT_EQ(meros("down " + run_id).exit_code, 0);
}

// The run-state record exists before any host resource: a SIGKILL the
// moment the namespace appears still leaves gc all it needs.
TEST_F(EndToEnd, SigkillRightAfterTheNamespaceAppearsThenGcLeavesNothing) {
  std::set<std::string> before;
  std::error_code none;
  for (const auto& entry : fs::directory_iterator("/run/netns", none)) before.insert(entry.path().filename());
  pid_t child = meros_in_background("tests/e2e/failing --artifacts " + (out_ / "artifacts").string());
  bool appeared = false;
  for (int i = 0; i < 60'000 && !appeared; ++i) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator("/run/netns", ec))
      if (entry.path().filename().string().starts_with("meros-") && !before.count(entry.path().filename())) appeared = true;
    if (!appeared) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  ASSERT_TRUE(appeared) << read_file(out_ / "log");
  auto gc = meros("gc");
  EXPECT_EQ(gc.exit_code, 0) << gc.text;
  EXPECT_NE(gc.text.find("1 run(s) removed"), std::string::npos) << gc.text;
  EXPECT_NE(gc.text.find("removed network namespace meros-"), std::string::npos) << gc.text;
}

}  // namespace

// Members of the shared fixture, defined outside the anonymous namespace.
// A signal while the VMs boot: the boot wait stops, everything is torn
// down, the report says which cases were not run, exit 128 + signal, promptly.
void e2e::EndToEnd::signal_during_boot(int signal) {
  fs::path junit = out_ / "junit.xml";
  pid_t child = meros_in_background("tests/e2e/failing --junit " + junit.string() + " --artifacts " + (out_ / "artifacts").string());
  ASSERT_TRUE(wait_for_booting(child)) << read_file(out_ / "log");
  expect_prompt_exit(child, signal, "during boot");
  std::string name = std::string("SIG") + ::sigabbrev_np(signal);
  std::istringstream lines(junit_summary(junit));
  std::string first, line;
  std::getline(lines, first);
  // The boot wait stops, or the next VM's overlay or QEMU, which got the signal too.
  EXPECT_TRUE(first == "scenario setup | errored | setup interrupted by " + name ||
              (first.starts_with("scenario setup | errored | vm ") && first.ends_with(": boot interrupted by " + name)))
      << first;
  int skipped = 0;
  while (std::getline(lines, line)) {
    EXPECT_TRUE(line.ends_with("| skipped | not run: interrupted (" + name + ")")) << line;
    ++skipped;
  }
  EXPECT_EQ(skipped, 12) << "each step, each matrix row apart";
  expect_valid_junit(junit);
}

// A signal while a step runs in the guest: the step stops at once and is
// reported as interrupted, the rest as not run.
void e2e::EndToEnd::signal_during_step(int signal) {
  fs::path junit = out_ / "junit.xml";
  pid_t child = meros_in_background("-v tests/e2e/long-step --junit " + junit.string() + " --artifacts " + (out_ / "artifacts").string());
  ASSERT_TRUE(wait_for_log("vm: ready in")) << read_file(out_ / "log");
  std::this_thread::sleep_for(std::chrono::seconds(3));  // the long step is running by now
  expect_prompt_exit(child, signal, "during a step");
  std::string name = std::string("SIG") + ::sigabbrev_np(signal);
  EXPECT_EQ(junit_summary(junit),
            "long step | skipped | interrupted (" + name + ") while running\n"
            "after | skipped | not run: interrupted (" + name + ")\n")
      << read_file(out_ / "log");
  expect_valid_junit(junit);
}

namespace {

TEST_F(EndToEnd, SigintDuringBootTearsDownAndReports) { signal_during_boot(SIGINT); }
TEST_F(EndToEnd, SigtermDuringBootTearsDownAndReports) { signal_during_boot(SIGTERM); }
TEST_F(EndToEnd, SigintDuringALongStepTearsDownAndReports) { signal_during_step(SIGINT); }
TEST_F(EndToEnd, SigtermDuringALongStepTearsDownAndReports) { signal_during_step(SIGTERM); }
TEST_F(EndToEnd, SighupDuringALongStepTearsDownAndReports) { signal_during_step(SIGHUP); }

// A signal while an image builds: the hook (and what it started) is
// stopped, nothing of the build is cached, the run exits promptly.
TEST_F(EndToEnd, SigintDuringAnImageBuildStopsItsHook) {
  const std::string hook = "pgrep -f 10-meros-e2e-slow-hoo[k]";
  ASSERT_NE(run(hook + " || pgrep -fx 'sleep 600[1]|sleep 600[2]'").exit_code, 0) << "a slow hook of an earlier run is still running";
  fs::path junit = out_ / "junit.xml";
  pid_t child = meros_in_background("tests/e2e/slow-hook --junit " + junit.string() + " --artifacts " + (out_ / "artifacts").string());
  bool running = false;
  for (int i = 0; i < 600 && !running; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    running = run(hook).exit_code == 0;
  }
  ASSERT_TRUE(running) << read_file(out_ / "log");
  expect_prompt_exit(child, SIGINT, "during an image build");
  EXPECT_NE(run(hook).exit_code, 0) << "the hook outlived the run: " << run("pgrep -af 10-meros-e2e-slow-hoo[k]").text;
  EXPECT_NE(run("pgrep -fx 'sleep 600[1]|sleep 600[2]'").exit_code, 0) << "what the hook started outlived the run";
  EXPECT_EQ(junit_summary(junit).find("| passed |"), std::string::npos) << junit_summary(junit);
}

// An impatient user presses Ctrl-C twice: the second signal does not wait
// for the teardown; every QEMU of the run is killed before meros-test exits.
TEST_F(EndToEnd, SecondSignalKillsEveryQemuAtOnce) {
  pid_t child = meros_in_background("-v tests/e2e/long-step --artifacts " + (out_ / "artifacts").string());
  ASSERT_TRUE(wait_for_log("vm: ready in")) << read_file(out_ / "log");
  std::istringstream qemus(qemu_children(child));
  ::kill(child, SIGINT);
  ::kill(child, SIGINT);
  auto status = wait_exit(child, std::chrono::seconds(30));
  ASSERT_TRUE(status) << "still running 30 s after two signals\n" << read_file(out_ / "log");
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 128 + SIGINT) << read_file(out_ / "log");
  int seen = 0;
  // SIGKILLed before meros-test exited; its parent gone, init reaps it a moment later.
  for (std::string pid; qemus >> pid; ++seen) EXPECT_TRUE(gone_soon(std::stoi(pid))) << "QEMU " << pid << " outlived meros-test";
  EXPECT_EQ(seen, 1) << "the run's QEMU was found";
  auto gc = meros("gc");  // whatever the quick exit left, gc removes
  EXPECT_EQ(gc.exit_code, 0) << gc.text;
}

// -vv: the steps with their timings, the progress lines of -v, and one
// trace line for every QEMU command line, QMP message, SSH command and nft
// batch. -q: nothing of that, only the summary of a passing run.
TEST_F(EndToEnd, VerbosityLevelsShowWhatTheySay) {
  auto traced = meros("-vv scenarios/smoke --artifacts " + (out_ / "traced").string());
  EXPECT_EQ(traced.exit_code, 0) << traced.text;
  for (const char* channel : {"\n[qemu] ", "\n[qmp] -> ", "\n[qmp] <- ", "\n[ssh] ", "\n[nft] "})
    EXPECT_NE(traced.text.find(channel), std::string::npos) << "no " << channel + 1 << "line in\n" << traced.text;
  EXPECT_TRUE(std::regex_search(traced.text, std::regex(R"(\[smoke\] vm1: ready in [0-9]+ ms)"))) << traced.text;
  EXPECT_TRUE(std::regex_search(traced.text, std::regex(R"(PASS  kernel answers  \([0-9]+ ms\))"))) << traced.text;
  auto quiet = meros("-q scenarios/smoke --artifacts " + (out_ / "quiet").string());
  EXPECT_EQ(quiet.exit_code, 0) << quiet.text;
  for (const char* absent : {"PASS", "== smoke", "ready in", "[qemu]", "meros-test run ", ": cached"})
    EXPECT_EQ(quiet.text.find(absent), std::string::npos) << "-q printed " << absent << "\n" << quiet.text;
  EXPECT_NE(quiet.text.find("1 scenario(s): "), std::string::npos) << quiet.text;
}

// The longest names that validate (a 64-character scenario, a
// 31-character VM) under a run-state directory far past the 107 bytes a
// unix socket path may have: QMP still works, and the socket directory is
// gone afterwards.
TEST_F(EndToEnd, LongestNamesBootUnderADeepRunDirectory) {
  fs::path run_dir = out_ / std::string(60, 'r') / std::string(60, 's');
  ::setenv("MEROS_TEST_RUN_DIR", run_dir.c_str(), 1);
  std::string scenario(64, 'n'), vm = "v" + std::string(30, 'm');
  fs::path dir = out_ / "long-names";
  fs::create_directories(dir);
  std::ofstream(dir / "scenario.yml") << "name: " << scenario << "\nvirtual_machines:\n  " << vm << ": {}\ntests:\n"
                                      << "  - {name: qmp and ssh work, vm: " << vm << ", run: \"hostname\", expect: {stdout: " << vm
                                      << "}}\n";
  fs::path junit = out_ / "junit.xml";
  auto result = meros(dir.string() + " --junit " + junit.string() + " --artifacts " + (out_ / "artifacts").string());
  EXPECT_EQ(result.exit_code, 0) << result.text;
  EXPECT_EQ(junit_summary(junit), "qmp and ssh work | passed |\n") << result.text;
  ASSERT_GT((run_dir / ("000000-" + scenario) / (vm + ".qmp")).native().size(), 108u);
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(run_dir, ec))
    ADD_FAILURE() << "left in the run-state directory: " << entry.path();
}

// boot: disk (spec v1.1): a Debian VM boots its own GRUB, kernel and
// systemd through SeaBIOS on q35 beside a direct-boot busybox VM; every
// step of the scenario passes (kernel, init, grown root, fw_cfg hostname,
// a matrix across both).
TEST_F(EndToEnd, DiskBootScenarioPasses) {
  fs::path junit = out_ / "junit.xml";
  auto result = meros("scenarios/disk-boot --junit " + junit.string() + " --artifacts " + (out_ / "artifacts").string());
  EXPECT_EQ(result.exit_code, 0) << result.text;
  std::string summary = junit_summary(junit);
  std::size_t passed = 0;
  for (std::size_t at = summary.find("| passed |"); at != std::string::npos; at = summary.find("| passed |", at + 1)) ++passed;
  EXPECT_EQ(passed, 9u) << summary;  // five run steps and four matrix rows
  EXPECT_NE(summary.find("the disk VM runs the Debian cloud kernel | passed"), std::string::npos) << summary;
  std::string console = read_file(out_ / "artifacts/disk-boot/disk.console.log");
  EXPECT_NE(console.find("SeaBIOS"), std::string::npos) << "the disk VM did not boot through firmware";
  EXPECT_NE(console.find("MEROS-READY hostname=disk"), std::string::npos) << console;
  expect_valid_junit(junit);
}

// The same image boots on machine: pc (i440FX), settings from fw_cfg.
TEST_F(EndToEnd, DiskBootOnMachinePc) {
  fs::path junit = out_ / "junit.xml";
  auto result = meros("tests/e2e/disk-boot-pc --junit " + junit.string() + " --artifacts " + (out_ / "artifacts").string());
  EXPECT_EQ(result.exit_code, 0) << result.text;
  EXPECT_NE(read_file(out_ / "artifacts/disk-boot-pc/pc.console.log").find("MEROS-READY hostname=pc"), std::string::npos);
  expect_valid_junit(junit);
}

// The bundled mixed-arch scenario: an x86_64 and an aarch64 VM (Debian's
// arm64 package kernel) on one bridge, each reporting its machine, with a
// matrix across them.
TEST_F(EndToEnd, MixedArchScenarioPasses) {
  if (run("command -v qemu-system-aarch64").exit_code != 0) GTEST_SKIP() << "qemu-system-aarch64 missing";
  fs::path junit = out_ / "junit.xml";
  auto result = meros("scenarios/mixed-arch --junit " + junit.string() + " --artifacts " + (out_ / "artifacts").string());
  EXPECT_EQ(result.exit_code, 0) << result.text;
  std::string report = read_file(junit);
  EXPECT_NE(report.find("the aarch64 VM is aarch64"), std::string::npos) << report;
  EXPECT_EQ(report.find("<failure"), std::string::npos) << report;
  EXPECT_EQ(report.find("<error"), std::string::npos) << report;
  expect_valid_junit(junit);
}

// The built-in default kernel cross-built for arm64 boots an aarch64 VM
// that answers over SSH and probes the host.
TEST_F(EndToEnd, Aarch64VmOnTheCrossBuiltDefaultKernel) {
  if (run("command -v qemu-system-aarch64").exit_code != 0) GTEST_SKIP() << "qemu-system-aarch64 missing";
  fs::path junit = out_ / "junit.xml";
  auto result = meros("tests/e2e/aarch64-source --junit " + junit.string() + " --artifacts " + (out_ / "artifacts").string());
  EXPECT_EQ(result.exit_code, 0) << result.text;
  std::string report = read_file(junit);
  EXPECT_NE(report.find("the VM reaches the host"), std::string::npos) << report;
  EXPECT_EQ(report.find("<failure"), std::string::npos) << report;
  auto listing = meros("build --list");
  EXPECT_NE(listing.text.find("aarch64"), std::string::npos) << listing.text;
}

// An aarch64 VM's image installs an application cross-built with
// aarch64-linux-gnu-gcc; it runs in the guest and reports its machine.
TEST_F(EndToEnd, Aarch64ImageRunsItsCrossBuiltApplication) {
  if (run("command -v qemu-system-aarch64").exit_code != 0) GTEST_SKIP() << "qemu-system-aarch64 missing";
  if (run("command -v aarch64-linux-gnu-gcc").exit_code != 0) GTEST_SKIP() << "aarch64-linux-gnu-gcc missing";
  fs::path junit = out_ / "junit.xml";
  auto result = meros("tests/e2e/aarch64-application --junit " + junit.string() + " --artifacts " + (out_ / "artifacts").string());
  EXPECT_EQ(result.exit_code, 0) << result.text;
  EXPECT_NE(result.text.find("application hello (aarch64)"), std::string::npos) << result.text;
  std::string report = read_file(junit);
  EXPECT_NE(report.find("hello on arm"), std::string::npos) << report;
  EXPECT_EQ(report.find("<failure"), std::string::npos) << report;
  auto listing = meros("build --list");
  EXPECT_NE(listing.text.find("application hello"), std::string::npos) << listing.text;
}

TEST_F(EndToEnd, BundledScenariosPassTwoAtATime) {
  fs::path junit = out_ / "junit.xml";
  auto result = meros("scenarios/ -j 2 --junit " + junit.string() + " --artifacts " + (out_ / "artifacts").string());
  EXPECT_EQ(result.exit_code, 0) << result.text;
  expect_valid_junit(junit);
}

// CI matrix jobs: --shard 1/2 and 2/2 together run each bundled scenario
// exactly once, and each shard passes on its own (one scenario at a time).
TEST_F(EndToEnd, TwoShardsRunEachBundledScenarioOnce) {
  std::multiset<std::string> bundled;
  std::istringstream listing(meros("list scenarios/").text);
  for (std::string line; std::getline(listing, line);)
    if (!line.empty() && line[0] != ' ' && line.find("  (") != std::string::npos) bundled.insert(line.substr(0, line.find("  (")));
  ASSERT_GE(bundled.size(), 4u);
  std::multiset<std::string> ran;
  for (const char* shard : {"1/2", "2/2"}) {
    fs::path dir = out_ / (std::string("shard") + shard[0]);
    auto result = meros(std::string("scenarios/ --shard ") + shard + " --junit " + (dir / "junit.xml").string() + " --artifacts " +
                        (dir / "artifacts").string());
    EXPECT_EQ(result.exit_code, 0) << result.text;
    auto suites = junit_suites(dir / "junit.xml");
    EXPECT_FALSE(suites.empty()) << "shard " << shard << " ran nothing";
    ran.insert(suites.begin(), suites.end());
  }
  EXPECT_EQ(ran, bundled);
}

}  // namespace
