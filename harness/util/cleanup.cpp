#include "util/cleanup.h"

namespace meros {

void CleanupStack::push(std::string what, Release release) {
  std::lock_guard<std::mutex> lock(mutex_);
  entries_.emplace_back(std::move(what), std::move(release));
}

std::size_t CleanupStack::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return entries_.size();
}

std::vector<std::string> CleanupStack::unwind() {
  std::vector<std::pair<std::string, Release>> entries;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    entries.swap(entries_);
  }
  std::vector<std::string> failures;
  for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
    try {
      Status status = it->second();
      if (!status) failures.push_back(it->first + ": " + status.error().message);
    } catch (const std::exception& e) {
      failures.push_back(it->first + ": " + e.what());
    }
  }
  return failures;
}

}  // namespace meros
