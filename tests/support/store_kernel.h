// The kernel that booting tests use: $MEROS_TEST_KERNEL, else the newest
// x86_64 `default` kernel in the store (the store also holds the arm64
// build of the same recipe, which an x86_64 QEMU cannot boot) the harness uses (default_store_dir():
// $MEROS_TEST_CACHE, else /var/cache/meros-test for root), built there by
// the ctest fixture `fixtures.default_kernel` (tests/CMakeLists.txt).
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>

#include <nlohmann/json.hpp>

#include "util/install_paths.h"

namespace meros::testing_support {

inline std::optional<std::filesystem::path> store_default_kernel() {
  namespace fs = std::filesystem;
  if (const char* env = std::getenv("MEROS_TEST_KERNEL"); env && *env) {
    if (fs::exists(env)) return fs::path(env);
    return std::nullopt;
  }
  fs::path kernels = meros::default_store_dir() / "kernels";
  std::optional<fs::path> newest;
  fs::file_time_type newest_time{};
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(kernels, ec)) {
    std::ifstream in(entry.path() / "manifest.json");
    nlohmann::json manifest = nlohmann::json::parse(in, nullptr, false);
    if (manifest.is_discarded() || manifest.value("name", "") != "default") continue;
    if (manifest.value(nlohmann::json::json_pointer("/inputs/arch"), std::string()) != "x86_64") continue;
    fs::path image = entry.path() / manifest.value("artifact", "bzImage");
    auto time = fs::last_write_time(image, ec);
    if (!ec && (!newest || time > newest_time)) {
      newest = image;
      newest_time = time;
    }
  }
  return newest;
}

}  // namespace meros::testing_support
