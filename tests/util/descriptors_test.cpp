// Descriptors: a child the harness starts holds stdin, stdout, stderr and
// nothing else, even when the harness has descriptors open without
// close-on-exec (libraries, std::fstream, another thread mid-open); and
// every descriptor the network stage opens is close-on-exec itself.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include "../net/scenarios.h"
#include "net/scenario_network.h"
#include "util/process.h"
#include "vm/child_process.h"

namespace meros {
namespace {

namespace fs = std::filesystem;

// The descriptor numbers `ls -l /proc/self/fd` printed, without the one ls
// itself opened to read the directory.
std::set<int> listed_descriptors(const std::string& listing) {
  std::set<int> fds;
  std::istringstream lines(listing);
  for (std::string line; std::getline(lines, line);) {
    auto arrow = line.find(" -> ");
    if (arrow == std::string::npos) continue;
    if (line.find("/fd", arrow) != std::string::npos && line.find("/proc/", arrow) != std::string::npos) continue;
    std::size_t end = arrow, start = line.rfind(' ', end - 1);
    fds.insert(std::stoi(line.substr(start + 1, end - start - 1)));
  }
  return fds;
}

// Descriptors the harness might hold at fork time that lack O_CLOEXEC.
class LeakyDescriptors {
 public:
  LeakyDescriptors() {
    EXPECT_EQ(::pipe(pipe_), 0);
    file_.open("/proc/self/status");  // std::ifstream opens without O_CLOEXEC
    EXPECT_TRUE(file_.is_open());
    EXPECT_EQ(::fcntl(pipe_[0], F_GETFD) & FD_CLOEXEC, 0);
  }
  ~LeakyDescriptors() {
    ::close(pipe_[0]);
    ::close(pipe_[1]);
  }

 private:
  int pipe_[2] = {-1, -1};
  std::ifstream file_;
};

const std::set<int> kStdio = {0, 1, 2};

TEST(Descriptors, ProcessRunnerChildHoldsOnlyItsStdio) {
  LeakyDescriptors leaky;
  SystemProcessRunner runner;
  auto result = runner.run({.argv = {"ls", "-l", "/proc/self/fd/"}});
  ASSERT_TRUE(result && result->ok()) << (result ? result->output : result.error().message);
  EXPECT_EQ(listed_descriptors(result->output), kStdio) << result->output;
}

TEST(Descriptors, LongRunningChildHoldsOnlyItsStdio) {
  LeakyDescriptors leaky;
  fs::path out = fs::temp_directory_path() / ("meros-fd-test-" + std::to_string(::getpid()) + ".txt");
  fs::remove(out);
  auto child = vm::ChildProcess::start({.argv = {"ls", "-l", "/proc/self/fd/"}, .output_file = out});
  ASSERT_TRUE(child) << child.error().message;
  ASSERT_TRUE(child->wait_for(vm::Duration(10'000)));
  std::ifstream in(out);
  std::string listing((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  fs::remove(out);
  EXPECT_EQ(listed_descriptors(listing), kStdio) << listing;
}

// The descriptors of this process, by number, with their targets.
std::map<int, std::string> open_descriptors() {
  std::map<int, std::string> fds;
  for (const auto& entry : fs::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    auto target = fs::read_symlink(entry.path(), ec);
    fds[std::stoi(entry.path().filename().string())] = ec ? "?" : target.string();
  }
  return fds;
}

// The netfilter and rtnetlink sockets, the namespace descriptor and every
// other one the network stage holds must not reach QEMU or a hook.
TEST(Descriptors, NetworkStageOpensEverythingCloseOnExec) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root: a network namespace";
  auto before = open_descriptors();
  auto network = net::ScenarioNetwork::start(net::test::make_scenario("fdtest", {{"lan", "10.0.10.0/24"}}, {{"web", {{"lan", "10.0.10.2"}}}}), "fd" + std::to_string(::getpid() % 100000));
  ASSERT_TRUE(network) << network.error().message;
  int checked = 0;
  for (const auto& [fd, target] : open_descriptors()) {
    if (before.count(fd) && before[fd] == target) continue;
    int flags = ::fcntl(fd, F_GETFD);
    if (flags < 0) continue;  // the directory listing's own, closed by now
    ++checked;
    int protocol = -1;
    socklen_t length = sizeof protocol;
    ::getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &protocol, &length);
    EXPECT_NE(flags & FD_CLOEXEC, 0) << "descriptor " << fd << " (" << target << ", protocol " << protocol
                                     << ") is inherited by children";
  }
  EXPECT_GE(checked, 3) << "expected the namespace, rtnetlink and netfilter descriptors";
}

}  // namespace
}  // namespace meros
