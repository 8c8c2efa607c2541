// Which rule decided a probe (scenario-format.md, "Policy truth":
// attribution). Given the trace events every place on the path reported
// while a batch of probes ran (the scenario host and each guest that runs
// nftables) and each place's ruleset, finds the probe's first packet among
// them (by its 5-tuple, so probes batched in parallel are told apart) and
// names the rule or chain policy that dropped it, or else the one that let
// it through.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "net/nft_trace.h"
#include "net/rule_index.h"
#include "util/proto.h"

namespace meros::net {

// What one place saw during a batch, and its rules then.
struct TraceSource {
  std::string where;  // "host" or the VM's name
  std::vector<TraceEvent> events;
  RuleIndex rules;
};

// The probe's first packet: the SYN, the datagram or the echo request.
struct ProbeTuple {
  Proto proto = Proto::tcp;
  std::vector<std::string> source_addresses;  // any of these; empty: any
  int source_port = -1;                       // -1: unknown
  std::string target_address;
  int target_port = 0;  // tcp and udp
};

// One rule or chain policy, with the verdict it gave.
struct Decision {
  std::string where, family, table, chain;
  bool by_policy = false;
  std::string verdict;  // accept, drop or reject (a reject rule's drop)
  std::uint64_t handle = 0;
  std::string rule;     // as nft lists it
  std::string file;     // the user's file, "" for generated rules
  int line = 0;

  // e.g. `rejected by router rule "tcp dport 443 reject with tcp reset"
  // (policies/router.nft:14)`, `dropped by the policy of router chain
  // forward (table inet router)`.
  std::string explain() const;
  nlohmann::json to_json() const;
};

struct Attribution {
  std::optional<Decision> decided_by;  // none: no nftables rule saw the probe
  // Every rule the probe's packets matched, both ways, in the order seen:
  // the per-check rule hits.
  std::vector<Decision> rules_hit;
};

Attribution attribute(const std::vector<TraceSource>& sources, const ProbeTuple& tuple);

}  // namespace meros::net
