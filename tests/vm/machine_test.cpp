// Real QEMU under TCG (labels root;qemu): the test kernel booting a tiny
// busybox disk whose init (testdata/init.sh) prints MEROS-READY and serves
// port 22 on its management address. Skips with the reason when there is
// no root, no kernel, no QEMU or no static busybox.
#include "vm/accel_cache.h"
#include "vm/machine.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "vm/accel.h"
#include "vm/overlay.h"
#include "vm_test_support.h"

namespace meros::vm {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

constexpr Duration kBootTimeout = 60s;

Mac mac(std::uint8_t last) { return Mac{{0x52, 0x54, 0x00, 0xab, 0xcd, last}}; }

std::string read(const fs::path& path) {
  std::ifstream in(path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

double seconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count() / 1000.0;
}

class MachineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string why = real_qemu_skip_reason(); !why.empty()) GTEST_SKIP() << why;
  }

  // A VM on its own overlay of the test image, without NICs.
  MachineSpec spec(const std::string& name) {
    MachineSpec out;
    out.name = name;
    out.kernel = *test_kernel();
    out.memory_mib = 128;
    out.disk = dir_.path() / (name + ".qcow2");
    out.console_log = dir_.path() / (name + ".console.log");
    out.qmp_socket = dir_.path() / (name + ".qmp");
    auto overlay = Overlay::create(runner_, test_base_image(), out.disk);
    EXPECT_TRUE(overlay) << overlay.error().message;
    if (overlay) overlays_.push_back(std::move(*overlay));
    return out;
  }

  // Waits until the console shows text.
  bool console_shows(const MachineSpec& machine, const std::string& text, Duration timeout) {
    for (auto end = std::chrono::steady_clock::now() + timeout; std::chrono::steady_clock::now() < end;) {
      if (read(machine.console_log).find(text) != std::string::npos) return true;
      std::this_thread::sleep_for(50ms);
    }
    return false;
  }

  TempDir dir_;
  SystemProcessRunner runner_;
  std::vector<Overlay> overlays_;
};

TEST_F(MachineTest, BootsToReadyInsideANetnsAndShutsDown) {
  TestNetns netns("meros-vmtest-" + std::to_string(::getpid()));
  netns.add_tap("vmt-0", "10.99.0.1/24");
  netns.add_tap("vmt-m", "100.127.0.1/30");
  MachineSpec web = spec("web");
  web.networks.push_back({"vmt-0", mac(1), "virtio-net", "eth0", Ipv4{0x0a630002}, 24});     // 10.99.0.2
  web.management = NicSpec{"vmt-m", mac(2), "virtio-net", "mgmt0", Ipv4{0x647f0002}, 30};    // 100.127.0.2
  MachineOptions options;
  options.netns_fd = netns.fd();
  auto machine = Machine::start(web, options);
  ASSERT_TRUE(machine) << machine.error().message;
  pid_t pid = machine->pid();
  // Outside the namespace QEMU's taps do not exist.
  EXPECT_FALSE(fs::exists("/sys/class/net/vmt-m"));

  auto ready = machine->wait_ready([&] { return netns.tcp_port_open("100.127.0.2", 22); }, kBootTimeout);
  ASSERT_TRUE(ready) << ready.error().message;
  std::cout << "[ timing   ] web ready (console + port 22) in " << ready->count() << " ms\n";
  EXPECT_NE(read(web.console_log).find("MEROS-READY hostname=web"), std::string::npos);

  auto status = machine->qmp().query_status();
  ASSERT_TRUE(status) << status.error().message;
  EXPECT_EQ(status->status, "running");
  EXPECT_TRUE(status->running);

  ASSERT_TRUE(machine->set_link(0, false));
  EXPECT_TRUE(console_shows(web, "CARRIER eth0 0", 10s)) << machine->console_tail();
  ASSERT_TRUE(machine->set_link(0, true));
  EXPECT_TRUE(console_shows(web, "CARRIER eth0 1", 10s)) << machine->console_tail();
  EXPECT_FALSE(machine->set_link(3, false));

  auto stopped = machine->shutdown();
  ASSERT_TRUE(stopped) << stopped.error().message;
  EXPECT_EQ(*stopped, StopMethod::quit);  // microvm: no ACPI, so straight to quit
  EXPECT_TRUE(process_gone(pid));
  EXPECT_FALSE(machine->is_running());
}

