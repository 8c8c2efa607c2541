#include "check/transfer.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <set>

#include "util/fd.h"
#include "util/path_join.h"
#include "util/text.h"

namespace meros {
namespace fs = std::filesystem;
using Kind = RemoteEntry::Kind;

std::string printable_name(std::string_view name) {
  constexpr std::size_t kShown = 80;
  std::string out = "'";
  for (unsigned char c : name.substr(0, kShown)) {
    if (c < 0x20 || c >= 0x7f || c == '\'' || c == '\\') {
      char hex[5];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    } else {
      out += static_cast<char>(c);
    }
  }
  out += "'";
  if (name.size() > kShown) out += " (" + std::to_string(name.size()) + " bytes, the first " + std::to_string(kShown) + " shown)";
  return out;
}

Status check_guest_name(std::string_view name, std::string_view where) {
  if (is_plain_name(name)) return {};
  std::string why = name.empty()                                  ? "an empty name"
                    : name == "." || name == ".."                 ? "not a name but a reference to a directory"
                    : name.find('\0') != std::string_view::npos ? "it contains a NUL byte"
                                                                  : "it contains '/'";
  return make_error("the guest sent the name " + printable_name(name) + " in " + std::string(where) + ": " + why +
                    "; a name must be one plain path component, so nothing was written for it");
}

namespace {

// What one push or pull may still use: bytes, entries and time. Every
// chunk is charged to it, so a file without end stops in the middle.
class Budget {
 public:
  Budget(std::string verb, const TransferLimits& limits)
      : verb_(std::move(verb)), limits_(limits), end_(std::chrono::steady_clock::now() + limits.timeout) {}
  std::chrono::steady_clock::time_point end() const { return end_; }

  Status check_time() const {
    if (std::chrono::steady_clock::now() <= end_) return {};
    return stopped("timed out after " + std::to_string(limits_.timeout.count()) + " ms (the step's timeout)");
  }
  Status charge(std::size_t bytes) {
    if (bytes > limits_.max_bytes - used_)
      return stopped("the max_bytes limit of " + std::to_string(limits_.max_bytes) +
                     " bytes is reached (raise max_bytes: on the step if that much is expected)");
    used_ += bytes;
    return check_time();
  }
  Status count_entry() {
    if (++entries_ <= kMaxTransferEntries) return check_time();
    return stopped("more than " + std::to_string(kMaxTransferEntries) + " entries");
  }

 private:
  Error stopped(const std::string& why) const { return Error{verb_ + " stopped at " + std::to_string(used_) + " bytes: " + why}; }

