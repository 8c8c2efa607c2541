#include "manifest/applications.h"

#include <algorithm>
#include <map>

#include "manifest/parser.h"
#include "util/text.h"

namespace meros {

bool is_tarball_name(std::string_view name) {
  for (std::string_view suffix : {".tar", ".tar.gz", ".tgz", ".tar.xz", ".txz", ".tar.bz2", ".tbz2", ".tar.zst"})
    if (name.size() > suffix.size() && name.ends_with(suffix)) return true;
  return false;
}

namespace {

const char kTarballSuffixes[] = ".tar, .tar.gz, .tgz, .tar.xz, .txz, .tar.bz2, .tbz2 or .tar.zst";

bool has_control_character(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

// source: a directory or tarball inside the scenario or fixtures directory;
// url: an https:// tarball with its sha256.
void read_source(const RecipeSource& source, const MapReader& map, Application& app) {
  bool local = map.given("source"), remote = map.given("url");
  if (local && remote) {
    source.file.error(map.key_mark("url"), map.what() + ": give either 'source' (a directory or tarball inside the scenario) or 'url' (an https:// tarball with its sha256), not both");
    return;
  }
  if (!local && !remote) {
    if (map.misspelt("source") || map.misspelt("url")) return;
    source.file.error(map.mark(), map.what() + ": an application needs 'source:' (a directory or tarball inside the scenario or fixtures directory) or 'url:' with 'sha256:'");
    return;
  }
  if (local) {
    if (map.has("sha256"))
      source.file.error(map.key_mark("sha256"), map.what() + ".sha256: only a 'url' source takes 'sha256' (a local source is hashed as it is): remove it");
    auto text = map.string("source");
    if (!text) {
      if (!map.has("source")) source.file.error(map.key_mark("source"), map.what() + ".source: expected a directory or tarball path, e.g. apps/hello");
      return;
    }
    auto resolved = resolve_manifest_path(source.scope, *text, {.allow_absolute = false, .must_exist = true, .want = PathWant::any});
    if (!resolved) {
      source.file.error(map.value_mark("source"), map.what() + ".source: " + resolved.error().message);
      return;
    }
    std::error_code ec;
    app.source_is_directory = fs::is_directory(*resolved, ec);
    if (!app.source_is_directory && !(fs::is_regular_file(*resolved, ec) && is_tarball_name(resolved->filename().string()))) {
      source.file.error(map.value_mark("source"), map.what() + ".source: " + quote(*text) + " is neither a directory nor a tarball (a file ending in " +
                                                      kTarballSuffixes + ")");
      return;
    }
    app.source = *resolved;
    return;
  }
  auto url = map.string("url");
  if (!url) {
    if (!map.has("url")) source.file.error(map.key_mark("url"), map.what() + ".url: expected an https:// URL of a source tarball");
    return;
  }
  if (!url->starts_with("https://") || url->size() == 8 || has_control_character(*url) || url->find(' ') != std::string::npos) {
    source.file.error(map.value_mark("url"), map.what() + ".url: expected an https:// URL of a source tarball, got " + quote(*url) +
                                                 (url->starts_with("http://") ? " (only https:// is accepted)" : ""));
    return;
  }
  app.url = *url;
  auto sha = map.string("sha256");
  if (!sha) {
    if (!map.has("sha256")) source.file.error(map.key_mark("url"), map.what() + ".url: a URL needs 'sha256:' with the tarball's checksum (sha256sum FILE)");
    return;
  }
  if (!is_sha256_hex(*sha)) {
    source.file.error(map.value_mark("sha256"), map.what() + ".sha256: expected 64 hexadecimal digits, got " + std::to_string(sha->size()) + " characters");
    return;
  }
  app.sha256 = *sha;
  std::transform(app.sha256.begin(), app.sha256.end(), app.sha256.begin(), ::tolower);
}

// configure: and build: argument vectors, run as they are (no shell).
std::optional<std::vector<std::string>> read_argv(const MapReader& map, std::string_view key, std::string_view example) {
  if (!map.has(key)) return std::nullopt;
  auto items = map.string_items(key);
  if (!items) return std::nullopt;
  std::string field = map.what() + "." + std::string(key);
  if (items->empty()) {
    map.file().error(map.value_mark(key), field + ": expected a command as a list of arguments, e.g. " + std::string(example) +
                                              "; an empty list runs nothing");
    return std::nullopt;
  }
  std::vector<std::string> argv;
  for (const auto& item : *items) {
    if (has_control_character(item.text)) {
      map.file().error(item.mark, field + ": argument " + quote(item.text) + " contains a control character (a newline or tab?): give each argument as its own item");
      return std::nullopt;
    }
    argv.push_back(item.text);
  }
  if (argv[0].empty()) {
    map.file().error((*items)[0].mark, field + ": the program (the first item) is empty: name it, e.g. make or ./configure");
    return std::nullopt;
  }
  return argv;
}

// output: a file of the source copy, so relative and never leading out.
void read_output(const MapReader& map, Application& app) {
  if (!map.require("output")) return;
  auto text = map.string("output");
  if (!text) return;
  std::string field = map.what() + ".output";
  fs::path path(*text);
  bool climbs = std::any_of(path.begin(), path.end(), [](const fs::path& part) { return part == ".."; });
  if (text->empty() || path.is_absolute() || climbs || text->ends_with("/") || has_control_character(*text)) {
    map.file().error(map.value_mark("output"), field + ": expected the built file's path relative to the source copy, e.g. hello or src/hello, got " +
                                                   quote(*text) + (path.is_absolute() ? " (absolute)" : climbs ? " (it leads out of the source copy)" : ""));
    return;
  }
  app.output = path.lexically_normal().string();
}

// install: an absolute, plain file path of the image, outside what the
// harness owns (/opt/meros) and what is mounted over at boot.
void read_install(const MapReader& map, Application& app) {
  if (!map.require("install")) return;
  auto text = map.string("install");
  if (!text) return;
  std::string field = map.what() + ".install";
  fs::path path(*text);
  if (!path.is_absolute()) {
    map.file().error(map.value_mark("install"), field + ": expected an absolute path in the image, e.g. /usr/local/bin/" + app.name + ", got " + quote(*text));
    return;
  }
  bool plain = path.lexically_normal() == path && !text->ends_with("/") && text->find("//") == std::string::npos && !has_control_character(*text) &&
               std::none_of(path.begin(), path.end(), [](const fs::path& part) { return part == "." || part == ".."; });
  if (!plain) {
    map.file().error(map.value_mark("install"), field + ": " + quote(*text) + " is not a plain file path: no '.' or '..' parts, no '//', no trailing '/', no control characters");
    return;
  }
  for (const char* owned : {"/opt/meros", "/proc", "/sys", "/dev"}) {
    if (is_inside(path, owned) || path == fs::path(owned)) {
      std::string why = std::string_view(owned) == "/opt/meros" ? " is meros-test's own directory in the image" : " is mounted over at boot, which would hide the file";
      map.file().error(map.value_mark("install"), field + ": " + quote(*text) + " lies in " + std::string(owned) + ", which" + why +
                                                      ": install it elsewhere, e.g. /usr/local/bin/" + app.name);
      return;
    }
  }
  app.install = *text;
}

std::optional<Application> read_application(const RecipeSource& source, const YAML::Node& node, const std::string& name,
                                            const std::string& what) {
  MapReader map(source.file, node, what, manifest_keys("images.<name>.applications.<app>"));
  if (!map.is_map()) return std::nullopt;
  std::size_t errors_before = source.file.diagnostics().size();
  Application app;
  app.name = name;
  app.mark = map.mark();
  read_source(source, map, app);
  if (auto configure = read_argv(map, "configure", "[./configure, --prefix=/usr]")) app.configure = *configure;
  if (auto build = read_argv(map, "build", "[make]")) app.build = *build;
  read_output(map, app);
  read_install(map, app);
  if (source.file.diagnostics().size() != errors_before) return std::nullopt;
  return app;
}

}  // namespace

void read_applications(const RecipeSource& source, const MapReader& image_map, ImageRecipe& image) {
  if (!image_map.has("applications")) return;
  std::string what = image_map.what() + ".applications";
  YAML::Node table = image_map.get("applications");
  if (!table.IsMap()) {
    source.file.error(image_map.value_mark("applications"), what + ": expected a mapping of application names to recipes, e.g. "
                                                                  "{hello: {source: apps/hello, output: hello, install: /usr/local/bin/hello}}, got " +
                                                                  describe_node(table));
    return;
  }
  if (image.kind == ImageKind::use) {
    source.file.error(image_map.key_mark("applications"), what + ": a use: image is patched, not built, so meros-test installs no applications "
                                                                 "into it: put the program under includes, or build a busybox, debian or tarball image");
    return;
  }
  std::map<std::string, std::string> installed_by;  // install path -> application
  for (auto it = table.begin(); it != table.end(); ++it) {
    auto name = read_string(source.file, it->first, what + " name");
    if (!name) continue;
    if (!is_identifier(*name)) {
      source.file.error(it->first, what + ": " + quote(*name) + " is not a valid application name: start with a letter or digit, then letters, "
                                                                "digits, '-', '_' or '.' (at most 64)");
      continue;
    }
    if (std::any_of(image.applications.begin(), image.applications.end(), [&](const Application& a) { return a.name == *name; })) {
      source.file.error(it->first, what + ": " + quote(*name) + " is defined twice");
      continue;
    }
    const YAML::Node recipe = it->second;  // a copy: it->second lives in the iterator's proxy
    auto app = read_application(source, recipe, *name, what + "." + *name);
    if (!app) continue;
    if (auto [other, fresh] = installed_by.emplace(app->install, app->name); !fresh) {
      source.file.error(recipe["install"], what + "." + *name + ".install: " + quote(app->install) + " is where application " +
                                                       quote(other->second) + " is installed too: give each its own path");
      continue;
    }
    image.applications.push_back(*app);
  }
  std::sort(image.applications.begin(), image.applications.end(), [](const Application& a, const Application& b) { return a.name < b.name; });
}

}  // namespace meros
