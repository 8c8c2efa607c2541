// Golden-file comparison for the report tests. With MEROS_UPDATE_GOLDEN=1
// in the environment the golden file is rewritten instead of compared.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace meros::testing {

inline std::filesystem::path junit_testdata(const std::string& name) {
  return std::filesystem::path(MEROS_TESTDATA_DIR) / "junit" / name;
}

inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

inline bool updating_goldens() {
  const char* flag = std::getenv("MEROS_UPDATE_GOLDEN");
  return flag != nullptr && std::string(flag) == "1";
}

// The first line where the two texts differ, for a readable failure.
inline std::string first_difference(const std::string& expected, const std::string& actual) {
  std::istringstream want(expected);
  std::istringstream got(actual);
  std::string want_line;
  std::string got_line;
  for (int line = 1;; ++line) {
    bool more_want = static_cast<bool>(std::getline(want, want_line));
    bool more_got = static_cast<bool>(std::getline(got, got_line));
    if (!more_want && !more_got) return "the texts differ only in line endings";
    if (want_line != got_line || more_want != more_got) {
      return "line " + std::to_string(line) + ":\n  golden: " + (more_want ? want_line : "<end>") +
             "\n  actual: " + (more_got ? got_line : "<end>");
    }
  }
}

inline void expect_matches_golden(const std::string& actual, const std::string& name) {
  std::filesystem::path path = junit_testdata(name);
  if (updating_goldens()) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << actual;
    std::cout << "updated golden file " << path << "\n";
    return;
  }
  ASSERT_TRUE(std::filesystem::exists(path))
      << path << " is missing; regenerate with MEROS_UPDATE_GOLDEN=1";
  std::string golden = read_file(path);
  EXPECT_TRUE(golden == actual) << path << " differs at " << first_difference(golden, actual)
                                << "\n(regenerate with MEROS_UPDATE_GOLDEN=1 after checking)";
}

}  // namespace meros::testing
