// The kernel that booting tests use: $MEROS_TEST_KERNEL, else the newest
// `default` kernel in the fixture store ($MEROS_TEST_CACHE, else
// /var/cache/meros-test), built by `meros-test build --kernel default`.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>

#include <nlohmann/json.hpp>

namespace meros::testing_support {

inline std::optional<std::filesystem::path> store_default_kernel() {
  namespace fs = std::filesystem;
  if (const char* env = std::getenv("MEROS_TEST_KERNEL"); env && *env) {
    if (fs::exists(env)) return fs::path(env);
    return std::nullopt;
  }
  const char* cache = std::getenv("MEROS_TEST_CACHE");
  fs::path kernels = fs::path(cache && *cache ? cache : "/var/cache/meros-test") / "kernels";
  std::optional<fs::path> newest;
  fs::file_time_type newest_time{};
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(kernels, ec)) {
    std::ifstream in(entry.path() / "manifest.json");
    nlohmann::json manifest = nlohmann::json::parse(in, nullptr, false);
    if (manifest.is_discarded() || manifest.value("name", "") != "default") continue;
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
