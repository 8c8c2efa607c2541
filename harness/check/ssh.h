// SSH to a guest over its management link, through libssh: one persistent
// session per VM, a channel per command, key authentication with the
// cache's client key, the guest's host key pinned to the one its image
// fixture recorded. No ~/.ssh/config, known_hosts or agent of the user is
// read or written.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "check/remote_files.h"
#include "util/result.h"

namespace meros {

struct SshTarget {
  std::string host;             // for messages and libssh; the socket is made by connect_socket
  std::string user = "root";
  std::string private_key_file;  // the cache's client key
  std::string pinned_host_key;   // "ssh-ed25519 AAAA..." (comment ignored)
  // Opens a connected TCP socket to the guest's port 22 (inside the
  // scenario's namespace); the session takes ownership of the fd.
  std::function<Result<int>()> connect_socket;
  std::chrono::milliseconds connect_timeout{10'000};
  // The guest command serving SFTP for push and pull; empty: the one every
  // meros image has (check/sftp.h).
  std::string sftp_server;
};

struct CommandResult {
  int exit_code = -1;  // -1 when the command did not finish
  // What was kept of each stream (util/bounded_output.h: at most
  // kStepOutputLimit, head and tail with a marker line between them).
  std::string stdout_text, stderr_text;
  // Bytes the command printed that were not kept.
  std::uint64_t stdout_dropped = 0, stderr_dropped = 0;
  bool timed_out = false;
  std::chrono::microseconds elapsed{0};
};

// The seam for tests: checks take an SshClient, unit tests a fake.
class SshClient {
 public:
  virtual ~SshClient() = default;
  // Runs command through the guest's shell; stdin_data is fed to it.
  virtual Result<CommandResult> run(const std::string& command, std::chrono::milliseconds timeout,
                                    const std::string& stdin_data = "") = 0;
  // The guest's files, for push and pull; commands wait until it is gone.
  virtual Result<std::unique_ptr<RemoteFiles>> open_files() = 0;
};

// A libssh session, connected and authenticated, reused for every command.
class LibsshClient : public SshClient {
 public:
  static Result<std::unique_ptr<LibsshClient>> connect(const SshTarget& target);
  ~LibsshClient() override;
  LibsshClient(const LibsshClient&) = delete;
  LibsshClient& operator=(const LibsshClient&) = delete;

  Result<CommandResult> run(const std::string& command, std::chrono::milliseconds timeout,
                            const std::string& stdin_data = "") override;
  Result<std::unique_ptr<RemoteFiles>> open_files() override;

 private:
  LibsshClient() = default;
  Status open(const SshTarget& target);
  struct Session;
  std::unique_ptr<Session> session_;
  std::mutex mutex_;  // libssh sessions are not thread-safe
  std::string host_;
  std::string sftp_server_;
};

// The command line run on the guest so that a timeout kills the command
// there too, with everything it started:
// `meros-guest exec --timeout Nms -- sh -c 'command'`.
std::string guest_command_with_timeout(const std::string& command, std::chrono::milliseconds timeout);
// 'text' quoted for a POSIX shell.
std::string shell_quote(const std::string& text);
// The "type base64" part of an OpenSSH public key line.
std::string public_key_core(const std::string& line);

}  // namespace meros
