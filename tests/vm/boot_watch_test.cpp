// The boot wait against scripted signals and a manual clock: each case
// says when (in fake time) the wait must end and with what.
#include "vm/boot_watch.h"

#include <gtest/gtest.h>

#include <deque>
#include <fstream>

#include "util/process.h"
#include "vm_test_support.h"

namespace meros::vm {
namespace {

using namespace std::chrono_literals;

// A guest whose console prints `script[i]` at poll i, whose QEMU exits at
// poll `exit_at_poll`, and whose SSH port opens at poll `ssh_at_poll`.
class ScriptedBoot : public BootSignals {
 public:
  std::vector<std::vector<std::string>> script;
  std::optional<int> exit_at_poll;
  int exit_code = 0;
  std::optional<int> ssh_at_poll;
  std::string qemu_output;
  int polls = 0;
  int ssh_asked = 0;

  std::vector<std::string> new_console_lines() override {
    std::vector<std::string> lines = polls < static_cast<int>(script.size()) ? script[polls] : std::vector<std::string>{};
    for (const auto& line : lines) console += line + "\n";
    ++polls;
    return lines;
  }
  std::optional<int> exit_status() override {
    if (exit_at_poll && polls >= *exit_at_poll) return exit_code;
    return std::nullopt;
  }
  bool ssh_port_open() override {
    ++ssh_asked;
    return ssh_at_poll && polls > *ssh_at_poll;
  }
  std::string console_tail(std::size_t lines) override { return tail_lines(console, lines); }
  std::string qemu_output_tail(std::size_t lines) override { return tail_lines(qemu_output, lines); }

