#include "net/attribution.h"

#include <map>

namespace meros::net {
namespace {

int ip_protocol(Proto proto, const std::string& address) {
  bool v6 = address.find(':') != std::string::npos;
  switch (proto) {
    case Proto::tcp: return 6;
    case Proto::udp: return 17;
    case Proto::icmp: return v6 ? 58 : 1;
  }
  return -1;
}

bool one_of(const std::vector<std::string>& addresses, const std::string& address) {
  if (addresses.empty()) return true;
  for (const auto& a : addresses)
    if (a == address) return true;
  return false;
}

bool is_forward(const TracedPacket& p, const ProbeTuple& t) {
  if (!p.known || p.protocol != ip_protocol(t.proto, t.target_address)) return false;
  if (p.daddr != t.target_address || !one_of(t.source_addresses, p.saddr)) return false;
  if (t.proto == Proto::icmp) return p.icmp_type == 8 || p.icmp_type == 128;  // echo request
  return p.dport == t.target_port && (t.source_port < 0 || p.sport == t.source_port);
}

bool is_reply(const TracedPacket& p, const ProbeTuple& t) {
  if (!p.known || p.protocol != ip_protocol(t.proto, t.target_address)) return false;
  if (p.saddr != t.target_address || !one_of(t.source_addresses, p.daddr)) return false;
  if (t.proto == Proto::icmp) return p.icmp_type == 0 || p.icmp_type == 129;  // echo reply
  return p.sport == t.target_port && (t.source_port < 0 || p.dport == t.source_port);
}

Decision decision(const TraceSource& source, const TraceEvent& event) {
  Decision d;
  d.where = source.where;
  d.family = event.family;
  d.table = event.table;
  d.chain = event.chain;
  d.by_policy = event.kind == TraceKind::policy;
  d.verdict = event.verdict;
  d.handle = event.rule_handle;
  if (!d.by_policy) {
    if (const IndexedRule* rule = source.rules.find(event.family, event.table, event.rule_handle)) {
      d.rule = rule->text;
      d.file = rule->file;
      d.line = rule->line;
      // The kernel reports a reject as the drop it is; the rule says which.
      if (d.verdict == "drop" && rule->text.find("reject") != std::string::npos) d.verdict = "reject";
    } else {
      d.rule = "rule handle " + std::to_string(event.rule_handle);
    }
  }
  return d;
}

// Events of one place with the packet each is about: the kernel dumps the
// headers only in the first event of a chain, so later events inherit the
// last packet seen under their trace id.
struct PlacedEvent {
  const TraceEvent* event;
  TracedPacket packet;
};

std::vector<PlacedEvent> place_packets(const std::vector<TraceEvent>& events) {
  std::map<std::uint32_t, TracedPacket> current;
  std::vector<PlacedEvent> placed;
  placed.reserve(events.size());
  for (const auto& event : events) {
    if (event.packet.known) current[event.id] = event.packet;
    placed.push_back({&event, current[event.id]});
  }
  return placed;
}

// Better explanations first: a user's rule, then a generated one, then a
// chain's policy.
int accept_rank(const Decision& d) {
  if (d.by_policy) return 2;
  return d.file.empty() ? 1 : 0;
}

}  // namespace

std::string Decision::explain() const {
  std::string verb = verdict == "accept" ? "accepted" : verdict == "reject" ? "rejected" : verdict == "drop" ? "dropped" : verdict;
  if (by_policy) return verb + " by the policy of " + where + " chain " + chain + " (table " + family + " " + table + ")";
  std::string out = verb + " by " + where + " rule \"" + rule + "\"";
  if (!file.empty() && line > 0) return out + " (" + file + ":" + std::to_string(line) + ")";
  return out + " (table " + family + " " + table + ", chain " + chain + ")";
}

nlohmann::json Decision::to_json() const {
  nlohmann::json j = {{"where", where},     {"family", family},       {"table", table}, {"chain", chain},
                      {"verdict", verdict}, {"policy", by_policy},    {"text", explain()}};
  if (!by_policy) {
    j["rule"] = rule;
    j["handle"] = handle;
    if (!file.empty() && line > 0) {
      j["file"] = file;
      j["line"] = line;
    }
  }
  return j;
}

Attribution attribute(const std::vector<TraceSource>& sources, const ProbeTuple& tuple) {
  Attribution out;
  std::optional<Decision> accepted;
  for (const auto& source : sources) {
    for (const auto& [event, packet] : place_packets(source.events)) {
      if (event->table == kTraceTable && event->family == "inet") continue;  // the harness's marking
      bool forward = is_forward(packet, tuple);
      if (!forward && !is_reply(packet, tuple)) continue;
      Decision d = decision(source, *event);
      if (event->kind == TraceKind::rule) out.rules_hit.push_back(d);
      if (!forward) continue;
      if (!out.decided_by && (d.verdict == "drop" || d.verdict == "reject")) out.decided_by = d;
      if (d.verdict == "accept" && (!accepted || accept_rank(d) < accept_rank(*accepted))) accepted = d;
    }
  }
  if (!out.decided_by) out.decided_by = accepted;
  return out;
}

}  // namespace meros::net
