// The serial console, bounded: QEMU writes it into a FIFO (its `pipe`
// chardev) and a thread of the harness copies it into a CappedLogFile, the
// console log the boot wait and the reports read. With QEMU's `file`
// chardev a guest printing without end filled the disk; here the log keeps
// its first kLogHeadLimit and last kLogTailLimit bytes with a marker line
// between, and a slow reader only slows the guest's serial port.
#pragma once

#include <atomic>
#include <filesystem>
#include <memory>
#include <thread>

#include "util/bounded_output.h"
#include "util/fd.h"
#include "util/result.h"

namespace meros::vm {

class ConsoleCapture {
 public:
  // Makes the FIFOs `pipe_base`.in and `pipe_base`.out (QEMU's
  // `-chardev pipe,path=pipe_base` opens both), creates `log` and starts
  // copying. Call before QEMU starts.
  static Result<std::unique_ptr<ConsoleCapture>> start(const std::filesystem::path& pipe_base, const std::filesystem::path& log);
  ~ConsoleCapture();
  ConsoleCapture(const ConsoleCapture&) = delete;
  ConsoleCapture& operator=(const ConsoleCapture&) = delete;

  // Copies what is left in the FIFO, stops the thread and removes the
  // FIFOs. Once QEMU is gone; idempotent.
  void stop();
  std::uint64_t dropped() const { return dropped_.load(); }

 private:
  ConsoleCapture() = default;
  void copy();
  bool copy_available();

  std::filesystem::path in_, out_;
  Fd fifo_;
  CappedLogFile log_;
  std::atomic<bool> stopping_{false};
  std::atomic<std::uint64_t> dropped_{0};
  std::thread thread_;
};

}  // namespace meros::vm
