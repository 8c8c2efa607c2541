// RouteNetlink: rtnetlink requests through libnl, plus the few things
// rtnetlink cannot do (taps, sysctls, modules).
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/route.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>

#include "net/netlink.h"
#include "net/sys_error.h"

namespace meros::net {

namespace {

struct LinkPut { void operator()(rtnl_link* p) const { rtnl_link_put(p); } };
struct AddrPut { void operator()(rtnl_addr* p) const { rtnl_addr_put(p); } };
struct RoutePut { void operator()(rtnl_route* p) const { rtnl_route_put(p); } };
struct NlAddrPut { void operator()(nl_addr* p) const { nl_addr_put(p); } };
struct CachePut { void operator()(nl_cache* p) const { nl_cache_free(p); } };
using LinkPtr = std::unique_ptr<rtnl_link, LinkPut>;
using AddrPtr = std::unique_ptr<rtnl_addr, AddrPut>;
using RoutePtr = std::unique_ptr<rtnl_route, RoutePut>;
using NlAddrPtr = std::unique_ptr<nl_addr, NlAddrPut>;
using CachePtr = std::unique_ptr<nl_cache, CachePut>;

Error nl_error(const std::string& what, int error) { return make_error(what + ": " + nl_geterror(error)); }

NlAddrPtr ipv4_nl_addr(Ipv4 address, int prefix) {
  std::uint32_t network_order = htonl(address.value);
  NlAddrPtr addr(nl_addr_build(AF_INET, &network_order, sizeof network_order));
  if (addr) nl_addr_set_prefixlen(addr.get(), prefix);
  return addr;
}

bool fits_ifname(const std::string& name) { return !name.empty() && name.size() < IFNAMSIZ; }

// "net.ipv4.ip_forward" -> /proc/sys/net/ipv4/ip_forward. Only the
// namespace's own (net.*) keys, never a global one.
Result<std::string> sysctl_path(const std::string& key) {
  bool plain = std::all_of(key.begin(), key.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
  });
  if (key.rfind("net.", 0) != 0 || !plain || key.find("..") != std::string::npos)
    return make_error("sysctl " + key + " is not a network namespace setting (net.*)");
  std::string path = "/proc/sys/" + key;
  std::replace(path.begin() + 10, path.end(), '.', '/');
  return path;
}

std::string format_mac(nl_addr* addr) {
  if (addr == nullptr || nl_addr_get_len(addr) != 6) return "";
  char text[32];
  return nl_addr2str(addr, text, sizeof text);
}

}  // namespace

