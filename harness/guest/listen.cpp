#include "guest/listen.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace meros::guest {

namespace {

// Connections or datagrams handled per socket per poll round, so one busy
// port cannot starve the others.
constexpr int kBurst = 64;

std::string describe(const ListenSpec& spec) {
  return std::string(to_string(spec.proto)) + " port " + std::to_string(spec.port);
}

Status set_flag(int fd, int level, int option, int value) {
  if (setsockopt(fd, level, option, &value, sizeof(value)) != 0) return errno_error("setsockopt", errno);
  return {};
}

// Options for one listening socket: TCP address reuse (rebinding over
// TIME_WAIT; not for UDP, where it would let two sockets share a port),
// dual-stack for IPv6 and, for UDP, the destination address of each
// datagram so echoes leave from it.
Status configure(int fd, int family, Proto proto) {
  if (proto == Proto::tcp) {
    if (auto s = set_flag(fd, SOL_SOCKET, SO_REUSEADDR, 1); !s) return s;
  }
  if (family == AF_INET6) {
    if (auto s = set_flag(fd, IPPROTO_IPV6, IPV6_V6ONLY, 0); !s) return s;
  }
  if (proto != Proto::udp) return {};
  if (family == AF_INET6) return set_flag(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1);
  return set_flag(fd, IPPROTO_IP, IP_PKTINFO, 1);
}

Endpoint any_address(int family, int port) {
  auto parsed = parse_endpoint(family == AF_INET6 ? "::" : "0.0.0.0", port);
  return *parsed;
}

// Binds one spec on one address family; the errno on failure.
Result<Fd> bind_family(int family, const ListenSpec& spec, int& error_number) {
  int type = spec.proto == Proto::tcp ? SOCK_STREAM : SOCK_DGRAM;
  Fd fd(::socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  error_number = errno;
  if (!fd.valid()) return errno_error(describe(spec), error_number);
  if (auto s = configure(fd.get(), family, spec.proto); !s) return s.error();
  Endpoint any = any_address(family, spec.port);
  if (!spec.address.empty()) {
    auto exact = parse_endpoint(spec.address, spec.port);
    if (!exact) return exact.error();
    any = *exact;
  }
  bool ok = ::bind(fd.get(), any.addr(), any.length) == 0 &&
            (spec.proto != Proto::tcp || ::listen(fd.get(), 128) == 0);
  error_number = errno;
  if (!ok) return errno_error(describe(spec), error_number);
  return fd;
}

int bound_port(int fd) {
  sockaddr_storage address{};
  socklen_t length = sizeof(address);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) return 0;
  if (address.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&address)->sin6_port);
  return ntohs(reinterpret_cast<sockaddr_in*>(&address)->sin_port);
}

void accept_and_close(int fd) {
  for (int i = 0; i < kBurst; ++i) {
    int connection = ::accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (connection < 0) return;
    ::close(connection);
  }
}

// Control data for a reply: send from the address the datagram came to.
size_t reply_control(msghdr& received, char* out, size_t out_size) {
  std::memset(out, 0, out_size);
  for (cmsghdr* c = CMSG_FIRSTHDR(&received); c != nullptr; c = CMSG_NXTHDR(&received, c)) {
    bool v4 = c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO;
    bool v6 = c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO;
    if (!v4 && !v6) continue;
    size_t length = v4 ? sizeof(in_pktinfo) : sizeof(in6_pktinfo);
    if (CMSG_SPACE(length) > out_size) return 0;
    auto reply = reinterpret_cast<cmsghdr*>(out);
    reply->cmsg_level = c->cmsg_level;
    reply->cmsg_type = c->cmsg_type;
    reply->cmsg_len = CMSG_LEN(length);
    std::memcpy(CMSG_DATA(reply), CMSG_DATA(c), length);
    if (v4) {
      auto info = reinterpret_cast<in_pktinfo*>(CMSG_DATA(reply));
      info->ipi_spec_dst = info->ipi_addr;
      info->ipi_ifindex = 0;
    }
    return CMSG_SPACE(length);
  }
  return 0;
}

