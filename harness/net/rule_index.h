// The rules of a loaded nftables ruleset, indexed by (family, table,
// handle), so a trace event's rule handle can be turned into the rule's text
// and, for rules from a user's .nft file, its file:line.
//
// The index is built from `nft -a -s list ruleset` text, which may come from
// a guest: parsing is bounded (input size, line length, rule and chain
// counts) and skips what it does not understand. Source lines are attached
// by rule order: the k-th rule a file gives a chain is the k-th listed rule
// of that chain, only when the counts agree (docs/network.md, "Which rule
// decided").
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace meros::net {

struct IndexedRule {
  std::string family, table, chain;  // "inet", "router", "forward"
  std::uint64_t handle = 0;
  std::string text;     // as nft lists it, without "# handle N"
  std::string comment;  // the rule's comment "..." unquoted, else ""
  std::string file;     // the user's file as given, "" when unknown
  int line = 0;         // 1-based line in file, 0 when unknown
};

struct ChainInfo {
  std::string family, table, chain;
  std::string policy;  // "accept"/"drop", "" for non-base chains
  std::string hook;    // "forward", "input", ..., "" for non-base chains
};

// Bounds on what from_listing() reads; beyond them the rest is ignored.
inline constexpr std::size_t kMaxListingBytes = 32u << 20;
inline constexpr std::size_t kMaxListingLineBytes = 256u << 10;
inline constexpr std::size_t kMaxIndexedRules = 200000;
inline constexpr std::size_t kMaxIndexedChains = 20000;
inline constexpr std::size_t kMaxNftNameBytes = 256;  // NFT_NAME_MAXLEN

// Owned by whoever explains verdicts (one per listed ruleset); a value type.
class RuleIndex {
 public:
  // Parses `nft -a -s list ruleset` output.
  static RuleIndex from_listing(std::string_view listing);

  // Sets file/line on the rules of the chains that source_text (a user's
  // .nft file as loaded with `nft -f`) fills, where the rule counts agree.
  void attach_source(std::string_view source_text, const std::string& file_name);

  const IndexedRule* find(std::string_view family, std::string_view table, std::uint64_t handle) const;
  const ChainInfo* find_chain(std::string_view family, std::string_view table, std::string_view chain) const;
  const std::vector<IndexedRule>& rules() const { return rules_; }
  const std::vector<ChainInfo>& chains() const { return chains_; }

 private:
  class ListingParser;

  void add_chain(ChainInfo chain);
  void add_rule(IndexedRule rule);

  std::vector<IndexedRule> rules_;  // in listing order
  std::vector<ChainInfo> chains_;
  std::map<std::string, std::size_t> rule_by_handle_;  // rule_key() -> index in rules_
  std::map<std::string, std::size_t> chain_by_name_;   // chain_key() -> index in chains_
};

}  // namespace meros::net
