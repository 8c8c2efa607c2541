// ICMP echo probes, over an unprivileged ping socket (the kernel picks the
// echo id, filters replies and queues ICMP errors) or a raw socket (we match
// replies and errors ourselves; needs CAP_NET_RAW).
#include <netinet/icmp6.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <vector>

#include "guest/probe_internal.h"

namespace meros::guest::internal {

namespace {

constexpr char kEchoPayload[] = "meros-probe-echo";
// ICMP_FILTER from <linux/icmp.h>, which clashes with <netinet/ip_icmp.h>.
constexpr int kIcmpFilter = 1;

// The identifier and sequence number one echo request carries.
struct EchoId {
  uint16_t id;
  uint16_t sequence;
};

EchoId next_echo_id() {
  static std::atomic<uint32_t> counter{static_cast<uint32_t>(::getpid()) * 2654435761u};
  uint32_t value = counter.fetch_add(1);
  return {static_cast<uint16_t>(value >> 16 ^ value), static_cast<uint16_t>(value | 1)};
}

uint16_t checksum(const uint8_t* data, size_t length) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < length; i += 2) sum += static_cast<uint32_t>(data[i] << 8 | data[i + 1]);
  if (length % 2) sum += static_cast<uint32_t>(data[length - 1] << 8);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return htons(static_cast<uint16_t>(~sum));
}

// An echo request: 8-byte header (type, code, checksum, id, sequence) and a
// small payload. The kernel fills the checksum for ICMPv6.
std::vector<uint8_t> echo_request(int family, EchoId echo) {
  std::vector<uint8_t> packet(8 + sizeof(kEchoPayload) - 1, 0);
  packet[0] = family == AF_INET ? ICMP_ECHO : ICMP6_ECHO_REQUEST;
  uint16_t id = htons(echo.id);
  uint16_t sequence = htons(echo.sequence);
  std::memcpy(&packet[4], &id, 2);
  std::memcpy(&packet[6], &sequence, 2);
  std::memcpy(&packet[8], kEchoPayload, sizeof(kEchoPayload) - 1);
  if (family == AF_INET) {
    uint16_t sum = checksum(packet.data(), packet.size());
    std::memcpy(&packet[2], &sum, 2);
  }
  return packet;
}

uint16_t read16(const uint8_t* at) { return static_cast<uint16_t>(at[0] << 8 | at[1]); }

bool same_echo(const uint8_t* icmp, EchoId echo, bool check_id) {
  return (!check_id || read16(icmp + 4) == echo.id) && read16(icmp + 6) == echo.sequence;
}

int icmp_protocol(int family) { return family == AF_INET ? int{IPPROTO_ICMP} : int{IPPROTO_ICMPV6}; }
uint8_t echo_reply_type(int family) {
  return family == AF_INET ? uint8_t{ICMP_ECHOREPLY} : uint8_t{ICMP6_ECHO_REPLY};
}

// Reads datagrams until one decides the probe or the deadline passes.
// `match` returns a verdict for a datagram that belongs to this probe.
template <class Match>
Result<ProbeOutcome> await_echo(int fd, const Stopwatch& clock, Match match) {
  uint8_t buffer[2048];
  for (;;) {
    auto events = wait_for(fd, POLLIN, clock.deadline());
    if (!events) return events.error();
    if (*events == 0) return clock.outcome(silence_or_queued(fd));
    if (*events & POLLERR) {
      if (auto queued = read_error_queue(fd)) {
        if (auto verdict = classify_queued(*queued)) return clock.outcome(*verdict);
      }
    }
    sockaddr_storage from{};
    socklen_t from_length = sizeof(from);
    ssize_t got = ::recvfrom(fd, buffer, sizeof(buffer), MSG_DONTWAIT,
                             reinterpret_cast<sockaddr*>(&from), &from_length);
    if (got < 0) continue;
    if (auto verdict = match(buffer, static_cast<size_t>(got), from)) return clock.outcome(*verdict);
  }
}

