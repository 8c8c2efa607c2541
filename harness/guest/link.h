// `meros-guest link-wait`: whether an interface is usable, as the guest's
// kernel sees it. After a link comes back (QMP set_link up), the carrier
// flips at once but the kernel activates the interface's queue only when
// its link watcher runs, up to a second later; packets sent before that
// are dropped. The operational state turns "up" in that same step, so a
// link is usable once it has carrier, operstate up and its address.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>

namespace meros::guest {

struct LinkState {
  bool exists = false;
  bool carrier = false;
  std::string operstate;    // "up", "down", "dormant", ...
  bool has_address = false;  // the expected IPv4 address is assigned (true when none is expected)
  // "unknown": a driver that reports no link state (loopback, some
  // emulated NICs); its carrier is all there is to go by.
  bool ready() const { return exists && carrier && (operstate == "up" || operstate == "unknown") && has_address; }
  // "carrier 1, operstate up, address 10.0.0.2 present"
  std::string describe(const std::string& address) const;
};

// ifname's state under sysfs (normally /sys/class/net); address is an IPv4
// address the interface must hold, or empty.
LinkState read_link_state(const std::string& ifname, const std::string& address,
                          const std::filesystem::path& sysfs = "/sys/class/net");

// Polls until the link is ready or the timeout passes; the last state seen.
LinkState wait_link_ready(const std::string& ifname, const std::string& address, std::chrono::milliseconds timeout);

}  // namespace meros::guest
