#include "check/sftp.h"

#include <fcntl.h>
#include <libssh/sftp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "util/signals.h"

namespace meros {
namespace fs = std::filesystem;

namespace {

constexpr std::size_t kChunk = 32 * 1024;
// A listing longer than this is a guest filling the harness's memory.
constexpr std::size_t kMaxListing = 100'000;
// Past the transfer's deadline, a call still running gets this long before
// the connection is cut: a copy that is still flowing stops at its own
// deadline check first and keeps the session usable.
constexpr auto kStopGrace = std::chrono::seconds(2);

// Cuts the SSH connection (shutdown of its socket, which wakes libssh's
// blocking read from another thread without touching libssh) when a
// transfer's calls run past their end, or when the run is interrupted.
// libssh's SFTP layer waits for a whole reply without any timeout, so a
// guest that sends a reply one byte a second would hold a pull for ever.
class Watchdog {
 public:
  explicit Watchdog(int socket) : socket_(socket) {}
  ~Watchdog() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      done_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  void arm(std::chrono::steady_clock::time_point end) {
    std::lock_guard<std::mutex> lock(mutex_);
    end_ = end + kStopGrace;
    if (!thread_.joinable()) thread_ = std::thread([this] { watch(); });
    wake_.notify_all();
  }
  bool fired() const { return fired_.load(); }

 private:
  void watch() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!done_) {
      auto now = std::chrono::steady_clock::now();
      if (now >= end_ || stop_signal().load()) {
        fired_ = true;
        ::shutdown(socket_, SHUT_RDWR);
        return;
      }
      wake_.wait_until(lock, std::min(end_, now + std::chrono::milliseconds(200)));
    }
  }

  int socket_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::chrono::steady_clock::time_point end_ = std::chrono::steady_clock::time_point::max();
  bool done_ = false;
  std::atomic<bool> fired_{false};
  std::thread thread_;
};

std::string status_text(int code) {
  switch (code) {
    case SSH_FX_NO_SUCH_FILE: return "no such file or directory";
    case SSH_FX_PERMISSION_DENIED: return "permission denied";
    case SSH_FX_NO_SUCH_PATH: return "no such path";
    case SSH_FX_FILE_ALREADY_EXISTS: return "it already exists";
    case SSH_FX_WRITE_PROTECT: return "read-only file system";
    case SSH_FX_NO_CONNECTION:
    case SSH_FX_CONNECTION_LOST: return "the connection is lost";
    default: return "failed";
  }
}

RemoteEntry entry_of(sftp_attributes attributes) {
  RemoteEntry entry;
  if (attributes->name) entry.name = attributes->name;
  switch (attributes->permissions & S_IFMT) {
    case S_IFREG: entry.kind = RemoteEntry::Kind::file; break;
    case S_IFDIR: entry.kind = RemoteEntry::Kind::directory; break;
    case S_IFLNK: entry.kind = RemoteEntry::Kind::symlink; break;
    default: entry.kind = RemoteEntry::Kind::other;
  }
  entry.mode = attributes->permissions & 07777;
  entry.mtime = attributes->mtime;
  return entry;
}

class SftpFiles : public RemoteFiles {
 public:
  SftpFiles(ssh_session session, sftp_session sftp, std::unique_lock<std::mutex> lock, std::string host)
      : session_(session), sftp_(sftp), lock_(std::move(lock)), host_(std::move(host)), watchdog_(ssh_get_fd(session)) {}
  // Ends the sftp-server (EOF on its stdin) and waits for its exit status
  // before freeing the channel, as run() does: a channel freed before the
  // server's close arrived broke the next channel on the session.
  ~SftpFiles() override {
    ssh_channel_send_eof(sftp_->channel);
    ssh_channel_get_exit_status(sftp_->channel);
    sftp_free(sftp_);
  }

  Result<RemoteEntry> lstat(const std::string& path) override {
    sftp_attributes attributes = sftp_lstat(sftp_, path.c_str());
    if (!attributes) return failure(path);
    RemoteEntry entry = entry_of(attributes);
    sftp_attributes_free(attributes);
    return entry;
  }

  Result<std::vector<RemoteEntry>> list(const std::string& dir) override {
    sftp_dir handle = sftp_opendir(sftp_, dir.c_str());
    if (!handle) return failure(dir);
    std::vector<RemoteEntry> entries;
    while (sftp_attributes attributes = sftp_readdir(sftp_, handle)) {
      RemoteEntry entry = entry_of(attributes);
      sftp_attributes_free(attributes);
      if (entry.name != "." && entry.name != "..") entries.push_back(std::move(entry));
      if (entries.size() > kMaxListing) {
        sftp_closedir(handle);
        return make_error("sftp on " + host_ + ": " + dir + ": the guest listed more than " + std::to_string(kMaxListing) +
                          " entries; refusing the rest");
      }
    }
    bool complete = sftp_dir_eof(handle);
    sftp_closedir(handle);
    if (!complete) return failure(dir);
    return entries;
  }

  Status make_directory(const std::string& path) override {
    if (sftp_mkdir(sftp_, path.c_str(), 0755) == SSH_OK) return {};
    auto existing = lstat(path);
    if (existing && existing->kind == RemoteEntry::Kind::directory) return {};
    if (existing) return make_error(path + " exists and is not a directory");
    return failure(path);
  }

