// Loads one YAML manifest safely: a size cap, a nesting-depth check made on
// the raw text before yaml-cpp (whose parser recurses) sees it, a cap on
// the size aliases expand to and no circular aliases, exactly one document,
// and syntax errors turned into file:line:col diagnostics that point where
// the fix goes (the unclosed bracket or quote, the tab).
#pragma once

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <optional>
#include <string_view>

#include "manifest/yaml_reader.h"

namespace meros {

inline constexpr std::size_t kMaxManifestBytes = 1 << 20;
inline constexpr int kMaxNestingDepth = 64;
// The size of a document with every alias expanded (scalar bytes plus one
// per node): a bound on what readers of the node tree can be made to walk.
inline constexpr std::size_t kMaxExpandedSize = 8 << 20;

// Where the nesting of a YAML text first exceeds max_depth (1-based line
// and column), estimated conservatively; nullopt when it never does.
std::optional<std::pair<int, int>> find_excessive_nesting(std::string_view text, int max_depth);

// Parses text as one YAML document; reports problems against file.
std::optional<YAML::Node> parse_yaml_text(std::string_view text, const YamlFile& file);
std::optional<YAML::Node> load_yaml_file(const std::filesystem::path& path, const YamlFile& file);

}  // namespace meros
