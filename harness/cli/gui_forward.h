// The host side of `exec --gui` and `connect --gui`: the guest
// application's Wayland connection shown on this host's compositor.
//
//   host compositor <- waypipe client (Unix socket in the session's private
//   directory) <- ssh -R 127.0.0.1:PORT:socket (OpenSSH, in the namespace)
//   <- dropbear in the guest <- meros-guest wayland --port PORT (a relay)
//   <- waypipe server <- the application
//
// The guests' dropbear forwards TCP only, so the guest end is a loopback
// port the agent relays waypipe's Unix socket connections to.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "check/ssh.h"
#include "cli/openssh_session.h"
#include "util/result.h"
#include "vm/child_process.h"

namespace meros {

// What --gui needs of the host's environment; from getenv in the command,
// made up in tests.
struct GuiEnvironment {
  std::optional<std::string> wayland_display;  // $WAYLAND_DISPLAY
  std::optional<std::string> runtime_dir;      // $XDG_RUNTIME_DIR
  std::filesystem::path tmp;                   // where the session's directory goes ($TMPDIR)

  static GuiEnvironment current();
};

// The compositor's socket $WAYLAND_DISPLAY names (a name in
// $XDG_RUNTIME_DIR, or a path); an error saying what is missing otherwise.
Result<std::filesystem::path> display_socket(const GuiEnvironment& environment);

// waypipe on this host's PATH.
Result<std::filesystem::path> host_waypipe();

// Whether the guest has waypipe (`command -v waypipe` there).
Status check_guest_waypipe(SshClient& guest, const std::string& vm);

// A TCP port on the guest's loopback that nothing listens on (the agent's
// probe says "refused"), tried from `seed` on.
Result<int> free_guest_port(SshClient& guest, unsigned seed);

// The ssh options of a GUI session: the remote forward of the guest's
// loopback port to waypipe's socket, failing if the guest cannot listen.
std::vector<std::string> forward_options(int port, const std::filesystem::path& socket);

// The guest command: the agent's relay around waypipe server around app
// (empty: a login shell).
std::vector<std::string> guest_wayland_command(int port, const std::vector<std::string>& app);

// `waypipe client` on the host, listening on `socket` and connected to the
// compositor through the caller's environment. Owned by the command for the
// length of the ssh run; destroying it kills its process group.
class WaypipeClient {
 public:
  static Result<WaypipeClient> start(const std::filesystem::path& waypipe, const std::filesystem::path& socket);

 private:
  explicit WaypipeClient(vm::ChildProcess child) : child_(std::move(child)) {}
  vm::ChildProcess child_;
};

struct GuiRequest {
  std::string command;            // "exec" or "connect", for messages
  std::string vm;
  std::vector<std::string> app;   // empty: a login shell on a terminal
  OpenSshTarget target;
};

// Runs app on the VM with its Wayland connection forwarded: checks the
// host and the guest (through `guest`, closed before ssh starts), then
// waypipe client and ssh. Returns ssh's exit status (the application's);
// an error when the session could not be set up (exit 3).
Result<int> run_gui_session(const GuiRequest& request, const GuiEnvironment& environment,
                            std::unique_ptr<SshClient> guest);

}  // namespace meros
