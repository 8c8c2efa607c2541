// nftables trace events (scenario-format.md, "Policy truth": attribution).
// The harness marks packets with `meta nftrace set 1` in a table of its
// own, `inet meros_trace`, and the kernel then reports every rule and chain
// policy each marked packet meets as an NFT_MSG_TRACE message on netlink
// group NFNLGRP_NFTRACE. The scenario host's events are read here from a
// socket inside the namespace; a guest's are relayed by its agent as the raw
// netlink bytes (`meros-guest trace stop`). Both are parsed by the one
// parser below, with libnftnl's trace API.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "net/netns.h"
#include "util/fd.h"
#include "util/result.h"

namespace meros::net {

inline constexpr const char* kTraceTable = "meros_trace";

// The packet a trace event was about, from its network and transport
// headers (the kernel dumps them in the first event of each chain).
struct TracedPacket {
  bool known = false;
  std::string saddr, daddr;  // numeric
  int protocol = -1;         // IPPROTO_*
  int sport = -1, dport = -1;
  int icmp_type = -1;        // also ICMPv6's
};

enum class TraceKind { rule, policy, chain_return };

struct TraceEvent {
  std::uint32_t id = 0;  // the same for every event of one packet
  std::string family;    // "ip", "ip6", "inet", "bridge", "arp", "netdev"
  std::string table, chain;
  TraceKind kind = TraceKind::rule;
  std::uint64_t rule_handle = 0;  // rule events
  // The rule's verdict, or the policy's: accept, drop, continue, jump,
  // goto, return, break, queue, stolen.
  std::string verdict;
  std::string jump_target;
  TracedPacket packet;
};

struct TraceMessages {
  std::vector<TraceEvent> events;
  std::uint64_t skipped = 0;  // messages that were not trace events or did not parse
};

// Parses a stream of netlink messages as read from the trace socket. The
// bytes may come from a guest: every length is checked against the stream
// and at most max_events are kept.
TraceMessages parse_trace_messages(std::string_view bytes, std::size_t max_events = 200'000);

// The ruleset that marks packets for tracing: every packet a scenario's
// probes send, which the hooks see before conntrack and the filters, except
// those of skipped interfaces (management links).
std::string trace_table_text(const std::vector<std::string>& skip_interfaces);

// The scenario host's end: a netlink socket subscribed to NFNLGRP_NFTRACE
// inside the namespace. Events queue in its receive buffer (4 MiB) and are
// read by drain(); when it overflows the kernel drops events and drain()
// counts an overrun. Owned by the constellation.
class TraceListener {
 public:
  static Result<std::unique_ptr<TraceListener>> open(const NetworkNamespace& ns);
  // What is queued now, without waiting; at most max_bytes.
  std::string drain(std::size_t max_bytes = 16u << 20);
  std::uint64_t overruns() const { return overruns_; }

 private:
  explicit TraceListener(Fd fd) : fd_(std::move(fd)) {}
  Fd fd_;
  std::uint64_t overruns_ = 0;
};

}  // namespace meros::net
