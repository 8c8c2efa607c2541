// Shows fixture build progress: on a terminal one line rewritten in place
// with the current step, in CI plain lines at a calm rate. One is shared by
// every -j worker: each call holds a lock, so lines never interleave.
#pragma once

#include <chrono>
#include <mutex>
#include <string>

#include "cli/options.h"
#include "fixture/builder.h"

namespace meros {

// Whether verdicts are coloured on the stream fd: --color always/never, or
// automatically on a terminal unless NO_COLOR is set or TERM is dumb (so CI
// logs stay plain).
bool colors_enabled(ColorMode mode, int fd);

enum class Paint { green, red, yellow, bold };
// text wrapped in the ANSI sequence when enabled.
std::string paint(const std::string& text, Paint colour, bool enabled);

// A build's progress on stderr. verbosity < 0 (-q) prints nothing: a build
// that fails still reaches the report and the summary as an errored setup.
class ConsoleReporter : public BuildReporter {
 public:
  explicit ConsoleReporter(int verbosity);
  ~ConsoleReporter() override;
  void info(const std::string& line) override;
  void progress(const std::string& fixture, const std::string& step, int done, int total) override;

 private:
  void clear_status();  // with mutex_ held
  std::mutex mutex_;     // guards everything below and the writes to stderr
  bool terminal_;
  int verbosity_;
  bool status_shown_ = false;
  std::string last_step_;
  std::chrono::steady_clock::time_point last_plain_;
};

}  // namespace meros
