#include "check/ssh.h"

#include "check/sftp.h"
#include "util/bounded_output.h"
#include "util/debug_log.h"
#include "util/signals.h"

#include <libssh/libssh.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sstream>

namespace meros {

std::string shell_quote(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string guest_command_with_timeout(const std::string& command, std::chrono::milliseconds timeout) {
  // The agent runs the command in a process group of its own and kills the
  // whole group at the timeout. Without the agent (an image meros did not
  // build), the channel's close at the harness's deadline is all there is.
  return "if [ -x /opt/meros/bin/meros-guest ]; then exec /opt/meros/bin/meros-guest exec --timeout " +
         std::to_string(std::max<long long>(1, timeout.count())) + "ms -- sh -c " + shell_quote(command) +
         "; else exec sh -c " + shell_quote(command) + "; fi";
}

std::string public_key_core(const std::string& line) {
  std::istringstream in(line);
  std::string type, base64;
  in >> type >> base64;
  return type + " " + base64;
}

struct LibsshClient::Session {
  ssh_session handle = nullptr;
  ~Session() {
    if (!handle) return;
    ssh_disconnect(handle);
    ssh_free(handle);
  }
};

LibsshClient::~LibsshClient() = default;

Result<std::unique_ptr<LibsshClient>> LibsshClient::connect(const SshTarget& target) {
  std::unique_ptr<LibsshClient> client(new LibsshClient());
  if (auto status = client->open(target); !status) return status.error();
  return client;
}

namespace {

std::string session_error(ssh_session session) { return ssh_get_error(session); }

Status check_host_key(ssh_session session, const SshTarget& target) {
  ssh_key key = nullptr;
  if (ssh_get_server_publickey(session, &key) != SSH_OK) return make_error("the guest sent no host key");
  char* base64 = nullptr;
  ssh_pki_export_pubkey_base64(key, &base64);
  std::string seen = std::string(ssh_key_type_to_char(ssh_key_type(key))) + " " + (base64 ? base64 : "");
  ssh_string_free_char(base64);
  ssh_key_free(key);
  if (seen == public_key_core(target.pinned_host_key)) return {};
  return make_error("host key mismatch: the guest offered " + seen + ", its image recorded " +
                    public_key_core(target.pinned_host_key) + "; no command was run");
}

Status authenticate(ssh_session session, const SshTarget& target) {
  ssh_key key = nullptr;
  if (ssh_pki_import_privkey_file(target.private_key_file.c_str(), nullptr, nullptr, nullptr, &key) != SSH_OK)
    return make_error("cannot read the client key " + target.private_key_file);
  int rc = ssh_userauth_publickey(session, nullptr, key);
  ssh_key_free(key);
  if (rc != SSH_AUTH_SUCCESS) return make_error("the guest refused the client key for user " + target.user + ": " + session_error(session));
  return {};
}

}  // namespace

Status LibsshClient::open(const SshTarget& target) {
  host_ = target.host;
  sftp_server_ = target.sftp_server.empty() ? kGuestSftpServer : target.sftp_server;
  auto fd = target.connect_socket();
  if (!fd) return fd.error();
  session_ = std::make_unique<Session>();
  session_->handle = ssh_new();
  ssh_session s = session_->handle;
  bool no = false;
  long timeout_s = std::max<long>(1, static_cast<long>(target.connect_timeout.count() / 1000));
  socket_t socket = *fd;
  // Without TCP_NODELAY each small request waits out the peer's delayed
  // ACK (Nagle): a `true` step took 52 ms instead of 13.
  int one = 1;
  setsockopt(socket, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  ssh_options_set(s, SSH_OPTIONS_PROCESS_CONFIG, &no);
  ssh_options_set(s, SSH_OPTIONS_HOST, target.host.c_str());
  ssh_options_set(s, SSH_OPTIONS_USER, target.user.c_str());
  ssh_options_set(s, SSH_OPTIONS_KNOWNHOSTS, "/dev/null");
  ssh_options_set(s, SSH_OPTIONS_GLOBAL_KNOWNHOSTS, "/dev/null");
  ssh_options_set(s, SSH_OPTIONS_TIMEOUT, &timeout_s);
  ssh_options_set(s, SSH_OPTIONS_FD, &socket);
  if (ssh_connect(s) != SSH_OK) return make_error("ssh to " + host_ + ": " + session_error(s));
  if (auto status = check_host_key(s, target); !status) return make_error("ssh to " + host_ + ": " + status.error().message);
  if (auto status = authenticate(s, target); !status) return make_error("ssh to " + host_ + ": " + status.error().message);
  return {};
}

namespace {

// Reads each stream once, without waiting: at most one buffer of each, so
// a flood on one stream cannot starve the other or the deadline check.
// True when either gave data; *broken when the session failed.
bool read_both(ssh_channel channel, BoundedText& out, BoundedText& err, bool* broken) {
  static thread_local char buffer[64 * 1024];
  bool got = false;
  for (int is_stderr : {0, 1}) {
    int n = ssh_channel_read_timeout(channel, buffer, sizeof buffer, is_stderr, 0);
    if (n > 0) {
      (is_stderr ? err : out).append(std::string_view(buffer, static_cast<std::size_t>(n)));
      got = true;
    } else if (n == SSH_ERROR) {
      *broken = true;
    }
  }
  return got;
}

}  // namespace

Result<CommandResult> LibsshClient::run(const std::string& command, std::chrono::milliseconds timeout,
                                        const std::string& stdin_data) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto started = std::chrono::steady_clock::now();
  ssh_session s = session_->handle;
  ssh_channel channel = ssh_channel_new(s);
  if (!channel || ssh_channel_open_session(channel) != SSH_OK) {
    if (channel) ssh_channel_free(channel);
    return make_error("ssh to " + host_ + ": cannot open a channel: " + session_error(s));
  }
  std::string remote = guest_command_with_timeout(command, timeout);
  debug_log::write("ssh", host_ + " $ " + command);
  if (ssh_channel_request_exec(channel, remote.c_str()) != SSH_OK) {
    ssh_channel_free(channel);
    return make_error("ssh to " + host_ + ": cannot run the command: " + session_error(s));
  }
  if (!stdin_data.empty()) ssh_channel_write(channel, stdin_data.data(), static_cast<uint32_t>(stdin_data.size()));
  ssh_channel_send_eof(channel);
  CommandResult result;
  BoundedText out, err;
  // A grace period beyond the guest-side timeout, for the kill to arrive.
  auto deadline = started + timeout + std::chrono::seconds(2);
  bool broken = false;
  for (;;) {
    if (int signal = stop_signal().load()) {
      // The run is stopping: closing the channel ends the command's session.
      ssh_channel_close(channel);
      ssh_channel_free(channel);
      return make_error("ssh to " + host_ + ": interrupted by signal " + std::to_string(signal));
    }
    // Checked on every round, also while every read returns data.
    if (std::chrono::steady_clock::now() > deadline) {
      result.timed_out = true;
      break;
    }
    if (read_both(channel, out, err, &broken)) continue;
    // Both streams empty: done once the guest sent EOF (all its data came
    // before it), else wait a moment for either.
    if (broken || ssh_channel_is_eof(channel) || ssh_channel_is_closed(channel)) break;
    ssh_channel_poll_timeout(channel, 20, 0);
  }
  std::uint64_t out_total = out.total(), err_total = err.total();
  result.stdout_dropped = out.dropped();
  result.stderr_dropped = err.dropped();
  result.stdout_text = out.str();
  out = BoundedText(0);
  result.stderr_text = err.str();
  err = BoundedText(0);
  if (!result.timed_out) result.exit_code = ssh_channel_get_exit_status(channel);
  // meros-guest exec exits 137 when it killed the command's group; without
  // the agent there may be no exit status at all.
  bool past_timeout = std::chrono::steady_clock::now() - started >= timeout;
  if ((result.exit_code == 137 || result.exit_code < 0) && past_timeout) result.timed_out = true;
  ssh_channel_close(channel);
  ssh_channel_free(channel);
  result.elapsed = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started);
  debug_log::write("ssh", host_ + ": exit " + std::to_string(result.exit_code) + (result.timed_out ? " (timed out)" : "") + ", " +
                              std::to_string(out_total) + " bytes out, " + std::to_string(err_total) + " bytes err (" +
                              std::to_string(result.stdout_dropped + result.stderr_dropped) + " not kept), " + std::to_string(result.elapsed.count() / 1000) + " ms");
  return result;
}

Result<std::unique_ptr<RemoteFiles>> LibsshClient::open_files() {
  std::unique_lock<std::mutex> lock(mutex_);
  return open_sftp(session_->handle, std::move(lock), sftp_server_, host_);
}

}  // namespace meros
