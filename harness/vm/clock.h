// Time for the machine layer's waits (boot, shutdown, probes): a real
// steady clock, and a manual one so tests of timeout logic take no time.
#pragma once

#include <chrono>

#include "util/duration.h"

namespace meros::vm {

using meros::Duration;

class Clock {
 public:
  using time_point = std::chrono::steady_clock::time_point;
  virtual ~Clock() = default;
  virtual time_point now() const = 0;
  virtual void sleep_for(Duration d) = 0;
};

class SteadyClock : public Clock {
 public:
  time_point now() const override { return std::chrono::steady_clock::now(); }
  void sleep_for(Duration d) override;
};

// Stands still until slept on or advanced; for tests.
class ManualClock : public Clock {
 public:
  time_point now() const override { return now_; }
  void sleep_for(Duration d) override { now_ += d; }
  void advance(Duration d) { now_ += d; }

 private:
  time_point now_{};
};

// The process's one real clock.
Clock& steady_clock();

}  // namespace meros::vm
