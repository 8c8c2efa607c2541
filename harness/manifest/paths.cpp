#include "manifest/paths.h"
#include "util/text.h"

namespace meros {
namespace fs = std::filesystem;
namespace {


bool inside_any(const fs::path& path, const std::vector<fs::path>& roots, bool canonical) {
  for (const auto& root : roots) {
    std::error_code ec;
    fs::path r = canonical ? fs::canonical(root, ec) : root.lexically_normal();
    if (!ec && is_inside(path, r)) return true;
  }
  return false;
}

std::string special_file_kind(const fs::file_status& status) {
  switch (status.type()) {
    case fs::file_type::block: return "a block device";
    case fs::file_type::character: return "a character device";
    case fs::file_type::fifo: return "a FIFO";
    case fs::file_type::socket: return "a socket";
    default: return "a special file";
  }
}

Status check_kind(const fs::path& resolved, std::string_view text, PathWant want) {
  std::error_code ec;
  auto status = fs::status(resolved, ec);
  if (!fs::exists(status)) {
    if (fs::is_symlink(fs::symlink_status(resolved, ec)))
      return make_error(quote(text) + " is a symlink to " + quote(fs::read_symlink(resolved, ec).string()) + ", which does not exist");
    return make_error(quote(text) + " does not exist");
  }
  if (want == PathWant::file && fs::is_directory(status))
    return make_error(quote(text) + " is a directory; a file is expected here");
  // A device, FIFO or socket would be read (or block) as if it were a file.
  if (want == PathWant::file && !fs::is_regular_file(status))
    return make_error(quote(text) + " is " + special_file_kind(status) + ", not a regular file; give a regular file");
  if (want == PathWant::directory && !fs::is_directory(status))
    return make_error(quote(text) + " is not a directory; a directory is expected here");
  return {};
}

}  // namespace

bool is_inside(const fs::path& path, const fs::path& root) {
  fs::path p = path.lexically_normal(), r = root.lexically_normal();
  auto rel = p.lexically_relative(r);
  if (rel.empty()) return false;
  return *rel.begin() != "..";
}

Result<fs::path> resolve_manifest_path(const PathScope& scope, std::string_view text, const PathRules& rules) {
  if (text.empty()) return make_error("the path is empty");
  if (text.find('\0') != std::string_view::npos) return make_error("the path contains a NUL byte");
  fs::path written(text);
  if (written.is_absolute() && !rules.allow_absolute)
    return make_error("absolute path " + quote(text) + " is not allowed here: give a path relative to the file, inside " +
                      scope.roots_description);
  fs::path resolved = (written.is_absolute() ? written : scope.base_dir / written).lexically_normal();
  if (!written.is_absolute() && !inside_any(resolved, scope.roots, false))
    return make_error("path " + quote(text) + " leads outside " + scope.roots_description +
                      ": referenced files must stay inside it");
  if (rules.must_exist) {
    if (auto kind = check_kind(resolved, text, rules.want); !kind) return kind.error();
  }
  std::error_code ec;
  if (!written.is_absolute() && fs::exists(fs::symlink_status(resolved, ec))) {
    fs::path real = fs::weakly_canonical(resolved, ec);
    if (ec || !inside_any(real, scope.roots, true))
      return make_error("path " + quote(text) + " is a symlink leading outside " + scope.roots_description +
                        ": referenced files must stay inside it");
  }
  return resolved;
}

}  // namespace meros
