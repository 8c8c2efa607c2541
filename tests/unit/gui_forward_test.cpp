// The host side of --gui without a guest: the display checks and their
// messages, the session directory's base, the ssh options and guest
// command, and the guest checks against a scripted SSH client.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <deque>
#include <fstream>

#include "cli/gui_forward.h"
#include "cli/openssh_session.h"
#include "cli/options.h"
#include "guest/format.h"
#include "util/fd.h"

namespace meros {
namespace {

namespace fs = std::filesystem;

class ScriptedSsh : public SshClient {
 public:
  explicit ScriptedSsh(std::deque<CommandResult> answers) : answers_(std::move(answers)) {}
  Result<CommandResult> run(const std::string& command, std::chrono::milliseconds, const std::string&) override {
    commands.push_back(command);
    if (answers_.empty()) return make_error("connection closed");
    CommandResult answer = answers_.front();
    answers_.pop_front();
    return answer;
  }
  Result<std::unique_ptr<RemoteFiles>> open_files() override { return make_error("no files here"); }
  std::vector<std::string> commands;

 private:
  std::deque<CommandResult> answers_;
};

std::string probe_answer(int port, guest::Observed observed) {
  guest::ProbeRequest request;
  request.proto = guest::Proto::tcp;
  request.address = "127.0.0.1";
  request.port = port;
  return guest::probe_json_line(request, guest::ProbeOutcome{observed, {}, ""}) + "\n";
}

// A temporary directory with a listening Unix socket named "wayland-1".
class FakeRuntimeDir {
 public:
  FakeRuntimeDir() {
    std::string pattern = (fs::temp_directory_path() / "gui-test-XXXXXX").string();
    dir_ = ::mkdtemp(pattern.data());
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::string path = (dir_ / "wayland-1").string();
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    socket_.reset(::socket(AF_UNIX, SOCK_STREAM, 0));
    EXPECT_EQ(::bind(socket_.get(), reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    ::listen(socket_.get(), 1);
  }
  ~FakeRuntimeDir() { fs::remove_all(dir_); }
  const fs::path& dir() const { return dir_; }

 private:
  fs::path dir_;
  Fd socket_;
};

std::string display_error(std::optional<std::string> display, std::optional<std::string> runtime_dir) {
  GuiEnvironment environment{std::move(display), std::move(runtime_dir), "/tmp"};
  auto socket = display_socket(environment);
  return socket ? "ok: " + socket->string() : socket.error().message;
}

TEST(GuiForward, NoWaylandDisplayIsExplained) {
  EXPECT_EQ(display_error(std::nullopt, "/run/user/0"),
            "no Wayland display: $WAYLAND_DISPLAY is not set (--gui shows the application on this host's Wayland "
            "compositor: run meros-test in a Wayland session)");
  EXPECT_EQ(display_error("", "/run/user/0"), display_error(std::nullopt, "/run/user/0"));
  EXPECT_EQ(display_error("wayland-0", std::nullopt),
            "no Wayland display: $WAYLAND_DISPLAY is 'wayland-0' but $XDG_RUNTIME_DIR is not set");
  EXPECT_EQ(display_error("wayland-9", "/nonexistent"),
            "no Wayland display: /nonexistent/wayland-9 (from $WAYLAND_DISPLAY) is not a socket; is the compositor running?");
}

TEST(GuiForward, DisplayIsANameInTheRuntimeDirOrAPath) {
  FakeRuntimeDir runtime;
  EXPECT_EQ(display_error("wayland-1", runtime.dir().string()), "ok: " + (runtime.dir() / "wayland-1").string());
  EXPECT_EQ(display_error((runtime.dir() / "wayland-1").string(), std::nullopt), "ok: " + (runtime.dir() / "wayland-1").string());
  // A regular file is no display.
  std::ofstream(runtime.dir() / "wayland-2") << "not a socket";
  EXPECT_NE(display_error("wayland-2", runtime.dir().string()).find("is not a socket"), std::string::npos);
}

// sockaddr_un holds 108 bytes: a $TMPDIR that would not leave room for
// meros-connect-XXXXXX/waypipe.sock puts the session under /tmp.
TEST(GuiForward, SessionDirectoryFallsBackToTmpForALongTmpdir) {
  EXPECT_EQ(session_dir_base("/var/tmp"), fs::path("/var/tmp"));
  std::string fits = "/" + std::string(107 - std::string("/meros-connect-XXXXXX/waypipe.sock").size() - 1, 'a');
  EXPECT_EQ(session_dir_base(fits), fs::path(fits));
  std::string too_long = fits + "a";
  EXPECT_EQ((fs::path(too_long) / "meros-connect-XXXXXX/waypipe.sock").string().size(), 108u);
  EXPECT_EQ(session_dir_base(too_long), fs::path("/tmp"));
}

TEST(GuiForward, SshForwardsTheGuestPortToTheSocketAndRunsTheAgent) {
  EXPECT_EQ(forward_options(20123, "/tmp/meros-connect-abc/waypipe.sock"),
            (std::vector<std::string>{"-R", "127.0.0.1:20123:/tmp/meros-connect-abc/waypipe.sock", "-o",
                                      "ExitOnForwardFailure=yes", "-o", "BatchMode=yes"}));
  EXPECT_EQ(guest_wayland_command(20123, {"wayland-info", "-i", "wl_seat"}),
            (std::vector<std::string>{"/opt/meros/bin/meros-guest", "wayland", "--port", "20123", "--", "wayland-info", "-i",
                                      "wl_seat"}));
  EXPECT_EQ(guest_wayland_command(20123, {}),
            (std::vector<std::string>{"/opt/meros/bin/meros-guest", "wayland", "--port", "20123"}));
}

TEST(GuiForward, SessionArgvEntersTheNamespaceAndPinsTheHostKey) {
  OpenSshTarget target{"/run/netns/meros-1-x", "/store/keys/id", "root", "100.127.0.2", "ssh-ed25519 AAAA host"};
  auto session = OpenSshSession::open(target, fs::temp_directory_path());
  ASSERT_TRUE(session) << session.error().message;
  fs::path dir = (*session)->dir();
  std::ifstream known((*session)->known_hosts());
  std::string line;
  std::getline(known, line);
  EXPECT_EQ(line, "100.127.0.2 ssh-ed25519 AAAA");
  EXPECT_EQ((*session)->argv({"-T"}, {"echo", "a b"}),
            (std::vector<std::string>{"nsenter", "--net=/run/netns/meros-1-x", "--", "ssh", "-F", "/dev/null", "-i",
                                      "/store/keys/id", "-o", "IdentitiesOnly=yes", "-o",
                                      "UserKnownHostsFile=" + (dir / "known_hosts").string(), "-o",
                                      "GlobalKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=yes", "-T",
                                      "root@100.127.0.2", "'echo'", "'a b'"}));
  std::ofstream(dir / "waypipe.sock") << "";
  session->reset();
  EXPECT_FALSE(fs::exists(dir)) << "the session directory outlived the session";
}

TEST(GuiForward, AGuestWithoutWaypipeIsExplained) {
  ScriptedSsh without(std::deque<CommandResult>{{.exit_code = 1}});
  Status status = check_guest_waypipe(without, "plain");
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().message,
            "VM 'plain' has no waypipe: --gui needs it in the guest; add it to the image (a debian image with packages: [waypipe])");
  EXPECT_EQ(without.commands, std::vector<std::string>{"command -v waypipe"});
  ScriptedSsh with(std::deque<CommandResult>{{.exit_code = 0, .stdout_text = "/usr/bin/waypipe\n"}});
  EXPECT_TRUE(check_guest_waypipe(with, "desktop"));
  ScriptedSsh broken(std::deque<CommandResult>{});
  EXPECT_EQ(check_guest_waypipe(broken, "desktop").error().message, "cannot check VM 'desktop' for waypipe: connection closed");
}

TEST(GuiForward, FreePortSkipsPortsSomethingListensOn) {
  int first = 20000 + 5, second = 20000 + (5 + 7919) % 12000;
  ScriptedSsh ssh(std::deque<CommandResult>{{.exit_code = 0, .stdout_text = probe_answer(first, guest::Observed::open)},
                   {.exit_code = 0, .stdout_text = probe_answer(second, guest::Observed::refused)}});
  auto port = free_guest_port(ssh, 5);
  ASSERT_TRUE(port) << port.error().message;
  EXPECT_EQ(*port, second);
  EXPECT_EQ(ssh.commands, (std::vector<std::string>{
                              "/opt/meros/bin/meros-guest probe tcp 127.0.0.1 " + std::to_string(first) + " --timeout 1s",
                              "/opt/meros/bin/meros-guest probe tcp 127.0.0.1 " + std::to_string(second) + " --timeout 1s"}));
  ScriptedSsh garbage(std::deque<CommandResult>{{.exit_code = 127, .stderr_text = "sh: meros-guest: not found\n"}});
  EXPECT_EQ(free_guest_port(garbage, 5).error().message, "cannot find a free port in the guest: 'sh: meros-guest: not found'");
}

TEST(GuiForward, AHostWithoutWaypipeIsExplained) {
  std::string saved = std::getenv("PATH") ? std::getenv("PATH") : "";
  ::setenv("PATH", "/nonexistent", 1);
  auto waypipe = host_waypipe();
  ::setenv("PATH", saved.c_str(), 1);
  ASSERT_FALSE(waypipe);
  EXPECT_EQ(waypipe.error().message, "no waypipe on this host: --gui needs it (install the Debian package waypipe)");
}

TEST(GuiForward, GuiIsAnOptionOfExecAndConnectOnly) {
  auto exec = parse_options({"exec", "--gui", "web", "vm", "--", "wayland-info", "--gui"});
  ASSERT_TRUE(exec) << exec.error().message;
  EXPECT_TRUE(exec->gui);
  EXPECT_EQ(exec->passthrough, (std::vector<std::string>{"wayland-info", "--gui"}));
  auto connect = parse_options({"connect", "web", "vm", "--gui"});
  ASSERT_TRUE(connect) << connect.error().message;
  EXPECT_TRUE(connect->gui);
  EXPECT_FALSE(parse_options({"exec", "web", "vm", "--", "ls"})->gui);
  auto up = parse_options({"up", "--gui", "scenarios/smoke"});
  ASSERT_FALSE(up);
  EXPECT_EQ(up.error().message, "option --gui does not apply to up (it is an option of connect and exec)");
}

}  // namespace
}  // namespace meros
