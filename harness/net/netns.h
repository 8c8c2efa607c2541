// Network namespaces: the one place a scenario's bridges, taps, addresses
// and nftables rules live, so that nothing the harness configures ever
// reaches the real host. Also the ways into a namespace: a dedicated thread
// for the harness's own sockets, and a descriptor for child processes.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/fd.h"
#include "util/result.h"

namespace meros::net {

using meros::Fd;

// Where named namespaces are pinned, as `ip netns` does it.
inline constexpr const char* kNetnsDir = "/run/netns";

std::filesystem::path netns_path(std::string_view name);

// Opens /run/netns/NAME for setns(2); the descriptor is close-on-exec.
Result<Fd> open_netns_fd(std::string_view name);

// Moves the calling thread into the network namespace `fd` refers to.
// Async-signal-safe, for a child between fork and exec (a Boost.Process
// on_exec_setup handler, a posix_spawn replacement): returns 0 or errno.
int enter_netns(int fd) noexcept;

// The names in /run/netns that start with `prefix`, sorted.
std::vector<std::string> list_netns(std::string_view prefix = "");

// Unpins a namespace by name (like `ip netns delete`): for leftovers of a
// killed run. Removing one that does not exist is not an error.
Status remove_netns(std::string_view name);

// A TCP connection to address:port made inside the namespace netns_fd
// refers to (NetworkNamespace::fd(), open_netns_fd()), or an Error after
// timeout. The socket is created on a short-lived thread that enters the
// namespace, so the caller's thread stays where it is.
Result<Fd> connect_tcp_inside(int netns_fd, std::string_view address, int port, std::chrono::milliseconds timeout);

// One named network namespace, created by the harness and removed when this
// object is destroyed (or by remove()). Move-only; the run's cleanup stack
// owns it.
//
// Each namespace has its own thread that lives inside it. run_inside()
// executes code there, so sockets (netlink, nftables, SSH, probes,
// listeners) can be opened inside the namespace and then used from any
// thread: a socket stays in the namespace it was created in.
class NetworkNamespace {
 public:
  // Creates /run/netns/NAME and a fresh namespace pinned there. Fails if
  // the name is taken.
  static Result<NetworkNamespace> create(std::string name);

  NetworkNamespace(NetworkNamespace&& other) noexcept;
  NetworkNamespace& operator=(NetworkNamespace&& other) noexcept;
  NetworkNamespace(const NetworkNamespace&) = delete;
  NetworkNamespace& operator=(const NetworkNamespace&) = delete;
  ~NetworkNamespace();

  const std::string& name() const { return name_; }
  std::filesystem::path path() const { return netns_path(name_); }
  // A descriptor of the namespace, for setns(2) and IFLA_NET_NS_FD; -1
  // once removed. Still owned by this object.
  int fd() const { return fd_.get(); }
  bool active() const { return worker_ != nullptr; }

  // Runs fn on the namespace's thread and waits for it. An exception
  // thrown by fn is rethrown here. Called from that thread itself, fn runs
  // directly. An Error only if the namespace is gone.
  Status run_inside(const std::function<void()>& fn) const;

  // The same for a function that returns a Result<T> (or a Status).
  template <class F>
  auto call_inside(F&& fn) const -> decltype(fn()) {
    std::optional<decltype(fn())> out;
    if (Status status = run_inside([&] { out.emplace(fn()); }); !status) return status.error();
    return std::move(*out);
  }

  // A socket(2) created inside the namespace.
  Result<Fd> open_socket(int domain, int type, int protocol = 0) const;

  // Stops the thread, closes the descriptor, unmounts and unlinks the pin.
  // Every step is tried; the namespace itself goes away once nothing else
  // (a socket, a process) holds it. Idempotent.
  Status remove();

 private:
  class Worker;

  NetworkNamespace(std::string name, Fd fd, std::unique_ptr<Worker> worker);

  std::string name_;
  Fd fd_;
  std::unique_ptr<Worker> worker_;
};

}  // namespace meros::net
