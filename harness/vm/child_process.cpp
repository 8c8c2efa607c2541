#include "vm/child_process.h"

#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/process.hpp>
#include <boost/process/extend.hpp>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <system_error>

#include "util/child_setup.h"
#include "util/signals.h"
#include "util/process.h"

namespace meros::vm {
namespace bp = boost::process;
namespace fs = std::filesystem;

namespace {

int decode_status(int status) { return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status); }

// Whether a live (not zombie) process is in process group pgid. Zombies
// do not count: they are dead, and an init that does not reap (some
// containers) would keep them around forever.
bool live_member_in_group(pid_t pgid) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(entry.path() / "stat");
    std::string stat;
    if (!std::getline(in, stat)) continue;
    // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
    std::size_t paren = stat.rfind(')');
    if (paren == std::string::npos) continue;
    std::istringstream fields(stat.substr(paren + 1));
    char state = 0;
    pid_t ppid = 0, pgrp = 0;
    if (fields >> state >> ppid >> pgrp && pgrp == pgid && state != 'Z') return true;
  }
  return false;
}

}  // namespace

Result<ChildProcess> ChildProcess::start(const ChildSpec& spec) {
  auto resolved = resolve_program(spec.argv);
  if (!resolved) return resolved.error();
  fs::path program = *resolved;
  // Checked here because a failure in the child can only say "errno".
  if (spec.netns_fd >= 0 && ::ioctl(spec.netns_fd, NS_GET_NSTYPE) != CLONE_NEWNET)
    return make_error("descriptor " + std::to_string(spec.netns_fd) + " is not a network namespace");
  int output_fd = -1;
  if (spec.output_file) {
    output_fd = ::open(spec.output_file->c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (output_fd < 0) return make_error(spec.output_file->string() + ": cannot open: " + std::strerror(errno));
  }
  std::vector<std::string> args(spec.argv.begin() + 1, spec.argv.end());
  std::error_code ec;
  bp::child child(bp::exe = program.string(), bp::args = args, bp::std_in < bp::null, bp::std_out > bp::null,
                  bp::std_err > bp::null, ChildSetup{{}, ::getpid(), output_fd, spec.netns_fd, -1, spec.passed_fd}, ec);
  if (output_fd >= 0) ::close(output_fd);
  if (ec) return make_error(describe_command(spec.argv) + ": cannot start: " + ec.message());
  pid_t pid = child.id();
  // From here on the pid is ours to wait for, not Boost's.
  child.detach();
  track_group(pid, GroupKind::machine);
  return ChildProcess(pid);
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)), status_(other.status_) {}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    kill_group();
    if (pid_ > 0) untrack_group(pid_);
    pid_ = std::exchange(other.pid_, -1);
    status_ = other.status_;
  }
  return *this;
}

ChildProcess::~ChildProcess() {
  kill_group();
  if (pid_ > 0) untrack_group(pid_);
}

bool ChildProcess::is_alive() { return pid_ > 0 && !exit_code(); }

std::optional<int> ChildProcess::exit_code() {
  if (status_ || pid_ <= 0) return status_;
  int status = 0;
  pid_t got;
  do got = ::waitpid(pid_, &status, WNOHANG);
  while (got < 0 && errno == EINTR);
  if (got == pid_) status_ = decode_status(status);
  // ECHILD: someone else reaped it (a SIGCHLD=SIG_IGN host); it is gone.
  if (got < 0) status_ = -1;
  return status_;
}

bool ChildProcess::wait_for(Duration timeout, Clock& clock) {
  auto deadline = clock.now() + timeout;
  while (is_alive()) {
    if (clock.now() >= deadline) return false;
    clock.sleep_for(Duration(10));
  }
  return true;
}

void ChildProcess::signal_group(int sig) const {
  if (pid_ > 0) ::kill(-pid_, sig);
}

bool ChildProcess::group_has_members() const {
  // kill(-pgid, 0) would be cheaper, but counts zombies.
  return pid_ > 0 && ::kill(-pid_, 0) == 0 && live_member_in_group(pid_);
}

bool ChildProcess::kill_group() {
  if (pid_ <= 0) return true;
  // Once the child is reaped and its group empty, the id may be reused.
  if (!is_alive() && !group_has_members()) return true;
  signal_group(SIGKILL);
  // A SIGKILLed process is gone within milliseconds unless stuck in the
  // kernel (a hung KVM ioctl); give that a little while.
  wait_for(Duration(2000));
  for (int i = 0; i < 100 && group_has_members(); ++i) ::usleep(10'000);
  return !group_has_members() && !is_alive();
}

}  // namespace meros::vm
