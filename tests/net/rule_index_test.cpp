// RuleIndex on listing and source text (no root): what `nft -a -s list
// ruleset` prints, what users write, and hostile input.
#include "net/rule_index.h"

#include <gtest/gtest.h>

#include <string>

namespace meros::net {
namespace {

// Real output of nft 1.0.6 for tests/testdata/net/rule-index-mixed.nft
// (rule_index_nft_test.cpp checks the same against a live nft).
constexpr std::string_view kMixedListing = R"(table ip mytable { # handle 1
	counter c1 { # handle 3
	}

	set blocked { # handle 4
		type ipv4_addr
		elements = { 10.0.0.1, 10.0.0.2 }
	}

	map ports { # handle 5
		type inet_service : verdict
	}

	chain input { # handle 1
		type filter hook input priority filter; policy drop;
		tcp dport { 80, 443 } accept comment "web # ports" # handle 7
		ip saddr @blocked drop # handle 8
		udp dport 53 accept # handle 9
		udp dport 54 accept # handle 10
		udp dport { 1, 2 } counter jump helper # handle 12
	}

	chain helper { # handle 2
		counter accept # handle 13
		tcp dport 1 drop # handle 14
	}
}
table bridge b { # handle 2
	chain c { # handle 1
		type filter hook forward priority 0; policy accept;
		ip protocol tcp accept # handle 2
	}
}
table netdev n { # handle 3
	chain x { # handle 1
	}
}
table inet t { # handle 4
	chain c { # handle 1
		type filter hook output priority filter; policy accept;
		meta l4proto udp accept # handle 3
		meta l4proto tcp accept # handle 2
	}
}
)";

int line_of(const RuleIndex& index, std::string_view family, std::string_view table, std::uint64_t handle) {
  const IndexedRule* rule = index.find(family, table, handle);
  EXPECT_NE(rule, nullptr) << family << " " << table << " handle " << handle;
  return rule == nullptr ? -1 : rule->line;
}

TEST(RuleIndexListing, ReadsRulesChainsAndHandlesPerTable) {
  RuleIndex index = RuleIndex::from_listing(kMixedListing);
  ASSERT_EQ(index.rules().size(), 10u);
  const IndexedRule* rule = index.find("ip", "mytable", 12);
  ASSERT_NE(rule, nullptr);
  EXPECT_EQ(rule->chain, "input");
  EXPECT_EQ(rule->text, "udp dport { 1, 2 } counter jump helper");
  EXPECT_EQ(rule->line, 0);
  EXPECT_EQ(rule->file, "");
  // Handle 2 exists in two tables and means a different rule in each.
  EXPECT_EQ(index.find("bridge", "b", 2)->text, "ip protocol tcp accept");
  EXPECT_EQ(index.find("inet", "t", 2)->text, "meta l4proto tcp accept");
  EXPECT_EQ(index.find("ip", "mytable", 2), nullptr);  // a chain's handle, not a rule's
  EXPECT_EQ(index.find("ip", "mytable", 4), nullptr);  // a set's handle
  EXPECT_EQ(index.find("inet", "mytable", 7), nullptr);
}

