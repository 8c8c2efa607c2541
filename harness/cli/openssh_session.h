// The OpenSSH client sessions of `connect` and of `exec --gui`: ssh run
// inside the constellation's network namespace (nsenter, an argument
// vector), with the store's key, no ~/.ssh/config and the VM's host key
// pinned in a known_hosts file of a private directory.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "util/result.h"

namespace meros {

// Where ssh reaches the VM, from the run state of an `up` constellation.
struct OpenSshTarget {
  std::filesystem::path netns;  // /run/netns/NAME
  std::string key_file;         // the store's client key
  std::string user;
  std::string address;          // the VM's management address
  std::string host_key;         // the pinned host key, "type base64 [comment]"
};

// The directory under `tmp` for a session's files, or /tmp when a Unix
// socket in it (waypipe.sock) would not fit in sockaddr_un's 108 bytes:
// ssh rejects such a -R with "Bad remote forwarding specification".
std::filesystem::path session_dir_base(const std::filesystem::path& tmp);

// One session's private directory (mkdtemp, 0700) holding the pinned
// known_hosts, written with O_EXCL|O_NOFOLLOW: a name under /tmp that
// anyone can guess and plant a symlink at is what it replaces. Owned by
// the command for the length of the ssh run; the destructor removes the
// directory with whatever the session put in it.
class OpenSshSession {
 public:
  static Result<std::unique_ptr<OpenSshSession>> open(const OpenSshTarget& target, const std::filesystem::path& base);
  ~OpenSshSession();
  OpenSshSession(const OpenSshSession&) = delete;
  OpenSshSession& operator=(const OpenSshSession&) = delete;

  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path known_hosts() const { return dir_ / "known_hosts"; }
  // nsenter ... ssh [options] user@address [remote words, each shell-quoted].
  std::vector<std::string> argv(const std::vector<std::string>& options, const std::vector<std::string>& remote) const;

 private:
  OpenSshSession(OpenSshTarget target, std::filesystem::path dir) : target_(std::move(target)), dir_(std::move(dir)) {}
  OpenSshTarget target_;
  std::filesystem::path dir_;
};

// Runs argv in a child with the terminal and waits for it; its exit status
// as a shell reports it. Like system(), the parent ignores the terminal's
// SIGINT and SIGQUIT (they reach the child too) and passes SIGTERM and
// SIGHUP on, so it lives to clean up after the child. `command` names the
// meros-test command in messages.
int run_in_foreground(std::vector<std::string> argv, const std::string& command);

}  // namespace meros