  Status write_file(const std::string& path, const fs::path& from, const ChunkSink& charge) override {
    std::ifstream in(from, std::ios::binary);
    if (!in) return make_error("cannot read " + from.string());
    sftp_file file = sftp_open(sftp_, path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (!file) return failure(path);
    char buffer[kChunk];
    bool written = true;
    Status charged;
    while (written && charged && in) {
      in.read(buffer, sizeof buffer);
      auto n = static_cast<std::size_t>(in.gcount());
      if (n > 0) charged = charge(buffer, n);
      written = n == 0 || !charged || sftp_write(file, buffer, n) == static_cast<ssize_t>(n);
    }
    bool closed = sftp_close(file) == SSH_NO_ERROR;
    if (!charged) return charged;
    if (!written || !closed) return failure(path);
    return {};
  }

  Status read_file(const std::string& path, const ChunkSink& sink) override {
    sftp_file file = sftp_open(sftp_, path.c_str(), O_RDONLY, 0);
    if (!file) return failure(path);
    char buffer[kChunk];
    ssize_t n = 0;
    Status taken;
    while (taken && (n = sftp_read(file, buffer, sizeof buffer)) > 0) taken = sink(buffer, static_cast<std::size_t>(n));
    // A read stopped by the sink leaves no request outstanding (sftp_read
    // waits for its answer), so the close below is answered in order.
    sftp_close(file);
    if (!taken) return taken;
    if (n < 0) return failure(path);
    return {};
  }

  Status set_mode_and_time(const std::string& path, std::uint32_t mode, std::int64_t mtime) override {
    struct sftp_attributes_struct attributes {};
    attributes.flags = SSH_FILEXFER_ATTR_PERMISSIONS | SSH_FILEXFER_ATTR_ACMODTIME;
    attributes.permissions = mode & 07777;
    attributes.atime = attributes.mtime = static_cast<std::uint32_t>(mtime);
    if (sftp_setstat(sftp_, path.c_str(), &attributes) != SSH_OK) return failure(path);
    return {};
  }

  Result<std::string> read_link(const std::string& path) override {
    char* target = sftp_readlink(sftp_, path.c_str());
    if (!target) return failure(path);
    std::string text = target;
    ssh_string_free_char(target);
    return text;
  }

  Status make_link(const std::string& target, const std::string& path) override {
    // OpenSSH's sftp-server takes SSH_FXP_SYMLINK's two paths in the
    // opposite order of the draft, and libssh only swaps them when the SSH
    // server itself is OpenSSH (ours is dropbear): swap them here.
    if (sftp_symlink(sftp_, path.c_str(), target.c_str()) != SSH_OK) return failure(path);
    return {};
  }

  // SFTP resolves "." against the login directory, the user's home.
  Result<std::string> home_directory() override {
    char* resolved = sftp_canonicalize_path(sftp_, ".");
    if (!resolved) return failure(".");
    std::string home = resolved;
    ssh_string_free_char(resolved);
    return home;
  }

  void stop_by(std::chrono::steady_clock::time_point end) override { watchdog_.arm(end); }

 private:
  Error failure(const std::string& path) const {
    if (watchdog_.fired())
      return Error{"sftp on " + host_ + ": " + path + ": the guest's sftp-server did not answer by the deadline (or the run was interrupted); "
                   "the VM's SSH connection was closed to stop it"};
    int code = sftp_get_error(sftp_);
    std::string text = status_text(code);
    if (code == SSH_FX_FAILURE || code == SSH_FX_OK) text += std::string(": ") + ssh_get_error(session_);
    return Error{"sftp on " + host_ + ": " + path + ": " + text};
  }

  ssh_session session_;
  sftp_session sftp_;
  std::unique_lock<std::mutex> lock_;
  std::string host_;
  Watchdog watchdog_;  // outlives the destructor's body: it still bounds the wait for the server's exit
};

}  // namespace

Result<std::unique_ptr<RemoteFiles>> open_sftp(ssh_session session, std::unique_lock<std::mutex> lock,
                                               const std::string& server_command, const std::string& host) {
  ssh_channel channel = ssh_channel_new(session);
  if (!channel || ssh_channel_open_session(channel) != SSH_OK || ssh_channel_request_exec(channel, server_command.c_str()) != SSH_OK) {
    if (channel) ssh_channel_free(channel);
    return make_error("sftp on " + host + ": cannot start the guest's sftp-server: " + ssh_get_error(session));
  }
  sftp_session sftp = sftp_new_channel(session, channel);
  if (!sftp) {
    ssh_channel_free(channel);
    return make_error("sftp on " + host + ": cannot make an SFTP session: " + ssh_get_error(session));
  }
  if (sftp_init(sftp) != SSH_OK) {
    std::string why = ssh_get_error(session);
    sftp_free(sftp);
    return make_error("sftp on " + host + ": the guest's sftp-server did not answer (" + why + "); the command was: " + server_command);
  }
  return std::unique_ptr<RemoteFiles>(new SftpFiles(session, sftp, std::move(lock), host));
}

}  // namespace meros
