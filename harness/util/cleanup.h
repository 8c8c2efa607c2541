// The run's cleanup stack: every resource a scenario creates registers how
// to release it; teardown releases them in reverse order, each
// independently, logging failures and going on.
#pragma once

#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "util/result.h"

namespace meros {

class CleanupStack {
 public:
  using Release = std::function<Status()>;

  CleanupStack() = default;
  CleanupStack(const CleanupStack&) = delete;
  CleanupStack& operator=(const CleanupStack&) = delete;
  ~CleanupStack() { unwind(); }

  void push(std::string what, Release release);
  // Releases everything, newest first; returns the failures as
  // "what: message" lines (empty when all went well).
  std::vector<std::string> unwind();
  std::size_t size() const;

 private:
  mutable std::mutex mutex_;
  std::vector<std::pair<std::string, Release>> entries_;
};

}  // namespace meros
