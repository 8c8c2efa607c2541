// Helpers for the guest-agent tests: child processes with captured output,
// listeners on a background thread, entering a network namespace, and
// loopback ports that are closed or silent.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "guest/listen.h"
#include "guest/sockets.h"
#include "util/result.h"

namespace meros::guest::test {

// What a finished child process left behind.
struct ProcessResult {
  int exit_code = -1;  // 128+N when killed by signal N
  std::string out;
  std::string err;
};

// Runs argv[0] (a path) with `input` on stdin and waits for it to exit.
ProcessResult run_process(const std::vector<std::string>& argv, const std::string& input = "");

// Runs a /bin/sh command line.
ProcessResult run_shell(const std::string& command);

// Moves the calling thread into the named network namespace (/run/netns).
Status enter_netns(const std::string& name);

// Runs fn on a fresh thread inside the named namespace ("" = this one).
Status run_in_netns(const std::string& name, const std::function<void()>& fn);

// Serves a ListenerSet on a background thread until destroyed.
class BackgroundListeners {
 public:
  static Result<std::unique_ptr<BackgroundListeners>> start(const std::vector<ListenSpec>& specs,
                                                             const std::string& netns = "");
  ~BackgroundListeners();

  const std::vector<ListenSpec>& bound() const { return bound_; }
  int port(size_t index) const { return bound_.at(index).port; }

 private:
  BackgroundListeners() = default;

  std::unique_ptr<ListenerSet> set_;
  std::vector<ListenSpec> bound_;
  std::thread thread_;
};

// A loopback port with nothing bound to it (bound once, then closed).
int closed_port(Proto proto);

// A bound UDP socket that never answers: probes to it see silence.
struct SilentUdp {
  Fd fd;
  int port = 0;
};
SilentUdp silent_udp(int family);

bool ipv6_loopback_available();

}  // namespace meros::guest::test
