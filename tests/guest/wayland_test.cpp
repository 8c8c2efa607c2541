// `meros-guest wayland` on the host, against real programs: a headless
// weston, the host's `waypipe client`, and wayland-info run through the
// agent's relay. The test's own TCP-to-Unix forwarder stands in for the
// `ssh -R` of a real session. Skips when weston, waypipe or wayland-info
// is missing (ci/install-deps.sh installs them).
#include <gtest/gtest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <thread>

#include "test_support.h"
#include "util/fd.h"

namespace meros::guest {
namespace {

namespace fs = std::filesystem;
using test::run_process;
using test::run_shell;

const std::string kBin = MEROS_GUEST_BIN;

// A child in a process group of its own with extra environment; killed
// (the whole group) and reaped when destroyed.
class Background {
 public:
  Background(const std::vector<std::string>& argv, const std::vector<std::pair<std::string, std::string>>& environment,
             const fs::path& log) {
    pid_ = ::fork();
    if (pid_ != 0) return;
    ::setpgid(0, 0);
    for (const auto& [name, value] : environment) ::setenv(name.c_str(), value.c_str(), 1);
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    std::vector<char*> args;
    for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    _exit(127);
  }
  ~Background() {
    if (pid_ <= 0) return;
    ::kill(-pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }

 private:
  pid_t pid_ = -1;
};

bool wait_for_socket(const fs::path& path) {
  for (int i = 0; i < 500; ++i) {
    std::error_code ec;
    if (fs::is_socket(path, ec)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

void copy_until_eof(int from, int to) {
  char buffer[16384];
  for (ssize_t n; (n = ::read(from, buffer, sizeof buffer)) > 0;)
    if (::send(to, buffer, static_cast<size_t>(n), MSG_NOSIGNAL) != n) break;
  ::shutdown(to, SHUT_WR);
}

// What `ssh -R 127.0.0.1:PORT:SOCKET` does: each connection to the loopback
// port becomes one to the Unix socket.
class TcpToUnix {
 public:
  explicit TcpToUnix(fs::path socket) : socket_(std::move(socket)) {
    listener_.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(listener_.get(), reinterpret_cast<sockaddr*>(&address), sizeof address);
    ::listen(listener_.get(), 8);
    socklen_t length = sizeof address;
    ::getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~TcpToUnix() {
    ::shutdown(listener_.get(), SHUT_RDWR);
    thread_.join();
    for (auto& t : copies_) t.join();
  }
  int port() const { return port_; }

 private:
  void serve() {
    for (;;) {
      int tcp = ::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC);
      if (tcp < 0) return;
      int unix_fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_un address{};
      address.sun_family = AF_UNIX;
      std::strncpy(address.sun_path, socket_.c_str(), sizeof address.sun_path - 1);
      if (::connect(unix_fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
        ::close(tcp);
        ::close(unix_fd);
        continue;
      }
      copies_.emplace_back([tcp, unix_fd] {
        std::thread back(copy_until_eof, unix_fd, tcp);
        copy_until_eof(tcp, unix_fd);
        back.join();
        ::close(tcp);
        ::close(unix_fd);
      });
    }
  }
  fs::path socket_;
  Fd listener_;
  int port_ = 0;
  std::thread thread_;
  std::vector<std::thread> copies_;
};

class WaylandRelay : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* program : {"weston", "waypipe", "wayland-info"})
      if (run_shell(std::string("command -v ") + program).exit_code != 0)
        GTEST_SKIP() << program << " is missing (Debian packages weston, waypipe, wayland-utils)";
    std::string pattern = (fs::temp_directory_path() / "meros-wayland-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    std::vector<std::pair<std::string, std::string>> runtime = {{"XDG_RUNTIME_DIR", dir_.string()}};
    weston_ = std::make_unique<Background>(
        std::vector<std::string>{"weston", "--backend=headless-backend.so", "--socket=meros-test-wl", "--idle-time=0"}, runtime,
        dir_ / "weston.log");
    ASSERT_TRUE(wait_for_socket(dir_ / "meros-test-wl")) << test::run_shell("cat " + (dir_ / "weston.log").string()).out;
    runtime.emplace_back("WAYLAND_DISPLAY", "meros-test-wl");
    client_ = std::make_unique<Background>(
        std::vector<std::string>{"waypipe", "--no-gpu", "--socket", (dir_ / "client.sock").string(), "client"}, runtime,
        dir_ / "client.log");
    ASSERT_TRUE(wait_for_socket(dir_ / "client.sock"));
    forward_ = std::make_unique<TcpToUnix>(dir_ / "client.sock");
  }
  void TearDown() override {
    forward_.reset();
    client_.reset();
    weston_.reset();
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  test::ProcessResult agent(const std::vector<std::string>& app) {
    std::vector<std::string> argv = {kBin, "wayland", "--port", std::to_string(forward_->port()), "--"};
    argv.insert(argv.end(), app.begin(), app.end());
    return run_process(argv);
  }
  fs::path dir_;
  std::unique_ptr<Background> weston_, client_;
  std::unique_ptr<TcpToUnix> forward_;
};

TEST_F(WaylandRelay, WaylandInfoThroughTheRelayListsWestonsGlobals) {
  auto result = agent({"wayland-info"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("wl_compositor"), std::string::npos) << result.out << result.err;
  EXPECT_NE(result.out.find("weston_"), std::string::npos) << "weston's own globals are missing:\n" << result.out;
}

TEST_F(WaylandRelay, ExitsWithTheApplicationsStatusAndLeavesNoRuntimeDir) {
  auto before = run_shell("ls -d /tmp/meros-wayland-?????? 2>/dev/null").out;
  auto result = agent({"sh", "-c", "test -S \"$XDG_RUNTIME_DIR/$WAYLAND_DISPLAY\" && exit 7"});
  EXPECT_EQ(result.exit_code, 7) << result.err;
  EXPECT_EQ(run_shell("ls -d /tmp/meros-wayland-?????? 2>/dev/null").out, before) << "the private runtime directory is left";
}

TEST(WaylandCommand, BadUsageExitsTwo) {
  for (const auto& argv : std::vector<std::vector<std::string>>{
           {kBin, "wayland"}, {kBin, "wayland", "--port"}, {kBin, "wayland", "--port", "0", "--", "true"},
           {kBin, "wayland", "--bogus", "--", "true"}}) {
    auto result = run_process(argv);
    EXPECT_EQ(result.exit_code, 2) << argv.size() << ": " << result.err;
  }
}

}  // namespace
}  // namespace meros::guest
