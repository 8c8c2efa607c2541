// What every child the harness starts does between fork and exec (a
// boost::process handler): signals unblocked, a process group of its own,
// death with the harness (PR_SET_PDEATHSIG), optionally its output
// redirected, a network namespace entered and a cgroup joined, and nothing inherited but
// stdin, stdout, stderr and one passed descriptor. Only async-signal-safe calls: the harness is
// multi-threaded.
#pragma once

#include <fcntl.h>
#include <linux/close_range.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <boost/process/extend.hpp>
#include <cerrno>
#include <system_error>

namespace meros {

// Marks every descriptor from 3 up close-on-exec. The harness opens its
// own descriptors with O_CLOEXEC, but libraries and std::fstream do not,
// and another thread may hold one open at fork time (a netfilter socket of
// some scenario's namespace would keep that namespace alive in the child).
inline void close_inherited_descriptors() {
  if (::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) == 0) return;
  // Kernels before 5.11: one by one, up to the descriptor limit.
  long limit = ::sysconf(_SC_OPEN_MAX);
  for (int fd = 3; fd < (limit > 0 && limit < 65536 ? limit : 65536); ++fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
}

struct ChildSetup : boost::process::extend::handler {
  pid_t parent = ::getpid();
  int output_fd = -1;  // stdout and stderr go here when set
  int netns_fd = -1;   // the network namespace to enter when set
  int cgroup_procs_fd = -1;  // a ChildCgroup's cgroup.procs: joined when set
  // A descriptor the child keeps under the same number (everything else
  // from 3 up is closed at exec): QEMU reaches its socket directory through
  // /proc/self/fd/<n>/, whatever the directory's path length.
  int passed_fd = -1;

  template <class Executor>
  void on_exec_setup(Executor& exec) const {
    // The harness blocks signals in some threads; the child must see them.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    // First, so that everything the child starts is in the cgroup too.
    if (cgroup_procs_fd >= 0 && write(cgroup_procs_fd, "0", 1) != 1) {
      // Not fatal: the process group kill still reaches most descendants.
    }
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    // The parent died before prctl took effect: nobody would kill us.
    if (getppid() != parent) _exit(127);
    if (output_fd >= 0) {
      dup2(output_fd, STDOUT_FILENO);
      dup2(output_fd, STDERR_FILENO);
    }
    if (netns_fd >= 0 && setns(netns_fd, CLONE_NEWNET) != 0) {
      exec.set_error(std::error_code(errno, std::system_category()), "cannot enter the network namespace");
      _exit(127);
    }
    close_inherited_descriptors();
    if (passed_fd >= 0) fcntl(passed_fd, F_SETFD, 0);
  }
};

}  // namespace meros
