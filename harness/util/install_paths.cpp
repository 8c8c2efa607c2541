#include "util/install_paths.h"

#include <pwd.h>
#include <unistd.h>

#include <cstdlib>

namespace meros {
namespace {

std::optional<fs::path> self_dir() {
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return std::nullopt;
  return self.parent_path();
}

}  // namespace

std::optional<fs::path> installed_prefix() {
  auto dir = self_dir();
  if (!dir || dir->filename() != "bin") return std::nullopt;
  fs::path prefix = dir->parent_path();
  std::error_code ec;
  if (!fs::is_directory(prefix / "share" / "meros-test", ec)) return std::nullopt;
  return prefix;
}

fs::path libexec_dir() {
  if (auto prefix = installed_prefix()) return *prefix / "libexec" / "meros-test";
  return self_dir().value_or(fs::current_path());
}

fs::path data_dir(const fs::path& fallback) {
  if (auto prefix = installed_prefix()) return *prefix / "share" / "meros-test";
  return fallback;
}

fs::path default_store_dir() {
  if (const char* env = std::getenv("MEROS_TEST_CACHE"); env && *env) return fs::path(env);
  if (::geteuid() == 0) return "/var/cache/meros-test";
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg == '/') return fs::path(xdg) / "meros-test";
  const char* home = std::getenv("HOME");
  if (!home || *home != '/') {
    const passwd* entry = ::getpwuid(::geteuid());
    home = entry ? entry->pw_dir : "/tmp";
  }
  return fs::path(home) / ".cache" / "meros-test";
}

}  // namespace meros
