// Reachability probes: one TCP connect, UDP datagram or ICMP echo towards a
// numeric address, reported as what the prober observed. Used by the
// meros-guest agent inside VMs and by the harness for host-side probes.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "util/proto.h"
#include "util/result.h"

namespace meros::guest {

using meros::Proto;

// What came back. `refused` is an active refusal from the target's stack
// (TCP RST, ICMP port unreachable); `unreachable` is any other ICMP error or
// a local routing/filter failure; `timeout` is silence.
enum class Observed { open, refused, unreachable, timeout };

// How an ICMP echo is sent: `automatic` tries an unprivileged ping socket and
// falls back to a raw socket.
enum class IcmpMethod { automatic, ping_socket, raw_socket };

struct ProbeRequest {
  Proto proto = Proto::tcp;
  std::string address;  // numeric IPv4 or IPv6 literal, never a name
  int port = 0;         // ignored for icmp
  std::chrono::milliseconds timeout{1000};
  IcmpMethod icmp_method = IcmpMethod::automatic;
};

struct ProbeOutcome {
  Observed observed = Observed::timeout;
  std::chrono::microseconds elapsed{0};
  std::string detail;  // e.g. "tcp rst", "icmp admin prohibited", "echo reply"
  // The probe socket's own address and port, "10.0.10.5:43512" (tcp and
  // udp; empty for icmp): with the target, the probe's 5-tuple, so that its
  // packets can be found in a capture.
  std::string source;
};

// Runs one probe. An Error means no probe could be made (bad address, no
// socket permission), never that the target failed to answer.
Result<ProbeOutcome> probe(const ProbeRequest& request);

// Runs all probes concurrently; results are in request order.
std::vector<Result<ProbeOutcome>> probe_all(const std::vector<ProbeRequest>& requests);

std::string to_string(Observed observed);
Result<Proto> parse_proto(std::string_view text);
Result<Observed> parse_observed(std::string_view text);

}  // namespace meros::guest
