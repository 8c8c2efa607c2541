// Attribution on real VMs (docs/policy-truth.md): in the bundled router
// scenario each matrix row names the rule or chain policy that decided it,
// traced inside the router guest, with the rule's line in the user's file,
// and each row's rule hits are its own.
#include <nlohmann/json.hpp>

#include "e2e_support.h"

namespace {

using namespace e2e;

bool hits_line(const nlohmann::json& row, int line) {
  for (const auto& hit : row["extra"]["nft_rules_hit"])
    if (hit.value("file", "") == "policies/router.nft" && hit.value("line", 0) == line) return true;
  return false;
}

TEST_F(EndToEnd, TheRouterScenariosRowsNameTheRuleThatDecidedThem) {
  fs::path json = out_ / "report.json";
  auto result = meros("scenarios/router-firewall --json " + json.string() + " --artifacts " + (out_ / "artifacts").string());
  ASSERT_EQ(result.exit_code, 0) << result.text;
  auto report = nlohmann::json::parse(read_file(json));

  const auto* rejected = find_case(report, "forwarding policy: client -> server 443/tcp reject");
  ASSERT_NE(rejected, nullptr);
  const auto& by_rule = (*rejected)["extra"]["decided_by"];
  EXPECT_EQ(by_rule["where"], "router");
  EXPECT_EQ(by_rule["verdict"], "reject");
  EXPECT_EQ(by_rule["file"], "policies/router.nft");
  EXPECT_EQ(by_rule["line"], 14);
  EXPECT_EQ(by_rule["text"],
            "rejected by router rule \"iifname \"eth0\" oifname \"eth1\" tcp dport 443 reject with tcp reset\" (policies/router.nft:14)");

  const auto* dropped = find_case(report, "forwarding policy: client -> server 22/tcp drop");
  ASSERT_NE(dropped, nullptr);
  const auto& by_policy = (*dropped)["extra"]["decided_by"];
  EXPECT_EQ(by_policy["policy"], true);
  EXPECT_EQ(by_policy["chain"], "forward");
  EXPECT_EQ(by_policy["verdict"], "drop");
  EXPECT_EQ(by_policy["text"], "dropped by the policy of router chain forward (table inet router)");

  // Rows batched together keep their own hits: the 80/tcp row's rule is
  // its alone, and the reply of an allowed row met the established rule.
  const auto* allowed = find_case(report, "forwarding policy: client -> server 80/tcp allow");
  ASSERT_NE(allowed, nullptr);
  EXPECT_EQ((*allowed)["extra"]["decided_by"]["line"], 11);
  EXPECT_TRUE(hits_line(*allowed, 11));
  EXPECT_TRUE(hits_line(*allowed, 10)) << (*allowed)["extra"]["nft_rules_hit"].dump();
  EXPECT_FALSE(hits_line(*rejected, 11));
  EXPECT_FALSE(hits_line(*allowed, 14));
}

}  // namespace
