// Listeners that give probes something to find: TCP ports that accept and
// close, UDP ports that echo each datagram back. Many ports, one poll loop.
#pragma once

#include <vector>

#include "guest/probe.h"
#include "guest/sockets.h"
#include "util/result.h"

namespace meros::guest {

// One port to listen on. Port 0 asks the kernel for a free port; bound()
// reports which one it picked.
struct ListenSpec {
  Proto proto = Proto::tcp;  // tcp or udp
  int port = 0;
  std::string address;  // numeric; empty = every address (wildcard)

  bool operator==(const ListenSpec&) const = default;
};

// Owns the listening sockets (dual-stack IPv6 where available, else IPv4)
// and serves them until stopped.
class ListenerSet {
 public:
  // Binds every spec or fails naming the first that could not be bound.
  static Result<ListenerSet> open(const std::vector<ListenSpec>& specs);

  // The specs with the ports actually bound.
  std::vector<ListenSpec> bound() const;

  // Serves until stop() is called; an Error only if polling itself fails.
  Status serve();

  // Makes serve() return. Safe from another thread and from a signal
  // handler (it only write()s to a pipe).
  void stop() const;

 private:
  struct Socket {
    ListenSpec spec;
    int family = 0;
    Fd fd;
  };

  ListenerSet() = default;
  static Result<Socket> bind_one(const ListenSpec& spec);
  void serve_socket(const Socket& socket) const;

  std::vector<Socket> sockets_;
  Fd wake_read_;
  Fd wake_write_;
};

}  // namespace meros::guest
