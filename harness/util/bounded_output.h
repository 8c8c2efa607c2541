// Output a guest controls, kept within fixed bounds: a guest can print
// without end (`cat /dev/zero`), and the harness, running as root on the
// host, must neither grow without bound in memory nor fill the disk.
//
// Both keep a head and a tail and count what fell between them: the head
// says how the output started (the command's first complaint, a boot's
// early lines), the tail how it ended (the error a command died with, the
// last lines reports quote). The middle of a flood is the least telling part.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "util/fd.h"
#include "util/result.h"

namespace meros {

// What a run step keeps of each of its streams: 16 MiB (8 MiB head, 8 MiB
// tail). Enough for any output a test asserts on; small enough that both
// streams of a few concurrent steps fit the harness's 256 MiB.
inline constexpr std::size_t kStepOutputLimit = 16u << 20;
// A transcript or serial console file: its first 1 MiB (the boot) and its
// last 4 MiB (what happened most recently), at most 5 MiB on disk.
inline constexpr std::size_t kLogHeadLimit = 1u << 20;
inline constexpr std::size_t kLogTailLimit = 4u << 20;

// The line put where bytes were left out, in step output and log files.
std::string not_kept_marker(std::uint64_t dropped);

// "1234 bytes of stdout and 56 bytes of stderr not kept", or "" when
// both are 0: how reports and transcripts say a step's output was cut.
std::string describe_not_kept(std::uint64_t stdout_dropped, std::uint64_t stderr_dropped);

// One stream in memory: the first head_limit bytes and the last tail_limit
// bytes, never more; the tail is a ring, so memory stays at the limits
// whatever is appended.
class BoundedText {
 public:
  explicit BoundedText(std::size_t limit = kStepOutputLimit) : BoundedText(limit / 2, limit - limit / 2) {}
  BoundedText(std::size_t head_limit, std::size_t tail_limit);

  void append(std::string_view data);
  // Bytes appended but not kept.
  std::uint64_t dropped() const { return total_ > kept() ? total_ - kept() : 0; }
  std::uint64_t total() const { return total_; }
  std::size_t kept() const { return head_.size() + tail_filled_; }
  // The kept bytes: the head, then (when bytes were left out) the marker
  // line, then the tail in order.
  std::string str() const;

 private:
  std::size_t head_limit_, tail_limit_;
  std::string head_;
  std::string tail_;  // a ring of tail_limit_ bytes once the head is full
  std::size_t tail_next_ = 0;    // where the next tail byte goes
  std::size_t tail_filled_ = 0;  // how many tail bytes are valid
  std::uint64_t total_ = 0;
};

// A log file that is appended to: its first head_limit bytes stay, and of
// the rest the last tail_limit bytes (at least; up to twice that between
// compactions), with the marker line between the two counting what was cut.
// Compaction rewrites the file in place, so a reader holding an offset sees
// it shrink (vm::ConsoleLog starts over then).
class CappedLogFile {
 public:
  CappedLogFile() = default;
  CappedLogFile(std::filesystem::path path, std::size_t head_limit = kLogHeadLimit, std::size_t tail_limit = kLogTailLimit);
  // Creates or truncates the file.
  Status open();
  Status append(std::string_view data);
  std::uint64_t dropped() const { return dropped_; }
  const std::filesystem::path& path() const { return path_; }

 private:
  Status write_all(std::string_view data);
  Status rewrite_tail(std::string_view tail);
  Status compact();

  std::filesystem::path path_;
  std::size_t head_limit_ = kLogHeadLimit, tail_limit_ = kLogTailLimit;
  Fd fd_;
  std::uint64_t head_ = 0;      // bytes of the head in the file
  std::uint64_t marker_ = 0;    // bytes of the marker line after it (0: nothing cut yet)
  std::uint64_t tail_ = 0;      // bytes after the marker
  std::uint64_t dropped_ = 0;
};

}  // namespace meros