Result<ProbeOutcome> send_and_await(int fd, const Endpoint& target, EchoId echo,
                                    std::chrono::milliseconds timeout, auto match) {
  auto packet = echo_request(target.family(), echo);
  Stopwatch clock(timeout);
  if (::sendto(fd, packet.data(), packet.size(), 0, target.addr(), target.length) < 0) {
    int error_number = errno;
    if (auto verdict = classify_local_errno(error_number)) return clock.outcome(*verdict);
    return errno_error("icmp send", error_number);
  }
  return await_echo(fd, clock, match);
}

// --- ping sockets -----------------------------------------------------------

Result<Fd> open_ping_socket(int family) {
  Fd fd(::socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, icmp_protocol(family)));
  if (!fd.valid()) return errno_error("ping socket", errno);
  if (auto status = enable_error_queue(fd.get(), family); !status) return status.error();
  return fd;
}

Result<ProbeOutcome> echo_over_ping_socket(Fd fd, const Endpoint& target,
                                           std::chrono::milliseconds timeout) {
  EchoId echo = next_echo_id();
  auto match = [&](const uint8_t* data, size_t length, const sockaddr_storage&) -> std::optional<Verdict> {
    if (length < 8 || data[0] != echo_reply_type(target.family())) return std::nullopt;
    if (!same_echo(data, echo, false)) return std::nullopt;
    return Verdict{Observed::open, "echo reply"};
  };
  return send_and_await(fd.get(), target, echo, timeout, match);
}

// --- raw sockets ------------------------------------------------------------

Status filter_raw_socket(int fd, int family) {
  if (family == AF_INET) {
    uint32_t blocked = ~((1u << ICMP_ECHOREPLY) | (1u << ICMP_DEST_UNREACH) |
                         (1u << ICMP_TIME_EXCEEDED) | (1u << ICMP_PARAMETERPROB));
    if (setsockopt(fd, SOL_RAW, kIcmpFilter, &blocked, sizeof(blocked)) != 0)
      return errno_error("ICMP_FILTER", errno);
    return {};
  }
  icmp6_filter filter;
  ICMP6_FILTER_SETBLOCKALL(&filter);
  for (int type : {ICMP6_ECHO_REPLY, ICMP6_DST_UNREACH, ICMP6_PACKET_TOO_BIG, ICMP6_TIME_EXCEEDED,
                   ICMP6_PARAM_PROB})
    ICMP6_FILTER_SETPASS(type, &filter);
  if (setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &filter, sizeof(filter)) != 0)
    return errno_error("ICMP6_FILTER", errno);
  return {};
}

Result<Fd> open_raw_socket(int family) {
  Fd fd(::socket(family, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, icmp_protocol(family)));
  if (!fd.valid()) return errno_error("raw socket", errno);
  if (auto status = filter_raw_socket(fd.get(), family); !status) return status.error();
  return fd;
}

bool is_error_type(int family, uint8_t type) {
  if (family == AF_INET)
    return type == ICMP_DEST_UNREACH || type == ICMP_TIME_EXCEEDED || type == ICMP_PARAMETERPROB;
  return type == ICMP6_DST_UNREACH || type == ICMP6_PACKET_TOO_BIG || type == ICMP6_TIME_EXCEEDED ||
         type == ICMP6_PARAM_PROB;
}

// The echo request quoted inside an ICMPv4 error, if it is ours.
bool quotes_our_echo4(const uint8_t* quoted, size_t length, const Endpoint& target, EchoId echo) {
  if (length < sizeof(iphdr)) return false;
  auto inner = reinterpret_cast<const iphdr*>(quoted);
  size_t header = inner->ihl * 4u;
  if (inner->protocol != IPPROTO_ICMP || length < header + 8) return false;
  auto sin = reinterpret_cast<const sockaddr_in*>(&target.storage);
  if (inner->daddr != sin->sin_addr.s_addr) return false;
  return quoted[header] == ICMP_ECHO && same_echo(quoted + header, echo, true);
}