  std::string verb_;
  TransferLimits limits_;
  std::chrono::steady_clock::time_point end_;
  std::uint64_t used_ = 0;
  std::uint64_t entries_ = 0;
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

Status copy_up(RemoteFiles& files, const fs::path& local, const std::string& remote, Budget& budget) {
  if (auto status = budget.check_time(); !status) return status;
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
      if (auto copied = copy_up(files, child, join(remote, child.filename().string()), budget); !copied) return copied;
  } else if (S_ISREG(st.st_mode)) {
    auto charge = [&](const char*, std::size_t n) { return budget.charge(n); };
    if (auto written = files.write_file(remote, local, charge); !written) return written;
  } else {
    return make_error(local.string() + " is not a file, directory or symlink");
  }
  return files.set_mode_and_time(remote, st.st_mode & 07777, st.st_mtim.tv_sec);
}

// --- pull: the local side, by descriptors ----------------------------------

Error local_error(const std::string& what, const fs::path& shown, int error_number = errno) {
  return Error{"cannot " + what + " " + shown.string() + ": " + errno_text(error_number)};
}

// Removes name under dir and everything beneath it, following no symlink.
Status remove_at(int dir, const std::string& name, const fs::path& shown, int depth = 0) {
  struct stat st {};
  if (::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return errno == ENOENT ? Status{} : local_error("inspect", shown);
  if (!S_ISDIR(st.st_mode)) {
    if (::unlinkat(dir, name.c_str(), 0) != 0) return local_error("remove", shown);
    return {};
  }
  if (depth > kMaxTransferDepth) return make_error("cannot remove " + shown.string() + ": nested too deep");
  int fd = ::openat(dir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return local_error("open", shown);
  DIR* listing = ::fdopendir(fd);
  if (!listing) {
    ::close(fd);
    return local_error("list", shown);
  }
  std::vector<std::string> names;
  while (dirent* entry = ::readdir(listing))
    if (std::string_view(entry->d_name) != "." && std::string_view(entry->d_name) != "..") names.push_back(entry->d_name);
  Status status;
  for (const auto& child : names)
    if (status) status = remove_at(::dirfd(listing), child, shown / child, depth + 1);
  ::closedir(listing);
  if (!status) return status;
  if (::unlinkat(dir, name.c_str(), AT_REMOVEDIR) != 0) return local_error("remove", shown);
  return {};
}

// Opens the directory name under dir, making it when missing. A symlink
// or anything else in its place is an error.
Result<Fd> open_directory_at(int dir, const std::string& name, const fs::path& shown) {
  if (::mkdirat(dir, name.c_str(), 0755) != 0 && errno != EEXIST) return local_error("create", shown);
  Fd fd(::openat(dir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (fd.valid()) return fd;
  if (errno == ENOTDIR || errno == ELOOP)
    return make_error(shown.string() + " exists and is not a directory (a symlink there is not followed)");
  return local_error("open", shown);
}

// Clears the way for a new entry of kind under dir: whatever is there is
// removed, except a directory where a directory comes (it is merged).
Status make_room(int dir, const std::string& name, Kind kind, const fs::path& shown) {
  struct stat st {};
  if (::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return errno == ENOENT ? Status{} : local_error("inspect", shown);
  if (S_ISDIR(st.st_mode) && kind == Kind::directory) return {};
  return remove_at(dir, name, shown);
}

// Guest modes without setuid, setgid and sticky bits: a root-owned setuid
// file from a guest in the artifacts would be the guest's key to the host.
mode_t local_mode(const RemoteEntry& entry) { return static_cast<mode_t>(entry.mode & 0777); }

Status set_mode_and_time(int fd, const RemoteEntry& entry, const fs::path& shown) {
  if (::fchmod(fd, local_mode(entry)) != 0) return local_error("set the mode of", shown);
  struct timespec times[2] = {{entry.mtime, 0}, {entry.mtime, 0}};
  if (::futimens(fd, times) != 0) return local_error("set the time of", shown);
  return {};
}

// --- pull: walking the guest's tree ------------------------------------------

class Puller {
 public:
  Puller(RemoteFiles& files, Budget& budget) : files_(files), budget_(budget) {}

  // Copies remote (entry) to name under dir; shown is its local path.
  Status copy(const std::string& remote, const RemoteEntry& entry, int dir, const std::string& name, const fs::path& shown,
              int depth) {
    if (auto counted = budget_.count_entry(); !counted) return counted;
    if (auto room = make_room(dir, name, entry.kind, shown); !room) return room;
    switch (entry.kind) {
      case Kind::symlink: return copy_link(remote, dir, name, shown);
      case Kind::directory: return copy_directory(remote, entry, dir, name, shown, depth);
      case Kind::file: return copy_file(remote, entry, dir, name, shown);
      case Kind::other: break;
    }
    return make_error(remote + " is not a file, directory or symlink");
  }

 private:
  // The link is made as the guest has it; nothing later goes through it
  // (every entry is made under its parent's descriptor, with O_NOFOLLOW).
  Status copy_link(const std::string& remote, int dir, const std::string& name, const fs::path& shown) {
    auto target = files_.read_link(remote);
    if (!target) return target.error();
    if (target->empty() || target->size() >= PATH_MAX)
      return make_error("the guest sent the link target " + printable_name(*target) + " for " + remote + ": not a usable link target");
    if (::symlinkat(target->c_str(), dir, name.c_str()) != 0) return local_error("create the link", shown);
    return {};
  }

  Status copy_file(const std::string& remote, const RemoteEntry& entry, int dir, const std::string& name, const fs::path& shown) {
    Fd fd(::openat(dir, name.c_str(), O_CREAT | O_EXCL | O_NOFOLLOW | O_WRONLY | O_CLOEXEC, 0600));
    if (!fd.valid()) return local_error("create", shown);
    auto sink = [&](const char* data, std::size_t size) -> Status {
      if (auto charged = budget_.charge(size); !charged) return charged;
      for (std::size_t done = 0; done < size;) {
        ssize_t n = ::write(fd.get(), data + done, size - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return local_error("write", shown);
        done += static_cast<std::size_t>(n);
      }
      return {};
    };
    Status read = files_.read_file(remote, sink);
    if (read) read = set_mode_and_time(fd.get(), entry, shown);
    if (read) return {};
    // A part of a file is no copy of it: it goes, and the message says so.
    fd.reset();
    ::unlinkat(dir, name.c_str(), 0);
    return make_error(read.error().message + " (reading " + remote + "; the partial copy was removed)");
  }

  Status copy_directory(const std::string& remote, const RemoteEntry& entry, int dir, const std::string& name, const fs::path& shown,
                        int depth) {
    if (depth >= kMaxTransferDepth)
      return make_error(remote + " is nested more than " + std::to_string(kMaxTransferDepth) + " directories deep: refusing to go on");
    auto fd = open_directory_at(dir, name, shown);
    if (!fd) return fd.error();
    auto children = files_.list(remote);
    if (!children) return children.error();
    // Every name of the listing is checked before anything of it is made.
    std::set<std::string> seen;
    for (const auto& child : *children) {
      if (auto plain = check_guest_name(child.name, remote); !plain) return plain;
      if (!seen.insert(child.name).second)
        return make_error("the guest listed " + printable_name(child.name) + " twice in " + remote + ": refusing the listing");
    }
    std::sort(children->begin(), children->end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    for (const auto& child : *children) {
      if (child.kind == Kind::other) continue;  // devices, sockets, fifos: nothing to copy
      if (auto copied = copy(join(remote, child.name), child, fd->get(), child.name, shown / child.name, depth + 1); !copied)
        return copied;
    }
    return set_mode_and_time(fd->get(), entry, shown);
  }

  RemoteFiles& files_;
  Budget& budget_;
};

// Opens local_root (the caller's, trusted: created, symlinks followed) and
// walks relative_dir down from it, making each directory and following none.
Result<Fd> open_destination(const fs::path& local_root, const fs::path& relative_dir) {
  std::error_code ec;
  fs::create_directories(local_root, ec);
  if (ec) return make_error("cannot create " + local_root.string() + ": " + ec.message());
  Fd dir(::open(local_root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir.valid()) return local_error("open", local_root);
  fs::path shown = local_root;
  for (const auto& part : relative_dir.lexically_normal()) {
    std::string name = part.string();
    if (name.empty() || name == ".") continue;
    if (!is_plain_name(name)) return make_error("the destination " + relative_dir.string() + " does not stay inside " + local_root.string());
    shown /= name;
    auto next = open_directory_at(dir.get(), name, shown);
    if (!next) return next.error();
    dir = std::move(*next);
  }
  return dir;
}

}  // namespace

Result<std::string> mos_shared_directory(RemoteFiles& files) {
  auto home = files.home_directory();
  if (!home) return home.error();
  // The guest's answer: a path the copies are made under, so it must be one.
  bool printable = std::all_of(home->begin(), home->end(), [](unsigned char c) { return c >= 0x20 && c < 0x7f; });
  if (!home->starts_with('/') || home->size() > 1024 || !printable)
    return make_error("the guest sent " + printable_name(*home) + " as the home directory: not an absolute path, so there is no ~/" +
                      kMosShared);
  return join(without_trailing_slashes(*home), kMosShared);
}

Result<std::string> push_path(RemoteFiles& files, const fs::path& local, const std::string& given_path, const TransferLimits& limits) {
  Budget budget("push", limits);
  files.stop_by(budget.end());
  std::string guest_path = given_path;
  if (guest_path.empty()) {
    auto shared = mos_shared_directory(files);
    if (!shared) return shared.error();
    guest_path = *shared + "/";
  }
  std::string target = without_trailing_slashes(guest_path);
  bool inside = guest_path.ends_with('/');
  if (!inside) {
    auto existing = files.lstat(target);
    inside = existing && existing->kind == Kind::directory;
  }
  if (inside) target = join(target, fs::path(local).lexically_normal().filename().string());
  if (auto made = make_parents(files, target); !made) return made.error();
  if (auto copied = copy_up(files, local, target, budget); !copied) return copied.error();
  return target;
}

Result<std::string> push_path(SshClient& ssh, const fs::path& local, const std::string& guest_path, const TransferLimits& limits) {
  auto files = ssh.open_files();
  if (!files) return files.error();
  return push_path(**files, local, guest_path, limits);
}

namespace {

// Copies source (the guest's) to local_root / relative_dir / name.
Result<fs::path> pull_as(RemoteFiles& files, const std::string& source, const fs::path& local_root, const fs::path& relative_dir,
                         const std::string& name, Budget& budget) {
  if (auto plain = check_guest_name(name, "the pull's source " + source); !plain) return plain.error();
  auto entry = files.lstat(source);
  if (!entry) return entry.error();
  auto dir = open_destination(local_root, relative_dir);
  if (!dir) return dir.error();
  fs::path local = (local_root / relative_dir).lexically_normal() / name;
  Puller puller(files, budget);
  if (auto copied = puller.copy(source, *entry, dir->get(), name, local, 0); !copied) return copied.error();
  return local;
}

}  // namespace

Result<fs::path> pull_path(RemoteFiles& files, const std::string& guest_path, const fs::path& local_root, const fs::path& relative_dir,
                           const TransferLimits& limits) {
  Budget budget("pull", limits);
  files.stop_by(budget.end());
  std::string source = without_trailing_slashes(guest_path);
  std::string name = fs::path(source).filename().string();
  if (name.empty()) name = "root";
  return pull_as(files, source, local_root, relative_dir, name, budget);
}

Result<fs::path> pull_mos_shared(RemoteFiles& files, const std::string& vm, const fs::path& local_root, const fs::path& relative_dir,
                                 const TransferLimits& limits) {
  Budget budget("pull", limits);
  files.stop_by(budget.end());
  auto shared = mos_shared_directory(files);
  if (!shared) return shared.error();
  return pull_as(files, *shared, local_root, relative_dir / kMosShared, vm, budget);
}

Result<fs::path> pull_path(SshClient& ssh, const std::string& guest_path, const fs::path& local_root, const fs::path& relative_dir,
                           const TransferLimits& limits) {
  auto files = ssh.open_files();
  if (!files) return files.error();
  return pull_path(**files, guest_path, local_root, relative_dir, limits);
}

}  // namespace meros
