// Parsing of kernel and image recipes, shared by a scenario's own
// `kernels:`/`images:` and the recipe files under fixtures/.
#pragma once

#include <optional>
#include <string>

#include "manifest/model.h"
#include "manifest/paths.h"
#include "manifest/yaml_reader.h"

namespace meros {

// Where a recipe was written: the file, its directory and containment scope.
struct RecipeSource {
  const YamlFile& file;
  fs::path defined_in;
  PathScope scope;
};

std::optional<KernelRecipe> parse_kernel_recipe(const RecipeSource& source, const YAML::Node& node,
                                                const std::string& name, const std::string& what);
// image_dir: where rootfs/<name>/ or images/<name>/ defaults live.
std::optional<ImageRecipe> parse_image_recipe(const RecipeSource& source, const YAML::Node& node,
                                              const std::string& name, const std::string& what,
                                              const fs::path& default_layer_dir);

// 64 hexadecimal digits, either case: a SHA-256 as written in a recipe.
bool is_sha256_hex(std::string_view text);

// Names of kernels, images, bridges and VMs: a letter or digit, then
// letters, digits, '-', '_' or '.'.
bool is_valid_fixture_name(std::string_view name);

}  // namespace meros
