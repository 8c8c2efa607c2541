// The whole content of a file, bytes as they are; "" when it cannot be read.
// Header-only, for tests that check what the harness wrote.
#pragma once

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace meros::testing_support {

inline std::string read_whole_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace meros::testing_support
