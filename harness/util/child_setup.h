// What every child the harness starts does between fork and exec (a
// boost::process handler): signals unblocked, a process group of its own,
// death with the harness (PR_SET_PDEATHSIG), and optionally its output
// redirected and a network namespace entered. Only async-signal-safe
// calls: the harness is multi-threaded.
#pragma once

#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <boost/process/extend.hpp>
#include <cerrno>
#include <system_error>

namespace meros {

struct ChildSetup : boost::process::extend::handler {
  pid_t parent = ::getpid();
  int output_fd = -1;  // stdout and stderr go here when set
  int netns_fd = -1;   // the network namespace to enter when set

  template <class Executor>
  void on_exec_setup(Executor& exec) const {
    // The harness blocks signals in some threads; the child must see them.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
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
  }
};

}  // namespace meros
