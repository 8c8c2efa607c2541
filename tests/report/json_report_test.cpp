#include "report/json_report.h"

#include <gtest/gtest.h>

#include "golden.h"
#include "sample_report.h"

namespace meros {
namespace {

using nlohmann::json;

TEST(JsonReport, SampleReportMatchesGolden) {
  testing::expect_matches_golden(render_json(testing::sample_report()), "sample.json");
}

TEST(JsonReport, EmptyRunMatchesGolden) {
  testing::expect_matches_golden(render_json(testing::empty_report()), "empty.json");
}

TEST(JsonReport, RenderedTextParsesBackToTheModel) {
  json parsed = json::parse(render_json(testing::sample_report()));
  EXPECT_EQ(parsed["version"], kJsonReportVersion);
  EXPECT_EQ(parsed["run_id"], "20240501-120000-ab12");
  EXPECT_EQ(parsed["summary"]["tests"], 6);
  EXPECT_EQ(parsed["summary"]["flaky"], 1);
  EXPECT_EQ(parsed["properties"][1]["name"], "meros-test version");
}

TEST(JsonReport, CarriesEverythingJunitCannot) {
  json report = to_json(testing::sample_report());
  const json& failed = report["suites"][0]["cases"][1];
  EXPECT_EQ(failed["status"], "failed");
  EXPECT_EQ(failed["expected"], "drop");
  EXPECT_EQ(failed["observed"], "open in 3 ms");
  EXPECT_EQ(failed["time"], 0.003);
  EXPECT_EQ(failed["extra"]["nft_counters"][0]["packets"], 1);
  EXPECT_EQ(failed["attachments"][1], "web-firewall/nft-ruleset.txt");
  const json& flaky = report["suites"][0]["cases"][2];
  EXPECT_EQ(flaky["flaky"], true);
  EXPECT_EQ(flaky["retries"], 2);
  ASSERT_EQ(flaky["attempts"].size(), 2u);
  EXPECT_EQ(flaky["attempts"][0]["status"], "failed");
  EXPECT_EQ(flaky["attempts"][0]["message"], "exit 7, expected exit 0");
}

TEST(JsonReport, KeepsControlCharactersEscaped) {
  json report = to_json(testing::sample_report());
  EXPECT_EQ(report["suites"][1]["system_err"], "console bell \a rang\r\n");
}

TEST(JsonReport, ReplacesMalformedUtf8InsteadOfThrowing) {
  std::string text = render_json(testing::sample_report());
  EXPECT_NE(text.find("invalid utf-8 \xEF\xBF\xBD\xEF\xBF\xBD here"), std::string::npos);
}

TEST(JsonReport, EmptyRun) {
  json report = to_json(testing::empty_report());
  EXPECT_TRUE(report["suites"].empty());
  EXPECT_EQ(report["summary"]["tests"], 0);
}

}  // namespace
}  // namespace meros
