#include "manifest/catalog.h"

#include <cstdlib>
#include <set>

#include "manifest/recipes.h"
#include "manifest/yaml_loader.h"
#include "util/install_paths.h"

#ifndef MEROS_BUILTIN_FIXTURES_DIR
#define MEROS_BUILTIN_FIXTURES_DIR "fixtures"
#endif

namespace meros {

fs::path builtin_fixtures_dir() {
  if (const char* env = std::getenv("MEROS_TEST_DATA_DIR"); env && *env) return fs::path(env);
  fs::path source_tree = fs::path(MEROS_BUILTIN_FIXTURES_DIR).parent_path();
  return data_dir(source_tree) / "fixtures";
}

std::optional<fs::path> nearest_fixtures_dir(const fs::path& dir) {
  fs::path current = fs::absolute(dir).lexically_normal();
  while (true) {
    std::error_code ec;
    if (fs::is_directory(current / "fixtures", ec)) return current / "fixtures";
    if (current == current.root_path() || current.parent_path() == current) return std::nullopt;
    current = current.parent_path();
  }
}

std::string display_path(const fs::path& path) {
  std::error_code ec;
  fs::path cwd = fs::current_path(ec);
  if (!ec) {
    fs::path rel = fs::absolute(path).lexically_normal().lexically_relative(cwd);
    if (!rel.empty() && *rel.begin() != "..") return rel.string();
  }
  return fs::absolute(path).lexically_normal().string();
}

FixtureCatalog::FixtureCatalog(fs::path builtin_dir) : builtin_dir_(std::move(builtin_dir)) {}

std::vector<fs::path> FixtureCatalog::search_dirs(const fs::path& scenario_dir) const {
  std::vector<fs::path> dirs;
  if (auto nearest = nearest_fixtures_dir(scenario_dir)) dirs.push_back(*nearest);
  std::error_code ec;
  if (fs::is_directory(builtin_dir_, ec)) dirs.push_back(builtin_dir_);
  return dirs;
}

std::optional<fs::path> FixtureCatalog::kernel_file(const fs::path& scenario_dir, const std::string& name) const {
  if (!is_valid_fixture_name(name)) return std::nullopt;
  for (const auto& dir : search_dirs(scenario_dir))
    if (fs::is_regular_file(dir / "kernels" / (name + ".yml"))) return dir / "kernels" / (name + ".yml");
  return std::nullopt;
}

std::optional<fs::path> FixtureCatalog::image_file(const fs::path& scenario_dir, const std::string& name) const {
  if (!is_valid_fixture_name(name)) return std::nullopt;
  for (const auto& dir : search_dirs(scenario_dir))
    if (fs::is_regular_file(dir / "images" / name / "image.yml")) return dir / "images" / name / "image.yml";
  return std::nullopt;
}

bool FixtureCatalog::has_kernel_file(const fs::path& scenario_dir, const std::string& name) const {
  return kernel_file(scenario_dir, name).has_value();
}

bool FixtureCatalog::has_image_file(const fs::path& scenario_dir, const std::string& name) const {
  return image_file(scenario_dir, name).has_value();
}

namespace {

// The fixtures directory a recipe file lives in: .../fixtures/kernels/x.yml
// or .../fixtures/images/x/image.yml.
fs::path fixtures_root_of(const fs::path& recipe_file, int depth) {
  fs::path root = recipe_file.parent_path();
  for (int i = 1; i < depth; ++i) root = root.parent_path();
  return root;
}

}  // namespace

std::optional<KernelRecipe> FixtureCatalog::kernel(const fs::path& scenario_dir, const std::string& name,
                                                   Diagnostics& diagnostics) {
  auto file = kernel_file(scenario_dir, name);
  if (!file) return std::nullopt;
  if (auto it = kernels_.find(*file); it != kernels_.end()) return it->second;
  Diagnostics& errors = file_errors_[*file];
  YamlFile yaml(display_path(*file), errors);
  std::optional<KernelRecipe> recipe;
  if (auto node = load_yaml_file(*file, yaml)) {
    fs::path root = fixtures_root_of(*file, 2);
    RecipeSource source{yaml, *file, PathScope{file->parent_path(), {root}, "the fixtures directory"}};
    recipe = parse_kernel_recipe(source, *node, name, "kernels." + name);
  }
  diagnostics.append(errors);
  kernels_[*file] = recipe;
  return recipe;
}

std::optional<ImageRecipe> FixtureCatalog::image(const fs::path& scenario_dir, const std::string& name,
                                                 Diagnostics& diagnostics) {
  auto file = image_file(scenario_dir, name);
  if (!file) return std::nullopt;
  if (auto it = images_.find(*file); it != images_.end()) return it->second;
  Diagnostics& errors = file_errors_[*file];
  YamlFile yaml(display_path(*file), errors);
  std::optional<ImageRecipe> recipe;
  if (auto node = load_yaml_file(*file, yaml)) {
    fs::path root = fixtures_root_of(*file, 3);
    RecipeSource source{yaml, *file, PathScope{file->parent_path(), {root}, "the fixtures directory"}};
    recipe = parse_image_recipe(source, *node, name, "images." + name, file->parent_path());
  }
  diagnostics.append(errors);
  images_[*file] = recipe;
  return recipe;
}

namespace {

std::vector<std::string> list_names(const std::vector<fs::path>& dirs, const std::string& sub, bool want_dirs) {
  std::set<std::string> names;
  for (const auto& dir : dirs) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir / sub, ec)) {
      if (want_dirs && fs::is_regular_file(entry.path() / "image.yml")) names.insert(entry.path().filename().string());
      if (!want_dirs && entry.path().extension() == ".yml") names.insert(entry.path().stem().string());
    }
  }
  return {names.begin(), names.end()};
}

}  // namespace

std::vector<std::string> FixtureCatalog::kernel_names(const fs::path& scenario_dir) const {
  return list_names(search_dirs(scenario_dir), "kernels", false);
}

std::vector<std::string> FixtureCatalog::image_names(const fs::path& scenario_dir) const {
  return list_names(search_dirs(scenario_dir), "images", true);
}

}  // namespace meros
