#include "guest/sockets.h"

#include <arpa/inet.h>
#include <linux/errqueue.h>
#include <net/if.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

namespace meros::guest {

bool Endpoint::same_host(const sockaddr_storage& other) const {
  if (other.ss_family != family()) return false;
  if (family() == AF_INET) {
    auto a = reinterpret_cast<const sockaddr_in*>(&storage);
    auto b = reinterpret_cast<const sockaddr_in*>(&other);
    return a->sin_addr.s_addr == b->sin_addr.s_addr;
  }
  auto a = reinterpret_cast<const sockaddr_in6*>(&storage);
  auto b = reinterpret_cast<const sockaddr_in6*>(&other);
  return std::memcmp(&a->sin6_addr, &b->sin6_addr, sizeof(in6_addr)) == 0;
}

namespace {

Endpoint ipv4_endpoint(in_addr address, int port) {
  Endpoint endpoint;
  auto sin = reinterpret_cast<sockaddr_in*>(&endpoint.storage);
  sin->sin_family = AF_INET;
  sin->sin_port = htons(static_cast<uint16_t>(port));
  sin->sin_addr = address;
  endpoint.length = sizeof(sockaddr_in);
  return endpoint;
}

// Scope of a link-local address: an interface name or index after '%'.
Result<uint32_t> parse_scope(std::string_view scope) {
  uint32_t index = 0;
  auto [end, ec] = std::from_chars(scope.data(), scope.data() + scope.size(), index);
  if (ec == std::errc() && end == scope.data() + scope.size()) return index;
  index = if_nametoindex(std::string(scope).c_str());
  if (index == 0) return make_error("unknown interface '" + std::string(scope) + "'");
  return index;
}

Result<Endpoint> ipv6_endpoint(std::string_view address, int port) {
  std::string_view host = address;
  uint32_t scope_id = 0;
  if (auto percent = address.find('%'); percent != std::string_view::npos) {
    host = address.substr(0, percent);
    auto scope = parse_scope(address.substr(percent + 1));
    if (!scope) return scope.error();
    scope_id = *scope;
  }
  in6_addr parsed{};
  if (inet_pton(AF_INET6, std::string(host).c_str(), &parsed) != 1)
    return make_error("not a numeric IPv4 or IPv6 address: '" + std::string(address) + "'");
  if (IN6_IS_ADDR_V4MAPPED(&parsed)) {
    in_addr v4{};
    std::memcpy(&v4, &parsed.s6_addr[12], sizeof(v4));
    return ipv4_endpoint(v4, port);
  }
  Endpoint endpoint;
  auto sin6 = reinterpret_cast<sockaddr_in6*>(&endpoint.storage);
  sin6->sin6_family = AF_INET6;
  sin6->sin6_port = htons(static_cast<uint16_t>(port));
  sin6->sin6_addr = parsed;
  sin6->sin6_scope_id = scope_id;
  endpoint.length = sizeof(sockaddr_in6);
  return endpoint;
}

}  // namespace

Result<Endpoint> parse_endpoint(std::string_view address, int port) {
  if (port < 0 || port > 65535) return make_error("port out of range: " + std::to_string(port));
  in_addr v4{};
  if (inet_pton(AF_INET, std::string(address).c_str(), &v4) == 1) return ipv4_endpoint(v4, port);
  return ipv6_endpoint(address, port);
}


Error errno_error(std::string_view what, int error_number) {
  return make_error(std::string(what) + ": " + errno_text(error_number));
}

Result<short> wait_for(int fd, short events, Clock::time_point deadline) {
  pollfd entry{fd, events, 0};
  for (;;) {
    auto left = deadline - Clock::now();
    if (left < Clock::duration::zero()) left = Clock::duration::zero();
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
    timespec wait{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
    int ready = ppoll(&entry, 1, &wait, nullptr);
    if (ready > 0) return entry.revents;
    if (ready == 0) return static_cast<short>(0);
    if (errno != EINTR) return errno_error("poll", errno);
  }
}

int take_socket_error(int fd) {
  int error_number = 0;
  socklen_t length = sizeof(error_number);
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error_number, &length) != 0) return errno;
  return error_number;
}

bool QueuedError::from_icmp() const {
  return origin == SO_EE_ORIGIN_ICMP || origin == SO_EE_ORIGIN_ICMP6;
}

Status enable_error_queue(int fd, int family) {
  int on = 1;
  int level = family == AF_INET ? SOL_IP : SOL_IPV6;
  int option = family == AF_INET ? IP_RECVERR : IPV6_RECVERR;
  if (setsockopt(fd, level, option, &on, sizeof(on)) != 0) return errno_error("setsockopt RECVERR", errno);
  return {};
}

namespace {

// Reads one queued error; nothing once the queue is empty.
std::optional<QueuedError> read_one_error(int fd) {
  char data[512];
  char control[512];
  iovec io{data, sizeof(data)};
  msghdr message{};
  message.msg_iov = &io;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = sizeof(control);
  if (recvmsg(fd, &message, MSG_ERRQUEUE | MSG_DONTWAIT) < 0) return std::nullopt;
  for (cmsghdr* c = CMSG_FIRSTHDR(&message); c != nullptr; c = CMSG_NXTHDR(&message, c)) {
    bool v4 = c->cmsg_level == SOL_IP && c->cmsg_type == IP_RECVERR;
    bool v6 = c->cmsg_level == SOL_IPV6 && c->cmsg_type == IPV6_RECVERR;
    if (!v4 && !v6) continue;
    sock_extended_err extended{};
    std::memcpy(&extended, CMSG_DATA(c), sizeof(extended));
    QueuedError queued;
    queued.error_number = static_cast<int>(extended.ee_errno);
    queued.origin = extended.ee_origin;
    queued.type = extended.ee_type;
    queued.code = extended.ee_code;
    queued.family = extended.ee_origin == SO_EE_ORIGIN_ICMP6 ? AF_INET6 : AF_INET;
    return queued;
  }
  return QueuedError{};
}

}  // namespace

std::optional<QueuedError> read_error_queue(int fd) {
  std::optional<QueuedError> first;
  for (int i = 0; i < 16; ++i) {
    auto queued = read_one_error(fd);
    if (!queued) break;
    if (queued->from_icmp()) return queued;
    if (!first) first = queued;
  }
  return first;
}

}  // namespace meros::guest
