#include "report/junit.h"

#include <gtest/gtest.h>
#include <tinyxml2.h>

#include <string>

#include "golden.h"
#include "sample_report.h"

namespace meros {
namespace {

using tinyxml2::XMLDocument;
using tinyxml2::XMLElement;

// Parses rendered XML; fails the test when it is not well-formed.
void parse(XMLDocument& doc, const std::string& xml) {
  ASSERT_EQ(doc.Parse(xml.c_str(), xml.size()), tinyxml2::XML_SUCCESS) << doc.ErrorStr();
}

const XMLElement* find_case(const XMLDocument& doc, const std::string& name) {
  for (const XMLElement* suite = doc.RootElement()->FirstChildElement("testsuite"); suite;
       suite = suite->NextSiblingElement("testsuite")) {
    for (const XMLElement* c = suite->FirstChildElement("testcase"); c;
         c = c->NextSiblingElement("testcase")) {
      if (name == c->Attribute("name")) return c;
    }
  }
  return nullptr;
}

std::string child_text(const XMLElement* element, const char* child) {
  const XMLElement* found = element->FirstChildElement(child);
  return found && found->GetText() ? found->GetText() : "";
}

TEST(Junit, SampleReportMatchesGolden) {
  testing::expect_matches_golden(render_junit(testing::sample_report()), "sample.xml");
}

TEST(Junit, EmptyRunMatchesGolden) {
  testing::expect_matches_golden(render_junit(testing::empty_report()), "empty.xml");
}

TEST(Junit, RenderingIsDeterministic) {
  EXPECT_EQ(render_junit(testing::sample_report()), render_junit(testing::sample_report()));
}

TEST(Junit, RootAndSuiteCounts) {
  XMLDocument doc;
  parse(doc, render_junit(testing::sample_report()));
  const XMLElement* root = doc.RootElement();
  EXPECT_STREQ(root->Name(), "testsuites");
  EXPECT_EQ(root->IntAttribute("tests"), 6);
  EXPECT_EQ(root->IntAttribute("failures"), 2);
  EXPECT_EQ(root->IntAttribute("errors"), 1);
  EXPECT_EQ(root->Attribute("skipped"), nullptr);  // not allowed by junit-10.xsd
  EXPECT_STREQ(root->Attribute("time"), "45.750");
  const XMLElement* suite = root->FirstChildElement("testsuite");
  EXPECT_STREQ(suite->Attribute("name"), "web-firewall");
  EXPECT_EQ(suite->IntAttribute("tests"), 5);
  EXPECT_EQ(suite->IntAttribute("skipped"), 1);
  EXPECT_STREQ(suite->Attribute("hostname"), "ci-runner-7");
  EXPECT_STREQ(suite->Attribute("timestamp"), "2024-05-01T12:00:01Z");
  EXPECT_STREQ(suite->Attribute("file"), "scenarios/web-firewall/scenario.yml");
}

// A step that printed more than it keeps says so in system-out, whatever
// part of its stdout the 64 KiB shown here covers.
TEST(Junit, SaysHowMuchOutputWasNotKept) {
  RunReport report = testing::sample_report();
  CaseResult& c = report.suites[0].cases[0];
  c.stdout_dropped = 123456;
  c.stderr_dropped = 7;
  XMLDocument doc;
  parse(doc, render_junit(report));
  const XMLElement* rendered = find_case(doc, c.name);
  ASSERT_NE(rendered, nullptr);
  EXPECT_NE(child_text(rendered, "system-out").find("output: 123456 bytes of stdout and 7 bytes of stderr not kept\n"),
            std::string::npos)
      << child_text(rendered, "system-out");
}

TEST(Junit, FailedCaseIsAFailureWithTheVerdict) {
  XMLDocument doc;
  parse(doc, render_junit(testing::sample_report()));
  const XMLElement* c = find_case(doc, "lan policy: client -> web 22/tcp");
  ASSERT_NE(c, nullptr);
  const XMLElement* failure = c->FirstChildElement("failure");
  ASSERT_NE(failure, nullptr);
  EXPECT_EQ(c->FirstChildElement("error"), nullptr);
  EXPECT_STREQ(failure->Attribute("message"), "expected drop, observed open in 3 ms");
  EXPECT_STREQ(failure->Attribute("type"), "matrix");  // the step kind
  std::string text = failure->GetText();
  EXPECT_EQ(text.rfind("expected: drop\nobserved: open in 3 ms\n\nprobe: client", 0), 0u) << text;
  // Relative to the working directory, as GitLab resolves it.
  EXPECT_NE(child_text(c, "system-out").find("[[ATTACHMENT|reports/artifacts/web-firewall/web.serial.log]]"),
            std::string::npos);
}

TEST(Junit, ErroredCaseIsAnError) {
  XMLDocument doc;
  parse(doc, render_junit(testing::sample_report()));
  const XMLElement* c = find_case(doc, "collect logs");
  ASSERT_NE(c, nullptr);
  const XMLElement* error = c->FirstChildElement("error");
  ASSERT_NE(error, nullptr);
  EXPECT_EQ(c->FirstChildElement("failure"), nullptr);
  EXPECT_STREQ(error->Attribute("type"), "pull");
  EXPECT_NE(child_text(c, "system-err").find("Connection refused"), std::string::npos);
}

TEST(Junit, SkippedCaseCarriesItsReason) {
  XMLDocument doc;
  parse(doc, render_junit(testing::sample_report()));
  const XMLElement* skipped = find_case(doc, "cut the lan link")->FirstChildElement("skipped");
  ASSERT_NE(skipped, nullptr);
  EXPECT_STREQ(skipped->Attribute("message"), "not run: an earlier step errored");
}

TEST(Junit, FlakyCaseRecordsAttemptsInSystemOut) {
  XMLDocument doc;
  parse(doc, render_junit(testing::sample_report()));
  const XMLElement* c = find_case(doc, "web comes back after restart");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->FirstChildElement("failure"), nullptr);
  EXPECT_EQ(child_text(c, "system-out"),
            "ok\n"
            "--- attempts ---\n"
            "attempt 1 of 3: failed in 1.250 s: exit 7, expected exit 0\n"
            "attempt 2 of 3: passed in 0.950 s\n"
            "flaky: passed on attempt 2 of 3\n");
}

TEST(Junit, FlakyCaseHasSurefireFlakyFailures) {
  XMLDocument doc;
  parse(doc, render_junit(testing::sample_report()));
  const XMLElement* c = find_case(doc, "web comes back after restart");
  const XMLElement* flaky = c->FirstChildElement("flakyFailure");
  ASSERT_NE(flaky, nullptr);
  EXPECT_STREQ(flaky->Attribute("message"), "exit 7, expected exit 0");
  EXPECT_STREQ(flaky->Attribute("type"), "run");
  EXPECT_EQ(child_text(flaky, "stackTrace"), "attempt 1 of 3: failed in 1.250 s: exit 7, expected exit 0");
  EXPECT_EQ(flaky->NextSiblingElement("flakyFailure"), nullptr);  // the passing attempt is not one
}

TEST(Junit, FailedCaseListsItsRerunsOnly) {
  XMLDocument doc;
  parse(doc, render_junit(testing::sample_report()));
  const XMLElement* c = find_case(doc, "matrix: client -> host 8080/tcp <&\"'>");
  ASSERT_NE(c->FirstChildElement("failure"), nullptr);
  const XMLElement* rerun = c->FirstChildElement("rerunFailure");
  ASSERT_NE(rerun, nullptr);  // attempt 1; attempt 2 is the <failure> itself
  EXPECT_STREQ(rerun->Attribute("message"), "timeout after 500 ms");  // folded to one line
  EXPECT_EQ(rerun->NextSiblingElement("rerunFailure"), nullptr);
  EXPECT_EQ(c->FirstChildElement("flakyFailure"), nullptr);
}

TEST(Junit, CasesCarryFileAndLine) {
  XMLDocument doc;
  parse(doc, render_junit(testing::sample_report()));
  const XMLElement* c = find_case(doc, "lan policy: client -> web 22/tcp");
  EXPECT_STREQ(c->Attribute("file"), "scenarios/web-firewall/scenario.yml");
  EXPECT_EQ(c->IntAttribute("line"), 42);  // the matrix row's own line
  // Unknown lines are left out rather than written as 0 (the schema wants a positive integer).
  EXPECT_EQ(find_case(doc, "matrix: client -> host 8080/tcp <&\"'>")->Attribute("line"), nullptr);
}

TEST(Junit, AttachmentOutsideTheWorkingDirectoryStaysUsable) {
  RunReport report = testing::sample_report();
  report.working_dir = "/somewhere/else";
  XMLDocument doc;
  parse(doc, render_junit(report));
  EXPECT_NE(child_text(find_case(doc, "lan policy: client -> web 22/tcp"), "system-out")
                .find("[[ATTACHMENT|../../work/project/reports/artifacts/web-firewall/web.serial.log]]"),
            std::string::npos);
}

TEST(Junit, SpecialCharactersSurviveARoundTrip) {
  XMLDocument doc;
  parse(doc, render_junit(testing::sample_report()));
  const XMLElement* c = find_case(doc, "matrix: client -> host 8080/tcp <&\"'>");
  ASSERT_NE(c, nullptr);
  EXPECT_STREQ(c->Attribute("classname"), "quotes \"double\" & 'single' <tags>");
  std::string detail = c->FirstChildElement("failure")->GetText();
  EXPECT_NE(detail.find("escape [31mred[0m, nul-free  controls, tab\tkept, \xC3\xBC ok"),
            std::string::npos)
      << detail;
}

TEST(Junit, PassedCaseHasNoOutcomeElement) {
  XMLDocument doc;
  parse(doc, render_junit(testing::sample_report()));
  const XMLElement* c = find_case(doc, "web answers locally");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->FirstChildElement("failure"), nullptr);
  EXPECT_EQ(c->FirstChildElement("error"), nullptr);
  EXPECT_EQ(c->FirstChildElement("skipped"), nullptr);
  EXPECT_STREQ(c->Attribute("time"), "0.412");
}

