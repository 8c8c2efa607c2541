#include <algorithm>

#include "net/netlink.h"

namespace meros::net {

namespace {

const std::map<std::string, std::string> kBridgeNetfilterSysctls = {
    {"net.bridge.bridge-nf-call-iptables", "1"},
    {"net.bridge.bridge-nf-call-ip6tables", "1"},
};

}  // namespace

Status FakeNetlink::record(const std::string& call) {
  calls.push_back(call);
  for (const auto& prefix : fail_on)
    if (call.rfind(prefix, 0) == 0) return make_error("injected failure: " + call);
  return {};
}

LinkInfo* FakeNetlink::find(const std::string& name) {
  auto it = std::find_if(links_.begin(), links_.end(), [&](const LinkInfo& l) { return l.name == name; });
  return it == links_.end() ? nullptr : &*it;
}

Status FakeNetlink::add_link(const std::string& name, const std::string& kind) {
  if (name.empty() || name.size() > 15) return make_error("'" + name + "' cannot name a link (1 to 15 characters)");
  if (find(name) != nullptr) return make_error("link " + name + " exists");
  links_.push_back({name, next_index_++, kind, "", false, false, ""});
  return {};
}

Status FakeNetlink::set_up(const std::string& ifname) {
  if (Status s = record("set_up " + ifname); !s) return s;
  LinkInfo* link = find(ifname);
  if (link == nullptr) return make_error("no link " + ifname);
  link->up = true;
  link->running = true;  // no carrier to wait for
  return {};
}

Status FakeNetlink::set_down(const std::string& ifname) {
  if (Status s = record("set_down " + ifname); !s) return s;
  LinkInfo* link = find(ifname);
  if (link == nullptr) return make_error("no link " + ifname);
  link->up = false;
  link->running = false;
  return {};
}

Status FakeNetlink::create_bridge(const std::string& name) {
  if (Status s = record("create_bridge " + name); !s) return s;
  return add_link(name, "bridge");
}

Status FakeNetlink::create_tap(const std::string& name) {
  if (Status s = record("create_tap " + name); !s) return s;
  return add_link(name, "tun");
}

Status FakeNetlink::create_veth(const std::string& name, const std::string& peer, int peer_netns_fd) {
  if (Status s = record("create_veth " + name + " " + peer); !s) return s;
  if (Status s = add_link(name, "veth"); !s) return s;
  if (peer_netns_fd < 0) return add_link(peer, "veth");
  return {};
}

Status FakeNetlink::set_master(const std::string& ifname, const std::string& bridge) {
  if (Status s = record("set_master " + ifname + " " + bridge); !s) return s;
  LinkInfo* master = find(bridge);
  LinkInfo* port = find(ifname);
  if (master == nullptr || port == nullptr) return make_error("no link " + (master ? ifname : bridge));
  if (master->kind != "bridge") return make_error(bridge + " is not a bridge");
  port->master = bridge;
  return {};
}

Status FakeNetlink::add_address(const std::string& ifname, Ipv4 address, int prefix) {
  std::string text = address.str() + "/" + std::to_string(prefix);
  if (Status s = record("add_address " + ifname + " " + text); !s) return s;
  if (find(ifname) == nullptr) return make_error("no link " + ifname);
  auto& list = addresses[ifname];
  if (std::find(list.begin(), list.end(), text) != list.end()) return make_error(text + " exists on " + ifname);
  list.push_back(text);
  return {};
}

Status FakeNetlink::add_default_route(Ipv4 via) {
  if (Status s = record("add_default_route " + via.str()); !s) return s;
  routes.push_back("default via " + via.str());
  return {};
}

Status FakeNetlink::delete_link(const std::string& name) {
  if (Status s = record("delete_link " + name); !s) return s;
  auto it = std::find_if(links_.begin(), links_.end(), [&](const LinkInfo& l) { return l.name == name; });
  if (it == links_.end()) return make_error("no link " + name);
  links_.erase(it);
  addresses.erase(name);
  for (auto& link : links_)
    if (link.master == name) link.master.clear();
  return {};
}

Result<std::vector<LinkInfo>> FakeNetlink::list_links() {
  if (Status s = record("list_links"); !s) return s.error();
  return links_;
}

bool FakeNetlink::has_sysctl(const std::string& key) {
  if (key == "net.ipv4.ip_forward") return true;
  return sysctls.count(key) != 0 || (modules.count("br_netfilter") && kBridgeNetfilterSysctls.count(key));
}

Status FakeNetlink::set_sysctl(const std::string& key, const std::string& value) {
  if (Status s = record("set_sysctl " + key + "=" + value); !s) return s;
  if (!has_sysctl(key)) return make_error("no sysctl " + key);
  sysctls[key] = value;
  return {};
}

Status FakeNetlink::load_module(const std::string& name) {
  if (Status s = record("load_module " + name); !s) return s;
  modules.insert(name);
  return {};
}

}  // namespace meros::net
