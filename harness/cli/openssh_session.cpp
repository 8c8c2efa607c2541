#include "cli/openssh_session.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <iostream>

#include "check/ssh.h"
#include "util/child_setup.h"
#include "util/exit_codes.h"
#include "util/text.h"

namespace meros {

namespace fs = std::filesystem;

fs::path session_dir_base(const fs::path& tmp) {
  std::string longest = (tmp / "meros-connect-XXXXXX" / "waypipe.sock").string();
  if (longest.size() < sizeof(sockaddr_un{}.sun_path)) return tmp;
  return "/tmp";
}

Result<std::unique_ptr<OpenSshSession>> OpenSshSession::open(const OpenSshTarget& target, const fs::path& base) {
  std::string pattern = (base / "meros-connect-XXXXXX").string();
  if (!::mkdtemp(pattern.data())) return make_error("cannot make a private directory under " + base.string() + ": " + errno_text());
  std::unique_ptr<OpenSshSession> made(new OpenSshSession(target, pattern));
  std::string line = target.address + " " + public_key_core(target.host_key) + "\n";
  fs::path file = made->known_hosts();
  int fd = ::open(file.c_str(), O_CREAT | O_EXCL | O_NOFOLLOW | O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0) return make_error("cannot write " + file.string() + ": " + errno_text());
  bool written = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  bool closed = ::close(fd) == 0;
  if (!written || !closed) return make_error("cannot write " + file.string() + ": " + errno_text());
  return made;
}

// Only this session writes into the 0700 directory; what is there is its
// own (the known_hosts, waypipe's socket and log).
OpenSshSession::~OpenSshSession() {
  if (DIR* dir = ::opendir(dir_.c_str())) {
    while (dirent* entry = ::readdir(dir))
      if (std::strcmp(entry->d_name, ".") != 0 && std::strcmp(entry->d_name, "..") != 0) ::unlinkat(::dirfd(dir), entry->d_name, 0);
    ::closedir(dir);
  }
  ::rmdir(dir_.c_str());
}

std::vector<std::string> OpenSshSession::argv(const std::vector<std::string>& options, const std::vector<std::string>& remote) const {
  std::vector<std::string> argv = {"nsenter", "--net=" + target_.netns.string(), "--", "ssh", "-F", "/dev/null",
                                   "-i", target_.key_file, "-o", "IdentitiesOnly=yes",
                                   "-o", "UserKnownHostsFile=" + known_hosts().string(), "-o", "GlobalKnownHostsFile=/dev/null",
                                   "-o", "StrictHostKeyChecking=yes"};
  argv.insert(argv.end(), options.begin(), options.end());
  argv.push_back(target_.user + "@" + target_.address);
  // ssh hands its command to the guest's shell: quote each word.
  for (const auto& word : remote) argv.push_back(shell_quote(word));
  return argv;
}

namespace {

volatile sig_atomic_t g_foreground_child = 0;

void pass_on(int signal) {
  if (g_foreground_child > 0) ::kill(g_foreground_child, signal);
}

}  // namespace

int run_in_foreground(std::vector<std::string> argv, const std::string& command) {
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  std::string cannot_run = "meros-test " + command + ": cannot run " + argv[0] + "\n";
  pid_t child = ::fork();
  if (child < 0) {
    std::cerr << "meros-test " << command << ": cannot fork: " << errno_text() << "\n";
    return exit_code::environment;
  }
  if (child == 0) {
    close_inherited_descriptors();  // ssh gets the terminal and nothing else of ours
    ::execvp(args[0], args.data());
    [[maybe_unused]] auto n = ::write(2, cannot_run.data(), cannot_run.size());
    _exit(127);
  }
  g_foreground_child = child;
  struct sigaction ignore {}, forward {}, old_int {}, old_quit {}, old_term {}, old_hup {};
  ignore.sa_handler = SIG_IGN;
  forward.sa_handler = pass_on;
  ::sigaction(SIGINT, &ignore, &old_int);
  ::sigaction(SIGQUIT, &ignore, &old_quit);
  ::sigaction(SIGTERM, &forward, &old_term);
  ::sigaction(SIGHUP, &forward, &old_hup);
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  g_foreground_child = 0;
  ::sigaction(SIGINT, &old_int, nullptr);
  ::sigaction(SIGQUIT, &old_quit, nullptr);
  ::sigaction(SIGTERM, &old_term, nullptr);
  ::sigaction(SIGHUP, &old_hup, nullptr);
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}

}  // namespace meros
