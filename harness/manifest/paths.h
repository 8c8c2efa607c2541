// Resolves paths written in manifests: relative to the file that holds
// them, kept inside the scenario or fixtures directory (".." escapes and
// symlinks leading out are refused), absolute only where allowed.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace meros {

enum class PathWant { file, directory, any };

struct PathScope {
  std::filesystem::path base_dir;            // relative paths start here
  std::vector<std::filesystem::path> roots;  // where they must stay
  std::string roots_description;             // "the scenario directory or its fixtures directory"
};

struct PathRules {
  bool allow_absolute = false;
  bool must_exist = true;
  PathWant want = PathWant::file;
};

Result<std::filesystem::path> resolve_manifest_path(const PathScope& scope, std::string_view text,
                                                    const PathRules& rules);

// True when path lies inside root (both taken lexically normalised).
bool is_inside(const std::filesystem::path& path, const std::filesystem::path& root);

}  // namespace meros
