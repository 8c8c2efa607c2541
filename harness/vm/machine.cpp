#include "vm/machine.h"

#include <fcntl.h>

#include <fstream>

#include "util/fd.h"
#include "util/process.h"
#include "util/text.h"
#include "util/debug_log.h"

namespace meros::vm {
namespace fs = std::filesystem;

namespace {

// The boot wait's view of a real Machine.
class MachineSignals : public BootSignals {
 public:
  MachineSignals(Machine& machine, ChildProcess& process, const std::function<bool()>& ssh_port_open)
      : machine_(machine), process_(process), ssh_port_open_(ssh_port_open), console_(machine.spec().console_log) {}

  std::vector<std::string> new_console_lines() override { return console_.read_new_lines(); }
  std::optional<int> exit_status() override { return process_.exit_code(); }
  bool ssh_port_open() override { return !ssh_port_open_ || ssh_port_open_(); }
  std::string console_tail(std::size_t lines) override { return machine_.console_tail(lines); }
  std::string qemu_output_tail(std::size_t lines) override { return machine_.qemu_output_tail(lines); }

 private:
  Machine& machine_;
  ChildProcess& process_;
  const std::function<bool()>& ssh_port_open_;
  ConsoleLog console_;
};

// A unix socket's path is limited to 107 bytes, and a run directory can be
// longer than that. Both QEMU (which binds the socket) and the harness
// (which connects) reach it through an open descriptor of its directory
// instead: /proc/self/fd/<n>/<name> is short whatever the directory.
struct SocketDirectory {
  Fd dir;
  std::string short_path;
};

Result<SocketDirectory> open_socket_directory(const fs::path& socket) {
  Fd dir(::open(socket.parent_path().c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dir.valid()) return make_error("cannot open the socket directory " + socket.parent_path().string() + ": " + errno_text());
  std::string short_path = "/proc/self/fd/" + std::to_string(dir.get()) + "/" + socket.filename().string();
  return SocketDirectory{std::move(dir), std::move(short_path)};
}

void remove_stale(const fs::path& path) {
  std::error_code ec;
  fs::remove(path, ec);
  if (path.has_parent_path()) fs::create_directories(path.parent_path(), ec);
}

}  // namespace

std::string_view to_string(StopMethod method) {
  switch (method) {
    case StopMethod::had_exited: return "had exited";
    case StopMethod::powerdown: return "powered down";
    case StopMethod::quit: return "quit";
    case StopMethod::kill: return "killed";
  }
  return "?";
}

Result<Machine> Machine::start(MachineSpec spec, MachineOptions options) {
  auto started = std::chrono::steady_clock::now();
  std::string vm = "vm " + spec.name + ": ";
  auto binary = find_qemu(spec.arch);
  if (!binary) return make_error(vm + binary.error().message);
  // The console through a FIFO the harness reads, so that its log stays
  // bounded (vm/console_capture.h); the FIFOs sit next to the QMP socket
  // (a FIFO's path has no 108-byte limit).
  if (spec.console_pipe.empty()) spec.console_pipe = spec.qmp_socket.parent_path() / (spec.name + ".console");
  fs::path qemu_log = options.qemu_log.empty() ? fs::path(spec.console_log.string() + ".qemu.log") : options.qemu_log;
  for (const fs::path& path : {spec.console_log, spec.qmp_socket, qemu_log}) remove_stale(path);
  auto sockets = open_socket_directory(spec.qmp_socket);
  if (!sockets) return make_error(vm + sockets.error().message);
  MachineSpec launched = spec;
  launched.qmp_socket = sockets->short_path;
  auto argv = qemu_command(launched);
  if (!argv) return make_error(vm + argv.error().message);
  (*argv)[0] = binary->string();
  auto console = ConsoleCapture::start(spec.console_pipe, spec.console_log);
  if (!console) return make_error(vm + console.error().message);
  { std::ofstream(qemu_log) << describe_command(*argv) << "\n"; }
  debug_log::write("qemu", describe_command(*argv));
  auto process = ChildProcess::start({*argv, qemu_log, options.netns_fd, sockets->dir.get()});
  if (!process) return make_error(vm + process.error().message);
  // QEMU opens its QMP socket before it checks devices, so a bad option
  // can end it during the handshake: then its own words are the error.
  auto failed = [&](const Error& qmp_error) -> Error {
    if (process->wait_for(Duration(1000))) {
      std::string tail = log_tail(qemu_log, 5);
      std::string said = indented(tail);
      if (!said.empty()) said.pop_back();
      return make_error(vm + "QEMU exited with status " + std::to_string(*process->exit_code()) + " at start: " +
                        trimmed(tail_lines(tail, 1)) + "\n" + said);
    }
    return make_error(vm + qmp_error.message);
  };
  auto channel = SocketQmpChannel::connect(sockets->short_path, options.qmp_timeout, [&] { return process->is_alive(); });
  if (!channel) return failed(channel.error());
  auto qmp = QmpClient::open(std::move(*channel), options.qmp_timeout);
  if (!qmp) return failed(qmp.error());
  return Machine(std::move(spec), std::move(qemu_log), std::move(*console), std::move(*process), std::move(*qmp), started);
}

Result<Duration> Machine::wait_ready(const std::function<bool()>& ssh_port_open, Duration timeout) {
  MachineSignals signals(*this, process_, ssh_port_open);
  BootWait wait;
  wait.vm = spec_.name;
  wait.timeout = timeout;
  auto waited = wait_for_boot(signals, wait);
  if (!waited) return waited.error();
  return std::chrono::duration_cast<Duration>(std::chrono::steady_clock::now() - started_);
}

Result<StopMethod> Machine::shutdown(Duration powerdown_wait, Duration quit_wait) {
  StopMethod method = StopMethod::kill;
  if (!process_.is_alive()) {
    method = StopMethod::had_exited;
  } else if (machine_type(spec_) != "microvm" && powerdown_wait.count() > 0 && qmp_->system_powerdown() &&
             process_.wait_for(powerdown_wait)) {
    method = StopMethod::powerdown;
  } else if (qmp_->quit(quit_wait) && process_.wait_for(quit_wait)) {
    method = StopMethod::quit;
  }
  // Whatever is left in the group (QEMU itself if it would not quit, or
  // helpers it started) goes now.
  bool all_gone = process_.kill_group();
  // QEMU is gone: the console log gets its last bytes now, not at destruction.
  if (console_) console_->stop();
  if (!all_gone)
    return make_error("vm " + spec_.name + ": processes of group " + std::to_string(process_.pid()) +
                      " survived SIGKILL");
  return method;
}

Status Machine::set_link(std::size_t index, bool up) {
  if (index >= spec_.networks.size())
    return make_error("vm " + spec_.name + " has no network " + std::to_string(index));
  return qmp_->set_link(network_device_id(index), up);
}

std::string Machine::console_tail(std::size_t lines) const { return log_tail(spec_.console_log, lines); }

std::string Machine::qemu_output_tail(std::size_t lines) const { return log_tail(qemu_log_, lines); }

}  // namespace meros::vm
