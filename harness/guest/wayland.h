// `meros-guest wayland`: runs an application under `waypipe server` and
// carries every connection waypipe makes on its Unix socket to a TCP port
// on the guest's loopback. The harness's OpenSSH session forwards that
// port (-R) to the host's `waypipe client`: the guests' dropbear forwards
// TCP only, not Unix sockets, so this relay is what joins the two ends.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace meros::guest {

struct WaylandOptions {
  int port = 0;                  // the forwarded port on 127.0.0.1
  std::vector<std::string> app;  // empty: waypipe's login shell
};

// "--port PORT [-- APP [ARG...]]".
Result<WaylandOptions> parse_wayland_args(const std::vector<std::string_view>& args);

// Runs the application under waypipe with a private XDG_RUNTIME_DIR and
// relays until it has exited and its connections are drained. Returns its
// exit status (128+N for signal N); 1 when the relay could not be set up,
// 127 when waypipe could not be started.
int run_wayland(const WaylandOptions& options);

}  // namespace meros::guest
