#include "manifest/discovery.h"

#include <algorithm>
#include <set>

namespace meros {
namespace fs = std::filesystem;
namespace {

bool skipped_directory(const fs::path& dir) {
  std::string name = dir.filename().string();
  return name.starts_with(".") || name == "fixtures" || name == "rootfs" || name == "node_modules";
}

void search_directory(const fs::path& dir, std::vector<fs::path>& found, int depth) {
  if (fs::is_regular_file(dir / "scenario.yml")) {
    found.push_back(dir / "scenario.yml");
    return;
  }
  if (depth > 32) return;
  std::vector<fs::path> children;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec))
    if (entry.is_directory(ec) && !entry.is_symlink(ec) && !skipped_directory(entry.path())) children.push_back(entry.path());
  std::sort(children.begin(), children.end());
  for (const auto& child : children) search_directory(child, found, depth + 1);
}

}  // namespace

Result<std::vector<fs::path>> discover_scenarios(const std::vector<std::string>& arguments) {
  std::vector<fs::path> found;
  for (const auto& argument : arguments) {
    fs::path path(argument);
    std::error_code ec;
    auto status = fs::status(path, ec);
    if (!fs::exists(status)) return make_error(argument + ": no such file or directory");
    if (fs::is_directory(status)) {
      std::size_t before = found.size();
      search_directory(path, found, 0);
      if (found.size() == before) return make_error(argument + ": no scenario.yml found in this directory or below it");
      continue;
    }
    if (path.extension() != ".yml" && path.extension() != ".yaml")
      return make_error(argument + ": not a scenario: give a directory or a .yml manifest");
    found.push_back(path);
  }
  std::vector<fs::path> unique;
  std::set<fs::path> seen;
  for (const auto& file : found)
    if (seen.insert(fs::weakly_canonical(file)).second) unique.push_back(file.lexically_normal());
  return unique;
}

}  // namespace meros