// The echo request quoted inside an ICMPv6 error, if it is ours.
bool quotes_our_echo6(const uint8_t* quoted, size_t length, const Endpoint& target, EchoId echo) {
  if (length < sizeof(ip6_hdr) + 8) return false;
  auto inner = reinterpret_cast<const ip6_hdr*>(quoted);
  auto sin6 = reinterpret_cast<const sockaddr_in6*>(&target.storage);
  if (inner->ip6_nxt != IPPROTO_ICMPV6) return false;
  if (std::memcmp(&inner->ip6_dst, &sin6->sin6_addr, sizeof(in6_addr)) != 0) return false;
  const uint8_t* icmp = quoted + sizeof(ip6_hdr);
  return icmp[0] == ICMP6_ECHO_REQUEST && same_echo(icmp, echo, true);
}

// Decides one datagram read from a raw socket. IPv4 raw sockets deliver the
// IP header; IPv6 ones start at the ICMPv6 header.
std::optional<Verdict> match_raw(const uint8_t* data, size_t length, const sockaddr_storage& from,
                                 const Endpoint& target, EchoId echo) {
  int family = target.family();
  size_t offset = 0;
  if (family == AF_INET) {
    if (length < sizeof(iphdr)) return std::nullopt;
    offset = (data[0] & 0x0f) * 4u;
  }
  if (length < offset + 8) return std::nullopt;
  const uint8_t* icmp = data + offset;
  size_t rest = length - offset - 8;
  if (icmp[0] == echo_reply_type(family)) {
    if (!target.same_host(from) || !same_echo(icmp, echo, true)) return std::nullopt;
    return Verdict{Observed::open, "echo reply"};
  }
  if (!is_error_type(family, icmp[0])) return std::nullopt;
  bool ours = family == AF_INET ? quotes_our_echo4(icmp + 8, rest, target, echo)
                                : quotes_our_echo6(icmp + 8, rest, target, echo);
  if (!ours) return std::nullopt;
  return classify_icmp(family, icmp[0], icmp[1]);
}

Result<ProbeOutcome> echo_over_raw_socket(Fd fd, const Endpoint& target,
                                          std::chrono::milliseconds timeout) {
  EchoId echo = next_echo_id();
  auto match = [&](const uint8_t* data, size_t length, const sockaddr_storage& from) {
    return match_raw(data, length, from, target, echo);
  };
  return send_and_await(fd.get(), target, echo, timeout, match);
}

Result<ProbeOutcome> echo_automatic(const Endpoint& target, std::chrono::milliseconds timeout) {
  auto ping = open_ping_socket(target.family());
  if (ping) return echo_over_ping_socket(std::move(*ping), target, timeout);
  auto raw = open_raw_socket(target.family());
  if (raw) return echo_over_raw_socket(std::move(*raw), target, timeout);
  return make_error("icmp: no socket allowed (" + ping.error().message + "; " +
                    raw.error().message + ")");
}

Result<ProbeOutcome> echo(const Endpoint& target, std::chrono::milliseconds timeout,
                          IcmpMethod method) {
  if (method == IcmpMethod::automatic) return echo_automatic(target, timeout);
  auto fd = method == IcmpMethod::ping_socket ? open_ping_socket(target.family())
                                              : open_raw_socket(target.family());
  if (!fd) return fd.error();
  if (method == IcmpMethod::ping_socket) return echo_over_ping_socket(std::move(*fd), target, timeout);
  return echo_over_raw_socket(std::move(*fd), target, timeout);
}

}  // namespace

Result<ProbeOutcome> probe_icmp(const Endpoint& target, std::chrono::milliseconds timeout,
                                IcmpMethod method) {
  auto outcome = echo(target, timeout, method);
  // Every ICMP error to an echo request is "unreachable", port unreachable
  // (nftables' default reject) included: there is no port to refuse.
  if (outcome && outcome->observed == Observed::refused) outcome->observed = Observed::unreachable;
  return outcome;
}

}  // namespace meros::guest::internal
