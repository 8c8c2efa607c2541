// GitHub Actions output: annotations on the manifest line, the job summary.
#include "report/github.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "golden.h"
#include "sample_report.h"

namespace meros {
namespace {

TEST(GithubAnnotations, OneErrorLineAFailedOrErroredCaseOnItsManifestLine) {
  EXPECT_EQ(github_annotations(testing::sample_report()),
            "::error file=scenarios/web-firewall/scenario.yml,line=42,title=web-firewall%3A lan policy%3A client -> web "
            "22/tcp::expected drop, observed open in 3 ms\n"
            "::error file=scenarios/web-firewall/scenario.yml,line=48,title=web-firewall%3A collect logs (errored)::ssh to "
            "web failed: connection refused\n"
            "::error file=scenarios/special/scenario.yml,title=quotes \"double\" & 'single' <tags>%3A matrix%3A client -> "
            "host 8080/tcp <&\"'>::expected reject, observed timeout after 1000 ms\n");
}

TEST(GithubAnnotations, EscapesWorkflowCommandSyntax) {
  RunReport report = testing::empty_report();
  SuiteResult suite = testing::empty_suite();
  suite.path = "a,b:c.yml";
  CaseResult c = testing::make_case("n", "s", CaseStatus::failed, 1);
  c.message = "100% wrong";
  c.line = 3;
  suite.cases = {c};
  report.suites = {suite};
  EXPECT_EQ(github_annotations(report), "::error file=a%2Cb%3Ac.yml,line=3,title=no-tests%3A n::100%25 wrong\n");
}

TEST(GithubSummary, ScenarioTableAndFailedRows) {
  std::string md = github_step_summary(testing::sample_report());
  EXPECT_NE(md.find("## meros-test run 20240501-120000-ab12\n"), std::string::npos) << md;
  EXPECT_NE(md.find("| ⚠️ errored | web-firewall | scenarios/web-firewall/scenario.yml | 5 | 2 | 1 | 1 | 1 | 42.500 |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| failed | web-firewall | lan policy: client -&gt; web 22/tcp | scenarios/web-firewall/scenario.yml:42 | "
                    "expected drop, observed open in 3 ms |"),
            std::string::npos)
      << md;
  // Markup in names cannot break the table or inject HTML.
  EXPECT_NE(md.find("quotes \"double\" &amp; 'single' &lt;tags&gt;"), std::string::npos) << md;
  EXPECT_EQ(md.find("<tags>"), std::string::npos);
}

TEST(GithubSummary, PassingRunHasNoFailedTable) {
  std::string md = github_step_summary(testing::empty_report());
  EXPECT_EQ(md.find("Failed"), std::string::npos);
  EXPECT_NE(md.find("0 scenario(s), 0 test(s): 0 passed"), std::string::npos);
}

TEST(GithubPublish, WritesOnlyUnderGithubActions) {
  namespace fs = std::filesystem;
  fs::path summary = fs::temp_directory_path() / ("meros-summary-" + std::to_string(::getpid()) + ".md");
  std::ofstream(summary) << "earlier step\n";
  ::setenv("GITHUB_STEP_SUMMARY", summary.c_str(), 1);
  ::unsetenv("GITHUB_ACTIONS");
  std::ostringstream out;
  ASSERT_TRUE(publish_to_github(testing::sample_report(), out).ok());
  EXPECT_EQ(out.str(), "");
  EXPECT_EQ(testing::read_file(summary), "earlier step\n");
  ::setenv("GITHUB_ACTIONS", "true", 1);
  ASSERT_TRUE(publish_to_github(testing::sample_report(), out).ok());
  EXPECT_EQ(out.str(), github_annotations(testing::sample_report()));
  EXPECT_EQ(testing::read_file(summary), "earlier step\n" + github_step_summary(testing::sample_report()));  // appended
  ::unsetenv("GITHUB_ACTIONS");
  ::unsetenv("GITHUB_STEP_SUMMARY");
  fs::remove(summary);
}

}  // namespace
}  // namespace meros
