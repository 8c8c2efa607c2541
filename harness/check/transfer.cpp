#include "check/transfer.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>

#include "util/text.h"

namespace meros {
namespace fs = std::filesystem;
using Kind = RemoteEntry::Kind;

namespace {

// The time budget of one push or pull, checked before each file.
class Deadline {
 public:
  explicit Deadline(std::chrono::milliseconds budget) : budget_(budget), end_(std::chrono::steady_clock::now() + budget) {}
  Status check() const {
    if (std::chrono::steady_clock::now() <= end_) return {};
    return make_error("timed out after " + std::to_string(budget_.count()) + " ms");
  }

 private:
  std::chrono::milliseconds budget_;
  std::chrono::steady_clock::time_point end_;
};

std::string join(const std::string& dir, const std::string& name) {
  return dir.ends_with('/') ? dir + name : dir + "/" + name;
}

std::string without_trailing_slashes(std::string path) {
  while (path.size() > 1 && path.ends_with('/')) path.pop_back();
  return path;
}

// --- push ----------------------------------------------------------------

Status make_parents(RemoteFiles& files, const std::string& path) {
  fs::path parent = fs::path(path).parent_path();
  std::string prefix;
  for (const auto& part : parent) {
    if (part == "/") continue;
    prefix += "/" + part.string();
    if (auto made = files.make_directory(prefix); !made) return made;
  }
  return {};
}

Status copy_up(RemoteFiles& files, const fs::path& local, const std::string& remote, const Deadline& deadline) {
  if (auto status = deadline.check(); !status) return status;
  struct stat st {};
  if (::lstat(local.c_str(), &st) != 0) return make_error("cannot read " + local.string() + ": " + errno_text());
  if (S_ISLNK(st.st_mode)) {
    std::error_code ec;
    fs::path target = fs::read_symlink(local, ec);
    if (ec) return make_error("cannot read the link " + local.string() + ": " + ec.message());
    return files.make_link(target.string(), remote);
  }
  if (S_ISDIR(st.st_mode)) {
    if (auto made = files.make_directory(remote); !made) return made;
    std::vector<fs::path> children;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(local, ec)) children.push_back(entry.path());
    if (ec) return make_error("cannot list " + local.string() + ": " + ec.message());
    std::sort(children.begin(), children.end());
    for (const auto& child : children)
      if (auto copied = copy_up(files, child, join(remote, child.filename().string()), deadline); !copied) return copied;
  } else if (S_ISREG(st.st_mode)) {
    if (auto written = files.write_file(remote, local); !written) return written;
  } else {
    return make_error(local.string() + " is not a file, directory or symlink");
  }
  return files.set_mode_and_time(remote, st.st_mode & 07777, st.st_mtim.tv_sec);
}

// --- pull ----------------------------------------------------------------

Status set_local_mode_and_time(const fs::path& path, const RemoteEntry& entry) {
  if (::chmod(path.c_str(), entry.mode) != 0) return make_error("cannot set the mode of " + path.string() + ": " + errno_text());
  struct timespec times[2] = {{entry.mtime, 0}, {entry.mtime, 0}};
  if (::utimensat(AT_FDCWD, path.c_str(), times, 0) != 0)
    return make_error("cannot set the time of " + path.string() + ": " + errno_text());
  return {};
}

Status copy_down(RemoteFiles& files, const std::string& remote, const RemoteEntry& entry, const fs::path& local,
                 const Deadline& deadline) {
  if (auto status = deadline.check(); !status) return status;
  std::error_code ec;
  if (fs::is_symlink(local, ec) || (entry.kind != Kind::directory && fs::is_directory(local, ec))) fs::remove_all(local, ec);
  switch (entry.kind) {
    case Kind::symlink: {
      auto target = files.read_link(remote);
      if (!target) return target.error();
      fs::create_symlink(*target, local, ec);
      if (ec) return make_error("cannot create the link " + local.string() + ": " + ec.message());
      return {};
    }
    case Kind::directory: {
      fs::create_directories(local, ec);
      if (ec) return make_error("cannot create " + local.string() + ": " + ec.message());
      auto children = files.list(remote);
      if (!children) return children.error();
      std::sort(children->begin(), children->end(), [](const auto& a, const auto& b) { return a.name < b.name; });
      for (const auto& child : *children) {
        if (child.kind == Kind::other) continue;  // devices, sockets, fifos: nothing to copy
        if (auto copied = copy_down(files, join(remote, child.name), child, local / child.name, deadline); !copied) return copied;
      }
      break;
    }
    case Kind::file:
      if (auto read = files.read_file(remote, local); !read) return read;
      break;
    case Kind::other:
      return make_error(remote + " is not a file, directory or symlink");
  }
  return set_local_mode_and_time(local, entry);
}

}  // namespace

Result<std::string> push_path(RemoteFiles& files, const fs::path& local, const std::string& guest_path,
                              std::chrono::milliseconds timeout) {
  Deadline deadline(timeout);
  std::string target = without_trailing_slashes(guest_path);
  bool inside = guest_path.ends_with('/');
  if (!inside) {
    auto existing = files.lstat(target);
    inside = existing && existing->kind == Kind::directory;
  }
  if (inside) target = join(target, fs::path(local).lexically_normal().filename().string());
  if (auto made = make_parents(files, target); !made) return made.error();
  if (auto copied = copy_up(files, local, target, deadline); !copied) return copied.error();
  return target;
}

Result<std::string> push_path(SshClient& ssh, const fs::path& local, const std::string& guest_path,
                              std::chrono::milliseconds timeout) {
  auto files = ssh.open_files();
  if (!files) return files.error();
  return push_path(**files, local, guest_path, timeout);
}

Result<fs::path> pull_path(RemoteFiles& files, const std::string& guest_path, const fs::path& local_dir,
                           std::chrono::milliseconds timeout) {
  Deadline deadline(timeout);
  std::string source = without_trailing_slashes(guest_path);
  auto entry = files.lstat(source);
  if (!entry) return entry.error();
  std::error_code ec;
  fs::create_directories(local_dir, ec);
  if (ec) return make_error("cannot create " + local_dir.string() + ": " + ec.message());
  std::string name = fs::path(source).filename().string();
  fs::path local = local_dir / (name.empty() ? "root" : name);
  if (auto copied = copy_down(files, source, *entry, local, deadline); !copied) return copied.error();
  return local;
}

Result<fs::path> pull_path(SshClient& ssh, const std::string& guest_path, const fs::path& local_dir,
                           std::chrono::milliseconds timeout) {
  auto files = ssh.open_files();
  if (!files) return files.error();
  return pull_path(**files, guest_path, local_dir, timeout);
}

}  // namespace meros
