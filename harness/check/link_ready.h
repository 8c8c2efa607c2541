// The guest's side of a link coming back: after QMP set_link up, waits
// until the guest's kernel has the interface usable again (carrier,
// operstate up, its address), through `meros-guest link-wait`. Without
// this, packets sent in the first second after the link returns may be
// dropped (guest/link.h says why), and a check right after a `link` step
// fails now and then.
#pragma once

#include <chrono>
#include <string>

#include "check/ssh.h"
#include "util/result.h"

namespace meros {

// The command run in the guest; fixed text plus checked names (ifname is
// the harness's own eth<N>, address a parsed IPv4 address).
std::string link_wait_command(const std::string& ifname, const std::string& address, std::chrono::milliseconds timeout);

// Ok once the guest reports the link ready; the Error quotes the state the
// guest last saw when it did not get there within timeout.
Status wait_guest_link_ready(SshClient& ssh, const std::string& ifname, const std::string& address,
                             std::chrono::milliseconds timeout);

}  // namespace meros
