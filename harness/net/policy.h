// The bridge policies of a scenario (scenario-format.md, "Bridge
// policies") as plain rule specs: generated from the manifest and the
// network plan, rendered as nft text for reports and golden tests, and
// turned into a netlink batch by Nftables. Pure: no system calls.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "manifest/model.h"
#include "net/topology.h"

namespace meros::net {

enum class Chain { forward, input };
enum class Verdict { accept, drop };
enum class CtState { any, new_connection, established_related };

// An inclusive range of IPv4 addresses; allowed_ips become a sorted list of
// disjoint, non-adjacent ranges.
struct AddressRange {
  Ipv4 first, last;
  bool operator==(const AddressRange&) const = default;
};

// One rule. Every condition that is set must hold; empty lists match
// anything. Conditions appear in nft in the order of the fields.
struct RuleSpec {
  Chain chain = Chain::forward;
  std::vector<std::string> iifnames;  // one name, or a set of names
  std::vector<std::string> oifnames;
  bool from_loopback = false;         // iif "lo"
  std::vector<AddressRange> sources;  // ip saddr
  std::optional<Proto> proto;         // tcp/udp (with dports), or icmp echo-request
  std::vector<int> dports;            // sorted, unique; tcp/udp only
  CtState ct = CtState::any;
  Verdict verdict = Verdict::drop;
  std::string comment;                // "bridge lan: allowed_ports tcp", ...
};

// The generated ruleset: one inet table with a forward chain (policy drop)
// and an input chain (policy accept); output is left unrestricted.
struct Policy {
  std::string table = "meros";
  std::vector<RuleSpec> rules;  // forward and input rules, each chain in order
};

// Generates the policy of a scenario whose network is planned in topology.
Policy plan_policy(const Scenario& scenario, const Topology& topology);

// The policy as `nft list table inet meros -s` prints it once loaded: the
// same text `nft -f` accepts.
std::string render_nft(const Policy& policy);

// Sorted, merged ranges; a 0.0.0.0/0 among them yields {} (no condition).
std::vector<AddressRange> merge_cidrs(const std::vector<Cidr>& cidrs);
// "10.0.0.0/24", "10.0.0.5" or "10.0.0.16-10.0.0.63".
std::string format_range(const AddressRange& range);
// The prefix length if the range is exactly one CIDR block, else -1.
int range_prefix(const AddressRange& range);

// The order in which nft prints a set of interface names (it compares the
// 16-byte names as host-endian integers).
bool nft_ifname_less(const std::string& a, const std::string& b);

}  // namespace meros::net
