#include "util/bounded_output.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "util/text.h"

namespace meros {

std::string not_kept_marker(std::uint64_t dropped) {
  return "\n[... meros-test: " + std::to_string(dropped) + " bytes not kept ...]\n";
}

std::string describe_not_kept(std::uint64_t stdout_dropped, std::uint64_t stderr_dropped) {
  std::string out;
  if (stdout_dropped) out = std::to_string(stdout_dropped) + " bytes of stdout";
  if (stderr_dropped) out += (out.empty() ? "" : " and ") + std::to_string(stderr_dropped) + " bytes of stderr";
  return out.empty() ? out : out + " not kept";
}

BoundedText::BoundedText(std::size_t head_limit, std::size_t tail_limit) : head_limit_(head_limit), tail_limit_(tail_limit) {}

void BoundedText::append(std::string_view data) {
  total_ += data.size();
  if (head_.size() < head_limit_) {
    std::size_t n = std::min(head_limit_ - head_.size(), data.size());
    head_.append(data.substr(0, n));
    data.remove_prefix(n);
  }
  if (data.empty() || tail_limit_ == 0) return;
  // Only output past the head pays for the ring.
  if (tail_.empty()) tail_.resize(tail_limit_);
  if (data.size() >= tail_limit_) {
    std::memcpy(tail_.data(), data.data() + data.size() - tail_limit_, tail_limit_);
    tail_next_ = 0;
    tail_filled_ = tail_limit_;
    return;
  }
  std::size_t first = std::min(data.size(), tail_limit_ - tail_next_);
  std::memcpy(tail_.data() + tail_next_, data.data(), first);
  std::memcpy(tail_.data(), data.data() + first, data.size() - first);
  tail_next_ = (tail_next_ + data.size()) % tail_limit_;
  tail_filled_ = std::min(tail_limit_, tail_filled_ + data.size());
}

std::string BoundedText::str() const {
  std::string out;
  std::uint64_t cut = dropped();
  std::string marker = cut ? not_kept_marker(cut) : "";
  out.reserve(kept() + marker.size());
  out += head_;
  out += marker;
  if (tail_filled_ < tail_limit_) {
    out.append(tail_, 0, tail_filled_);
  } else {
    out.append(tail_, tail_next_, std::string::npos);
    out.append(tail_, 0, tail_next_);
  }
  return out;
}

CappedLogFile::CappedLogFile(std::filesystem::path path, std::size_t head_limit, std::size_t tail_limit)
    : path_(std::move(path)), head_limit_(head_limit), tail_limit_(std::max<std::size_t>(1, tail_limit)) {}

Status CappedLogFile::open() {
  // O_APPEND: a compaction's ftruncate moves the end under later writes.
  fd_.reset(::open(path_.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0644));
  if (!fd_.valid()) return make_error("cannot write " + path_.string() + ": " + errno_text());
  head_ = marker_ = tail_ = dropped_ = 0;
  return {};
}

Status CappedLogFile::write_all(std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd_.get(), data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return make_error("cannot write " + path_.string() + ": " + errno_text());
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

// The file becomes head, marker, tail.
Status CappedLogFile::rewrite_tail(std::string_view tail) {
  if (::ftruncate(fd_.get(), static_cast<off_t>(head_)) != 0) return make_error("cannot truncate " + path_.string() + ": " + errno_text());
  std::string marker = not_kept_marker(dropped_);
  marker_ = marker.size();
  tail_ = tail.size();
  if (Status s = write_all(marker); !s) return s;
  return write_all(tail);
}

Status CappedLogFile::compact() {
  std::string tail(tail_limit_, '\0');
  off_t from = static_cast<off_t>(head_ + marker_ + tail_ - tail_limit_);
  std::size_t got = 0;
  while (got < tail.size()) {
    ssize_t n = ::pread(fd_.get(), tail.data() + got, tail.size() - got, from + static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return make_error("cannot read " + path_.string() + ": " + errno_text());
    got += static_cast<std::size_t>(n);
  }
  dropped_ += tail_ - tail_limit_;
  return rewrite_tail(tail);
}

Status CappedLogFile::append(std::string_view data) {
  if (!fd_.valid()) return make_error(path_.string() + " is not open");
  if (head_ < head_limit_) {
    std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(head_limit_ - head_, data.size()));
    if (Status s = write_all(data.substr(0, n)); !s) return s;
    head_ += n;
    data.remove_prefix(n);
  }
  if (data.empty()) return {};
  if (data.size() >= tail_limit_ && tail_ + data.size() > tail_limit_) {
    // All that was after the head goes; of data, its end stays.
    dropped_ += tail_ + (data.size() - tail_limit_);
    return rewrite_tail(data.substr(data.size() - tail_limit_));
  }
  if (Status s = write_all(data); !s) return s;
  tail_ += data.size();
  // Up to twice the tail between compactions: one rewrite per tail_limit
  // bytes, not one per append.
  return tail_ > 2 * std::uint64_t{tail_limit_} ? compact() : Status{};
}

}  // namespace meros
