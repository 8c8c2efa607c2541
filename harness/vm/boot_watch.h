// Watching a VM boot: reading its serial console log as it grows,
// recognising the lines that matter (MEROS-READY, MEROS-FAILED, kernel
// panics), and the wait for readiness that reports a failed boot at once
// instead of after the timeout.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"
#include "vm/clock.h"

namespace meros::vm {

// Reads a growing console log file: each call returns the lines completed
// since the last one (a partial last line waits for its newline).
class ConsoleLog {
 public:
  explicit ConsoleLog(std::filesystem::path path) : path_(std::move(path)) {}
  std::vector<std::string> read_new_lines();
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  std::uint64_t offset_ = 0;
  std::string partial_;
};

// The text without what a terminal would interpret: escape sequences,
// carriage returns and other control characters (firmware and kernels
// write them; reports must not carry them).
std::string printable(std::string_view text);

// The last `lines` lines of a log file (console, QEMU output), printable.
std::string log_tail(const std::filesystem::path& log, std::size_t lines);

// Each line prefixed with two spaces, ending in a newline: for quoting
// console or QEMU output inside a message.
std::string indented(const std::string& text);

enum class ConsoleLine { other, ready, init_failed, panic, panic_end };
// ready: "MEROS-READY ..."; init_failed: "MEROS-FAILED reason";
// panic: "Kernel panic - not syncing: ..."; panic_end: "---[ end Kernel panic ...".
ConsoleLine classify_console_line(std::string_view line);

// What the boot wait looks at; Machine provides the real one, tests a fake.
class BootSignals {
 public:
  virtual ~BootSignals() = default;
  virtual std::vector<std::string> new_console_lines() = 0;
  // QEMU's exit status once it has exited.
  virtual std::optional<int> exit_status() = 0;
  // Whether the guest's SSH port accepts connections (asked only after
  // MEROS-READY).
  virtual bool ssh_port_open() = 0;
  virtual std::string console_tail(std::size_t lines) = 0;
  // The end of QEMU's own output (its error messages).
  virtual std::string qemu_output_tail(std::size_t lines) = 0;
};

struct BootWait {
  std::string vm;  // for messages
  Duration timeout{60'000};
  Duration poll{20};
  // After a panic line, how long to wait for the rest of the trace.
  Duration panic_grace{1000};
  std::size_t tail_lines = 20;
};

// Waits until the console has shown MEROS-READY and the SSH port is open.
// A panic, MEROS-FAILED or QEMU exiting ends the wait at once with an
// Error naming the VM and quoting the console's last lines; so does the
// timeout. Returns how long the wait took.
Result<Duration> wait_for_boot(BootSignals& signals, const BootWait& wait, Clock& clock = steady_clock());

}  // namespace meros::vm
