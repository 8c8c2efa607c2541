// Golden files of the network tests (tests/testdata/net). With
// MEROS_UPDATE_GOLDEN=1 in the environment they are rewritten instead.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace meros::net::test {

inline std::filesystem::path net_testdata(const std::string& name) {
  return std::filesystem::path(MEROS_NET_TESTDATA_DIR) / name;
}

inline std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

// The first differing line, so a failure reads without a diff tool.
inline std::string first_difference(const std::string& expected, const std::string& actual) {
  std::istringstream want(expected), got(actual);
  std::string a, b;
  for (int line = 1;; ++line) {
    bool more_want = static_cast<bool>(std::getline(want, a));
    bool more_got = static_cast<bool>(std::getline(got, b));
    if (!more_want && !more_got) return "(only line endings differ)";
    if (a != b || more_want != more_got)
      return "line " + std::to_string(line) + ":\n  golden: " + (more_want ? a : "<end>") + "\n  actual: " + (more_got ? b : "<end>");
  }
}

inline void expect_golden(const std::string& actual, const std::string& name) {
  std::filesystem::path path = net_testdata(name);
  const char* update = std::getenv("MEROS_UPDATE_GOLDEN");
  if (update != nullptr && std::string(update) == "1") {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << actual;
    std::cout << "updated " << path << "\n";
    return;
  }
  ASSERT_TRUE(std::filesystem::exists(path)) << path << " is missing; regenerate with MEROS_UPDATE_GOLDEN=1";
  std::string golden = read_text(path);
  EXPECT_TRUE(golden == actual) << path << " differs at " << first_difference(golden, actual)
                                << "\n(regenerate with MEROS_UPDATE_GOLDEN=1 after checking)";
}

}  // namespace meros::net::test