TEST(Junit, HugeOutputIsCutToItsTail) {
  RunReport report = testing::empty_report();
  SuiteResult suite = testing::empty_suite();
  CaseResult c = testing::make_case("noisy", "s", CaseStatus::passed, 1);
  c.stdout_text = std::string(200 * 1024, 'a') + "THE END";
  suite.cases = {c};
  report.suites = {suite};
  XMLDocument doc;
  parse(doc, render_junit(report));
  std::string out = child_text(find_case(doc, "noisy"), "system-out");
  EXPECT_EQ(out.rfind("[... 139271 bytes cut ...]\n", 0), 0u);
  EXPECT_EQ(out.substr(out.size() - 7), "THE END");
  EXPECT_LT(out.size(), 65 * 1024u);
}

TEST(Junit, MessagesAreSingleLines) {
  RunReport report = testing::empty_report();
  SuiteResult suite = testing::empty_suite();
  CaseResult c = testing::make_case("multi", "s", CaseStatus::failed, 1);
  c.message = "first line\nsecond line";
  suite.cases = {c};
  report.suites = {suite};
  XMLDocument doc;
  parse(doc, render_junit(report));
  EXPECT_STREQ(find_case(doc, "multi")->FirstChildElement("failure")->Attribute("message"),
               "first line second line");
}

TEST(Junit, MessageFallsBackToTheVerdict) {
  RunReport report = testing::empty_report();
  SuiteResult suite = testing::empty_suite();
  CaseResult c = testing::make_case("verdict", "s", CaseStatus::failed, 1);
  c.expected = "allow";
  c.observed = "refused in 1 ms";
  suite.cases = {c};
  report.suites = {suite};
  XMLDocument doc;
  parse(doc, render_junit(report));
  EXPECT_STREQ(find_case(doc, "verdict")->FirstChildElement("failure")->Attribute("message"),
               "expected allow, observed refused in 1 ms");
}

}  // namespace
}  // namespace meros
