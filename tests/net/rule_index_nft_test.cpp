// RuleIndex against the real nft (label "root;net"): a user's file is loaded
// with `nft -f` in a throw-away namespace, listed with `nft -a -s list
// ruleset`, and each rule's file:line must point at its line in the file.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "golden.h"
#include "net/netns.h"
#include "net/rule_index.h"
#include "root_support.h"

namespace meros::net {
namespace {

namespace fs = std::filesystem;

class RuleIndexNftTest : public test::HostUnchangedTest {
 protected:
  // The listing of `file` loaded alone into a fresh namespace.
  std::string listing_of(const fs::path& file) {
    auto ns = NetworkNamespace::create(test::test_prefix() + "rules");
    if (!ns) {
      ADD_FAILURE() << ns.error().message;
      return "";
    }
    std::string exec = "ip netns exec " + ns->name() + " nft ";
    std::string loaded = test::capture(exec + "-f " + file.string());
    EXPECT_EQ(loaded, "") << "nft -f " << file;
    std::string listing = test::capture(exec + "-a -s list ruleset");
    EXPECT_EQ(listing.find("exit status"), std::string::npos) << listing;
    return listing;
  }
};

const IndexedRule* rule_with_text(const RuleIndex& index, std::string_view text) {
  for (const auto& rule : index.rules())
    if (rule.text.find(text) != std::string::npos) return &rule;
  ADD_FAILURE() << "no listed rule contains " << text;
  return nullptr;
}

TEST_F(RuleIndexNftTest, BundledRouterPolicyRulesPointAtTheirLines) {
  fs::path file = fs::path(MEROS_SOURCE_DIR) / "scenarios/router-firewall/policies/router.nft";
  RuleIndex index = RuleIndex::from_listing(listing_of(file));
  index.attach_source(test::read_text(file), "policies/router.nft");
  const IndexedRule* reject = rule_with_text(index, "tcp dport 443 reject with tcp reset");
  ASSERT_NE(reject, nullptr);
  EXPECT_EQ(reject->file, "policies/router.nft");
  EXPECT_EQ(reject->line, 14);
  EXPECT_EQ(reject->chain, "forward");
  EXPECT_EQ(index.find(reject->family, reject->table, reject->handle), reject);
  const IndexedRule* established = rule_with_text(index, "ct state established,related accept");
  ASSERT_NE(established, nullptr);
  EXPECT_EQ(established->line, 10);
  const ChainInfo* forward = index.find_chain("inet", "router", "forward");
  ASSERT_NE(forward, nullptr);
  EXPECT_EQ(forward->policy, "drop");
  EXPECT_EQ(forward->hook, "forward");
  for (const auto& rule : index.rules()) EXPECT_NE(rule.line, 0) << rule.text;
}

TEST_F(RuleIndexNftTest, EveryKindOfStatementLinesUpWithWhatNftLoaded) {
  fs::path file = test::net_testdata("rule-index-mixed.nft");
  RuleIndex index = RuleIndex::from_listing(listing_of(file));
  index.attach_source(test::read_text(file), "mixed.nft");
  auto line_of = [&](std::string_view text) {
    const IndexedRule* rule = rule_with_text(index, text);
    return rule == nullptr ? -1 : rule->line;
  };
  EXPECT_EQ(line_of("accept comment \"web # ports\""), 14);
  EXPECT_EQ(line_of("ip saddr @blocked drop"), 15);
  EXPECT_EQ(line_of("udp dport 53 accept"), 17);
  EXPECT_EQ(line_of("udp dport 54 accept"), 17);
  EXPECT_EQ(line_of("counter jump helper"), 18);
  EXPECT_EQ(line_of("tcp dport 1 drop"), 25);
  EXPECT_EQ(line_of("ip protocol tcp accept"), 22);
  EXPECT_EQ(line_of("meta l4proto udp accept"), 0);  // inserted: order unknown
  EXPECT_EQ(index.rules().size(), 10u);
}

}  // namespace
}  // namespace meros::net
