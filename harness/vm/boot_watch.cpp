#include "vm/boot_watch.h"

#include <fstream>
#include <sstream>

#include "manifest/values.h"
#include "util/process.h"
#include "util/signals.h"

namespace meros::vm {
namespace fs = std::filesystem;

namespace {

constexpr std::string_view kReady = "MEROS-READY";
constexpr std::string_view kFailed = "MEROS-FAILED";
constexpr std::string_view kPanic = "Kernel panic - not syncing";
constexpr std::string_view kPanicEnd = "---[ end Kernel panic";

std::string trim(std::string_view text) {
  std::size_t begin = text.find_first_not_of(" \t:");
  if (begin == std::string_view::npos) return "";
  std::size_t end = text.find_last_not_of(" \t");
  return std::string(text.substr(begin, end - begin + 1));
}

// What follows the marker on its line.
std::string after(std::string_view line, std::string_view marker) {
  std::size_t at = line.find(marker);
  return at == std::string_view::npos ? "" : trim(line.substr(at + marker.size()));
}

}  // namespace

std::string indented(const std::string& text) {
  std::string out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out += "  " + line + "\n";
  return out;
}

std::vector<std::string> ConsoleLog::read_new_lines() {
  std::vector<std::string> lines;
  std::ifstream in(path_, std::ios::binary | std::ios::ate);
  if (!in) return lines;
  // Smaller than what was read: the capped log was compacted (head, marker,
  // tail; vm/console_capture.h). Reading it again from the start repeats
  // lines, which the boot wait takes twice without harm, and loses none.
  if (static_cast<std::uint64_t>(in.tellg()) < offset_) {
    offset_ = 0;
    partial_.clear();
  }
  in.seekg(static_cast<std::streamoff>(offset_));
  std::ostringstream chunk;
  chunk << in.rdbuf();
  std::string data = chunk.str();
  offset_ += data.size();
  partial_ += data;
  std::size_t start = 0;
  for (std::size_t nl; (nl = partial_.find('\n', start)) != std::string::npos; start = nl + 1)
    lines.push_back(printable(std::string_view(partial_).substr(start, nl - start)));
  partial_.erase(0, start);
  return lines;
}

std::string printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == 0x1b) {
      // CSI: ESC [ parameters final-byte; other escapes are two bytes.
      if (i + 1 < text.size() && text[i + 1] == '[') {
        i += 2;
        while (i < text.size() && !(text[i] >= 0x40 && text[i] <= 0x7e)) ++i;
      } else {
        ++i;
      }
      continue;
    }
    if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f) continue;
    out += static_cast<char>(c);
  }
  return out;
}

std::string log_tail(const fs::path& log, std::size_t lines) {
  constexpr std::streamoff kTailBytes = 64 * 1024;
  std::ifstream in(log, std::ios::binary | std::ios::ate);
  if (!in) return "";
  std::streamoff size = in.tellg();
  in.seekg(size > kTailBytes ? size - kTailBytes : 0);
  std::ostringstream data;
  data << in.rdbuf();
  return tail_lines(printable(data.str()), lines);
}

ConsoleLine classify_console_line(std::string_view line) {
  if (line.find(kReady) != std::string_view::npos) return ConsoleLine::ready;
  if (line.find(kFailed) != std::string_view::npos) return ConsoleLine::init_failed;
  if (line.find(kPanicEnd) != std::string_view::npos) return ConsoleLine::panic_end;
  if (line.find(kPanic) != std::string_view::npos) return ConsoleLine::panic;
  return ConsoleLine::other;
}

Result<Duration> wait_for_boot(BootSignals& signals, const BootWait& wait, Clock& clock) {
  auto start = clock.now();
  auto failure = [&](const std::string& what, bool with_qemu_output = false) -> Error {
    std::string message = "vm " + wait.vm + ": " + what + "\n";
    std::string tail = signals.console_tail(wait.tail_lines);
    if (tail.empty())
      message += "the console is empty\n";
    else
      message += "last " + std::to_string(wait.tail_lines) + " console lines:\n" + indented(tail);
    std::string qemu = with_qemu_output ? signals.qemu_output_tail(5) : "";
    if (!qemu.empty()) message += "QEMU said:\n" + indented(qemu);
    message.pop_back();
    return make_error(message);
  };
  bool ready_seen = false;
  std::optional<Clock::time_point> panic_at;
  std::string panic_reason;
  while (true) {
    // The run is stopping: nobody will use this VM.
    if (int signal = stop_signal().load()) return make_error("vm " + wait.vm + ": boot interrupted by " + signal_name(signal));
    // Exit status first, then the console: the lines written before the
    // exit are all read before the exit is judged.
    std::optional<int> exit_status = signals.exit_status();
    for (const std::string& line : signals.new_console_lines()) {
      switch (classify_console_line(line)) {
        case ConsoleLine::ready:
          ready_seen = true;
          break;
        case ConsoleLine::init_failed:
          return failure("guest init failed: " + after(line, kFailed));
        case ConsoleLine::panic:
          if (!panic_at) panic_at = clock.now();
          if (panic_reason.empty()) panic_reason = after(line, kPanic);
          break;
        case ConsoleLine::panic_end:
          return failure("kernel panic: " + panic_reason);
        case ConsoleLine::other:
          break;
      }
    }
    if (panic_at && (exit_status || clock.now() - *panic_at >= wait.panic_grace))
      return failure("kernel panic: " + panic_reason);
    if (exit_status)
      return failure("QEMU exited with status " + std::to_string(*exit_status) + " before the guest was ready",
                     true);
    if (ready_seen && signals.ssh_port_open())
      return std::chrono::duration_cast<Duration>(clock.now() - start);
    if (clock.now() - start >= wait.timeout) {
      std::string why = ready_seen ? "the guest printed MEROS-READY but its SSH port never opened"
                                   : "the console never showed MEROS-READY";
      return failure("not ready after " + format_duration(wait.timeout) + ": " + why);
    }
    clock.sleep_for(wait.poll);
  }
}

}  // namespace meros::vm
