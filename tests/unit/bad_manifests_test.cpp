// The corpus of bad manifests under tests/testdata/bad: every case is
// parsed with the library and its diagnostics must equal the case's
// expected.txt exactly (paths relative to the case directory).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "manifest/loading.h"
#include "manifest/diagnostics.h"

namespace fs = std::filesystem;

namespace {

fs::path bad_dir() { return fs::path(MEROS_TESTDATA_DIR) / "bad"; }

std::vector<std::string> case_names() {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(bad_dir(), ec))
    if (entry.is_directory()) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// The lines of an expected.txt. "{dir}" stands for the case directory as
// a message names it (another file of the case): empty here, where the
// case is loaded from inside its directory.
std::vector<std::string> read_lines(const fs::path& file) {
  std::vector<std::string> lines;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    for (std::size_t at; (at = line.find("{dir}")) != std::string::npos;) line.erase(at, 5);
    lines.push_back(line);
  }
  return lines;
}

// Runs fn with the working directory set to dir, so that display paths
// come out relative to it.
template <class Fn>
void in_directory(const fs::path& dir, Fn fn) {
  fs::path before = fs::current_path();
  fs::current_path(dir);
  fn();
  fs::current_path(before);
}

// Lines only in expected ("-") and only in actual ("+"), in order.
std::string line_diff(const std::vector<std::string>& expected, const std::vector<std::string>& actual) {
  std::multiset<std::string> want(expected.begin(), expected.end()), got(actual.begin(), actual.end());
  std::string out;
  for (const auto& line : expected)
    if (!got.count(line)) out += "  - " + line + "\n";
  for (const auto& line : actual)
    if (!want.count(line)) out += "  + " + line + "\n";
  if (out.empty()) out = "  (same lines in another order)\n";
  return out;
}

class BadManifest : public testing::TestWithParam<std::string> {};

TEST_P(BadManifest, ReportsExactlyTheExpectedErrors) {
  const fs::path dir = bad_dir() / GetParam();
  ASSERT_TRUE(fs::is_regular_file(dir / "expected.txt")) << GetParam() << " has no expected.txt";
  std::vector<std::string> expected = read_lines(dir / "expected.txt");
  ASSERT_FALSE(expected.empty()) << GetParam() << "/expected.txt is empty";

  meros::Diagnostics diagnostics;
  std::vector<meros::Scenario> scenarios;
  in_directory(dir, [&] { scenarios = meros::load_scenarios({"."}, diagnostics); });

  std::vector<std::string> actual;
  for (const auto& d : diagnostics.sorted()) actual.push_back(d.str());
  EXPECT_TRUE(scenarios.empty()) << GetParam() << ": the scenario was accepted";
  EXPECT_EQ(actual, expected) << "case " << GetParam() << " (tests/testdata/bad/" << GetParam()
                              << "): diagnostics differ from expected.txt (- expected, + actual):\n"
                              << line_diff(expected, actual);
}

std::string test_name(const testing::TestParamInfo<std::string>& info) {
  std::string name = info.param;
  std::replace_if(name.begin(), name.end(), [](char c) { return !std::isalnum(static_cast<unsigned char>(c)); }, '_');
  return name;
}

INSTANTIATE_TEST_SUITE_P(Corpus, BadManifest, testing::ValuesIn(case_names()), test_name);

TEST(BadManifestCorpus, HasEnoughCases) { EXPECT_GE(case_names().size(), 45u); }

TEST(BadManifestCorpus, ErrorsAreReportedInLineOrder) {
  // The diagnostics of one file come sorted by position, all at once.
  meros::Diagnostics diagnostics;
  in_directory(bad_dir() / "multiple-errors", [&] { meros::load_scenarios({"."}, diagnostics); });
  auto sorted = diagnostics.sorted();
  ASSERT_GE(sorted.size(), 10u);
  for (std::size_t i = 1; i < sorted.size(); ++i)
    EXPECT_LE(std::make_pair(sorted[i - 1].mark.line, sorted[i - 1].mark.column),
              std::make_pair(sorted[i].mark.line, sorted[i].mark.column));
}

}  // namespace
