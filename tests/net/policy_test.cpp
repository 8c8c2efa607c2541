#include "net/policy.h"

#include <gtest/gtest.h>

#include "golden.h"
#include "net/nft_batch.h"
#include "net/nftables.h"
#include "scenarios.h"

namespace meros::net {
namespace {

Policy policy_of(const Scenario& scenario) {
  auto topology = plan_topology(scenario, "r1");
  if (!topology) ADD_FAILURE() << topology.error().message;
  return plan_policy(scenario, *topology);
}

std::vector<Cidr> cidrs(std::initializer_list<const char*> texts) {
  std::vector<Cidr> out;
  for (const char* text : texts) out.push_back(*parse_cidr_or_address(text));
  return out;
}

std::vector<std::string> formatted(const std::vector<AddressRange>& ranges) {
  std::vector<std::string> out;
  for (const auto& range : ranges) out.push_back(format_range(range));
  return out;
}

TEST(PolicyGolden, IsolatedOnly) { test::expect_golden(render_nft(policy_of(test::isolated_only())), "isolated-only.nft"); }
TEST(PolicyGolden, HostAccessWithoutFilters) {
  test::expect_golden(render_nft(policy_of(test::host_access_open())), "host-access-open.nft");
}
TEST(PolicyGolden, HostAccessWithPortsIpsAndNoIcmp) {
  test::expect_golden(render_nft(policy_of(test::host_access_filtered())), "host-access-filtered.nft");
}
TEST(PolicyGolden, TwoHostAccessBridges) {
  test::expect_golden(render_nft(policy_of(test::two_host_access())), "two-host-access.nft");
}
TEST(PolicyGolden, Mixed) { test::expect_golden(render_nft(policy_of(test::mixed())), "mixed.nft"); }

TEST(Policy, EveryRuleHasACommentNamingItsBridgeOrPurpose) {
  Policy policy = policy_of(test::mixed());
  for (const auto& rule : policy.rules) {
    EXPECT_FALSE(rule.comment.empty());
    bool names_bridge = rule.comment.rfind("bridge ", 0) == 0;
    bool general = rule.comment.find("management") != std::string::npos || rule.comment.find("return traffic") != std::string::npos ||
                   rule.comment == "the host's own traffic";
    EXPECT_TRUE(names_bridge || general) << rule.comment;
  }
}

TEST(Policy, IsolatedBridgesGetNoAllowRules) {
  Policy policy = policy_of(test::mixed());
  for (const auto& rule : policy.rules) {
    if (rule.comment.rfind("bridge dmz:", 0) != 0) continue;
    bool same_switch = rule.comment == "bridge dmz: one switch";
    EXPECT_TRUE(rule.verdict == Verdict::drop || same_switch) << rule.comment;
  }
}

TEST(Policy, TheStartingBridgeDecidesInterBridgeTraffic) {
  Policy policy = policy_of(test::two_host_access());
  // lan -> app: lan's allowed_ports (80); app -> lan: any port, app's allowed_ips.
  bool lan_to_app = false, app_to_lan = false;
  for (const auto& rule : policy.rules) {
    if (rule.chain != Chain::forward || rule.proto != Proto::tcp) continue;
    if (rule.iifnames == std::vector<std::string>{"br-lan"}) {
      EXPECT_EQ(rule.oifnames, std::vector<std::string>{"br-app"});
      EXPECT_EQ(rule.dports, std::vector<int>{80});
      EXPECT_TRUE(rule.sources.empty());
      lan_to_app = true;
    }
    if (rule.iifnames == std::vector<std::string>{"br-app"}) {
      EXPECT_EQ(rule.oifnames, std::vector<std::string>{"br-lan"});
      EXPECT_TRUE(rule.dports.empty());
      EXPECT_EQ(formatted(rule.sources), std::vector<std::string>{"10.0.30.0-10.0.30.191"});
      app_to_lan = true;
    }
  }
  EXPECT_TRUE(lan_to_app && app_to_lan);
}

TEST(Policy, EmptyAllowedPortsAllowNoTcpOrUdp) {
  Scenario scenario = test::host_access_open();
  scenario.bridges[0].allowed_ports = std::vector<int>{};
  for (const auto& rule : policy_of(scenario).rules) EXPECT_TRUE(rule.proto != Proto::tcp && rule.proto != Proto::udp);
}

TEST(Policy, EmptyAllowedIpsAllowNothing) {
  Scenario scenario = test::host_access_open();
  scenario.bridges[0].allowed_ips = std::vector<Cidr>{};
  for (const auto& rule : policy_of(scenario).rules) EXPECT_FALSE(rule.proto.has_value()) << rule.comment;
}

TEST(MergeCidrs, SortsMergesAndDropsContainedBlocks) {
  EXPECT_EQ(formatted(merge_cidrs(cidrs({"10.0.10.200", "10.0.10.0/28"}))), (std::vector<std::string>{"10.0.10.0/28", "10.0.10.200"}));
  EXPECT_EQ(formatted(merge_cidrs(cidrs({"10.0.0.0/25", "10.0.0.128/25"}))), std::vector<std::string>{"10.0.0.0/24"});
  EXPECT_EQ(formatted(merge_cidrs(cidrs({"10.0.0.0/8", "10.1.0.0/16"}))), std::vector<std::string>{"10.0.0.0/8"});
  EXPECT_EQ(formatted(merge_cidrs(cidrs({"10.0.10.16/28", "10.0.10.32/27"}))), std::vector<std::string>{"10.0.10.16-10.0.10.63"});
  EXPECT_EQ(formatted(merge_cidrs(cidrs({"255.255.255.255", "0.0.0.0/8"}))), (std::vector<std::string>{"0.0.0.0/8", "255.255.255.255"}));
  EXPECT_TRUE(merge_cidrs(cidrs({"0.0.0.0/0", "10.0.0.0/8"})).empty()) << "everything: no condition at all";
}

TEST(RangePrefix, RecognisesExactBlocksOnly) {
  EXPECT_EQ(range_prefix({*parse_ipv4("10.0.0.0"), *parse_ipv4("10.0.0.255")}), 24);
  EXPECT_EQ(range_prefix({*parse_ipv4("10.0.0.5"), *parse_ipv4("10.0.0.5")}), 32);
  EXPECT_EQ(range_prefix({*parse_ipv4("10.0.0.16"), *parse_ipv4("10.0.0.63")}), -1);
  EXPECT_EQ(range_prefix({*parse_ipv4("0.0.0.0"), *parse_ipv4("255.255.255.255")}), 0);
}

TEST(NftIfnameOrder, ComparesNamesAsHostEndianIntegers) {
  // The last bytes weigh most: longer names sort after shorter ones.
  EXPECT_TRUE(nft_ifname_less("web-m", "client-m"));
  EXPECT_TRUE(nft_ifname_less("br-lan", "br-app"));  // 'n' < 'p' in the last byte
  EXPECT_FALSE(nft_ifname_less("br-app", "br-lan"));
  EXPECT_FALSE(nft_ifname_less("br-lan", "br-lan"));
}

TEST(PolicyBatch, HasOneAcknowledgedMessagePerObject) {
  Policy policy = policy_of(test::host_access_filtered());
  auto batch = PolicyBatch::build(policy, 100);
  ASSERT_TRUE(batch) << batch.error().message;
  // 1 table message, 2 chains, one message per rule, two (set + elements)
  // per anonymous set.
  std::size_t sets = 0;
  for (const auto& rule : policy.rules)
    sets += (rule.iifnames.size() > 1) + (rule.oifnames.size() > 1) + (rule.sources.size() > 1) + (rule.dports.size() > 1);
  EXPECT_EQ(batch->message_count(), 3 + policy.rules.size() + 2 * sets);
  EXPECT_EQ(batch->describe(100), "batch begin");
  EXPECT_EQ(batch->describe(101), "create table inet meros");
  EXPECT_EQ(batch->describe(102), "create chain forward");
  auto replacing = PolicyBatch::build(policy, 100, true);
  ASSERT_TRUE(replacing);
  EXPECT_EQ(replacing->message_count(), batch->message_count() + 2);
  EXPECT_EQ(replacing->describe(102), "replace table inet meros");
  EXPECT_FALSE(batch->pages().empty());
}

TEST(RuleCounters, ParsesTheGeneratedTablesRulesFromAJsonListing) {
  const char* listing = R"({"nftables": [
    {"metainfo": {"version": "1.0.6", "json_schema_version": 1}},
    {"table": {"family": "inet", "name": "meros", "handle": 1}},
    {"rule": {"family": "inet", "table": "meros", "chain": "input", "handle": 7, "comment": "bridge lan: allow_icmp",
              "expr": [{"match": {"op": "==", "left": {"meta": {"key": "iifname"}}, "right": "br-lan"}},
                       {"counter": {"packets": 3, "bytes": 252}}, {"accept": null}]}},
    {"rule": {"family": "inet", "table": "user", "chain": "input", "handle": 2,
              "expr": [{"counter": {"packets": 9, "bytes": 9}}]}}]})";
  auto counters = parse_rule_counters(listing);
  ASSERT_TRUE(counters) << counters.error().message;
  ASSERT_EQ(counters->size(), 1u);
  EXPECT_EQ((*counters)[0].chain, "input");
  EXPECT_EQ((*counters)[0].handle, 7u);
  EXPECT_EQ((*counters)[0].comment, "bridge lan: allow_icmp");
  EXPECT_EQ((*counters)[0].packets, 3u);
  EXPECT_EQ((*counters)[0].bytes, 252u);
  EXPECT_EQ(rule_counters_json(*counters),
            "[\n  {\n    \"bytes\": 252,\n    \"chain\": \"input\",\n    \"comment\": \"bridge lan: allow_icmp\",\n"
            "    \"handle\": 7,\n    \"packets\": 3\n  }\n]");
  EXPECT_FALSE(parse_rule_counters("not json"));
}

TEST(FakeNftables, ListsWhatWasApplied) {
  FakeNftables nftables;
  Policy policy = policy_of(test::isolated_only());
  ASSERT_TRUE(nftables.apply(policy));
  EXPECT_EQ(*nftables.list_ruleset(ListFormat::text), render_nft(policy));
}

}  // namespace
}  // namespace meros::net
