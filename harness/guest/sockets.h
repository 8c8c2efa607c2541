// Small socket helpers shared by the probes and the listeners: an owning
// descriptor, numeric address parsing, deadline waits and the kernel's
// per-socket error queue (IP_RECVERR / IPV6_RECVERR).
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "util/fd.h"
#include "util/result.h"
#include "util/text.h"  // errno_text

namespace meros::guest {

using Clock = std::chrono::steady_clock;

using meros::Fd;

// A numeric IPv4 or IPv6 socket address.
struct Endpoint {
  sockaddr_storage storage{};
  socklen_t length = 0;

  int family() const { return storage.ss_family; }
  const sockaddr* addr() const { return reinterpret_cast<const sockaddr*>(&storage); }
  // True if `other` has the same address (ports are ignored).
  bool same_host(const sockaddr_storage& other) const;
};

// Parses a numeric address ("10.0.0.2", "fd00::1", "fe80::1%eth0").
// IPv4-mapped IPv6 literals become plain IPv4.
Result<Endpoint> parse_endpoint(std::string_view address, int port);

Error errno_error(std::string_view what, int error_number);

// Waits until fd reports one of `events` (POLLERR/POLLHUP always count) or
// the deadline passes; returns the reported events, 0 on timeout.
Result<short> wait_for(int fd, short events, Clock::time_point deadline);

// The pending SO_ERROR of a socket (clears it).
int take_socket_error(int fd);

// An error the kernel queued on a socket with IP_RECVERR / IPV6_RECVERR.
struct QueuedError {
  int error_number = 0;
  uint8_t origin = 0;  // SO_EE_ORIGIN_*
  uint8_t type = 0;    // ICMP type when origin is ICMP/ICMP6
  uint8_t code = 0;    // ICMP code when origin is ICMP/ICMP6
  int family = 0;      // AF_INET for ICMP, AF_INET6 for ICMPv6

  bool from_icmp() const;
};

Status enable_error_queue(int fd, int family);
// Drains the error queue; returns the first ICMP-originated entry if there is
// one, else the first entry, else nothing.
std::optional<QueuedError> read_error_queue(int fd);

}  // namespace meros::guest