TEST(RuleIndexListing, ExtractsCommentsAndKeepsThemInTheText) {
  RuleIndex index = RuleIndex::from_listing(kMixedListing);
  const IndexedRule* rule = index.find("ip", "mytable", 7);
  ASSERT_NE(rule, nullptr);
  EXPECT_EQ(rule->text, R"(tcp dport { 80, 443 } accept comment "web # ports")");
  EXPECT_EQ(rule->comment, "web # ports");
  EXPECT_EQ(index.find("ip", "mytable", 8)->comment, "");
}

TEST(RuleIndexListing, SetsMapsAndObjectsAreNotChains) {
  RuleIndex index = RuleIndex::from_listing(kMixedListing);
  EXPECT_EQ(index.find_chain("ip", "mytable", "blocked"), nullptr);
  EXPECT_EQ(index.find_chain("ip", "mytable", "ports"), nullptr);
  EXPECT_EQ(index.find_chain("ip", "mytable", "c1"), nullptr);
  EXPECT_EQ(index.chains().size(), 5u);
  for (const auto& rule : index.rules()) EXPECT_EQ(rule.text.find("elements"), std::string::npos);
}

TEST(RuleIndexListing, ChainPolicyAndHook) {
  RuleIndex index = RuleIndex::from_listing(kMixedListing);
  const ChainInfo* input = index.find_chain("ip", "mytable", "input");
  ASSERT_NE(input, nullptr);
  EXPECT_EQ(input->policy, "drop");
  EXPECT_EQ(input->hook, "input");
  const ChainInfo* helper = index.find_chain("ip", "mytable", "helper");
  ASSERT_NE(helper, nullptr);
  EXPECT_EQ(helper->policy, "");
  EXPECT_EQ(helper->hook, "");
  EXPECT_EQ(index.find_chain("netdev", "n", "x")->policy, "");
}

TEST(RuleIndexListing, QuotedNamesAndMultiLineSetBodies) {
  RuleIndex index = RuleIndex::from_listing(R"(table inet "my table" { # handle 9
	set s { # handle 3
		type ipv4_addr
		elements = { 10.0.0.1,
			     10.0.0.2 comment "a } brace" }
	}
	flowtable ft { # handle 4
		hook ingress priority filter
		devices = { "lo" }
	}
	chain "in put" { # handle 1
		type filter hook prerouting priority -300; policy accept;
		iifname "x{" accept # handle 5
	}
}
)");
  const IndexedRule* rule = index.find("inet", "my table", 5);
  ASSERT_NE(rule, nullptr);
  EXPECT_EQ(rule->chain, "in put");
  EXPECT_EQ(rule->text, R"(iifname "x{" accept)");
  EXPECT_EQ(index.find_chain("inet", "my table", "in put")->hook, "prerouting");
  EXPECT_EQ(index.rules().size(), 1u);
}

// The source file of kMixedListing, with its line numbers.
constexpr std::string_view kMixedSource = R"(# A ruleset with most of what users write.
flush ruleset
define WEB = { 80, 443 }

table ip mytable {
  set blocked { type ipv4_addr; elements = { 10.0.0.1, 10.0.0.2 } }
  map ports {
    type inet_service : verdict
  }
  counter c1 { }
  chain input {
    type filter hook input priority 0
    policy drop;
    tcp dport $WEB accept comment "web # ports"
    ip saddr @blocked \
       drop
    udp dport 53 accept; udp dport 54 accept
    udp dport { 1, 2 } counter jump helper
  }
  chain helper { counter accept; }
}
table bridge b { chain c { type filter hook forward priority 0; ip protocol tcp accept; }; }
add table netdev n
add chain netdev n x
add rule ip mytable helper tcp dport 1 drop
add table inet t
add chain inet t c { type filter hook output priority 0; policy accept; }
add rule inet t c meta l4proto tcp accept
insert rule inet t c meta l4proto udp accept
)";

TEST(RuleIndexSource, LinesOfEveryKindOfStatement) {
  RuleIndex index = RuleIndex::from_listing(kMixedListing);
  index.attach_source(kMixedSource, "policies/mixed.nft");
  EXPECT_EQ(line_of(index, "ip", "mytable", 7), 14);   // after define, sets, map, counter, split config
  EXPECT_EQ(line_of(index, "ip", "mytable", 8), 15);   // continued with '\'
  EXPECT_EQ(line_of(index, "ip", "mytable", 9), 17);   // two rules on one line
  EXPECT_EQ(line_of(index, "ip", "mytable", 10), 17);
  EXPECT_EQ(line_of(index, "ip", "mytable", 12), 18);  // anonymous set: one rule
  EXPECT_EQ(line_of(index, "ip", "mytable", 13), 20);  // one-line chain
  EXPECT_EQ(line_of(index, "ip", "mytable", 14), 25);  // add rule
  EXPECT_EQ(line_of(index, "bridge", "b", 2), 22);     // one-line table
  EXPECT_EQ(index.find("ip", "mytable", 7)->file, "policies/mixed.nft");
}

TEST(RuleIndexSource, InsertMakesTheChainsOrderUnknown) {
  RuleIndex index = RuleIndex::from_listing(kMixedListing);
  index.attach_source(kMixedSource, "policies/mixed.nft");
  EXPECT_EQ(line_of(index, "inet", "t", 2), 0);
  EXPECT_EQ(line_of(index, "inet", "t", 3), 0);
  EXPECT_EQ(index.find("inet", "t", 3)->file, "");
}

constexpr std::string_view kSmallListing = R"(table inet f { # handle 1
	chain fwd { # handle 1
		type filter hook forward priority filter; policy drop;
		tcp dport 80 accept # handle 2
		tcp dport 443 accept # handle 3
	}
	chain out { # handle 4
		type filter hook output priority filter; policy accept;
		tcp dport 22 accept # handle 5
	}
}
)";

TEST(RuleIndexSource, MismatchedCountsGiveLineZeroForThatChainOnly) {
  RuleIndex index = RuleIndex::from_listing(kSmallListing);
  index.attach_source(R"(table inet f {
  chain fwd {
    type filter hook forward priority 0; policy drop;
    tcp dport 80 accept
  }
  chain out {
    type filter hook output priority 0; policy accept;
    tcp dport 22 accept
  }
}
)", "f.nft");
  EXPECT_EQ(line_of(index, "inet", "f", 2), 0);
  EXPECT_EQ(line_of(index, "inet", "f", 3), 0);
  EXPECT_EQ(line_of(index, "inet", "f", 5), 8);
}

