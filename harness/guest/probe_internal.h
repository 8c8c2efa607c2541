// Internal pieces of the probes shared by probe.cpp, probe_transport.cpp,
// probe_icmp.cpp and verdict.cpp. Not part of the public API.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "guest/probe.h"
#include "guest/sockets.h"

namespace meros::guest::internal {

// What a probe concluded, before timing is attached.
struct Verdict {
  Observed observed;
  std::string detail;
};

// Times one probe against its timeout and stamps outcomes with the elapsed
// time.
class Stopwatch {
 public:
  explicit Stopwatch(std::chrono::milliseconds timeout)
      : start_(Clock::now()), deadline_(start_ + timeout) {}

  Clock::time_point deadline() const { return deadline_; }
  ProbeOutcome outcome(Verdict verdict) const;

 private:
  Clock::time_point start_;
  Clock::time_point deadline_;
};

// Maps an ICMP/ICMPv6 error (type, code) to refused/unreachable. Details are
// the same for both families ("icmp admin prohibited" for v4 code 13 and v6
// code 1), matching nftables' icmpx reject types.
Verdict classify_icmp(int family, uint8_t type, uint8_t code);

// Maps a local errno that means "could not get there" (no route, blocked by
// a local filter) to unreachable; nothing for errors that are not
// observations (e.g. EMFILE).
std::optional<Verdict> classify_local_errno(int error_number);

// The verdict for a queued error: the ICMP it carries, else its errno.
std::optional<Verdict> classify_queued(const QueuedError& queued);

// Waited until the deadline with no answer: timeout, unless an ICMP error
// was queued meanwhile.
Verdict silence_or_queued(int fd);

Result<ProbeOutcome> probe_tcp(const Endpoint& target, std::chrono::milliseconds timeout);
Result<ProbeOutcome> probe_udp(const Endpoint& target, std::chrono::milliseconds timeout);
Result<ProbeOutcome> probe_icmp(const Endpoint& target, std::chrono::milliseconds timeout,
                                IcmpMethod method);

}  // namespace meros::guest::internal