  std::string console;
};

BootWait wait_for(std::string vm) {
  BootWait wait;
  wait.vm = std::move(vm);
  wait.timeout = 60s;
  wait.poll = 20ms;
  return wait;
}

TEST(BootWatch, ReadyNeedsTheReadyLineAndTheSshPort) {
  ScriptedBoot boot;
  boot.script = {{"Linux version 6.1"}, {}, {"MEROS-READY hostname=web"}};
  boot.ssh_at_poll = 5;
  ManualClock clock;
  auto waited = wait_for_boot(boot, wait_for("web"), clock);
  ASSERT_TRUE(waited) << waited.error().message;
  EXPECT_EQ(waited->count(), 5 * 20);
  EXPECT_EQ(boot.ssh_asked, 4);  // not before MEROS-READY
}

TEST(BootWatch, KernelPanicIsReportedOnceTheTraceEnds) {
  ScriptedBoot boot;
  std::vector<std::string> panic = {"VFS: Cannot open root device \"vda\" or unknown-block(0,0): error -6",
                                    "Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)",
                                    "CPU: 0 PID: 1 Comm: swapper Not tainted 6.1.0 #1"};
  boot.script = {{"Linux version 6.1"}, panic, {"Call Trace:", "---[ end Kernel panic - not syncing: VFS ]---"}};
  ManualClock clock;
  auto waited = wait_for_boot(boot, wait_for("web"), clock);
  ASSERT_FALSE(waited);
  EXPECT_EQ(clock.now().time_since_epoch(), 40ms);  // at once, not after the timeout
  EXPECT_EQ(waited.error().message,
            "vm web: kernel panic: VFS: Unable to mount root fs on unknown-block(0,0)\n"
            "last 20 console lines:\n"
            "  Linux version 6.1\n"
            "  VFS: Cannot open root device \"vda\" or unknown-block(0,0): error -6\n"
            "  Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)\n"
            "  CPU: 0 PID: 1 Comm: swapper Not tainted 6.1.0 #1\n"
            "  Call Trace:\n"
            "  ---[ end Kernel panic - not syncing: VFS ]---");
}

TEST(BootWatch, KernelPanicWithoutItsEndIsReportedAfterTheGrace) {
  ScriptedBoot boot;
  boot.script = {{"Kernel panic - not syncing: Attempted to kill init!"}};
  BootWait wait = wait_for("db");
  wait.panic_grace = 500ms;
  ManualClock clock;
  auto waited = wait_for_boot(boot, wait, clock);
  ASSERT_FALSE(waited);
  EXPECT_EQ(clock.now().time_since_epoch(), 500ms);
  EXPECT_EQ(waited.error().message,
            "vm db: kernel panic: Attempted to kill init!\n"
            "last 20 console lines:\n"
            "  Kernel panic - not syncing: Attempted to kill init!");
}

TEST(BootWatch, KernelPanicFollowedByQemuExitIsStillAPanic) {
  ScriptedBoot boot;
  boot.script = {{}, {"Kernel panic - not syncing: No working init found."}};
  boot.exit_at_poll = 1;  // exited by the time the panic line is read
  ManualClock clock;
  auto waited = wait_for_boot(boot, wait_for("web"), clock);
  ASSERT_FALSE(waited);
  EXPECT_EQ(waited.error().message,
            "vm web: kernel panic: No working init found.\n"
            "last 20 console lines:\n"
            "  Kernel panic - not syncing: No working init found.");
}

TEST(BootWatch, InitFailureIsReportedAtOnce) {
  ScriptedBoot boot;
  boot.script = {{"Run /opt/meros/init as init process"}, {"MEROS-FAILED no NIC with MAC 52:54:00:12:34:01"}};
  ManualClock clock;
  auto waited = wait_for_boot(boot, wait_for("web"), clock);
  ASSERT_FALSE(waited);
  EXPECT_EQ(clock.now().time_since_epoch(), 20ms);
  EXPECT_EQ(waited.error().message,
            "vm web: guest init failed: no NIC with MAC 52:54:00:12:34:01\n"
            "last 20 console lines:\n"
            "  Run /opt/meros/init as init process\n"
            "  MEROS-FAILED no NIC with MAC 52:54:00:12:34:01");
}

TEST(BootWatch, QemuExitIsReportedAtOnceWithItsOutput) {
  ScriptedBoot boot;
  boot.exit_at_poll = 3;
  boot.exit_code = 1;
  boot.qemu_output = "qemu-system-x86_64: -netdev tap,id=n0,ifname=web-0: could not configure /dev/net/tun (web-0): "
                     "Operation not permitted\n";
  ManualClock clock;
  auto waited = wait_for_boot(boot, wait_for("web"), clock);
  ASSERT_FALSE(waited);
  EXPECT_EQ(clock.now().time_since_epoch(), 60ms);
  EXPECT_EQ(waited.error().message,
            "vm web: QEMU exited with status 1 before the guest was ready\n"
            "the console is empty\n"
            "QEMU said:\n"
            "  qemu-system-x86_64: -netdev tap,id=n0,ifname=web-0: could not configure /dev/net/tun (web-0): "
            "Operation not permitted");
}

TEST(BootWatch, TimeoutSaysWhatWasMissing) {
  ScriptedBoot silent;
  ManualClock clock;
  BootWait wait = wait_for("web");
  wait.timeout = 2s;
  auto waited = wait_for_boot(silent, wait, clock);
  ASSERT_FALSE(waited);
  EXPECT_EQ(clock.now().time_since_epoch(), 2s);
  EXPECT_EQ(waited.error().message,
            "vm web: not ready after 2s: the console never showed MEROS-READY\nthe console is empty");

  ScriptedBoot no_ssh;
  no_ssh.script = {{"MEROS-READY hostname=web"}};
  ManualClock clock2;
  waited = wait_for_boot(no_ssh, wait, clock2);
  ASSERT_FALSE(waited);
  EXPECT_EQ(waited.error().message,
            "vm web: not ready after 2s: the guest printed MEROS-READY but its SSH port never opened\n"
            "last 20 console lines:\n"
            "  MEROS-READY hostname=web");
}

TEST(BootWatch, ClassifiesConsoleLines) {
  EXPECT_EQ(classify_console_line("MEROS-READY hostname=web"), ConsoleLine::ready);
  EXPECT_EQ(classify_console_line("Booting from ROM..MEROS-READY hostname=web"), ConsoleLine::ready);
  EXPECT_EQ(classify_console_line("MEROS-FAILED nft -f /etc/fw.nft failed"), ConsoleLine::init_failed);
  EXPECT_EQ(classify_console_line("[    1.2] Kernel panic - not syncing: Fatal exception"), ConsoleLine::panic);
  EXPECT_EQ(classify_console_line("---[ end Kernel panic - not syncing: Fatal exception ]---"), ConsoleLine::panic_end);
  EXPECT_EQ(classify_console_line("Linux version 6.1.0"), ConsoleLine::other);
}

TEST(BootWatch, PrintableDropsTerminalControls) {
  EXPECT_EQ(printable("Booting from ROM..\x1b" "c\x1b[?7l\x1b[2JMEROS-READY\r"), "Booting from ROM..MEROS-READY");
  EXPECT_EQ(printable("tab\tand\nnewline\x07\x7f"), "tab\tand\nnewline");
  EXPECT_EQ(printable("caf\xc3\xa9"), "caf\xc3\xa9");
}

TEST(ConsoleLog, ReturnsCompleteLinesAsTheFileGrows) {
  TempDir dir;
  std::filesystem::path path = dir.path() / "console.log";
  ConsoleLog log(path);
  EXPECT_TRUE(log.read_new_lines().empty());  // not there yet
  std::ofstream out(path, std::ios::binary);
  out << "first\r\nsec" << std::flush;
  EXPECT_EQ(log.read_new_lines(), std::vector<std::string>{"first"});
  out << "ond\n\x1b[2Jthird\n" << std::flush;
  EXPECT_EQ(log.read_new_lines(), (std::vector<std::string>{"second", "third"}));
  EXPECT_TRUE(log.read_new_lines().empty());
  EXPECT_EQ(log_tail(path, 2), "second\nthird");
}

}  // namespace
}  // namespace meros::vm
