#include "report/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <string>
#include <system_error>

namespace meros {
namespace {

namespace fs = std::filesystem;

std::string system_reason(int error_number) {
  return std::generic_category().message(error_number);
}

Error write_error(const fs::path& target, const std::string& step, int error_number) {
  return make_error("cannot write " + target.string() + ": " + step + ": " +
                    system_reason(error_number));
}

fs::path directory_of(const fs::path& target) {
  fs::path parent = target.parent_path();
  return parent.empty() ? fs::path(".") : parent;
}

// A hidden name beside target, unique per process, call and moment; O_EXCL
// still guards against the unlikely clash.
fs::path temp_name_for(const fs::path& target) {
  static std::atomic<unsigned> counter{0};
  auto ticks = std::chrono::steady_clock::now().time_since_epoch().count();
  std::string stem = target.filename().string().substr(0, 180);  // stay under NAME_MAX
  std::string name = "." + stem + ".tmp." + std::to_string(getpid()) + "." +
                     std::to_string(counter++) + "." + std::to_string(ticks % 1000000007);
  return target.parent_path() / name;
}

// A freshly created temporary file: owns its descriptor and, until it has
// been renamed into place, its directory entry. The destructor closes the
// descriptor and removes a file that was not published.
class TempFile {
 public:
  static Result<TempFile> create_beside(const fs::path& target);

  TempFile(TempFile&& other) noexcept
      : path_(std::move(other.path_)), fd_(other.fd_), published_(other.published_) {
    other.fd_ = -1;
    other.published_ = true;
  }
  TempFile& operator=(TempFile&&) = delete;
  ~TempFile();

  Status change_mode(mode_t mode, const fs::path& target);
  Status write_all(std::string_view content, const fs::path& target);
  Status sync_and_close(const fs::path& target);
  Status rename_over(const fs::path& target);

 private:
  TempFile(fs::path path, int fd) : path_(std::move(path)), fd_(fd) {}

  fs::path path_;
  int fd_ = -1;
  bool published_ = false;
};

Result<TempFile> TempFile::create_beside(const fs::path& target) {
  constexpr int kTries = 100;
  int last_error = EEXIST;
  for (int i = 0; i < kTries && last_error == EEXIST; ++i) {
    fs::path path = temp_name_for(target);
    int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd >= 0) return TempFile(std::move(path), fd);
    last_error = errno;
  }
  return write_error(target, "creating a temporary file in " + directory_of(target).string(),
                     last_error);
}

TempFile::~TempFile() {
  if (fd_ >= 0) close(fd_);
  if (!published_) unlink(path_.c_str());
}

Status TempFile::change_mode(mode_t mode, const fs::path& target) {
  if (fchmod(fd_, mode) != 0) return write_error(target, "setting the mode of " + path_.string(), errno);
  return {};
}

Status TempFile::write_all(std::string_view content, const fs::path& target) {
  while (!content.empty()) {
    ssize_t written = write(fd_, content.data(), content.size());
    if (written < 0 && errno == EINTR) continue;
    if (written < 0) return write_error(target, "writing " + path_.string(), errno);
    content.remove_prefix(static_cast<std::size_t>(written));
  }
  return {};
}

Status TempFile::sync_and_close(const fs::path& target) {
  if (fsync(fd_) != 0) return write_error(target, "syncing " + path_.string(), errno);
  int fd = fd_;
  fd_ = -1;
  // A failing close() can report a deferred write error (NFS): not published.
  if (close(fd) != 0) return write_error(target, "closing " + path_.string(), errno);
  return {};
}

Status TempFile::rename_over(const fs::path& target) {
  if (rename(path_.c_str(), target.c_str()) != 0) {
    return write_error(target, "renaming " + path_.string() + " over it", errno);
  }
  published_ = true;
  return {};
}

Status create_parent_directories(const fs::path& target) {
  std::error_code error;
  fs::create_directories(directory_of(target), error);
  if (error) return write_error(target, "creating directory " + directory_of(target).string(),
                                error.value());
  return {};
}

// Makes the rename itself durable. Filesystems that cannot sync a
// directory say EINVAL; there is nothing more to do on those.
Status sync_directory(const fs::path& target) {
  fs::path directory = directory_of(target);
  int fd = open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return write_error(target, "opening directory " + directory.string(), errno);
  int result = fsync(fd);
  int error_number = errno;
  close(fd);
  if (result != 0 && error_number != EINVAL) {
    return write_error(target, "syncing directory " + directory.string(), error_number);
  }
  return {};
}

}  // namespace

Status write_file_atomically(const fs::path& target, std::string_view content, mode_t mode) {
  if (Status created = create_parent_directories(target); !created) return created;
  Result<TempFile> temp = TempFile::create_beside(target);
  if (!temp) return temp.error();
  if (Status changed = temp->change_mode(mode, target); !changed) return changed;
  if (Status written = temp->write_all(content, target); !written) return written;
  if (Status synced = temp->sync_and_close(target); !synced) return synced;
  if (Status renamed = temp->rename_over(target); !renamed) return renamed;
  return sync_directory(target);
}

}  // namespace meros
