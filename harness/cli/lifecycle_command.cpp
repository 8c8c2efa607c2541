// The meros toolkit's lifecycle commands against constellations started
// with `meros-test up`: up, down, exec, connect, push, pull. A running
// constellation is found through its run-state file (by run id, a prefix
// of it, the scenario's name, or the path given to `up`).
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <thread>

#include "check/ssh.h"
#include "check/transfer.h"
#include "cli/commands.h"
#include "cli/console_reporter.h"
#include "net/netns.h"
#include "runner/run_state.h"
#include "runner/scenario_runner.h"
#include "util/child_setup.h"
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

}  // namespace

int command_exec(const Options& options) {
  auto target = target_of(options, 2, "meros-test exec SCENARIO VM -- COMMAND [ARG...]");
  if (!target) return fail("exec", target.error().message, exit_code::usage);
  if (options.passthrough.empty()) return fail("exec", "give the command after --", exit_code::usage);
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

namespace {

// The VM's pinned host key for OpenSSH, in a directory of its own made
// with mkdtemp (0700) and written with O_EXCL|O_NOFOLLOW: a name under
// /tmp that anyone can guess and plant a symlink at is what it replaces.
// The destructor removes both.
class PrivateKnownHosts {
 public:
  static Result<std::unique_ptr<PrivateKnownHosts>> create(const std::string& line) {
    std::error_code ec;
    fs::path tmp = fs::temp_directory_path(ec);
    if (ec) return make_error("no temporary directory ($TMPDIR): " + ec.message());
    std::string pattern = (tmp / "meros-connect-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) return make_error("cannot make a private directory under " + tmp.string() + ": " + errno_text());
    std::unique_ptr<PrivateKnownHosts> made(new PrivateKnownHosts(pattern));
    int fd = ::open(made->file().c_str(), O_CREAT | O_EXCL | O_NOFOLLOW | O_WRONLY | O_CLOEXEC, 0600);
    if (fd < 0) return make_error("cannot write " + made->file().string() + ": " + errno_text());
    bool written = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
    bool closed = ::close(fd) == 0;
    if (!written || !closed) return make_error("cannot write " + made->file().string() + ": " + errno_text());
    return made;
  }
  ~PrivateKnownHosts() {
    ::unlink(file().c_str());
    ::rmdir(dir_.c_str());
  }
  fs::path file() const { return dir_ / "known_hosts"; }

 private:
  explicit PrivateKnownHosts(fs::path dir) : dir_(std::move(dir)) {}
  fs::path dir_;
};

volatile sig_atomic_t g_foreground_child = 0;

void pass_on(int signal) {
  if (g_foreground_child > 0) ::kill(g_foreground_child, signal);
}

// Runs argv in a child with the terminal and waits for it; its exit status
// as a shell reports it. Like system(), the parent ignores the terminal's
// SIGINT and SIGQUIT (they reach the child too) and passes SIGTERM and
// SIGHUP on, so it lives to clean up after the child.
int run_in_foreground(std::vector<std::string> argv) {
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  pid_t child = ::fork();
  if (child < 0) return fail("connect", std::string("cannot fork: ") + errno_text(), exit_code::environment);
  if (child == 0) {
    close_inherited_descriptors();  // ssh gets the terminal and nothing else of ours
    ::execvp(args[0], args.data());
    const char message[] = "meros-test connect: cannot run nsenter\n";
    [[maybe_unused]] auto n = ::write(2, message, sizeof message - 1);
    _exit(127);
  }
  g_foreground_child = child;
  struct sigaction ignore {}, forward {}, old_int {}, old_quit {}, old_term {}, old_hup {};
  ignore.sa_handler = SIG_IGN;
  forward.sa_handler = pass_on;
  ::sigaction(SIGINT, &ignore, &old_int);
  ::sigaction(SIGQUIT, &ignore, &old_quit);
  ::sigaction(SIGTERM, &forward, &old_term);
  ::sigaction(SIGHUP, &forward, &old_hup);
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  g_foreground_child = 0;
  ::sigaction(SIGINT, &old_int, nullptr);
  ::sigaction(SIGQUIT, &old_quit, nullptr);
  ::sigaction(SIGTERM, &old_term, nullptr);
  ::sigaction(SIGHUP, &old_hup, nullptr);
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}

}  // namespace

// An interactive shell (or COMMAND): the OpenSSH client, run inside the
// namespace, with the VM's host key pinned in a known_hosts file of its
// own. connect waits for ssh, so the file goes when the session does.
int command_connect(const Options& options) {
  auto target = target_of(options, 2, "meros-test connect SCENARIO VM [-- COMMAND [ARG...]]");
  if (!target) return fail("connect", target.error().message, exit_code::usage);
  const std::string& address = target->vm.management_address;
  auto known_hosts = PrivateKnownHosts::create(address + " " + public_key_core(target->vm.host_key) + "\n");
  if (!known_hosts) return fail("connect", known_hosts.error().message, exit_code::environment);
  std::vector<std::string> argv = {"nsenter", "--net=" + net::netns_path(target->state.netns).string(), "--", "ssh", "-F", "/dev/null",
                                   "-i", target->state.client_key, "-o", "IdentitiesOnly=yes",
                                   "-o", "UserKnownHostsFile=" + (*known_hosts)->file().string(), "-o", "GlobalKnownHostsFile=/dev/null",
                                   "-o", "StrictHostKeyChecking=yes", target->vm.user + "@" + address};
  if (!options.passthrough.empty()) {
    // ssh hands its command to the guest's shell: quote each word.
    for (const auto& arg : options.passthrough) argv.push_back(shell_quote(arg));
  }
  return run_in_foreground(std::move(argv));
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
