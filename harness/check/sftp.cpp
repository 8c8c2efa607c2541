#include "check/sftp.h"

#include <fcntl.h>
#include <libssh/sftp.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <cstdlib>
#include <fstream>

namespace meros {
namespace fs = std::filesystem;

namespace {

constexpr std::size_t kChunk = 32 * 1024;

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
      : session_(session), sftp_(sftp), lock_(std::move(lock)), host_(std::move(host)) {}
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

  Status write_file(const std::string& path, const fs::path& from) override {
    std::ifstream in(from, std::ios::binary);
    if (!in) return make_error("cannot read " + from.string());
    sftp_file file = sftp_open(sftp_, path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (!file) return failure(path);
    char buffer[kChunk];
    bool written = true;
    while (written && in) {
      in.read(buffer, sizeof buffer);
      auto n = static_cast<std::size_t>(in.gcount());
      written = n == 0 || sftp_write(file, buffer, n) == static_cast<ssize_t>(n);
    }
    bool closed = sftp_close(file) == SSH_NO_ERROR;
    if (!written || !closed) return failure(path);
    return {};
  }

  Status read_file(const std::string& path, const fs::path& to) override {
    sftp_file file = sftp_open(sftp_, path.c_str(), O_RDONLY, 0);
    if (!file) return failure(path);
    std::ofstream out(to, std::ios::binary | std::ios::trunc);
    char buffer[kChunk];
    ssize_t n = 0;
    while ((n = sftp_read(file, buffer, sizeof buffer)) > 0) out.write(buffer, n);
    sftp_close(file);
    if (n < 0) return failure(path);
    if (!out) return make_error("cannot write " + to.string());
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

 private:
  Error failure(const std::string& path) const {
    int code = sftp_get_error(sftp_);
    std::string text = status_text(code);
    if (code == SSH_FX_FAILURE || code == SSH_FX_OK) text += std::string(": ") + ssh_get_error(session_);
    return Error{"sftp on " + host_ + ": " + path + ": " + text};
  }

  ssh_session session_;
  sftp_session sftp_;
  std::unique_lock<std::mutex> lock_;
  std::string host_;
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
