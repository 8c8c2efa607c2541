// The meros toolkit's lifecycle commands against constellations started
// with `meros-test up`: up, down, exec, connect, push, pull. A running
// constellation is found through its run-state file (by run id, a prefix
// of it, the scenario's name, or the path given to `up`).
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <memory>
#include <thread>

#include "check/ssh.h"
#include "check/transfer.h"
#include "cli/commands.h"
#include "cli/console_reporter.h"
#include "cli/gui_forward.h"
#include "cli/openssh_session.h"
#include "net/netns.h"
#include "runner/run_state.h"
#include "runner/scenario_runner.h"
#include "util/exit_codes.h"
#include "util/text.h"

namespace meros {
namespace {

// Whether path (as the user gave it to `up`: the manifest, its directory or
// a directory above holding only it) leads to the scenario's manifest.
bool names_manifest(const std::string& path, const std::string& manifest) {
  std::error_code ec;
  if (path.empty() || manifest.empty() || !fs::exists(path, ec)) return false;
  fs::path given = fs::canonical(path, ec);
  if (ec) return false;
  fs::path target = fs::weakly_canonical(manifest, ec);
  if (ec) return false;
  if (given == target) return true;
  if (!fs::is_directory(given, ec)) return false;
  auto relative = target.lexically_relative(given);
  return !relative.empty() && *relative.begin() != "..";
}

// A constellation by run id (or a prefix of it), scenario name, or the
// path given to `up`.
Result<RunState> find_constellation(const std::string& name) {
  std::vector<RunState> matches;
  for (auto& state : load_run_states(run_state_dir()))
    if (state.mode == "up" && (state.run_id == name || state.run_id.starts_with(name) || state.scenario == name ||
                               names_manifest(name, state.scenario_path)))
      matches.push_back(state);
  if (matches.empty()) return make_error("no running constellation " + quote(name) + " (see meros-test status)");
  if (matches.size() > 1) return make_error(quote(name) + " names " + std::to_string(matches.size()) + " constellations; give the run id");
  if (!is_alive(matches[0].owner)) return make_error("constellation " + matches[0].run_id + " lost its owner; run meros-test gc");
  return matches[0];
}

Result<VmRecord> find_vm(const RunState& state, const std::string& vm) {
  if (const VmRecord* record = state.find_vm(vm)) return *record;
  return make_error("constellation " + state.run_id + " has no VM " + quote(vm));
}

Result<std::unique_ptr<LibsshClient>> ssh_to(const RunState& state, const VmRecord& vm) {
  auto ns = net::open_netns_fd(state.netns);
  if (!ns) return ns.error();
  SshTarget target;
  target.host = vm.management_address;
  target.user = vm.user;
  target.private_key_file = state.client_key;
  target.pinned_host_key = vm.host_key;
  auto ns_fd = std::make_shared<Fd>(std::move(*ns));
  std::string address = target.host;
  target.connect_socket = [ns_fd, address]() -> Result<int> {
    auto socket = net::connect_tcp_inside(ns_fd->get(), address, 22, std::chrono::seconds(10));
    if (!socket) return socket.error();
    return socket->release();
  };
  return LibsshClient::connect(target);
}

struct Target {
  RunState state;
  VmRecord vm;
};

Result<Target> target_of(const Options& options, std::size_t operands, const std::string& usage) {
  if (options.arguments.size() < 2 || options.arguments.size() > operands) return make_error("usage: " + usage);
  auto state = find_constellation(options.arguments[0]);
  if (!state) return state.error();
  auto vm = find_vm(*state, options.arguments[1]);
  if (!vm) return vm.error();
  return Target{*state, *vm};
}

int fail(const std::string& command, const std::string& message, int code) {
  std::cerr << "meros-test " << command << ": " << message << "\n";
  return code;
}

constexpr auto kLongTimeout = std::chrono::hours(1);

OpenSshTarget openssh_target(const Target& target) {
  return {net::netns_path(target.state.netns), target.state.client_key, target.vm.user, target.vm.management_address,
          target.vm.host_key};
}

// exec --gui and connect --gui: app on the VM, its windows on this host.
int gui_session(const std::string& command, const Target& target, const std::vector<std::string>& app) {
  auto ssh = ssh_to(target.state, target.vm);
  if (!ssh) return fail(command, ssh.error().message, exit_code::environment);
  GuiRequest request{command, target.vm.name, app, openssh_target(target)};
  auto status = run_gui_session(request, GuiEnvironment::current(), std::move(*ssh));
  if (!status) return fail(command, status.error().message, exit_code::environment);
  return *status;
}

}  // namespace

int command_exec(const Options& options) {
  auto target = target_of(options, 2, "meros-test exec SCENARIO VM -- COMMAND [ARG...]");
  if (!target) return fail("exec", target.error().message, exit_code::usage);
  if (options.passthrough.empty()) return fail("exec", "give the command after --", exit_code::usage);
  if (options.gui) return gui_session("exec", *target, options.passthrough);
  std::string command;
  for (const auto& arg : options.passthrough) command += (command.empty() ? "" : " ") + shell_quote(arg);
  auto ssh = ssh_to(target->state, target->vm);
  if (!ssh) return fail("exec", ssh.error().message, exit_code::environment);
  auto result = (*ssh)->run(command, kLongTimeout);
  if (!result) return fail("exec", result.error().message, exit_code::environment);
  std::cout << result->stdout_text << std::flush;
  std::cerr << result->stderr_text << std::flush;
  return result->exit_code < 0 ? 255 : result->exit_code;
}

int command_push(const Options& options) {
  auto target = target_of(options, 4, "meros-test push SCENARIO VM SRC [DST]");
  if (!target || options.arguments.size() < 3) return fail("push", target ? "give SRC" : target.error().message, exit_code::usage);
  fs::path src = fs::absolute(options.arguments[2]);
  std::string dst = options.arguments.size() > 3 ? options.arguments[3] : "";  // "": ~/mos-shared/
  auto ssh = ssh_to(target->state, target->vm);
  if (!ssh) return fail("push", ssh.error().message, exit_code::environment);
  auto pushed = push_path(**ssh, src, dst, {kLongTimeout, kDefaultMaxTransferBytes});
  if (!pushed) return fail("push", pushed.error().message, exit_code::test_failed);
  std::cout << src.string() << " -> " << options.arguments[1] << ":" << *pushed << "\n";
  return exit_code::passed;
}

int command_pull(const Options& options) {
  auto target = target_of(options, 4, "meros-test pull SCENARIO VM [SRC [DST]]");
  if (!target) return fail("pull", target.error().message, exit_code::usage);
  fs::path dst = options.arguments.size() > 3 ? fs::path(options.arguments[3]) : fs::current_path();
  auto ssh = ssh_to(target->state, target->vm);
  if (!ssh) return fail("pull", ssh.error().message, exit_code::environment);
  auto files = (*ssh)->open_files();
  if (!files) return fail("pull", files.error().message, exit_code::environment);
  // Without SRC: the VM's whole ~/mos-shared/ to ./mos-shared/<vm>/.
  bool shared = options.arguments.size() < 3;
  std::string src = shared ? "~/" + std::string(kMosShared) + "/" : options.arguments[2];
  TransferLimits limits{kLongTimeout, kDefaultMaxTransferBytes};
  auto pulled = shared ? pull_mos_shared(**files, target->vm.name, dst, "", limits) : pull_path(**files, src, dst, "", limits);
  if (!pulled) return fail("pull", pulled.error().message, exit_code::test_failed);
  std::cout << options.arguments[1] << ":" << src << " -> " << pulled->string() << "\n";
  return exit_code::passed;
}

// An interactive shell (or COMMAND): the OpenSSH client, run inside the
// namespace, with the VM's host key pinned in a known_hosts file of its
// own. connect waits for ssh, so the file goes when the session does.
int command_connect(const Options& options) {
  auto target = target_of(options, 2, "meros-test connect SCENARIO VM [-- COMMAND [ARG...]]");
  if (!target) return fail("connect", target.error().message, exit_code::usage);
  if (options.gui) return gui_session("connect", *target, options.passthrough);
  auto session = OpenSshSession::open(openssh_target(*target), GuiEnvironment::current().tmp);
  if (!session) return fail("connect", session.error().message, exit_code::environment);
  return run_in_foreground((*session)->argv({}, options.passthrough), "connect");
}

int command_down(const Options& options) {
  if (options.arguments.size() != 1) return fail("down", "usage: meros-test down RUNID|NAME|PATH", exit_code::usage);
  auto state = find_constellation(options.arguments[0]);
  if (!state) return fail("down", state.error().message, exit_code::usage);
  // A run holding a failed scenario (--keep-on-failure) lets it go and
  // carries on; an `up` constellation's daemon ends on SIGTERM.
  bool kept = state->kept_for_inspection;
  if (!kept || !request_release(run_state_dir(), state->run_id)) ::kill(state->owner.pid, SIGTERM);
  // Down means gone: the state file removed and, for `up`, its owner exited
  // (it removes the run's work directory last).
  fs::path file = run_state_dir() / (state->run_id + ".json");
  auto still_up = [&] { return fs::exists(file) || (!kept && is_alive(state->owner)); };
  for (int i = 0; i < 1200 && still_up(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  if (still_up()) return fail("down", "constellation " + state->run_id + " did not stop in 120 s; try meros-test gc", exit_code::environment);
  std::cout << "constellation " << state->run_id << " (" << state->scenario << ") is down\n";
  return exit_code::passed;
}

}  // namespace meros