Status wait_until_running(Netlink& netlink, const std::vector<std::string>& names, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto links = netlink.list_links();
    if (!links) return links.error();
    std::string waiting;
    for (const auto& name : names) {
      auto it = std::find_if(links->begin(), links->end(), [&](const LinkInfo& l) { return l.name == name; });
      if (it == links->end() || !it->running) waiting += (waiting.empty() ? "" : ", ") + name;
    }
    if (waiting.empty()) return {};
    if (std::chrono::steady_clock::now() >= deadline) return make_error("links not running after " + std::to_string(timeout.count()) + " ms: " + waiting);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

RouteNetlink::RouteNetlink(const NetworkNamespace& ns, nl_sock* sock, ProcessRunner* modules)
    : ns_(ns), sock_(sock), modules_(modules) {
  if (modules_ == nullptr) {
    own_runner_ = std::make_unique<SystemProcessRunner>();
    modules_ = own_runner_.get();
  }
}

RouteNetlink::~RouteNetlink() { nl_socket_free(sock_); }

Result<std::unique_ptr<RouteNetlink>> RouteNetlink::open(const NetworkNamespace& ns, ProcessRunner* modules) {
  auto sock = ns.call_inside([&]() -> Result<nl_sock*> {
    nl_sock* s = nl_socket_alloc();
    if (s == nullptr) return make_error("cannot allocate a netlink socket");
    if (int err = nl_connect(s, NETLINK_ROUTE); err < 0) {
      nl_socket_free(s);
      return nl_error("cannot open rtnetlink in network namespace " + ns.name(), err);
    }
    return s;
  });
  if (!sock) return sock.error();
  return std::unique_ptr<RouteNetlink>(new RouteNetlink(ns, *sock, modules));
}

std::string RouteNetlink::where() const { return " in network namespace " + ns_.name(); }

Result<int> RouteNetlink::index_of(const std::string& ifname) {
  rtnl_link* raw = nullptr;
  if (int err = rtnl_link_get_kernel(sock_, 0, ifname.c_str(), &raw); err < 0)
    return nl_error("no link " + ifname + where(), err);
  LinkPtr link(raw);
  return rtnl_link_get_ifindex(link.get());
}

Status RouteNetlink::change_flags(const std::string& ifname, bool up) {
  std::lock_guard lock(mutex_);
  rtnl_link* raw = nullptr;
  if (int err = rtnl_link_get_kernel(sock_, 0, ifname.c_str(), &raw); err < 0)
    return nl_error("no link " + ifname + where(), err);
  LinkPtr link(raw);
  LinkPtr change(rtnl_link_alloc());
  if (up) rtnl_link_set_flags(change.get(), IFF_UP);
  else rtnl_link_unset_flags(change.get(), IFF_UP);
  if (int err = rtnl_link_change(sock_, link.get(), change.get(), 0); err < 0)
    return nl_error(std::string("cannot set ") + ifname + (up ? " up" : " down") + where(), err);
  return {};
}

Status RouteNetlink::set_up(const std::string& ifname) { return change_flags(ifname, true); }
Status RouteNetlink::set_down(const std::string& ifname) { return change_flags(ifname, false); }

Status RouteNetlink::create_bridge(const std::string& name) {
  if (!fits_ifname(name)) return make_error("'" + name + "' cannot name a link (1 to 15 characters)");
  std::lock_guard lock(mutex_);
  LinkPtr link(rtnl_link_bridge_alloc());
  rtnl_link_set_name(link.get(), name.c_str());
  if (int err = rtnl_link_add(sock_, link.get(), NLM_F_CREATE | NLM_F_EXCL); err < 0)
    return nl_error("cannot create bridge " + name + where(), err);
  return {};
}

// TUNSETIFF acts in the namespace /dev/net/tun was opened in, so this runs
// on the namespace's thread. Attaching to an existing tap by name does not
// fail, so callers check for one first.
Status RouteNetlink::set_tap_persistence(const std::string& name, bool persistent) {
  return ns_.call_inside([&]() -> Status {
    Fd tun(::open("/dev/net/tun", O_RDWR | O_CLOEXEC));
    if (!tun.valid()) return sys_error("cannot open /dev/net/tun", errno);
    ifreq request{};
    request.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
    std::strncpy(request.ifr_name, name.c_str(), IFNAMSIZ - 1);
    if (::ioctl(tun.get(), TUNSETIFF, &request) != 0) return sys_error("TUNSETIFF " + name + where(), errno);
    if (::ioctl(tun.get(), TUNSETPERSIST, persistent ? 1 : 0) != 0)
      return sys_error("TUNSETPERSIST " + name + where(), errno);
    return {};
  });
}

Status RouteNetlink::create_tap(const std::string& name) {
  if (!fits_ifname(name)) return make_error("'" + name + "' cannot name a link (1 to 15 characters)");
  std::lock_guard lock(mutex_);
  if (index_of(name)) return make_error("cannot create tap " + name + where() + ": a link of that name exists");
  if (Status status = set_tap_persistence(name, true); !status)
    return make_error("cannot create tap " + name + ": " + status.error().message);
  return {};
}

Status RouteNetlink::create_veth(const std::string& name, const std::string& peer, int peer_netns_fd) {
  if (!fits_ifname(name) || !fits_ifname(peer)) return make_error("veth names must have 1 to 15 characters");
  std::lock_guard lock(mutex_);
  LinkPtr link(rtnl_link_veth_alloc());  // owns its peer too
  rtnl_link_set_name(link.get(), name.c_str());
  rtnl_link* peer_link = rtnl_link_veth_get_peer(link.get());
  rtnl_link_set_name(peer_link, peer.c_str());
  if (peer_netns_fd >= 0) rtnl_link_set_ns_fd(peer_link, peer_netns_fd);
  rtnl_link_put(peer_link);
  if (int err = rtnl_link_add(sock_, link.get(), NLM_F_CREATE | NLM_F_EXCL); err < 0)
    return nl_error("cannot create veth pair " + name + "/" + peer + where(), err);
  return {};
}

Status RouteNetlink::set_master(const std::string& ifname, const std::string& bridge) {
  std::lock_guard lock(mutex_);
  auto master = index_of(bridge);
  if (!master) return master.error();
  auto port = index_of(ifname);
  if (!port) return port.error();
  if (int err = rtnl_link_enslave_ifindex(sock_, *master, *port); err < 0)
    return nl_error("cannot attach " + ifname + " to bridge " + bridge + where(), err);
  return {};
}

Status RouteNetlink::add_address(const std::string& ifname, Ipv4 address, int prefix) {
  std::lock_guard lock(mutex_);
  auto index = index_of(ifname);
  if (!index) return index.error();
  AddrPtr addr(rtnl_addr_alloc());
  NlAddrPtr local = ipv4_nl_addr(address, prefix);
  rtnl_addr_set_ifindex(addr.get(), *index);
  rtnl_addr_set_local(addr.get(), local.get());
  rtnl_addr_set_prefixlen(addr.get(), prefix);
  if (int err = rtnl_addr_add(sock_, addr.get(), 0); err < 0)
    return nl_error("cannot add " + address.str() + "/" + std::to_string(prefix) + " to " + ifname + where(), err);
  return {};
}

Status RouteNetlink::add_default_route(Ipv4 via) {
  std::lock_guard lock(mutex_);
  RoutePtr route(rtnl_route_alloc());
  NlAddrPtr any = ipv4_nl_addr(Ipv4{0}, 0);
  NlAddrPtr gateway = ipv4_nl_addr(via, 32);
  rtnl_route_set_family(route.get(), AF_INET);
  rtnl_route_set_dst(route.get(), any.get());
  rtnl_route_set_table(route.get(), RT_TABLE_MAIN);
  rtnl_route_set_scope(route.get(), RT_SCOPE_UNIVERSE);
  rtnl_route_set_protocol(route.get(), RTPROT_BOOT);
  rtnl_route_set_type(route.get(), RTN_UNICAST);
  rtnl_nexthop* hop = rtnl_route_nh_alloc();  // the route owns it once added
  rtnl_route_nh_set_gateway(hop, gateway.get());
  rtnl_route_add_nexthop(route.get(), hop);
  if (int err = rtnl_route_add(sock_, route.get(), NLM_F_CREATE | NLM_F_EXCL); err < 0)
    return nl_error("cannot add a default route via " + via.str() + where(), err);
  return {};
}

Status RouteNetlink::delete_link(const std::string& name) {
  std::lock_guard lock(mutex_);
  rtnl_link* raw = nullptr;
  if (int err = rtnl_link_get_kernel(sock_, 0, name.c_str(), &raw); err < 0)
    return nl_error("cannot delete link " + name + where(), err);
  LinkPtr link(raw);
  const char* kind = rtnl_link_get_type(link.get());
  // rtnetlink cannot delete tun/tap devices: clearing persistence does.
  if (kind != nullptr && std::strcmp(kind, "tun") == 0) return set_tap_persistence(name, false);
  if (int err = rtnl_link_delete(sock_, link.get()); err < 0)
    return nl_error("cannot delete link " + name + where(), err);
  return {};
}

Result<std::vector<LinkInfo>> RouteNetlink::list_links() {
  std::lock_guard lock(mutex_);
  nl_cache* raw = nullptr;
  if (int err = rtnl_link_alloc_cache(sock_, AF_UNSPEC, &raw); err < 0) return nl_error("cannot list links" + where(), err);
  CachePtr cache(raw);
  std::vector<LinkInfo> links;
  for (nl_object* object = nl_cache_get_first(cache.get()); object != nullptr; object = nl_cache_get_next(object)) {
    auto* link = reinterpret_cast<rtnl_link*>(object);
    LinkInfo info;
    info.name = rtnl_link_get_name(link);
    info.index = rtnl_link_get_ifindex(link);
    if (const char* kind = rtnl_link_get_type(link)) info.kind = kind;
    if (int master = rtnl_link_get_master(link); master > 0) {
      char name[IFNAMSIZ + 1] = {};
      if (rtnl_link_i2name(cache.get(), master, name, sizeof name) != nullptr) info.master = name;
    }
    info.up = (rtnl_link_get_flags(link) & IFF_UP) != 0;
    info.running = (rtnl_link_get_flags(link) & IFF_RUNNING) != 0;
    info.mac = format_mac(rtnl_link_get_addr(link));
    links.push_back(std::move(info));
  }
  std::sort(links.begin(), links.end(), [](const LinkInfo& a, const LinkInfo& b) { return a.index < b.index; });
  return links;
}

bool RouteNetlink::has_sysctl(const std::string& key) {
  auto path = sysctl_path(key);
  if (!path) return false;
  bool found = false;
  (void)ns_.run_inside([&] { found = ::access(path->c_str(), F_OK) == 0; });
  return found;
}

// /proc/sys/net shows the settings of the namespace of the thread that
// opens the file, hence the namespace's thread.
Status RouteNetlink::set_sysctl(const std::string& key, const std::string& value) {
  auto path = sysctl_path(key);
  if (!path) return path.error();
  return ns_.call_inside([&]() -> Status {
    Fd file(::open(path->c_str(), O_WRONLY | O_CLOEXEC));
    if (!file.valid()) return sys_error("cannot set " + key + where(), errno);
    std::string line = value + "\n";
    if (::write(file.get(), line.data(), line.size()) != static_cast<ssize_t>(line.size()))
      return sys_error("cannot set " + key + "=" + value + where(), errno);
    return {};
  });
}

Status RouteNetlink::load_module(const std::string& name) {
  ProcessSpec spec;
  spec.argv = {"modprobe", name};
  spec.timeout = std::chrono::milliseconds(30'000);
  auto result = modules_->run(spec);
  if (!result) return make_error("cannot load kernel module " + name + ": " + result.error().message);
  if (!result->ok())
    return make_error("cannot load kernel module " + name + ": modprobe said: " + tail_lines(result->output, 5));
  return {};
}

}  // namespace meros::net
