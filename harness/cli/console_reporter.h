// Shows fixture build progress: on a terminal one line rewritten in place
// with the current step, in CI plain lines at a calm rate. One is shared by
// every -j worker: each call holds a lock, so lines never interleave.
#pragma once

#include <chrono>
#include <mutex>
#include <string>

#include "fixture/builder.h"

namespace meros {

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
