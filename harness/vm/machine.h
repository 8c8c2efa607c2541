// One running VM: its QEMU process (own process group, parent-death
// signal, optionally inside the scenario's network namespace), its QMP
// session and its serial console log.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "util/result.h"
#include "vm/boot_watch.h"
#include "vm/child_process.h"
#include "vm/clock.h"
#include "vm/console_capture.h"
#include "vm/qemu_command.h"
#include "vm/qmp.h"

namespace meros::vm {

struct MachineOptions {
  // The scenario's network namespace (an open /run/netns/NAME), where the
  // VM's taps live; -1 = the harness's own namespace.
  int netns_fd = -1;
  // QEMU's own stdout/stderr; empty = the console log's path + ".qemu.log".
  std::filesystem::path qemu_log;
  // How long QEMU may take to open its QMP socket.
  Duration qmp_timeout{10'000};
};

enum class StopMethod { had_exited, powerdown, quit, kill };
std::string_view to_string(StopMethod method);

// Owns one VM from start to shutdown. Move-only; destroying a Machine
// that was not shut down SIGKILLs its QEMU (and whatever QEMU started).
class Machine {
 public:
  // Writes no files but the console log (and its two FIFOs, removed at
  // shutdown), the QMP socket and the QEMU log;
  // returns once the QMP session is open (the guest is booting).
  static Result<Machine> start(MachineSpec spec, MachineOptions options = {});

  // Waits until the console shows MEROS-READY and ssh_port_open() (the
  // net layer's connect inside the namespace; null = not checked) says
  // yes. Fails at once on a kernel panic, MEROS-FAILED or QEMU exiting,
  // quoting the console's last lines. Returns the time since start().
  Result<Duration> wait_ready(const std::function<bool()>& ssh_port_open, Duration timeout);

  // system_powerdown and up to powerdown_wait for QEMU to exit (skipped on
  // microvm, which has no ACPI to deliver it), then quit, then SIGKILL of
  // the process group. An Error if anything survived the SIGKILL.
  Result<StopMethod> shutdown(Duration powerdown_wait = Duration(10'000), Duration quit_wait = Duration(3000));

  // Sets the link of the guest's network `index` (eth<index>) up or down.
  Status set_link(std::size_t index, bool up);

  QmpClient& qmp() { return *qmp_; }
  const MachineSpec& spec() const { return spec_; }
  pid_t pid() const { return process_.pid(); }
  bool is_running() { return process_.is_alive(); }
  // The last lines of the serial console, printable.
  std::string console_tail(std::size_t lines = 20) const;
  std::string qemu_output_tail(std::size_t lines = 20) const;

 private:
  using time_point = std::chrono::steady_clock::time_point;
  Machine(MachineSpec spec, std::filesystem::path qemu_log, std::unique_ptr<ConsoleCapture> console, ChildProcess process,
          QmpClient qmp, time_point started)
      : spec_(std::move(spec)),
        qemu_log_(std::move(qemu_log)),
        console_(std::move(console)),
        process_(std::move(process)),
        qmp_(std::move(qmp)),
        started_(started) {}

  MachineSpec spec_;
  std::filesystem::path qemu_log_;
  // Before process_, so that QEMU is gone when the capture copies its
  // last bytes on destruction.
  std::unique_ptr<ConsoleCapture> console_;
  ChildProcess process_;
  std::optional<QmpClient> qmp_;
  time_point started_;
};

}  // namespace meros::vm
