// Turning kernel reports (ICMP type/code, errno) into observations.
#include <netinet/icmp6.h>
#include <netinet/ip_icmp.h>
#include <sys/socket.h>

#include <cerrno>

#include "guest/probe_internal.h"

namespace meros::guest::internal {

ProbeOutcome Stopwatch::outcome(Verdict verdict) const {
  auto elapsed = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start_);
  return ProbeOutcome{verdict.observed, elapsed, std::move(verdict.detail)};
}

namespace {

Verdict unreachable(std::string detail) { return {Observed::unreachable, std::move(detail)}; }

std::string numbered(uint8_t type, uint8_t code) {
  return "icmp type " + std::to_string(type) + " code " + std::to_string(code);
}

Verdict classify_icmp4_unreach(uint8_t code) {
  switch (code) {
    case ICMP_NET_UNREACH: return unreachable("icmp net unreachable");
    case ICMP_HOST_UNREACH: return unreachable("icmp host unreachable");
    case ICMP_PROT_UNREACH: return unreachable("icmp protocol unreachable");
    case ICMP_PORT_UNREACH: return {Observed::refused, "icmp port unreachable"};
    case ICMP_FRAG_NEEDED: return unreachable("icmp fragmentation needed");
    case ICMP_SR_FAILED: return unreachable("icmp source route failed");
    case ICMP_NET_UNKNOWN: return unreachable("icmp net unknown");
    case ICMP_HOST_UNKNOWN: return unreachable("icmp host unknown");
    case ICMP_NET_ANO: return unreachable("icmp net prohibited");
    case ICMP_HOST_ANO: return unreachable("icmp host prohibited");
    case ICMP_NET_UNR_TOS: return unreachable("icmp net unreachable for tos");
    case ICMP_HOST_UNR_TOS: return unreachable("icmp host unreachable for tos");
    case ICMP_PKT_FILTERED: return unreachable("icmp admin prohibited");
    case ICMP_PREC_VIOLATION: return unreachable("icmp precedence violation");
    case ICMP_PREC_CUTOFF: return unreachable("icmp precedence cutoff");
    default: return unreachable(numbered(ICMP_DEST_UNREACH, code));
  }
}

Verdict classify_icmp4(uint8_t type, uint8_t code) {
  switch (type) {
    case ICMP_DEST_UNREACH: return classify_icmp4_unreach(code);
    case ICMP_TIME_EXCEEDED: return unreachable("icmp time exceeded");
    case ICMP_PARAMETERPROB: return unreachable("icmp parameter problem");
    default: return unreachable(numbered(type, code));
  }
}

Verdict classify_icmp6_unreach(uint8_t code) {
  switch (code) {
    case ICMP6_DST_UNREACH_NOROUTE: return unreachable("icmp net unreachable");
    case ICMP6_DST_UNREACH_ADMIN: return unreachable("icmp admin prohibited");
    case ICMP6_DST_UNREACH_BEYONDSCOPE: return unreachable("icmp beyond scope");
    case ICMP6_DST_UNREACH_ADDR: return unreachable("icmp host unreachable");
    case ICMP6_DST_UNREACH_NOPORT: return {Observed::refused, "icmp port unreachable"};
    case 5: return unreachable("icmp source policy failed");
    case 6: return unreachable("icmp reject route");
    default: return unreachable(numbered(ICMP6_DST_UNREACH, code));
  }
}

Verdict classify_icmp6(uint8_t type, uint8_t code) {
  switch (type) {
    case ICMP6_DST_UNREACH: return classify_icmp6_unreach(code);
    case ICMP6_PACKET_TOO_BIG: return unreachable("icmp packet too big");
    case ICMP6_TIME_EXCEEDED: return unreachable("icmp time exceeded");
    case ICMP6_PARAM_PROB: return unreachable("icmp parameter problem");
    default: return unreachable(numbered(type, code));
  }
}

}  // namespace

Verdict classify_icmp(int family, uint8_t type, uint8_t code) {
  return family == AF_INET6 ? classify_icmp6(type, code) : classify_icmp4(type, code);
}

std::optional<Verdict> classify_local_errno(int error_number) {
  switch (error_number) {
    case ENETUNREACH:
    case EHOSTUNREACH:
    case EHOSTDOWN:
    case ENONET:
    case EPERM:
    case EACCES:
    case EADDRNOTAVAIL:
      return unreachable("local: " + errno_text(error_number));
    default:
      return std::nullopt;
  }
}

std::optional<Verdict> classify_queued(const QueuedError& queued) {
  if (queued.from_icmp()) return classify_icmp(queued.family, queued.type, queued.code);
  return classify_local_errno(queued.error_number);
}

Verdict silence_or_queued(int fd) {
  if (auto queued = read_error_queue(fd)) {
    if (auto verdict = classify_queued(*queued)) return *verdict;
  }
  return {Observed::timeout, "no answer"};
}

}  // namespace meros::guest::internal
