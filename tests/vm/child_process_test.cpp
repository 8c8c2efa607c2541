// ChildProcess with ordinary programs: process groups, exit statuses,
// output files, and the parent-death signal.
#include "vm/child_process.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "vm_test_support.h"

namespace meros::vm {
namespace {

using namespace std::chrono_literals;

std::string read(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

TEST(ChildProcess, RunsInItsOwnProcessGroup) {
  auto child = ChildProcess::start({{"sleep", "30"}});
  ASSERT_TRUE(child) << child.error().message;
  EXPECT_EQ(::getpgid(child->pid()), child->pid());
  EXPECT_TRUE(child->is_alive());
  EXPECT_FALSE(child->exit_code());
  pid_t pid = child->pid();
  EXPECT_TRUE(child->kill_group());
  EXPECT_EQ(child->exit_code(), 128 + SIGKILL);
  EXPECT_TRUE(process_gone(pid));
}

TEST(ChildProcess, ReportsTheExitStatus) {
  auto child = ChildProcess::start({{"sh", "-c", "exit 3"}});
  ASSERT_TRUE(child);
  EXPECT_TRUE(child->wait_for(5000ms));
  EXPECT_EQ(child->exit_code(), 3);
  EXPECT_FALSE(child->is_alive());
  EXPECT_TRUE(child->kill_group());  // nothing left to kill
}

TEST(ChildProcess, WaitForGivesUpAtTheTimeout) {
  auto child = ChildProcess::start({{"sleep", "30"}});
  ASSERT_TRUE(child);
  auto started = std::chrono::steady_clock::now();
  EXPECT_FALSE(child->wait_for(100ms));
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
}

TEST(ChildProcess, AppendsOutputToTheFile) {
  TempDir dir;
  std::filesystem::path log = dir.path() / "out.log";
  std::ofstream(log) << "command line\n";
  auto child = ChildProcess::start({{"sh", "-c", "echo out; echo err >&2"}, log});
  ASSERT_TRUE(child);
  ASSERT_TRUE(child->wait_for(5000ms));
  EXPECT_EQ(read(log), "command line\nout\nerr\n");
}

TEST(ChildProcess, KillingTheGroupTakesGrandchildren) {
  TempDir dir;
  std::filesystem::path pids = dir.path() / "pids";
  auto child = ChildProcess::start({{"sh", "-c", "sleep 30 & echo $! > " + pids.string() + "; wait"}});
  ASSERT_TRUE(child);
  for (int i = 0; i < 200 && read(pids).empty(); ++i) std::this_thread::sleep_for(10ms);
  pid_t grandchild = std::stoi(read(pids));
  EXPECT_EQ(::getpgid(grandchild), child->pid());
  EXPECT_TRUE(child->kill_group());
  EXPECT_FALSE(child->group_has_members());
  for (int i = 0; i < 200 && !process_gone(grandchild); ++i) std::this_thread::sleep_for(10ms);
  EXPECT_TRUE(process_gone(grandchild));
}

TEST(ChildProcess, DestructionKillsTheChild) {
  pid_t pid;
  {
    auto child = ChildProcess::start({{"sleep", "30"}});
    ASSERT_TRUE(child);
    pid = child->pid();
  }
  EXPECT_TRUE(process_gone(pid));
}

TEST(ChildProcess, DiesWithTheProcessThatStartedIt) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  pid_t owner = ::fork();
  ASSERT_GE(owner, 0);
  if (owner == 0) {
    auto child = ChildProcess::start({{"sleep", "30"}});
    pid_t pid = child ? child->pid() : -1;
    (void)!::write(fds[1], &pid, sizeof pid);
    ::pause();
    ::_exit(0);
  }
  ::close(fds[1]);
  pid_t sleeper = -1;
  ASSERT_EQ(::read(fds[0], &sleeper, sizeof sleeper), static_cast<ssize_t>(sizeof sleeper));
  ::close(fds[0]);
  ASSERT_GT(sleeper, 0);
  ::kill(owner, SIGKILL);
  ::waitpid(owner, nullptr, 0);
  for (int i = 0; i < 200 && !process_gone(sleeper); ++i) std::this_thread::sleep_for(10ms);
  EXPECT_TRUE(process_gone(sleeper));
}

TEST(ChildProcess, ExplainsWhatCannotStart) {
  auto missing = ChildProcess::start({{"no-such-program-meros"}});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message, "no-such-program-meros: program not found on PATH");
  auto not_netns = ChildProcess::start({{"true"}, std::nullopt, STDIN_FILENO});
  ASSERT_FALSE(not_netns);
  EXPECT_EQ(not_netns.error().message, "descriptor 0 is not a network namespace");
  auto no_log = ChildProcess::start({{"true"}, "/nonexistent/dir/log"});
  ASSERT_FALSE(no_log);
  EXPECT_EQ(no_log.error().message, "/nonexistent/dir/log: cannot open: No such file or directory");
}

}  // namespace
}  // namespace meros::vm
