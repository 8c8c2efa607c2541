// `meros-guest trace start|stop`: records nftables trace events inside a
// guest so the harness can say which rule decided each probe.
//
// `start` subscribes a netlink socket to NFNLGRP_NFTRACE, forks a daemon
// that appends every datagram it receives, byte for byte, to a file, and
// then loads a table that sets `meta nftrace set 1` on every packet (except
// on the skipped interfaces). `stop` ends the daemon, removes the table,
// and prints the raw events (base64) with the ruleset listing (`nft -a -s`)
// as one JSON line. The agent does not parse the events: the harness does,
// with libnftnl, so the static agent needs no library.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace meros::guest {

struct TraceOptions {
  enum class Action { start, stop } action = Action::start;
  std::vector<std::string> skip;       // interfaces whose packets are not traced
  std::size_t limit = 8 * 1024 * 1024; // bytes of events kept; later datagrams are counted
};

// "start [--skip IFNAME]... [--limit BYTES]" or "stop".
Result<TraceOptions> parse_trace_args(const std::vector<std::string_view>& args);

// The `nft -f` text of the trace table for these skipped interfaces.
std::string trace_ruleset(const std::vector<std::string>& skip);

// Standard base64 with padding (RFC 4648).
std::string base64_encode(std::string_view bytes);

// Runs the command; returns the exit code (0 done, 1 failed).
int run_trace(const TraceOptions& options);

}  // namespace meros::guest
