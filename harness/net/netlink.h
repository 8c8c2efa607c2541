// The kernel network configuration of one namespace: links, addresses,
// routes and the namespace's own sysctls. An interface, so that the
// topology logic is tested with a fake; the real one speaks rtnetlink
// through libnl (never an `ip` process).
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "manifest/values.h"
#include "net/netns.h"
#include "util/process.h"
#include "util/result.h"

struct nl_sock;

namespace meros::net {

// One network interface as the kernel reports it.
struct LinkInfo {
  std::string name;
  int index = 0;
  std::string kind;    // "bridge", "tun", "veth", ... ("" for loopback and physical links)
  std::string master;  // the bridge it is attached to, "" if none
  bool up = false;       // administratively up (IFF_UP)
  bool running = false;  // up with carrier, ready to pass packets (IFF_RUNNING)
  std::string mac;     // "aa:bb:cc:dd:ee:ff", "" if it has none
};

class Netlink {
 public:
  virtual ~Netlink() = default;

  virtual Status set_up(const std::string& ifname) = 0;
  virtual Status set_down(const std::string& ifname) = 0;
  virtual Status create_bridge(const std::string& name) = 0;
  // A persistent tap (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR) that QEMU opens by
  // name later.
  virtual Status create_tap(const std::string& name) = 0;
  // A veth pair; the peer is moved into the namespace peer_netns_fd refers
  // to, or stays here when it is -1.
  virtual Status create_veth(const std::string& name, const std::string& peer, int peer_netns_fd = -1) = 0;
  virtual Status set_master(const std::string& ifname, const std::string& bridge) = 0;
  virtual Status add_address(const std::string& ifname, Ipv4 address, int prefix) = 0;
  virtual Status add_default_route(Ipv4 via) = 0;
  // Deletes any link, persistent taps included.
  virtual Status delete_link(const std::string& name) = 0;
  virtual Result<std::vector<LinkInfo>> list_links() = 0;

  // Sysctls of the namespace itself: only net.* keys ("net.ipv4.ip_forward").
  virtual bool has_sysctl(const std::string& key) = 0;
  virtual Status set_sysctl(const std::string& key, const std::string& value) = 0;
  // Loads a kernel module (the one change that is not confined to the
  // namespace, so it is only asked for when a needed sysctl is missing).
  virtual Status load_module(const std::string& name) = 0;
};

// Waits until every named link is running. The kernel turns carrier
// changes into "running" (and starts the link's queue, and lets a bridge
// forward through the port) in deferred work that may lag by up to a
// second when many links change at once; packets sent before that are
// lost. An Error names the links still not running at the deadline.
Status wait_until_running(Netlink& netlink, const std::vector<std::string>& names, std::chrono::milliseconds timeout);

// The real Netlink for one namespace: a libnl socket opened on the
// namespace's thread, so every request acts inside it whichever thread
// makes it. Borrows the namespace, which must outlive it. Thread-safe, but
// not to be called from code running on the namespace's own thread
// (NetworkNamespace::run_inside): taps and sysctls are made there.
class RouteNetlink final : public Netlink {
 public:
  // modules runs modprobe; nullptr means a SystemProcessRunner.
  static Result<std::unique_ptr<RouteNetlink>> open(const NetworkNamespace& ns, ProcessRunner* modules = nullptr);
  ~RouteNetlink() override;

  Status set_up(const std::string& ifname) override;
  Status set_down(const std::string& ifname) override;
  Status create_bridge(const std::string& name) override;
  Status create_tap(const std::string& name) override;
  Status create_veth(const std::string& name, const std::string& peer, int peer_netns_fd = -1) override;
  Status set_master(const std::string& ifname, const std::string& bridge) override;
  Status add_address(const std::string& ifname, Ipv4 address, int prefix) override;
  Status add_default_route(Ipv4 via) override;
  Status delete_link(const std::string& name) override;
  Result<std::vector<LinkInfo>> list_links() override;
  bool has_sysctl(const std::string& key) override;
  Status set_sysctl(const std::string& key, const std::string& value) override;
  Status load_module(const std::string& name) override;

 private:
  RouteNetlink(const NetworkNamespace& ns, nl_sock* sock, ProcessRunner* modules);
  Status change_flags(const std::string& ifname, bool up);
  Result<int> index_of(const std::string& ifname);
  Status set_tap_persistence(const std::string& name, bool persistent);
  std::string where() const;

  const NetworkNamespace& ns_;
  nl_sock* sock_;
  std::unique_ptr<ProcessRunner> own_runner_;
  ProcessRunner* modules_;
  std::mutex mutex_;  // one request at a time on the socket
};

// A Netlink that keeps links in memory, checks what the kernel would refuse
// (duplicates, unknown links, a master that is no bridge) and records every
// call in order, for tests. fail_on makes matching calls fail.
class FakeNetlink final : public Netlink {
 public:
  Status set_up(const std::string& ifname) override;
  Status set_down(const std::string& ifname) override;
  Status create_bridge(const std::string& name) override;
  Status create_tap(const std::string& name) override;
  Status create_veth(const std::string& name, const std::string& peer, int peer_netns_fd = -1) override;
  Status set_master(const std::string& ifname, const std::string& bridge) override;
  Status add_address(const std::string& ifname, Ipv4 address, int prefix) override;
  Status add_default_route(Ipv4 via) override;
  Status delete_link(const std::string& name) override;
  Result<std::vector<LinkInfo>> list_links() override;
  bool has_sysctl(const std::string& key) override;
  Status set_sysctl(const std::string& key, const std::string& value) override;
  Status load_module(const std::string& name) override;

  // "create_bridge br-lan", "add_address br-lan 10.0.10.1/24", ...
  std::vector<std::string> calls;
  // Calls whose text starts with one of these fail.
  std::vector<std::string> fail_on;
  std::map<std::string, std::string> sysctls;  // every key written, and the known ones
  std::set<std::string> modules;
  std::map<std::string, std::vector<std::string>> addresses;  // by link: "a.b.c.d/p"
  std::vector<std::string> routes;

 private:
  Status record(const std::string& call);
  Status add_link(const std::string& name, const std::string& kind);
  LinkInfo* find(const std::string& name);

  std::vector<LinkInfo> links_ = {{"lo", 1, "", "", false, false, ""}};
  int next_index_ = 2;
};

}  // namespace meros::net
