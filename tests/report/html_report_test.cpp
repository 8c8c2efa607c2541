// The HTML report as text: self-contained, escaped, and holding the parts
// the browser test looks at (tests/report/html_browser_test.sh renders it).
#include "report/html_report.h"

#include <gtest/gtest.h>

#include <regex>

#include "sample_report.h"

namespace meros {
namespace {

RunReport report_with_matrix() {
  RunReport report = testing::sample_report();
  auto& cases = report.suites[0].cases;
  cases.insert(cases.begin() + 1, testing::passing_matrix_row());
  return report;
}

TEST(HtmlReport, LoadsNothingFromOutside) {
  std::string html = render_html(report_with_matrix());
  EXPECT_NE(html.find("Content-Security-Policy\" content=\"default-src 'none'"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos);
  EXPECT_EQ(html.find(" src="), std::string::npos);
  // The only URL is the SVG namespace, which is a name, not a fetch.
  std::regex url("(https?:)?//[A-Za-z]");
  std::string without_namespace = std::regex_replace(html, std::regex("xmlns=\"http://www.w3.org/2000/svg\""), "");
  EXPECT_FALSE(std::regex_search(without_namespace, url));
}

TEST(HtmlReport, MatrixGridColoursEachCell) {
  std::string html = render_html(report_with_matrix());
  EXPECT_NE(html.find("<table class=\"grid\" data-matrix=\"lan policy\">"), std::string::npos);
  EXPECT_NE(html.find("<span class=\"check failed\" data-from=\"client\" data-to=\"web\" data-target=\"22/tcp\" "
                      "data-expected=\"drop\" data-observed=\"open in 3 ms\" data-status=\"failed\""),
            std::string::npos)
      << html;
  EXPECT_NE(html.find("<span class=\"check passed\" data-from=\"client\" data-to=\"web\" data-target=\"80/tcp\""),
            std::string::npos);
}

TEST(HtmlReport, TopologyDrawsBridgesAndAddresses) {
  std::string html = render_html(report_with_matrix());
  EXPECT_NE(html.find("<g class=\"bridge\" data-bridge=\"lan\">"), std::string::npos);
  EXPECT_NE(html.find("lan 10.0.10.0/24"), std::string::npos);
  EXPECT_NE(html.find(">10.0.20.21</text>"), std::string::npos);
  EXPECT_NE(html.find(">isolated, icmp</text>"), std::string::npos);
  EXPECT_NE(html.find("ports 22, 80; from all"), std::string::npos);
  EXPECT_EQ(html.find("100.127."), std::string::npos);  // no management links
}

TEST(HtmlReport, TimelineHasSetupAndSteps) {
  std::string html = render_html(report_with_matrix());
  EXPECT_NE(html.find("<g class=\"bar setup\"><text x=\"0\" y=\"17\">fixtures</text>"), std::string::npos) << html;
  EXPECT_NE(html.find(">web ready</text>"), std::string::npos);
  // The two matrix rows are one bar, coloured by the failing row.
  EXPECT_NE(html.find("<g class=\"bar failed\"><text x=\"0\" y=\"" ), std::string::npos);
  std::size_t first = html.find(">lan policy</text>");
  ASSERT_NE(first, std::string::npos);
  EXPECT_EQ(html.find(">lan policy</text>", first + 1), std::string::npos);
}

TEST(HtmlReport, FailureEvidenceShowsDetailAndFiles) {
  std::string html = render_html(report_with_matrix());
  EXPECT_NE(html.find("<div class=\"evidence failed\" data-case=\"lan policy: client -&gt; web 22/tcp\">"), std::string::npos);
  EXPECT_NE(html.find("scenarios/web-firewall/scenario.yml:42"), std::string::npos);
  EXPECT_NE(html.find("[    1.204] sshd[88]: Server listening"), std::string::npos);
  EXPECT_NE(html.find("<a href=\"web-firewall/web.serial.log\">"), std::string::npos);
}

TEST(HtmlReport, HostileTextIsEscaped) {
  std::string html = render_html(report_with_matrix());
  EXPECT_EQ(html.find("<tags>"), std::string::npos);
  EXPECT_NE(html.find("quotes &quot;double&quot; &amp; &#39;single&#39; &lt;tags&gt;"), std::string::npos);
  EXPECT_EQ(html.find('\x1b'), std::string::npos);
}

}  // namespace
}  // namespace meros
