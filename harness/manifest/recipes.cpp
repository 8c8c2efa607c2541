#include "manifest/recipes.h"
#include "manifest/applications.h"
#include "util/text.h"

#include "manifest/parser.h"
#include "util/disk_format.h"

#include <algorithm>

namespace meros {
namespace {


bool is_url(std::string_view text) { return text.starts_with("https://") || text.starts_with("http://"); }


std::optional<fs::path> read_path(const RecipeSource& source, const MapReader& map, std::string_view key,
                                  const PathRules& rules) {
  auto text = map.string(key);
  if (!text) return std::nullopt;
  auto resolved = resolve_manifest_path(source.scope, *text, rules);
  if (!resolved) {
    source.file.error(map.value_mark(key), map.what() + "." + std::string(key) + ": " + resolved.error().message);
    return std::nullopt;
  }
  return *resolved;
}

void read_tarball(const RecipeSource& source, const MapReader& map, KernelRecipe& recipe) {
  auto tarball = map.string("tarball");
  if (!tarball) return;
  if (is_url(*tarball)) {
    if (!tarball->starts_with("https://"))
      source.file.error(map.value_mark("tarball"), map.what() + ".tarball: only https:// URLs are accepted");
    recipe.tarball = *tarball;
    if (!map.has("sha256"))
      source.file.error(map.key_mark("tarball"), map.what() + ".tarball: a URL needs 'sha256:' with the archive's checksum");
    return;
  }
  if (auto path = read_path(source, map, "tarball", {.allow_absolute = true, .must_exist = true, .want = PathWant::file}))
    recipe.tarball = path->string();
}

void read_base(const RecipeSource& source, const MapReader& map, KernelRecipe& recipe) {
  auto base = map.string("base");
  if (!base) return;
  if (*base == "tinyconfig" || *base == "defconfig") {
    recipe.base = *base;
    return;
  }
  // A word that names no file is a misspelt choice, not a missing file.
  std::error_code ec;
  bool looks_like_path = base->find('/') != std::string::npos || base->ends_with(".config") ||
                         fs::exists(source.scope.base_dir / *base, ec);
  if (!looks_like_path) {
    source.file.error(map.value_mark("base"), map.what() + ".base: expected tinyconfig, defconfig or the path of a full .config, got " +
                                                  quote(*base) + did_you_mean(*base, {"tinyconfig", "defconfig"}));
    return;
  }
  if (auto path = read_path(source, map, "base", {.allow_absolute = false, .must_exist = true, .want = PathWant::file}))
    recipe.base = path->string();
}

void read_fragments(const RecipeSource& source, const MapReader& map, KernelRecipe& recipe) {
  auto list = map.string_list("fragments");
  if (!list) return;
  YAML::Node nodes = map.get("fragments");
  for (std::size_t i = 0; i < list->size(); ++i) {
    auto resolved = resolve_manifest_path(source.scope, (*list)[i], {.allow_absolute = false, .must_exist = true, .want = PathWant::file});
    if (resolved) recipe.fragments.push_back(*resolved);
    else source.file.error(nodes[i], map.what() + ".fragments: " + resolved.error().message);
  }
}

// arch_fragments: {aarch64: [a.config]}: per architecture, the fragments
// that replace `fragments`.
void read_arch_fragments(const RecipeSource& source, const MapReader& map, KernelRecipe& recipe) {
  if (!map.has("arch_fragments")) return;
  YAML::Node table = map.get("arch_fragments");
  if (!table.IsMap()) {
    source.file.error(map.value_mark("arch_fragments"), map.what() + ".arch_fragments: expected a mapping of architecture to fragment list, e.g. {aarch64: [meros-arm64.config]}");
    return;
  }
  for (auto it = table.begin(); it != table.end(); ++it) {
    auto arch_name = read_string(source.file, it->first, map.what() + ".arch_fragments key");
    if (!arch_name) continue;
    if (*arch_name != "x86_64" && *arch_name != "aarch64") {
      source.file.error(it->first, map.what() + ".arch_fragments: " + quote(*arch_name) + " is not an architecture: use x86_64 or aarch64" +
                                       did_you_mean(*arch_name, {"x86_64", "aarch64"}));
      continue;
    }
    Arch arch = *arch_name == "aarch64" ? Arch::aarch64 : Arch::x86_64;
    if (!it->second.IsSequence()) {
      source.file.error(it->second, map.what() + ".arch_fragments." + *arch_name + ": expected a list of fragment files");
      continue;
    }
    std::vector<fs::path>& fragments = recipe.arch_fragments[arch];
    // A copy: it->second lives in the iterator's temporary proxy, which a
    // range-for over it would outlive.
    const YAML::Node files = it->second;
    for (const auto& item : files) {
      auto text = read_string(source.file, item, map.what() + ".arch_fragments." + *arch_name);
      if (!text) continue;
      auto resolved = resolve_manifest_path(source.scope, *text, {.allow_absolute = false, .must_exist = true, .want = PathWant::file});
      if (resolved) fragments.push_back(*resolved);
      else source.file.error(item, map.what() + ".arch_fragments." + *arch_name + ": " + resolved.error().message);
    }
  }
}

bool is_option_name(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

void read_options(const RecipeSource& source, const MapReader& map, KernelRecipe& recipe) {
  if (!map.has("options")) return;
  YAML::Node options = map.get("options");
  if (options.IsNull()) return;
  if (!options.IsMap()) {
    source.file.error(map.value_mark("options"), map.what() + ".options: expected a mapping of kconfig options to values, e.g. {NF_TABLES: y}");
    return;
  }
  for (auto it = options.begin(); it != options.end(); ++it) {
    auto name = read_string(source.file, it->first, map.what() + ".options key");
    if (!name) continue;
    std::string bare = name->starts_with("CONFIG_") ? name->substr(7) : *name;
    if (!is_option_name(bare)) {
      std::string upper = bare;
      std::transform(upper.begin(), upper.end(), upper.begin(), [](unsigned char c) { return std::toupper(c); });
      std::string example = is_option_name(upper) ? "(did you mean " + quote(upper) + "?)" : "e.g. NF_TABLES";
      source.file.error(it->first, map.what() + ".options: " + quote(*name) + " is not a kconfig option name: use capitals, digits and '_' " + example);
      continue;
    }
    auto value = read_string(source.file, it->second, map.what() + ".options." + *name);
    if (!value) continue;
    if (value->empty() || *value == "true" || *value == "false" || *value == "yes" || *value == "no") {
      source.file.error(it->second, map.what() + ".options." + *name + ": expected y, n, m, a number or a string, got " +
                                        quote(*value) + " (kconfig writes booleans as y and n)");
      continue;
    }
    for (const auto& [existing, _] : recipe.options)
      if (existing == bare) source.file.error(it->first, map.what() + ".options: " + quote(bare) + " is set twice");
    recipe.options.emplace_back(bare, *value);
  }
}

}  // namespace

bool is_valid_fixture_name(std::string_view name) { return is_identifier(name); }

bool is_sha256_hex(std::string_view text) {
  return text.size() == 64 && std::all_of(text.begin(), text.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
         });
}

std::optional<KernelRecipe> parse_kernel_recipe(const RecipeSource& source, const YAML::Node& node,
                                                const std::string& name, const std::string& what) {
  MapReader map(source.file, node, what, manifest_keys("kernels.<name>"));
  if (!map.is_map()) return std::nullopt;
  std::size_t errors_before = source.file.diagnostics().size();
  KernelRecipe recipe;
  recipe.name = name;
  recipe.defined_in = source.defined_in;
  recipe.mark = map.mark();
  std::vector<std::string> kinds;
  for (const char* key : {"tarball", "path", "package"})
    if (map.given(key)) kinds.push_back(key);
  if (kinds.empty() && (map.misspelt("tarball") || map.misspelt("path") || map.misspelt("package"))) return std::nullopt;
  if (kinds.size() != 1) {
    std::string has = kinds.empty() ? "none" : kinds.size() == 2 ? "'" + kinds[0] + "' and '" + kinds[1] + "'"
                                                                  : "'" + kinds[0] + "', '" + kinds[1] + "' and '" + kinds[2] + "'";
    source.file.error(kinds.size() > 1 ? map.key_mark(kinds[1]) : map.mark(),
                      what + ": a kernel recipe has exactly one of 'tarball' (build from source), 'path' (a prebuilt image) or "
                             "'package' (a distribution kernel); this one has " + has);
    return std::nullopt;
  }
  if (!map.require(kinds[0])) return std::nullopt;
  if (auto sha = map.string("sha256")) {
    if (!is_sha256_hex(*sha))
      source.file.error(map.value_mark("sha256"), what + ".sha256: expected 64 hexadecimal digits, got " + std::to_string(sha->size()) + " characters");
    else {
      recipe.sha256 = *sha;
      std::transform(recipe.sha256->begin(), recipe.sha256->end(), recipe.sha256->begin(), ::tolower);
    }
  }
  if (map.has("tarball")) {
    recipe.kind = KernelKind::build;
    read_tarball(source, map, recipe);
    read_base(source, map, recipe);
    read_fragments(source, map, recipe);
    read_arch_fragments(source, map, recipe);
    read_options(source, map, recipe);
  } else {
    for (const char* key : {"base", "fragments", "arch_fragments", "options"})
      if (map.has(key)) source.file.error(map.key_mark(key), what + "." + key + ": only a recipe with 'tarball' is configured and built");
  }
  if (map.has("path")) {
    recipe.kind = KernelKind::prebuilt;
    if (auto path = read_path(source, map, "path", {.allow_absolute = true, .must_exist = true, .want = PathWant::file}))
      recipe.path = *path;
  }
  if (map.has("package")) {
    recipe.kind = KernelKind::package;
    auto package = map.string("package");
    if (package && !spelled_as(*package, "a-z0-9", "a-z0-9+.-", 2, std::string::npos))
      source.file.error(map.value_mark("package"), what + ".package: " + quote(*package) + " is not a Debian package name");
    else if (package) recipe.package = *package;
  }
  if (source.file.diagnostics().size() != errors_before) return std::nullopt;
  return recipe;
}

namespace {

std::optional<ImageKind> parse_distribution(const MapReader& map) {
  auto text = map.string("distribution");
  if (!text) return std::nullopt;
  if (*text == "busybox") return ImageKind::busybox;
  if (*text == "debian") return ImageKind::debian;
  if (*text == "tarball") return ImageKind::tarball;
  map.file().error(map.value_mark("distribution"), map.what() + ".distribution: expected busybox, debian or tarball, got " +
                                                      quote(*text) + did_you_mean(*text, {"busybox", "debian", "tarball"}));
  return std::nullopt;
}

const PathRules kLayerDirRules{.allow_absolute = false, .must_exist = true, .want = PathWant::directory};

// The default directory layer_dir/leaf when anything exists there (a
// dangling symlink too), under the same path rules as an explicit one.
std::optional<fs::path> default_layer_dir(const RecipeSource& source, const MapReader& map, std::string_view key,
                                          const fs::path& layer_dir, const std::string& leaf) {
  std::error_code ec;
  if (!fs::exists(fs::symlink_status(layer_dir / leaf, ec))) return std::nullopt;
  std::string text = (layer_dir / leaf).lexically_relative(source.scope.base_dir).string();
  auto resolved = resolve_manifest_path(source.scope, text, kLayerDirRules);
  if (!resolved) {
    source.file.error(map.mark(), map.what() + "." + std::string(key) + " (the default " + text + "): " + resolved.error().message);
    return std::nullopt;
  }
  return *resolved;
}

// Hooks are run with their content, so a hook that is a symlink must lead
// to a regular file inside the scope: a link to a host file would run (and
// log) that file in the image's chroot.
void check_hook_entries(const RecipeSource& source, const MapReader& map, const fs::path& hooks) {
  std::vector<fs::path> entries;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(hooks, ec)) entries.push_back(entry.path());
  std::sort(entries.begin(), entries.end());
  SourceMark at = map.has("hooks") ? map.value_mark("hooks") : map.mark();
  for (const auto& entry : entries) {
    if (!fs::is_symlink(fs::symlink_status(entry, ec)) || entry.filename().string().starts_with(".")) continue;
    std::string text = entry.lexically_relative(source.scope.base_dir).string();
    auto resolved = resolve_manifest_path(source.scope, text, {.allow_absolute = false, .must_exist = true, .want = PathWant::file});
    if (!resolved) source.file.error(at, map.what() + ".hooks: hook " + resolved.error().message);
    else if (!fs::is_regular_file(*resolved, ec))
      source.file.error(at, map.what() + ".hooks: hook " + quote(text) + " is a symlink to something other than a regular file");
  }
}

void read_layer_dirs(const RecipeSource& source, const MapReader& map, ImageRecipe& image, const fs::path& layer_dir) {
  if (map.has("includes")) image.includes = read_path(source, map, "includes", kLayerDirRules);
  else image.includes = default_layer_dir(source, map, "includes", layer_dir, "includes.chroot");
  if (map.has("hooks")) image.hooks = read_path(source, map, "hooks", kLayerDirRules);
  else image.hooks = default_layer_dir(source, map, "hooks", layer_dir, "hooks");
  if (image.hooks) check_hook_entries(source, map, *image.hooks);
}

void read_kind_fields(const RecipeSource& source, const MapReader& map, ImageRecipe& image) {
  auto only_for = [&](const char* key, const char* kind) {
    source.file.error(map.key_mark(key), map.what() + "." + key + ": only " + kind + " images take '" + key + "'");
  };
  if (map.has("suite")) {
    if (image.kind != ImageKind::debian) only_for("suite", "debian");
    else if (auto suite = map.string("suite")) {
      if (!spelled_as(*suite, "a-z0-9", "a-z0-9+.-", 1, std::string::npos)) source.file.error(map.value_mark("suite"), map.what() + ".suite: " + quote(*suite) + " is not a suite name such as bookworm");
      else image.suite = *suite;
    }
  }
  if (map.has("packages")) {
    if (image.kind != ImageKind::debian) only_for("packages", "debian");
    else if (auto packages = map.string_items("packages")) {
      for (const auto& p : *packages) {
        if (!spelled_as(p.text, "a-z0-9", "a-z0-9+.-", 1, std::string::npos)) source.file.error(p.mark, map.what() + ".packages: " + quote(p.text) + " is not a Debian package name");
        image.packages.push_back(p.text);
      }
    }
  }
  if (map.has("archive")) {
    if (image.kind != ImageKind::tarball) only_for("archive", "tarball");
    else if (auto path = read_path(source, map, "archive", {.allow_absolute = true, .must_exist = true, .want = PathWant::file}))
      image.archive = *path;
  } else if (image.kind == ImageKind::tarball) {
    source.file.error(map.mark(), map.what() + ": a tarball image needs 'archive:', the root filesystem archive to start from");
  }
}

}  // namespace