// Echoes one datagram; false when there is nothing (more) to read.
bool echo_one(int fd) {
  static thread_local char data[65536];
  alignas(cmsghdr) char control[256];
  alignas(cmsghdr) char reply[256];
  sockaddr_storage peer{};
  iovec io{data, sizeof(data)};
  msghdr message{};
  message.msg_name = &peer;
  message.msg_namelen = sizeof(peer);
  message.msg_iov = &io;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = sizeof(control);
  ssize_t got = ::recvmsg(fd, &message, MSG_DONTWAIT);
  if (got < 0) return errno == EINTR;
  io.iov_len = static_cast<size_t>(got);
  message.msg_controllen = reply_control(message, reply, sizeof(reply));
  message.msg_control = message.msg_controllen ? reply : nullptr;
  message.msg_flags = 0;
  // A source address the kernel will not send from (e.g. a broadcast
  // destination) fails: fall back to letting routing pick the source.
  if (::sendmsg(fd, &message, 0) < 0)
    ::sendto(fd, data, io.iov_len, 0, reinterpret_cast<sockaddr*>(&peer), message.msg_namelen);
  return true;
}

}  // namespace

Result<ListenerSet::Socket> ListenerSet::bind_one(const ListenSpec& spec) {
  if (spec.proto == Proto::icmp) return make_error("cannot listen on icmp");
  if (spec.port < 0 || spec.port > 65535) return make_error("port out of range: " + std::to_string(spec.port));
  int error_number = 0;
  int family = spec.address.empty() || spec.address.find(':') != std::string::npos ? AF_INET6 : AF_INET;
  auto fd = bind_family(family, spec, error_number);
  if (!fd && family == AF_INET6 && spec.address.empty() && (error_number == EAFNOSUPPORT || error_number == EADDRNOTAVAIL)) {
    family = AF_INET;
    fd = bind_family(AF_INET, spec, error_number);
  }
  if (!fd) return fd.error();
  Socket socket{spec, family, std::move(*fd)};
  socket.spec.port = bound_port(socket.fd.get());
  return socket;
}

Result<ListenerSet> ListenerSet::open(const std::vector<ListenSpec>& specs) {
  ListenerSet set;
  int ends[2];
  if (::pipe2(ends, O_CLOEXEC | O_NONBLOCK) != 0) return errno_error("pipe", errno);
  set.wake_read_.reset(ends[0]);
  set.wake_write_.reset(ends[1]);
  for (const auto& spec : specs) {
    auto socket = bind_one(spec);
    if (!socket) return socket.error();
    set.sockets_.push_back(std::move(*socket));
  }
  return set;
}

std::vector<ListenSpec> ListenerSet::bound() const {
  std::vector<ListenSpec> specs;
  for (const auto& socket : sockets_) specs.push_back(socket.spec);
  return specs;
}

void ListenerSet::serve_socket(const Socket& socket) const {
  if (socket.spec.proto == Proto::tcp) {
    accept_and_close(socket.fd.get());
    return;
  }
  for (int i = 0; i < kBurst && echo_one(socket.fd.get()); ++i) {
  }
}

Status ListenerSet::serve() {
  std::vector<pollfd> watched{{wake_read_.get(), POLLIN, 0}};
  for (const auto& socket : sockets_) watched.push_back({socket.fd.get(), POLLIN, 0});
  for (;;) {
    if (::poll(watched.data(), watched.size(), -1) < 0) {
      if (errno == EINTR) continue;
      return errno_error("poll", errno);
    }
    // The wake byte stays in the pipe: once stopped, serve() returns at once.
    if (watched[0].revents != 0) return {};
    for (size_t i = 1; i < watched.size(); ++i)
      if (watched[i].revents != 0) serve_socket(sockets_[i - 1]);
  }
}

void ListenerSet::stop() const {
  char wake = 1;
  if (::write(wake_write_.get(), &wake, 1) < 0) {
    // Pipe full: a wake byte is already pending.
  }
}

}  // namespace meros::guest
