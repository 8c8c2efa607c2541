// GUI forwarding on real VMs (scenario-format.md, "GUI applications"): a
// headless weston on the host, `meros-test exec --gui` running wayland-info
// in a debian guest through waypipe over the management SSH session, and
// the exit-3 errors for a host without a display and an image without
// waypipe.
#include <fcntl.h>

#include "e2e_support.h"

namespace {

using namespace e2e;

class GuiForwarding : public EndToEnd {
 protected:
  void SetUp() override {
    EndToEnd::SetUp();
    if (IsSkipped()) return;
    for (const char* program : {"weston", "waypipe"})
      if (run(std::string("command -v ") + program).exit_code != 0)
        GTEST_SKIP() << program << " is missing (ci/install-deps.sh installs weston and waypipe)";
  }
  void TearDown() override {
    stop_weston();
    EndToEnd::TearDown();
  }
  // weston's headless backend with a runtime directory of the test's own.
  void start_weston() {
    runtime_ = out_ / "runtime";
    fs::create_directories(runtime_);
    fs::permissions(runtime_, fs::perms::owner_all);
    weston_ = ::fork();
    if (weston_ == 0) {
      ::setpgid(0, 0);
      ::setenv("XDG_RUNTIME_DIR", runtime_.c_str(), 1);
      int log = ::open((out_ / "weston.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      ::dup2(log, 1);
      ::dup2(log, 2);
      ::execlp("weston", "weston", "--backend=headless-backend.so", "--socket=meros-e2e-wl", "--idle-time=0", nullptr);
      _exit(127);
    }
    for (int i = 0; i < 500 && !fs::is_socket(runtime_ / "meros-e2e-wl"); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    ASSERT_TRUE(fs::is_socket(runtime_ / "meros-e2e-wl")) << read_file(out_ / "weston.log");
  }
  void stop_weston() {
    if (weston_ <= 0) return;
    ::kill(-weston_, SIGKILL);
    ::waitpid(weston_, nullptr, 0);
    weston_ = -1;
  }
  // The host's display for one meros-test command line.
  std::string with_display() const {
    return "env XDG_RUNTIME_DIR=" + runtime_.string() + " WAYLAND_DISPLAY=meros-e2e-wl " + MEROS_TEST_BIN;
  }
  std::string up() {
    auto result = meros("up tests/e2e/gui --artifacts " + (out_ / "up").string());
    EXPECT_EQ(result.exit_code, 0) << result.text;
    std::smatch match;
    if (!std::regex_search(result.text, match, std::regex("constellation ([0-9a-f]+)-e2e-gui is up"))) return "";
    return match[1];
  }
  Output shell(const std::string& command) {
    Output out = run("cd " + std::string(MEROS_SOURCE_DIR) + " && " + command + " </dev/null");
    std::ofstream(out_ / "meros.log", std::ios::app) << out.text;
    return out;
  }
  fs::path runtime_;
  pid_t weston_ = -1;
};

TEST_F(GuiForwarding, WaylandInfoInTheGuestListsTheHostCompositorsGlobals) {
  start_weston();
  std::string id = up();
  ASSERT_FALSE(id.empty());
  fs::path tmp = out_ / "tmp";
  fs::create_directories(tmp);
  auto info = shell("TMPDIR=" + tmp.string() + " " + with_display() + " exec --gui " + id + " desktop -- wayland-info");
  EXPECT_EQ(info.exit_code, 0) << info.text;
  EXPECT_NE(info.text.find("interface: 'wl_compositor'"), std::string::npos) << info.text;
  EXPECT_NE(info.text.find("interface: 'weston_"), std::string::npos) << "weston's own globals are missing:\n" << info.text;
  EXPECT_TRUE(fs::is_empty(tmp)) << "the session's private directory is left in $TMPDIR";
  // The application's status comes back through waypipe and ssh.
  auto status = shell(with_display() + " exec --gui " + id + " desktop -- sh -c 'test -n \"$WAYLAND_DISPLAY\" && exit 5'");
  EXPECT_EQ(status.exit_code, 5) << status.text;
  auto down = meros("down " + id);
  EXPECT_EQ(down.exit_code, 0) << down.text;
}

TEST_F(GuiForwarding, NoWaylandDisplayOrNoWaypipeInTheImageExitsThree) {
  start_weston();
  std::string id = up();
  ASSERT_FALSE(id.empty());
  auto no_display = shell(std::string("env -u WAYLAND_DISPLAY ") + MEROS_TEST_BIN + " exec --gui " + id + " desktop -- wayland-info");
  EXPECT_EQ(no_display.exit_code, 3) << no_display.text;
  EXPECT_NE(no_display.text.find("meros-test exec: no Wayland display: $WAYLAND_DISPLAY is not set"), std::string::npos)
      << no_display.text;
  auto no_waypipe = shell(with_display() + " exec --gui " + id + " plain -- wayland-info");
  EXPECT_EQ(no_waypipe.exit_code, 3) << no_waypipe.text;
  EXPECT_NE(no_waypipe.text.find("meros-test exec: VM 'plain' has no waypipe"), std::string::npos) << no_waypipe.text;
  auto connect = shell(with_display() + " connect --gui " + id + " plain");
  EXPECT_EQ(connect.exit_code, 3) << connect.text;
  EXPECT_NE(connect.text.find("meros-test connect: VM 'plain' has no waypipe"), std::string::npos) << connect.text;
  auto down = meros("down " + id);
  EXPECT_EQ(down.exit_code, 0) << down.text;
}

}  // namespace
