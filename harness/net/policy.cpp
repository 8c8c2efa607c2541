#include "net/policy.h"

#include <algorithm>
#include <cstdint>
#include <set>

namespace meros::net {

namespace {

RuleSpec make_rule(Chain chain, Verdict verdict, std::string comment) {
  RuleSpec rule;
  rule.chain = chain;
  rule.verdict = verdict;
  rule.comment = std::move(comment);
  return rule;
}

std::vector<std::string> nft_sorted(std::vector<std::string> names) {
  std::sort(names.begin(), names.end(), nft_ifname_less);
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

std::vector<int> sorted_ports(const std::vector<int>& ports) {
  std::vector<int> sorted(ports);
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  return sorted;
}

// The rules that let a host-access bridge's VMs open connections, to the
// host (input) or to the bridges in oifnames (forward). The bridge where a
// connection starts decides: its allowed_ports, allowed_ips, allow_icmp.
void add_allowed(std::vector<RuleSpec>& rules, Chain chain, const Bridge& bridge, const BridgeLink& link,
                 const std::vector<std::string>& oifnames) {
  if (bridge.allowed_ips && bridge.allowed_ips->empty()) return;  // no source may open anything
  const std::string prefix = "bridge " + bridge.name + ": ";
  const std::string ips_note = bridge.allowed_ips ? ", allowed_ips" : "";
  RuleSpec base = make_rule(chain, Verdict::accept, "");
  base.iifnames = {link.ifname};
  base.oifnames = oifnames;
  if (bridge.allowed_ips) base.sources = merge_cidrs(*bridge.allowed_ips);
  base.ct = CtState::new_connection;
  std::vector<int> ports = bridge.allowed_ports ? sorted_ports(*bridge.allowed_ports) : std::vector<int>{};
  if (!bridge.allowed_ports || !ports.empty()) {
    for (Proto proto : {Proto::tcp, Proto::udp}) {
      RuleSpec rule = base;
      rule.proto = proto;
      rule.dports = ports;
      std::string name(to_string(proto));
      rule.comment = prefix + (bridge.allowed_ports ? "allowed_ports (" + name + ")" : "host-access, all " + name + " ports") + ips_note;
      rules.push_back(std::move(rule));
    }
  }
  if (bridge.allow_icmp) {
    RuleSpec rule = base;
    rule.proto = Proto::icmp;
    rule.comment = prefix + "allow_icmp" + ips_note;
    rules.push_back(std::move(rule));
  }
}

RuleSpec bridge_drop(Chain chain, const Bridge& bridge, const BridgeLink& link, bool outgoing) {
  bool isolated = bridge.policy == PolicyType::isolated;
  RuleSpec rule = make_rule(chain, Verdict::drop, "bridge " + bridge.name + (isolated ? ": isolated" : ": host-access, not allowed"));
  (outgoing ? rule.oifnames : rule.iifnames) = {link.ifname};
  return rule;
}

std::vector<std::string> host_access_ifnames_except(const Topology& topology, const std::string& except) {
  std::vector<std::string> names;
  for (const auto& link : topology.bridges)
    if (link.policy == PolicyType::host_access && link.ifname != except) names.push_back(link.ifname);
  return nft_sorted(names);
}

void add_forward_rules(std::vector<RuleSpec>& rules, const Scenario& scenario, const Topology& topology) {
  std::vector<std::string> management = nft_sorted(topology.management_ifnames());
  if (!management.empty()) {
    RuleSpec in = make_rule(Chain::forward, Verdict::drop, "management links are never forwarded");
    RuleSpec out = in;
    in.iifnames = management;
    out.oifnames = management;
    rules.push_back(in);
    rules.push_back(out);
  }
  RuleSpec established = make_rule(Chain::forward, Verdict::accept, "return traffic of allowed connections");
  established.ct = CtState::established_related;
  rules.push_back(established);
  for (const Bridge& bridge : scenario.bridges) {
    const BridgeLink& link = *topology.find_bridge(bridge.name);
    // Bridged traffic shows up here with br_netfilter: in and out the same bridge.
    RuleSpec same = make_rule(Chain::forward, Verdict::accept, "bridge " + bridge.name + ": one switch");
    same.iifnames = same.oifnames = {link.ifname};
    rules.push_back(same);
    if (bridge.policy == PolicyType::isolated) {
      rules.push_back(bridge_drop(Chain::forward, bridge, link, false));
      rules.push_back(bridge_drop(Chain::forward, bridge, link, true));
      continue;
    }
    std::vector<std::string> others = host_access_ifnames_except(topology, link.ifname);
    if (!others.empty()) add_allowed(rules, Chain::forward, bridge, link, others);
    rules.push_back(bridge_drop(Chain::forward, bridge, link, false));
  }
}

void add_input_rules(std::vector<RuleSpec>& rules, const Scenario& scenario, const Topology& topology) {
  RuleSpec established = make_rule(Chain::input, Verdict::accept, "return traffic of the host's connections");
  established.ct = CtState::established_related;
  rules.push_back(established);
  RuleSpec loopback = make_rule(Chain::input, Verdict::accept, "the host's own traffic");
  loopback.from_loopback = true;
  rules.push_back(loopback);
  std::vector<std::string> management = nft_sorted(topology.management_ifnames());
  if (!management.empty()) {
    RuleSpec rule = make_rule(Chain::input, Verdict::drop, "management links: the harness's connections only");
    rule.iifnames = management;
    rules.push_back(rule);
  }
  for (const Bridge& bridge : scenario.bridges) {
    const BridgeLink& link = *topology.find_bridge(bridge.name);
    if (bridge.policy == PolicyType::host_access) add_allowed(rules, Chain::input, bridge, link, {});
    rules.push_back(bridge_drop(Chain::input, bridge, link, false));
  }
}

std::string quoted(const std::string& text) { return "\"" + text + "\""; }

// `x`, or `{ x, y }` when there is more than one.
template <class T, class Format>
std::string one_or_set(const std::vector<T>& items, Format format) {
  if (items.size() == 1) return format(items[0]);
  std::string text = "{ ";
  for (std::size_t i = 0; i < items.size(); ++i) text += (i ? ", " : "") + format(items[i]);
  return text + " }";
}

std::string render_sources(const std::vector<AddressRange>& sources) {
  if (sources.size() == 1 && range_prefix(sources[0]) >= 0) return format_range(sources[0]);
  std::string text = "{ ";
  for (std::size_t i = 0; i < sources.size(); ++i) text += (i ? ", " : "") + format_range(sources[i]);
  return text + " }";
}

std::string render_rule(const RuleSpec& rule) {
  std::vector<std::string> parts;
  if (!rule.iifnames.empty()) parts.push_back("iifname " + one_or_set(rule.iifnames, quoted));
  if (!rule.oifnames.empty()) parts.push_back("oifname " + one_or_set(rule.oifnames, quoted));
  if (rule.from_loopback) parts.push_back("iif \"lo\"");
  if (!rule.sources.empty()) parts.push_back("ip saddr " + render_sources(rule.sources));
  if (rule.proto == Proto::icmp) {
    parts.push_back("icmp type echo-request");
  } else if (rule.proto) {
    std::string proto(to_string(*rule.proto));
    if (rule.dports.empty()) parts.push_back("meta l4proto " + proto);
    else parts.push_back(proto + " dport " + one_or_set(rule.dports, [](int p) { return std::to_string(p); }));
  }
  if (rule.ct == CtState::new_connection) parts.push_back("ct state new");
  if (rule.ct == CtState::established_related) parts.push_back("ct state established,related");
  parts.push_back("counter");
  parts.push_back(rule.verdict == Verdict::accept ? "accept" : "drop");
  if (!rule.comment.empty()) parts.push_back("comment " + quoted(rule.comment));
  std::string text;
  for (const auto& part : parts) text += (text.empty() ? "" : " ") + part;
  return text;
}

void render_chain(std::string& out, const Policy& policy, Chain chain) {
  bool forward = chain == Chain::forward;
  out += std::string("\tchain ") + (forward ? "forward" : "input") + " {\n";
  out += std::string("\t\ttype filter hook ") + (forward ? "forward" : "input") + " priority filter; policy " +
         (forward ? "drop" : "accept") + ";\n";
  for (const auto& rule : policy.rules)
    if (rule.chain == chain) out += "\t\t" + render_rule(rule) + "\n";
  out += "\t}\n";
}

}  // namespace

Policy plan_policy(const Scenario& scenario, const Topology& topology) {
  Policy policy;
  add_forward_rules(policy.rules, scenario, topology);
  add_input_rules(policy.rules, scenario, topology);
  return policy;
}

std::string render_nft(const Policy& policy) {
  std::string out = "table inet " + policy.table + " {\n";
  render_chain(out, policy, Chain::forward);
  out += "\n";
  render_chain(out, policy, Chain::input);
  out += "}\n";
  return out;
}

std::vector<AddressRange> merge_cidrs(const std::vector<Cidr>& cidrs) {
  std::vector<std::pair<std::uint64_t, std::uint64_t>> spans;  // [first, last], 64-bit to step past the top
  for (const auto& cidr : cidrs) spans.emplace_back(cidr.network.value, cidr.broadcast().value);
  std::sort(spans.begin(), spans.end());
  std::vector<std::pair<std::uint64_t, std::uint64_t>> merged;
  for (const auto& span : spans) {
    if (!merged.empty() && span.first <= merged.back().second + 1) merged.back().second = std::max(merged.back().second, span.second);
    else merged.push_back(span);
  }
  if (merged.size() == 1 && merged[0].first == 0 && merged[0].second == 0xffffffffu) return {};
  std::vector<AddressRange> ranges;
  for (const auto& [first, last] : merged)
    ranges.push_back({Ipv4{static_cast<std::uint32_t>(first)}, Ipv4{static_cast<std::uint32_t>(last)}});
  return ranges;
}

int range_prefix(const AddressRange& range) {
  std::uint64_t size = std::uint64_t{range.last.value} - range.first.value + 1;
  if ((size & (size - 1)) != 0 || range.first.value % size != 0) return -1;
  int prefix = 32;
  while (size > 1) {
    size >>= 1;
    --prefix;
  }
  return prefix;
}

std::string format_range(const AddressRange& range) {
  int prefix = range_prefix(range);
  if (prefix == 32) return range.first.str();
  if (prefix >= 0) return range.first.str() + "/" + std::to_string(prefix);
  return range.first.str() + "-" + range.last.str();
}

bool nft_ifname_less(const std::string& a, const std::string& b) {
  auto byte = [](const std::string& s, std::size_t i) { return i < s.size() ? static_cast<unsigned char>(s[i]) : 0; };
  for (std::size_t i = 16; i-- > 0;) {
    if (byte(a, i) != byte(b, i)) return byte(a, i) < byte(b, i);
  }
  return false;
}

}  // namespace meros::net
