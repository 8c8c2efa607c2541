// Descendants of a helper die with it: a process that left the helper's
// process group (setsid, as daemons and some package scripts do) used to
// survive the group kill and keep running after its hook or debootstrap.
// And when the harness itself is SIGKILLed, `gc` finds the helper's cgroup
// and kills what is left in it. Needs root (cgroups).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "util/child_cgroup.h"
#include "util/process.h"

namespace meros {
namespace {

namespace fs = std::filesystem;

// Alive and not a zombie (an init that does not reap keeps zombies around).
bool running(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!std::getline(in, stat)) return false;
  auto paren = stat.rfind(')');
  return paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] != 'Z';
}

bool gone_within(pid_t pid, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (running(pid) && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return !running(pid);
}

class Descendants : public testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root: cgroups";
    if (!own_cgroup_dir()) GTEST_SKIP() << "cgroup v2 is not mounted here";
    auto probe = ChildCgroup::create();
    if (!probe) GTEST_SKIP() << "cannot create a cgroup under " << own_cgroup_dir()->string();
  }
};

// The program prints the escaped process's pid and exits at once.
const std::vector<std::string> kEscaper = {"sh", "-c", "setsid sleep 300 >/dev/null 2>&1 & echo $!"};

TEST_F(Descendants, ASetsidProcessDiesWithItsHelper) {
  SystemProcessRunner runner;
  auto started = std::chrono::steady_clock::now();
  auto result = runner.run({.argv = kEscaper});
  ASSERT_TRUE(result && result->ok()) << (result ? result->output : result.error().message);
  pid_t escaped = std::stoi(result->output);
  EXPECT_TRUE(gone_within(escaped, std::chrono::milliseconds(500))) << "pid " << escaped << " outlived its helper";
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
  if (running(escaped)) ::kill(escaped, SIGKILL);
}

// A background process that keeps the output pipe open no longer holds
// the harness until it exits: it goes once the helper has.
TEST_F(Descendants, ABackgroundProcessHoldingTheOutputDoesNotHoldTheRun) {
  SystemProcessRunner runner;
  auto started = std::chrono::steady_clock::now();
  auto result = runner.run({.argv = {"sh", "-c", "setsid sleep 300 & echo started"}});
  ASSERT_TRUE(result && result->ok()) << (result ? result->output : result.error().message);
  EXPECT_EQ(result->output, "started\n");
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
}

// A harness killed while its helper runs: the helper dies by its
// parent-death signal, its setsid'd child stays in the cgroup, and gc
// kills it and removes the cgroup.
TEST_F(Descendants, GcKillsWhatAKilledHarnessLeftInItsCgroups) {
  fs::path pid_file = fs::temp_directory_path() / ("meros-escaped-" + std::to_string(::getpid()));
  fs::remove(pid_file);
  pid_t harness = ::fork();
  if (harness == 0) {
    SystemProcessRunner runner;
    (void)runner.run({.argv = {"sh", "-c", "setsid sleep 300 >/dev/null 2>&1 & echo $! > \"$0\"; sleep 300", pid_file.string()}});
    _exit(0);
  }
  pid_t escaped = 0;
  for (int i = 0; i < 500 && escaped == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    std::ifstream in(pid_file);
    in >> escaped;
  }
  fs::remove(pid_file);
  ::kill(harness, SIGKILL);
  ::waitpid(harness, nullptr, 0);
  ASSERT_GT(escaped, 0) << "the helper never started";
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  ASSERT_TRUE(running(escaped)) << "expected the escaped process to survive its harness until gc";
  // The dead harness's cgroup: meros-test.<its pid>.<n>.
  fs::path cgroup;
  for (const auto& entry : fs::directory_iterator(*own_cgroup_dir()))
    if (entry.path().filename().string().starts_with("meros-test." + std::to_string(harness) + ".")) cgroup = entry.path();
  ASSERT_FALSE(cgroup.empty()) << "no cgroup of the killed harness";
  std::vector<std::string> problems;
  auto removed = collect_stale_cgroups(problems);
  EXPECT_TRUE(problems.empty()) << problems.front();
  EXPECT_NE(std::find(removed.begin(), removed.end(), "removed cgroup " + cgroup.string()), removed.end());
  EXPECT_TRUE(gone_within(escaped, std::chrono::milliseconds(1000))) << "gc left pid " << escaped << " running";
  EXPECT_FALSE(fs::exists(cgroup));
  if (running(escaped)) ::kill(escaped, SIGKILL);
}

}  // namespace
}  // namespace meros
