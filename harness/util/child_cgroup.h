// A cgroup (v2) of its own for one helper the harness starts and for
// everything that helper starts, so that none of them outlives it: a daemon
// a hook launches, a process that left the helper's process group with
// setsid, whatever debootstrap leaves running in the chroot. A process
// group kill cannot reach those; a cgroup holds them however they fork.
//
// Cgroups are made under the harness's own cgroup and named
// meros-test.<harness pid>.<n>, so `meros-test gc` can find the ones a
// SIGKILLed harness left and kill what is still in them. Where cgroup v2
// is not usable (not mounted, no permission) create() returns nothing and
// callers fall back to the process group kill alone.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "util/fd.h"

namespace meros {

class ChildCgroup {
 public:
  static std::optional<ChildCgroup> create();

  ChildCgroup(ChildCgroup&&) noexcept = default;
  ChildCgroup& operator=(ChildCgroup&&) = delete;
  ChildCgroup(const ChildCgroup&) = delete;
  ChildCgroup& operator=(const ChildCgroup&) = delete;
  // Kills what is left and removes the cgroup.
  ~ChildCgroup();

  // Its cgroup.procs, open for writing: the child writes "0" to it between
  // fork and exec (ChildSetup::cgroup_procs_fd) to move itself in.
  int procs_fd() const { return procs_.get(); }
  const std::filesystem::path& path() const { return dir_; }

  // SIGKILLs every process in the cgroup and waits (up to 2 s) until it is
  // empty; true if it is.
  bool kill_all() const;

 private:
  ChildCgroup(std::filesystem::path dir, Fd procs) : dir_(std::move(dir)), procs_(std::move(procs)) {}
  std::filesystem::path dir_;
  Fd procs_;
};

// The cgroup v2 directory this process is in, when cgroup v2 is mounted.
std::optional<std::filesystem::path> own_cgroup_dir();

// For gc: kills and removes the meros-test.* cgroups under own_cgroup_dir()
// whose harness is gone. Returns a line for each one removed; failures
// are appended to problems.
std::vector<std::string> collect_stale_cgroups(std::vector<std::string>& problems);

}  // namespace meros