// A unix socket path is limited to 107 bytes; the socket directory of a run
// with a long store path or scenario name is longer. QEMU binds and the
// harness connects through /proc/self/fd/<n>/ instead.
TEST_F(MachineTest, QmpSocketInADirectoryPastTheUnixPathLimit) {
  fs::path deep = dir_.path() / std::string(100, 'd') / std::string(100, 'e');
  fs::create_directories(deep);
  MachineSpec web = spec("web");
  web.qmp_socket = deep / "web-with-a-name-of-thirty-one-c.qmp";
  ASSERT_GT(web.qmp_socket.native().size(), 200u);
  auto machine = Machine::start(web);
  ASSERT_TRUE(machine) << machine.error().message;
  EXPECT_TRUE(fs::is_socket(web.qmp_socket)) << "QEMU bound the socket where the spec put it";
  auto status = machine->qmp().query_status();
  ASSERT_TRUE(status) << status.error().message;
  auto stopped = machine->shutdown();
  ASSERT_TRUE(stopped) << stopped.error().message;
}

TEST_F(MachineTest, PanickingGuestIsReportedAtOnce) {
  MachineSpec panicky = spec("panicky");
  panicky.cmdline = "init=/nonexistent";
  auto started = std::chrono::steady_clock::now();
  auto machine = Machine::start(panicky);
  ASSERT_TRUE(machine) << machine.error().message;
  auto ready = machine->wait_ready(nullptr, kBootTimeout);
  auto took = std::chrono::steady_clock::now() - started;
  ASSERT_FALSE(ready);
  std::cout << "[ timing   ] panic reported after " << seconds(took) << " s\n";
  EXPECT_LT(took, 15s);
  const std::string& message = ready.error().message;
  EXPECT_EQ(message.rfind("vm panicky: kernel panic: Requested init /nonexistent failed", 0), 0u) << message;
  EXPECT_NE(message.find("last 20 console lines:\n  "), std::string::npos) << message;
}

TEST_F(MachineTest, InitFailureIsReportedAtOnce) {
  MachineSpec failing = spec("failing");
  failing.cmdline = "meros.test=fail";
  auto machine = Machine::start(failing);
  ASSERT_TRUE(machine) << machine.error().message;
  auto ready = machine->wait_ready(nullptr, kBootTimeout);
  ASSERT_FALSE(ready);
  EXPECT_EQ(ready.error().message.rfind("vm failing: guest init failed: the test asked for it\n", 0), 0u)
      << ready.error().message;
  EXPECT_TRUE(machine->is_running());  // the guest did not stop; the harness noticed anyway
}

TEST_F(MachineTest, QemuThatCannotStartSaysWhy) {
  MachineSpec bad = spec("bad");
  bad.qemu_args = {"-device", "no-such-device"};
  auto machine = Machine::start(bad);
  ASSERT_FALSE(machine);
  EXPECT_EQ(machine.error().message.rfind("vm bad: QEMU exited with status 1 at start: qemu-system-x86_64: -device no-such-device:", 0), 0u)
      << machine.error().message;
  EXPECT_NE(machine.error().message.find("'no-such-device' is not a valid device model name"), std::string::npos)
      << machine.error().message;
}

TEST_F(MachineTest, PowerdownIgnoredFallsBackToQuit) {
  MachineSpec q35 = spec("q35");
  q35.machine = "q35";
  auto machine = Machine::start(q35);
  ASSERT_TRUE(machine) << machine.error().message;
  pid_t pid = machine->pid();
  // The test kernel has no ACPI: system_powerdown goes unanswered.
  auto stopped = machine->shutdown(1000ms);
  ASSERT_TRUE(stopped) << stopped.error().message;
  EXPECT_EQ(*stopped, StopMethod::quit);
  EXPECT_TRUE(process_gone(pid));
}

TEST_F(MachineTest, UnresponsiveQemuIsKilled) {
  MachineSpec stuck = spec("stuck");
  auto machine = Machine::start(stuck);
  ASSERT_TRUE(machine) << machine.error().message;
  pid_t pid = machine->pid();
  ::kill(pid, SIGSTOP);  // answers nothing, not even quit
  auto started = std::chrono::steady_clock::now();
  auto stopped = machine->shutdown(1000ms, 500ms);
  ASSERT_TRUE(stopped) << stopped.error().message;
  EXPECT_EQ(*stopped, StopMethod::kill);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
  EXPECT_TRUE(process_gone(pid));
}