std::optional<ImageRecipe> parse_image_recipe(const RecipeSource& source, const YAML::Node& node,
                                              const std::string& name, const std::string& what,
                                              const fs::path& default_layer_dir) {
  MapReader map(source.file, node, what, manifest_keys("images.<name>"));
  if (!map.is_map()) return std::nullopt;
  std::size_t errors_before = source.file.diagnostics().size();
  ImageRecipe image;
  image.name = name;
  image.defined_in = source.defined_in;
  image.mark = map.mark();
  if (map.has("use") && map.has("distribution")) {
    source.file.error(map.key_mark("use"), what + ": 'use' patches an existing qcow2 and takes no 'distribution'");
  } else if (map.has("use")) {
    image.kind = ImageKind::use;
    if (auto path = read_path(source, map, "use", {.allow_absolute = true, .must_exist = true, .want = PathWant::file})) {
      if (auto format = self_contained_disk_format(*path, map.string("use").value_or("")); !format)
        source.file.error(map.value_mark("use"), what + ".use: " + format.error().message);
      image.use = *path;
    }
  } else if (map.has("distribution")) {
    auto kind = parse_distribution(map);
    if (!kind) return std::nullopt;
    image.kind = *kind;
  }
  read_kind_fields(source, map, image);
  if (auto size = map.size("size")) {
    if (*size < (8ull << 20)) source.file.error(map.value_mark("size"), what + ".size: an image needs at least 8M, got " + quote(map.get("size").Scalar()));
    else image.size = *size;
  }
  if (auto root = map.string("root")) {
    if (image.kind != ImageKind::use && !map.has("use"))
      source.file.error(map.key_mark("root"), what + ".root: only use: images take 'root' (a built image is one filesystem on the whole disk, /dev/vda): remove it");
    else if (!(root->starts_with("/dev/") && spelled_as(std::string_view(*root).substr(5), "a-z0-9/", "a-z0-9/", 1, std::string::npos)))
      source.file.error(map.value_mark("root"), what + ".root: expected a device such as /dev/vda or /dev/vda1, got " + quote(*root));
    else image.root = *root;
  }
  if (auto bootable = map.boolean("bootable")) {
    if (*bootable && image.kind == ImageKind::use)
      source.file.error(map.value_mark("bootable"), what + ".bootable: a use: image keeps the original's disk layout, so meros-test cannot install a "
                                                        "kernel and bootloader into it; only debian images can be bootable: remove bootable and boot the VM directly, "
                                                        "or build a debian image");
    else if (*bootable && image.kind != ImageKind::debian)
      source.file.error(map.value_mark("bootable"), what + ".bootable: a " + std::string(image_kind_name(image.kind)) +
                                                        " image has no distribution kernel to install; only debian images can be bootable: "
                                                        "use distribution: debian, or remove bootable and boot the VM directly");
    else image.bootable = *bootable;
  }
  read_layer_dirs(source, map, image, default_layer_dir);
  read_applications(source, map, image);
  if (source.file.diagnostics().size() != errors_before) return std::nullopt;
  return image;
}

}  // namespace meros
