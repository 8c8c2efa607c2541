// Finds the kernel and image recipes a scenario names: the scenario's own
// `kernels:`/`images:` first, then the nearest fixtures/ directory above the
// scenario, then the fixtures built into meros-test. Recipe files are parsed
// once and their errors reported against their own file.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "manifest/diagnostics.h"
#include "manifest/model.h"

namespace meros {

// The directory holding meros-test's built-in fixtures: $MEROS_TEST_DATA_DIR,
// else PREFIX/share/meros-test/fixtures when installed, else the source tree's.
fs::path builtin_fixtures_dir();

// The nearest fixtures/ directory found walking up from dir, if any.
std::optional<fs::path> nearest_fixtures_dir(const fs::path& dir);

// A path for messages: relative to the working directory when it lies below
// it, absolute otherwise.
std::string display_path(const fs::path& path);

class FixtureCatalog {
 public:
  explicit FixtureCatalog(fs::path builtin_dir);

  // Where a kernel/image named `name` would come from for a scenario in
  // scenario_dir, or nullopt when nowhere. Errors of recipe files go to
  // diagnostics; a recipe with errors is reported once and yields nullopt.
  std::optional<KernelRecipe> kernel(const fs::path& scenario_dir, const std::string& name, Diagnostics& diagnostics);
  std::optional<ImageRecipe> image(const fs::path& scenario_dir, const std::string& name, Diagnostics& diagnostics);
  // True when some recipe file exists for name (even one with errors).
  bool has_kernel_file(const fs::path& scenario_dir, const std::string& name) const;
  bool has_image_file(const fs::path& scenario_dir, const std::string& name) const;

  // Names available outside the scenario, for suggestions.
  std::vector<std::string> kernel_names(const fs::path& scenario_dir) const;
  std::vector<std::string> image_names(const fs::path& scenario_dir) const;
  const fs::path& builtin_dir() const { return builtin_dir_; }

 private:
  std::vector<fs::path> search_dirs(const fs::path& scenario_dir) const;
  std::optional<fs::path> kernel_file(const fs::path& scenario_dir, const std::string& name) const;
  std::optional<fs::path> image_file(const fs::path& scenario_dir, const std::string& name) const;

  fs::path builtin_dir_;
  std::map<fs::path, std::optional<KernelRecipe>> kernels_;  // by recipe file
  std::map<fs::path, std::optional<ImageRecipe>> images_;
  std::map<fs::path, Diagnostics> file_errors_;
};

}  // namespace meros
