// TCP and UDP probes. Both enable the socket error queue so an ICMP error
// can be told apart from a TCP RST (Linux reports both as ECONNREFUSED).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>

#include "guest/probe_internal.h"

namespace meros::guest::internal {

namespace {

constexpr char kUdpPayload[] = "meros-probe\n";

Result<Fd> open_socket(int family, int type) {
  Fd fd(::socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return errno_error("socket", errno);
  if (auto status = enable_error_queue(fd.get(), family); !status) return status.error();
  return fd;
}

// Decides a finished connect: the queued ICMP error if any, else the errno.
Result<Verdict> settle_tcp(int fd, int error_number) {
  if (auto queued = read_error_queue(fd); queued && queued->from_icmp())
    return classify_icmp(queued->family, queued->type, queued->code);
  if (error_number == 0) return Verdict{Observed::open, "tcp handshake"};
  if (error_number == ECONNREFUSED) return Verdict{Observed::refused, "tcp rst"};
  if (error_number == ETIMEDOUT) return Verdict{Observed::timeout, "no answer"};
  if (auto verdict = classify_local_errno(error_number)) return *verdict;
  return errno_error("tcp connect", error_number);
}

Result<ProbeOutcome> stamp(const Stopwatch& clock, Result<Verdict> verdict) {
  if (!verdict) return verdict.error();
  return clock.outcome(std::move(*verdict));
}

// "address:port" of the socket's own end ("[v6]:port"), "" before it has one.
std::string local_endpoint(int fd) {
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) return "";
  char text[INET6_ADDRSTRLEN] = "";
  if (address.ss_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&address);
    if (!::inet_ntop(AF_INET, &v4->sin_addr, text, sizeof text) || v4->sin_port == 0) return "";
    return std::string(text) + ":" + std::to_string(ntohs(v4->sin_port));
  }
  if (address.ss_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&address);
    if (!::inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof text) || v6->sin6_port == 0) return "";
    return "[" + std::string(text) + "]:" + std::to_string(ntohs(v6->sin6_port));
  }
  return "";
}

// The outcome, with the socket's own end for the 5-tuple.
Result<ProbeOutcome> with_source(Result<ProbeOutcome> outcome, int fd) {
  if (outcome) outcome->source = local_endpoint(fd);
  return outcome;
}

Result<ProbeOutcome> connect_tcp(const Fd& fd, const Endpoint& target, std::chrono::milliseconds timeout) {
  Stopwatch clock(timeout);
  if (::connect(fd.get(), target.addr(), target.length) == 0) return stamp(clock, settle_tcp(fd.get(), 0));
  if (errno != EINPROGRESS) return stamp(clock, settle_tcp(fd.get(), errno));
  auto events = wait_for(fd.get(), POLLOUT, clock.deadline());
  if (!events) return events.error();
  if (*events == 0) return clock.outcome(silence_or_queued(fd.get()));
  return stamp(clock, settle_tcp(fd.get(), take_socket_error(fd.get())));
}

}  // namespace

Result<ProbeOutcome> probe_tcp(const Endpoint& target, std::chrono::milliseconds timeout) {
  auto fd = open_socket(target.family(), SOCK_STREAM);
  if (!fd) return fd.error();
  return with_source(connect_tcp(*fd, target, timeout), fd->get());
}

namespace {

// A send or connect failed at once: a local observation or a real error.
Result<Verdict> local_failure(int fd, std::string_view what, int error_number) {
  if (auto queued = read_error_queue(fd)) {
    if (auto verdict = classify_queued(*queued)) return *verdict;
  }
  if (auto verdict = classify_local_errno(error_number)) return *verdict;
  return errno_error(what, error_number);
}

// Something happened on a UDP probe socket: a reply, a queued error, or
// nothing after all (nullopt: keep waiting).
Result<std::optional<Verdict>> settle_udp(int fd, short events) {
  if (events & POLLERR) {
    if (auto queued = read_error_queue(fd)) {
      if (auto verdict = classify_queued(*queued)) return std::optional<Verdict>(*verdict);
    }
  }
  char reply[2048];
  if (::recv(fd, reply, sizeof(reply), MSG_DONTWAIT) >= 0)
    return std::optional<Verdict>(Verdict{Observed::open, "udp reply"});
  int error_number = errno;
  if (error_number == EAGAIN || error_number == EWOULDBLOCK) return std::optional<Verdict>();
  if (error_number == ECONNREFUSED)
    return std::optional<Verdict>(Verdict{Observed::refused, "icmp port unreachable"});
  auto verdict = local_failure(fd, "udp recv", error_number);
  if (!verdict) return verdict.error();
  return std::optional<Verdict>(*verdict);
}

Result<ProbeOutcome> exchange_udp(const Fd& fd, const Endpoint& target, std::chrono::milliseconds timeout) {
  Stopwatch clock(timeout);
  if (::connect(fd.get(), target.addr(), target.length) != 0)
    return stamp(clock, local_failure(fd.get(), "udp connect", errno));
  if (::send(fd.get(), kUdpPayload, sizeof(kUdpPayload) - 1, 0) < 0)
    return stamp(clock, local_failure(fd.get(), "udp send", errno));
  for (;;) {
    auto events = wait_for(fd.get(), POLLIN, clock.deadline());
    if (!events) return events.error();
    if (*events == 0) return clock.outcome(silence_or_queued(fd.get()));
    auto verdict = settle_udp(fd.get(), *events);
    if (!verdict) return verdict.error();
    if (*verdict) return clock.outcome(std::move(**verdict));
  }
}

}  // namespace

Result<ProbeOutcome> probe_udp(const Endpoint& target, std::chrono::milliseconds timeout) {
  auto fd = open_socket(target.family(), SOCK_DGRAM);
  if (!fd) return fd.error();
  return with_source(exchange_udp(*fd, target, timeout), fd->get());
}

}  // namespace meros::guest::internal
