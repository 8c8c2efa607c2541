// Validates JUnit output against tests/testdata/junit/junit.xsd with
// xmllint, the check CI users run on their reports.
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "golden.h"
#include "report/junit.h"
#include "sample_report.h"

extern char** environ;

namespace meros {
namespace {

namespace fs = std::filesystem;

constexpr int kXmllintMissing = -1;

// Runs xmllint with an argument vector (no shell); its exit status, or
// kXmllintMissing when it is not installed.
int run_xmllint(const fs::path& xml) {
  std::string schema = testing::junit_testdata("junit.xsd").string();
  std::string file = xml.string();
  std::vector<char*> argv = {const_cast<char*>("xmllint"), const_cast<char*>("--noout"),
                             const_cast<char*>("--schema"), schema.data(), file.data(),
                             nullptr};
  pid_t pid = 0;
  int spawn_error = posix_spawnp(&pid, "xmllint", nullptr, nullptr, argv.data(), environ);
  if (spawn_error == ENOENT) return kXmllintMissing;
  if (spawn_error != 0) return 1000 + spawn_error;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 2000 + WTERMSIG(status);
}

void expect_valid(const fs::path& xml) {
  int status = run_xmllint(xml);
  if (status == kXmllintMissing) GTEST_SKIP() << "xmllint not installed (libxml2-utils)";
  EXPECT_EQ(status, 0) << xml << " does not validate against junit.xsd";
}

// A report built to break a careless writer: huge, binary-laden output,
// markup in every name, absurd times.
RunReport hostile_report() {
  RunReport report = testing::sample_report();
  CaseResult c = testing::make_case("]]> <!-- --> &amp; \x01\x7F", "<\"'&>", CaseStatus::errored,
                                    std::numeric_limits<double>::quiet_NaN());
  for (int byte = 0; byte < 256; ++byte) c.stdout_text += static_cast<char>(byte);
  c.stdout_text += std::string(100 * 1024, 'z');
  c.stderr_text = std::string("\xEF\xBF\xBF\xED\xA0\x80\0tail", 12);
  c.message = "\x02\r\nmultiline\tmessage";
  c.attempts = {{CaseStatus::errored, -5, "\x03"}, {CaseStatus::errored, 1e300, "x"}};
  report.suites[0].cases.push_back(c);
  report.suites[0].time = -1;
  report.properties.push_back({"bad\x04name", "bad\nvalue"});
  return report;
}

TEST(JunitSchema, GoldenFilesValidate) {
  int checked = 0;
  for (const auto& entry : fs::directory_iterator(testing::junit_testdata(""))) {
    if (entry.path().extension() != ".xml") continue;
    SCOPED_TRACE(entry.path().string());
    expect_valid(entry.path());
    if (IsSkipped()) return;
    ++checked;
  }
  EXPECT_GE(checked, 2);
}

TEST(JunitSchema, FreshlyRenderedHostileReportValidates) {
  fs::path file = fs::temp_directory_path() / ("meros-junit-" + std::to_string(getpid()) + ".xml");
  std::ofstream(file, std::ios::binary) << render_junit(hostile_report());
  expect_valid(file);
  fs::remove(file);
}

TEST(JunitSchema, SchemaRejectsWhatItShould) {
  // Guards against a schema so loose it accepts anything.
  fs::path file = fs::temp_directory_path() / ("meros-junit-bad-" + std::to_string(getpid()) + ".xml");
  std::ofstream(file) << "<testsuites skipped=\"1\"><testsuite name=\"x\"/></testsuites>\n";
  int status = run_xmllint(file);
  fs::remove(file);
  if (status == kXmllintMissing) GTEST_SKIP() << "xmllint not installed (libxml2-utils)";
  EXPECT_NE(status, 0);
}

}  // namespace
}  // namespace meros