TEST_F(MachineTest, KilledOwnerLeavesNoQemuBehind) {
  MachineSpec orphan = spec("orphan");
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  pid_t owner = ::fork();
  ASSERT_GE(owner, 0);
  if (owner == 0) {
    auto machine = Machine::start(orphan);
    pid_t pid = machine ? machine->pid() : -1;
    (void)!::write(fds[1], &pid, sizeof pid);
    ::pause();
    ::_exit(0);
  }
  ::close(fds[1]);
  pid_t qemu = -1;
  ASSERT_EQ(::read(fds[0], &qemu, sizeof qemu), static_cast<ssize_t>(sizeof qemu));
  ::close(fds[0]);
  ASSERT_GT(qemu, 0);
  EXPECT_FALSE(process_gone(qemu));
  ::kill(owner, SIGKILL);
  ::waitpid(owner, nullptr, 0);
  auto killed = std::chrono::steady_clock::now();
  while (!process_gone(qemu) && std::chrono::steady_clock::now() - killed < 2s) std::this_thread::sleep_for(10ms);
  EXPECT_TRUE(process_gone(qemu)) << "QEMU " << qemu << " outlived its owner by 2 s";
}

// The real probe guest once, then its outcome from the cache file without
// starting QEMU: what a second run in the same boot sees.
TEST_F(MachineTest, TheRealProbeIsCachedForTheBoot) {
  fs::path cache = fs::temp_directory_path() / ("meros-accel-probe-" + std::to_string(::getpid()) + ".json");
  fs::remove(cache);
  auto identity = probe_identity("qemu-system-x86_64", "/dev/kvm");
  ASSERT_TRUE(identity);
  QemuKvmProber real;
  if (!real.open_device()) GTEST_SKIP() << "no usable /dev/kvm: nothing is probed";
  ProbeOutcome first = CachedKvmProber(real, cache, identity).run_probe_guest(kKvmProbeDeadline);
  if (first.timed_out) GTEST_SKIP() << "the probe timed out (a loaded machine): not cached by design";
  ASSERT_TRUE(fs::exists(cache)) << first.detail;
  auto started = std::chrono::steady_clock::now();
  ProbeOutcome second = CachedKvmProber(real, cache, identity).run_probe_guest(kKvmProbeDeadline);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 50ms) << "the cached answer started a probe guest";
  EXPECT_EQ(second.ran, first.ran);
  EXPECT_EQ(second.detail, first.detail + " (probed earlier this boot)");
  fs::remove(cache);
}

TEST_F(MachineTest, AutoAccelDecidesWithinThreeSeconds) {
  auto started = std::chrono::steady_clock::now();
  auto choice = detect_accel(AccelRequest::automatic);
  auto took = std::chrono::steady_clock::now() - started;
  ASSERT_TRUE(choice) << choice.error().message;
  std::cout << "[ accel    ] " << to_string(choice->accel) << " after " << seconds(took) << " s: " << choice->reason
            << "\n";
  EXPECT_LT(took, 3s);
  EXPECT_FALSE(choice->reason.empty());
  if (choice->accel == Accel::tcg && fs::exists("/dev/kvm")) {
    EXPECT_NE(choice->reason.find("probe guest"), std::string::npos) << choice->reason;
  }
  // Decided once: the second answer is immediate and the same.
  auto again_started = std::chrono::steady_clock::now();
  auto again = detect_accel(AccelRequest::automatic);
  EXPECT_LT(std::chrono::steady_clock::now() - again_started, 10ms);
  EXPECT_EQ(again->accel, choice->accel);
  if (choice->accel == Accel::tcg) return;
  // KVM chosen: a guest must really boot under it.
  MachineSpec kvm = spec("kvm");
  kvm.accel = Accel::kvm;
  auto machine = Machine::start(kvm);
  ASSERT_TRUE(machine) << machine.error().message;
  auto ready = machine->wait_ready(nullptr, 30s);
  EXPECT_TRUE(ready) << ready.error().message;
}

}  // namespace
}  // namespace meros::vm
