// Shared helpers for the vm tests: temporary directories, a scripted
// ProcessRunner, and (for the real-QEMU tests) the test kernel, a tiny
// busybox disk image and a network namespace with taps.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "util/process.h"

namespace meros::vm {

// A fresh directory under $TMPDIR (or /tmp), removed with its contents.
class TempDir {
 public:
  TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Records each command; answers with what respond returns.
class ScriptedRunner : public ProcessRunner {
 public:
  std::function<ProcessResult(const ProcessSpec&)> respond = [](const ProcessSpec&) { return ProcessResult{0, false, ""}; };
  std::vector<std::vector<std::string>> commands;
  Result<ProcessResult> run(const ProcessSpec& spec) override {
    commands.push_back(spec.argv);
    return respond(spec);
  }
};

// $MEROS_TEST_KERNEL, else the store's default kernel, if it exists.
std::optional<std::filesystem::path> test_kernel();

// Why the real-QEMU tests cannot run here, or empty when they can.
std::string real_qemu_skip_reason();

// A qcow2 image of an ext4 filesystem holding a static busybox and
// tests/vm/testdata/init.sh as /opt/meros/init. Built once per process.
const std::filesystem::path& test_base_image();

// A pid is gone or a zombie nobody has reaped yet.
bool process_gone(pid_t pid);

// A network namespace (ip netns add) with tap interfaces in it, removed
// on destruction. Root only.
class TestNetns {
 public:
  explicit TestNetns(std::string name);
  TestNetns(const TestNetns&) = delete;
  TestNetns& operator=(const TestNetns&) = delete;
  ~TestNetns();
  // A tap, up, with address (CIDR) on the host side if given.
  void add_tap(const std::string& ifname, const std::string& address = "");
  int fd() const { return fd_; }
  // A TCP connect from inside the namespace within timeout_ms.
  bool tcp_port_open(const std::string& address, int port, int timeout_ms = 200) const;

 private:
  std::string name_;
  int fd_ = -1;
};

}  // namespace meros::vm
