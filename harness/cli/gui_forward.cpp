#include "cli/gui_forward.h"

#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <thread>

#include "guest/format.h"
#include "util/process.h"
#include "util/text.h"
#include "util/whole_file.h"

namespace meros {

namespace fs = std::filesystem;

namespace {

constexpr const char* kAgent = guest::kAgentPath;
constexpr auto kCheckTimeout = std::chrono::seconds(30);
// The ports tried for the guest end: above the usual services, below
// Linux's ephemeral range (32768-60999), so outgoing connections in the
// guest do not take them between the check and the forward.
constexpr int kFirstPort = 20000;
constexpr int kPortRange = 12000;
constexpr int kPortTries = 8;

std::optional<std::string> environment_variable(const char* name) {
  const char* value = std::getenv(name);
  if (!value) return std::nullopt;
  return std::string(value);
}

bool is_socket_file(const fs::path& path) {
  std::error_code ec;
  return fs::is_socket(path, ec);
}

}  // namespace

GuiEnvironment GuiEnvironment::current() {
  GuiEnvironment environment;
  environment.wayland_display = environment_variable("WAYLAND_DISPLAY");
  environment.runtime_dir = environment_variable("XDG_RUNTIME_DIR");
  std::error_code ec;
  environment.tmp = fs::temp_directory_path(ec);
  if (ec) environment.tmp = "/tmp";
  return environment;
}

Result<fs::path> display_socket(const GuiEnvironment& environment) {
  const std::string hint = " (--gui shows the application on this host's Wayland compositor: run meros-test in a Wayland session)";
  if (!environment.wayland_display || environment.wayland_display->empty())
    return make_error("no Wayland display: $WAYLAND_DISPLAY is not set" + hint);
  fs::path socket = *environment.wayland_display;
  if (socket.is_relative()) {
    if (!environment.runtime_dir || environment.runtime_dir->empty())
      return make_error("no Wayland display: $WAYLAND_DISPLAY is " + quote(socket.string()) + " but $XDG_RUNTIME_DIR is not set");
    socket = fs::path(*environment.runtime_dir) / socket;
  }
  if (!is_socket_file(socket))
    return make_error("no Wayland display: " + socket.string() + " (from $WAYLAND_DISPLAY) is not a socket; is the compositor running?");
  return socket;
}

Result<fs::path> host_waypipe() {
  if (auto found = find_program("waypipe")) return *found;
  return make_error("no waypipe on this host: --gui needs it (install the Debian package waypipe)");
}

Status check_guest_waypipe(SshClient& guest, const std::string& vm) {
  auto result = guest.run("command -v waypipe", kCheckTimeout);
  if (!result) return make_error("cannot check VM " + quote(vm) + " for waypipe: " + result.error().message);
  if (result->exit_code != 0)
    return make_error("VM " + quote(vm) + " has no waypipe: --gui needs it in the guest; add it to the image " +
                      "(a debian image with packages: [waypipe])");
  return {};
}

Result<int> free_guest_port(SshClient& guest, unsigned seed) {
  for (int attempt = 0; attempt < kPortTries; ++attempt) {
    int port = kFirstPort + static_cast<int>((seed + static_cast<unsigned>(attempt) * 7919u) % kPortRange);
    std::string command = std::string(kAgent) + " probe tcp 127.0.0.1 " + std::to_string(port) + " --timeout 1s";
    auto result = guest.run(command, kCheckTimeout);
    if (!result) return make_error("cannot find a free port in the guest: " + result.error().message);
    std::string line = result->stdout_text.substr(0, result->stdout_text.find('\n'));
    auto probe = guest::parse_probe_json_line(line);
    if (!probe || !probe->outcome)
      return make_error("cannot find a free port in the guest: " + quote(tail_lines(result->stdout_text + result->stderr_text, 3)));
    if (probe->outcome->observed == guest::Observed::refused) return port;
  }
  return make_error("cannot find a free port in the guest: " + std::to_string(kPortTries) + " ports tried were all taken");
}

std::vector<std::string> forward_options(int port, const fs::path& socket) {
  return {"-R", "127.0.0.1:" + std::to_string(port) + ":" + socket.string(), "-o", "ExitOnForwardFailure=yes",
          "-o", "BatchMode=yes"};
}

std::vector<std::string> guest_wayland_command(int port, const std::vector<std::string>& app) {
  std::vector<std::string> command = {kAgent, "wayland", "--port", std::to_string(port)};
  if (app.empty()) return command;
  command.push_back("--");
  command.insert(command.end(), app.begin(), app.end());
  return command;
}

Result<WaypipeClient> WaypipeClient::start(const fs::path& waypipe, const fs::path& socket) {
  fs::path log = socket.parent_path() / "waypipe-client.log";
  vm::ChildSpec spec;
  spec.argv = {waypipe.string(), "--no-gpu", "--socket", socket.string(), "client"};
  spec.output_file = log;
  auto child = vm::ChildProcess::start(spec);
  if (!child) return child.error();
  // ssh's forward must find the socket when the guest's first connection comes.
  for (int i = 0; i < 500 && child->is_alive() && !is_socket_file(socket); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  if (!is_socket_file(socket)) {
    auto text = read_whole_file(log);
    std::string said = text ? tail_lines(*text, 5) : "";
    return make_error("waypipe client did not open " + socket.string() + (said.empty() ? "" : ": " + said));
  }
  return WaypipeClient(std::move(*child));
}

Result<int> run_gui_session(const GuiRequest& request, const GuiEnvironment& environment, std::unique_ptr<SshClient> guest) {
  // The host first: nothing is started in the guest when it cannot show anything.
  auto display = display_socket(environment);
  if (!display) return display.error();
  auto waypipe = host_waypipe();
  if (!waypipe) return waypipe.error();
  if (auto has = check_guest_waypipe(*guest, request.vm); !has) return has.error();
  auto port = free_guest_port(*guest, static_cast<unsigned>(::getpid()) ^ static_cast<unsigned>(std::time(nullptr)));
  if (!port) return port.error();
  guest.reset();
  auto session = OpenSshSession::open(request.target, session_dir_base(environment.tmp));
  if (!session) return session.error();
  fs::path socket = (*session)->dir() / "waypipe.sock";
  auto client = WaypipeClient::start(*waypipe, socket);
  if (!client) return client.error();
  std::vector<std::string> options = forward_options(*port, socket);
  // A login shell wants a terminal; an application's output is plain data.
  options.push_back(request.app.empty() ? "-t" : "-T");
  return run_in_foreground((*session)->argv(options, guest_wayland_command(*port, request.app)), request.command);
}

}  // namespace meros
