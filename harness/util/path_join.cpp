#include "util/path_join.h"

#include "util/text.h"

namespace meros {
namespace fs = std::filesystem;

bool is_plain_name(std::string_view name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string_view::npos &&
         name.find('\0') == std::string_view::npos;
}

Result<fs::path> child_path(const fs::path& parent, std::string_view name, std::string_view what) {
  if (!is_plain_name(name))
    return make_error(std::string(what) + " " + quote(name) + " is not a plain file name (no '/', '.', '..' or NUL): refusing to use it under " +
                      parent.string());
  return parent / std::string(name);
}

Result<fs::path> path_beneath(const fs::path& parent, const fs::path& relative, std::string_view what) {
  const std::string& text = relative.native();
  fs::path normal = relative.lexically_normal();
  bool escapes = relative.has_root_path() || text.find('\0') != std::string::npos || (!normal.empty() && *normal.begin() == "..");
  if (escapes)
    return make_error(std::string(what) + " " + quote(text) + " does not stay inside " + parent.string() + ": refusing to use it");
  if (normal.empty() || normal == ".") return parent;
  return parent / normal;
}

fs::path checked_child_path(const fs::path& parent, std::string_view name, std::string_view what) {
  auto path = child_path(parent, name, what);
  if (!path) throw FatalError(path.error().message);
  return *path;
}

}  // namespace meros
