// Long-running children (QEMU, the KVM probe guest): started from an
// argument vector, never a shell, in their own process group, with a
// parent-death signal, optionally inside a network namespace. Unlike
// ProcessRunner (run to completion), the caller holds the running child.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "util/result.h"
#include "vm/clock.h"

namespace meros::vm {

struct ChildSpec {
  std::vector<std::string> argv;  // argv[0] is looked up in PATH when it has no '/'
  // stdout and stderr are appended here; without it they go to /dev/null.
  std::optional<std::filesystem::path> output_file;
  // A network namespace descriptor (an open /run/netns/NAME): the child
  // enters it before exec. -1 = stay in the harness's namespace.
  int netns_fd = -1;
  // A descriptor the child inherits under the same number; -1 = none.
  int passed_fd = -1;
};

// One running child and its process group (same id as the child's pid).
// Move-only; destroying it SIGKILLs the group and reaps the child.
//
// The parent-death signal fires when the *thread* that started the child
// exits, so start children from a thread that outlives them.
class ChildProcess {
 public:
  static Result<ChildProcess> start(const ChildSpec& spec);

  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess();

  pid_t pid() const { return pid_; }
  // Reaps the child if it has exited.
  bool is_alive();
  // Exit status, or 128 + signal; empty while it runs.
  std::optional<int> exit_code();
  // Waits until the child exits or the timeout passes; true if it exited.
  bool wait_for(Duration timeout, Clock& clock = steady_clock());
  // Sends a signal to the whole process group.
  void signal_group(int sig) const;
  // Whether any process is left in the group (the child itself or
  // something it started), after the child was reaped.
  bool group_has_members() const;
  // SIGKILLs the group and reaps the child; true if nothing survived.
  bool kill_group();

 private:
  explicit ChildProcess(pid_t pid) : pid_(pid) {}

  pid_t pid_ = -1;
  std::optional<int> status_;
};

}  // namespace meros::vm