TEST(RuleIndexSource, OtherTablesAndFamiliesAreLeftAlone) {
  RuleIndex index = RuleIndex::from_listing(kSmallListing);
  // Same names, family ip (the default when none is written).
  index.attach_source("table f {\n chain fwd {\n tcp dport 80 accept\n tcp dport 443 accept\n }\n}\n", "ip.nft");
  EXPECT_EQ(line_of(index, "inet", "f", 2), 0);
}

TEST(RuleIndexSource, AddRuleFormWithFlushAndContinuations) {
  RuleIndex index = RuleIndex::from_listing(kSmallListing);
  index.attach_source(R"(add table inet f
add chain inet f fwd { type filter hook forward priority 0; policy drop; }
add rule inet f fwd tcp dport 1 accept
flush chain inet f fwd
add rule inet f fwd tcp dport \
    80 accept
add rule inet f fwd tcp dport 443 accept # a comment \ not a continuation
add chain inet f out { type filter hook output priority 0; policy accept; }
add rule inet f out position 0 tcp dport 22 accept
)", "add.nft");
  EXPECT_EQ(line_of(index, "inet", "f", 2), 5);
  EXPECT_EQ(line_of(index, "inet", "f", 3), 7);
  EXPECT_EQ(line_of(index, "inet", "f", 5), 0);  // positioned: order unknown
}

TEST(RuleIndexSource, IncludedRulesMakeCountsDiffer) {
  RuleIndex index = RuleIndex::from_listing(kSmallListing);
  index.attach_source("table inet f {\n chain fwd {\n include \"more.nft\"\n tcp dport 80 accept\n tcp dport 443 accept\n }\n}\n",
                      "inc.nft");
  EXPECT_EQ(line_of(index, "inet", "f", 2), 0);
}

TEST(RuleIndexSource, QuotedNamesAndMultiLineAnonymousSets) {
  RuleIndex index = RuleIndex::from_listing(R"(table inet "my t" { # handle 1
	chain "c 1" { # handle 1
		tcp dport { 80, 443 } accept # handle 2
		udp dport 53 accept # handle 3
	}
}
)");
  index.attach_source("table inet \"my t\" {\n  chain \"c 1\" {\n    tcp dport {\n      80,\n      443\n    } accept\n    udp dport 53 accept\n  }\n}\n",
                      "q.nft");
  EXPECT_EQ(line_of(index, "inet", "my t", 2), 3);
  EXPECT_EQ(line_of(index, "inet", "my t", 3), 7);
}

// ---- hostile input ----------------------------------------------------------

TEST(RuleIndexHostile, AMegabyteOfOpeningBraces) {
  std::string braces(1u << 20, '{');
  RuleIndex index = RuleIndex::from_listing(braces);
  EXPECT_TRUE(index.rules().empty());
  index.attach_source(braces, "x.nft");
  std::string lines;
  for (int i = 0; i < (1 << 19); ++i) lines += "{\n";
  EXPECT_TRUE(RuleIndex::from_listing(lines).rules().empty());
  index.attach_source(lines, "x.nft");
}

TEST(RuleIndexHostile, UnbalancedBracesAndGarbageAroundRealRules) {
  std::string listing = "}}}\n} # handle 1\n# handle 2\ntable inet\ntable inet f {\n chain c { # handle 1\n x # handle 9\n }}}}\n";
  listing += std::string(kSmallListing);
  RuleIndex index = RuleIndex::from_listing(listing);
  EXPECT_NE(index.find("inet", "f", 9), nullptr);
  EXPECT_EQ(index.find("inet", "f", 2)->text, "tcp dport 80 accept");
  index.attach_source("table inet f { chain fwd { } } } } {{ chain x {\n", "bad.nft");
  index.attach_source("\"unterminated\ntable inet f {\n chain fwd {\n \"a\n b\n", "bad2.nft");
  EXPECT_EQ(line_of(index, "inet", "f", 2), 4);  // the second file's two rules: lines 4 and 5
}

TEST(RuleIndexHostile, HugeLinesAreSkippedNotStored) {
  std::string listing = "table inet f {\n chain c {\n";
  listing += std::string(kMaxListingLineBytes + 1, 'a') + " # handle 1\n";
  listing += " tcp dport 1 accept # handle 2\n }\n}\n";
  RuleIndex index = RuleIndex::from_listing(listing);
  EXPECT_EQ(index.find("inet", "f", 1), nullptr);
  EXPECT_NE(index.find("inet", "f", 2), nullptr);
}

TEST(RuleIndexHostile, RuleCountAndHandleBounds) {
  std::string listing = "table ip t {\n chain c {\n";
  for (std::size_t i = 0; i < kMaxIndexedRules + 10; ++i) listing += "accept # handle " + std::to_string(i) + "\n";
  listing += "accept # handle 99999999999999999999999\naccept # handle 5\naccept # handle -1\n}\n}\n";
  RuleIndex index = RuleIndex::from_listing(listing);
  EXPECT_EQ(index.rules().size(), kMaxIndexedRules);
}

}  // namespace
}  // namespace meros::net
