// LibsshClient against a real dropbear on loopback. dropbear reads
// authorized_keys from the user's home, so it runs in a private mount
// namespace where a temporary directory is bind-mounted over /root: the
// real /root/.ssh is never touched.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <libssh/libssh.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <thread>

#include <sys/stat.h>

#include "check/ssh.h"
#include "check/transfer.h"
#include "util/bounded_output.h"
#include "util/process.h"

namespace meros {
namespace {

namespace fs = std::filesystem;

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

Result<int> connect_loopback(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    return make_error("connect to port " + std::to_string(port) + " failed");
  }
  return fd;
}

std::string generate_client_key(const fs::path& dir) {
  ssh_key key = nullptr;
  ssh_pki_generate(SSH_KEYTYPE_ED25519, 0, &key);
  ssh_pki_export_privkey_file(key, nullptr, nullptr, nullptr, (dir / "id_ed25519").c_str());
  char* base64 = nullptr;
  ssh_pki_export_pubkey_base64(key, &base64);
  std::string line = std::string("ssh-ed25519 ") + base64;
  ssh_string_free_char(base64);
  ssh_key_free(key);
  return line;
}

class SshAgainstDropbear : public testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (private mount namespace for dropbear)";
    if (!find_program("dropbear") || !find_program("unshare")) GTEST_SKIP() << "dropbear or unshare missing";
    dir_ = fs::path(testing::TempDir()) / ("meros-ssh-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "home/.ssh");
    fs::permissions(dir_ / "home", fs::perms::owner_all);
    fs::permissions(dir_ / "home/.ssh", fs::perms::owner_all);
    std::ofstream(dir_ / "home/.ssh/authorized_keys") << generate_client_key(dir_) << "\n";
    SystemProcessRunner runner;
    auto keygen = runner.run({.argv = {"dropbearkey", "-t", "ed25519", "-f", (dir_ / "hostkey").string()}});
    ASSERT_TRUE(keygen && keygen->ok());
    auto pub = runner.run({.argv = {"dropbearkey", "-y", "-f", (dir_ / "hostkey").string()}});
    for (std::istringstream in(pub->output); std::getline(in, host_key_);)
      if (host_key_.starts_with("ssh-ed25519")) break;
    port_ = 20000 + ::getpid() % 20000;
    start_dropbear();
  }

  void start_dropbear() {
    server_ = ::fork();
    if (server_ == 0) {
      std::string script = "mount --bind \"$1\" /root && exec dropbear -F -E -s -p 127.0.0.1:$2 -r \"$3\" 2>/dev/null";
      execlp("unshare", "unshare", "--mount", "--propagation", "private", "sh", "-c", script.c_str(), "sh",
             (dir_ / "home").c_str(), std::to_string(port_).c_str(), (dir_ / "hostkey").c_str(), nullptr);
      _exit(127);
    }
    for (int i = 0; i < 100; ++i) {
      if (auto fd = connect_loopback(port_)) {
        ::close(*fd);
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    FAIL() << "dropbear did not start";
  }

  void TearDown() override {
    if (server_ > 0) {
      ::kill(server_, SIGTERM);
      ::waitpid(server_, nullptr, 0);
    }
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  SshTarget target() const {
    SshTarget t;
    t.host = "127.0.0.1";
    t.private_key_file = (dir_ / "id_ed25519").string();
    t.pinned_host_key = host_key_;
    int port = port_;
    t.connect_socket = [port] { return connect_loopback(port); };
    return t;
  }

  fs::path dir_;
  std::string host_key_;
  int port_ = 0;
  pid_t server_ = -1;
};

TEST_F(SshAgainstDropbear, RunsCommandsWithExitCodeAndBothStreams) {
  auto client = LibsshClient::connect(target());
  ASSERT_TRUE(client.ok()) << client.error().message;
  auto result = (*client)->run("echo out; echo err >&2; exit 3", std::chrono::seconds(10));
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->exit_code, 3);
  EXPECT_EQ(result->stdout_text, "out\n");
  EXPECT_EQ(result->stderr_text, "err\n");
  EXPECT_FALSE(result->timed_out);
}

TEST_F(SshAgainstDropbear, FeedsStandardInput) {
  auto client = LibsshClient::connect(target());
  ASSERT_TRUE(client.ok()) << client.error().message;
  auto result = (*client)->run("cat", std::chrono::seconds(10), "line one\nline two\n");
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->stdout_text, "line one\nline two\n");
}

TEST_F(SshAgainstDropbear, ReusesOneSessionForManyCommands) {
  auto client = LibsshClient::connect(target());
  ASSERT_TRUE(client.ok()) << client.error().message;
  for (int i = 0; i < 20; ++i) {
    auto result = (*client)->run("echo " + std::to_string(i), std::chrono::seconds(10));
    ASSERT_TRUE(result.ok());
    EXPECT_EQ(result->stdout_text, std::to_string(i) + "\n");
  }
}

TEST_F(SshAgainstDropbear, StopsWaitingAtTheTimeout) {
  auto client = LibsshClient::connect(target());
  ASSERT_TRUE(client.ok()) << client.error().message;
  auto started = std::chrono::steady_clock::now();
  auto result = (*client)->run("sleep 30", std::chrono::seconds(1));
  ASSERT_TRUE(result.ok());
  EXPECT_TRUE(result->timed_out);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(6));
}

// A command flooding both streams (issue #10): each keeps its head and
// tail within kStepOutputLimit, both are drained (stderr is not starved
// by stdout), the deadline holds while every read returns data, and the
// session still runs the next command.
TEST_F(SshAgainstDropbear, AFloodOnBothStreamsIsBoundedAndEndsAtTheDeadline) {
  auto client = LibsshClient::connect(target());
  ASSERT_TRUE(client.ok()) << client.error().message;
  auto started = std::chrono::steady_clock::now();
  auto result = (*client)->run("yes stderr-flood >&2 & exec cat /dev/zero", std::chrono::seconds(3));
  auto took = std::chrono::steady_clock::now() - started;
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_TRUE(result->timed_out);
  // The 3 s, the 2 s grace for a guest-side kill, and a little.
  EXPECT_LT(took, std::chrono::seconds(7));
  EXPECT_GT(result->stdout_dropped, 0u);
  EXPECT_GT(result->stderr_dropped, 0u) << "stderr was starved: " << result->stderr_text.size() << " bytes";
  EXPECT_LE(result->stdout_text.size(), kStepOutputLimit + 100);
  EXPECT_LE(result->stderr_text.size(), kStepOutputLimit + 100);
  EXPECT_NE(result->stdout_text.find(not_kept_marker(result->stdout_dropped)), std::string::npos);
  EXPECT_EQ(result->stderr_text.rfind("stderr-flood\n", 0), 0u);
  std::cout << "flood: " << result->stdout_dropped << " bytes of stdout and " << result->stderr_dropped
            << " bytes of stderr not kept in " << std::chrono::duration<double>(took).count() << " s\n";
  auto next = (*client)->run("echo next", std::chrono::seconds(10));
  ASSERT_TRUE(next.ok()) << next.error().message;
  EXPECT_EQ(next->stdout_text, "next\n");
}

TEST_F(SshAgainstDropbear, RefusesAHostKeyOtherThanThePinnedOne) {
  SshTarget t = target();
  t.pinned_host_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOf3m1rSj9MXsGdyiNiCmeP0UqDBfVTWUx0X1N0gkEyR";
  auto client = LibsshClient::connect(t);
  ASSERT_FALSE(client.ok());
  EXPECT_NE(client.error().message.find("host key mismatch"), std::string::npos) << client.error().message;
}

// push and pull over SFTP: the "guest" is this host (dropbear on loopback
// runs OpenSSH's sftp-server), so both ends are checked with the filesystem.
class TransferAgainstDropbear : public SshAgainstDropbear {
 protected:
  void SetUp() override {
    if (!fs::exists(kSftpServer)) GTEST_SKIP() << kSftpServer << " missing (openssh-sftp-server)";
    SshAgainstDropbear::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    SshTarget t = target();
    t.sftp_server = kSftpServer;
    auto connected = LibsshClient::connect(t);
    ASSERT_TRUE(connected.ok()) << connected.error().message;
    client_ = std::move(*connected);
  }
  static void write(const fs::path& path, const std::string& text, fs::perms mode) {
    fs::create_directories(path.parent_path());
    std::ofstream(path) << text;
    fs::permissions(path, mode);
  }
  static std::string read(const fs::path& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  static constexpr const char* kSftpServer = "/usr/lib/openssh/sftp-server";
  std::unique_ptr<LibsshClient> client_;
};

TEST_F(TransferAgainstDropbear, PushesAndPullsADirectoryKeepingModesTimesAndLinks) {
  fs::path tree = dir_ / "local/conf";
  write(tree / "app.conf", "port=80\n", fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
  write(tree / "bin/run.sh", "#!/bin/sh\n", fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec);
  fs::create_symlink("app.conf", tree / "current");
  fs::last_write_time(tree / "app.conf", fs::file_time_type::clock::now() - std::chrono::hours(48));

  auto pushed = push_path(*client_, tree, (dir_ / "guest/etc/conf").string(), {std::chrono::seconds(20)});
  ASSERT_TRUE(pushed.ok()) << pushed.error().message;
  fs::path remote = dir_ / "guest/etc/conf";
  EXPECT_EQ(*pushed, remote.string());
  EXPECT_EQ(read(remote / "app.conf"), "port=80\n");
  EXPECT_EQ(fs::status(remote / "app.conf").permissions(), fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
  EXPECT_EQ(fs::status(remote / "bin/run.sh").permissions(), fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec);
  EXPECT_EQ(fs::read_symlink(remote / "current"), "app.conf");
  auto seconds = [](const fs::path& p) { return std::chrono::floor<std::chrono::seconds>(fs::last_write_time(p).time_since_epoch()); };
  EXPECT_EQ(seconds(remote / "app.conf"), seconds(tree / "app.conf"));

  auto pulled = pull_path(*client_, remote.string(), dir_ / "artifacts", "logs", {std::chrono::seconds(20)});
  ASSERT_TRUE(pulled.ok()) << pulled.error().message;
  EXPECT_EQ(*pulled, dir_ / "artifacts/logs/conf");
  EXPECT_EQ(read(*pulled / "bin/run.sh"), "#!/bin/sh\n");
  EXPECT_EQ(fs::status(*pulled / "bin/run.sh").permissions(), fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec);
  EXPECT_EQ(fs::read_symlink(*pulled / "current"), "app.conf");
  EXPECT_EQ(seconds(*pulled / "app.conf"), seconds(tree / "app.conf"));
}

TEST_F(TransferAgainstDropbear, PushesIntoAnExistingDirectoryUnderTheSourceName) {
  write(dir_ / "local/hello.txt", "hello\n", fs::perms::owner_read | fs::perms::owner_write);
  fs::create_directories(dir_ / "guest/tmp");
  auto into_existing = push_path(*client_, dir_ / "local/hello.txt", (dir_ / "guest/tmp").string(), {std::chrono::seconds(20)});
  ASSERT_TRUE(into_existing.ok()) << into_existing.error().message;
  EXPECT_EQ(read(dir_ / "guest/tmp/hello.txt"), "hello\n");
  auto into_new = push_path(*client_, dir_ / "local/hello.txt", (dir_ / "guest/new/").string(), {std::chrono::seconds(20)});
  ASSERT_TRUE(into_new.ok()) << into_new.error().message;
  EXPECT_EQ(*into_new, (dir_ / "guest/new/hello.txt").string());
  EXPECT_EQ(read(dir_ / "guest/new/hello.txt"), "hello\n");
}

TEST_F(TransferAgainstDropbear, PullsProcFilesThatReportSizeZero) {
  auto pulled = pull_path(*client_, "/proc/version", dir_ / "artifacts", "", {std::chrono::seconds(20)});
  ASSERT_TRUE(pulled.ok()) << pulled.error().message;
  EXPECT_EQ(read(*pulled), read("/proc/version"));
}

TEST_F(TransferAgainstDropbear, SaysWhichGuestPathIsMissing) {
  auto pulled = pull_path(*client_, "/nonexistent/file", dir_ / "artifacts", "", {std::chrono::seconds(20)});
  ASSERT_FALSE(pulled.ok());
  EXPECT_NE(pulled.error().message.find("/nonexistent/file: no such file or directory"), std::string::npos) << pulled.error().message;
  auto pushed = push_path(*client_, dir_ / "no-such-local", (dir_ / "guest/x").string(), {std::chrono::seconds(20)});
  ASSERT_FALSE(pushed.ok());
  EXPECT_NE(pushed.error().message.find("no-such-local"), std::string::npos) << pushed.error().message;
}

TEST_F(TransferAgainstDropbear, CommandsRunAgainAfterATransfer) {
  write(dir_ / "local/a", "a", fs::perms::owner_read | fs::perms::owner_write);
  ASSERT_TRUE(push_path(*client_, dir_ / "local/a", (dir_ / "guest/a").string(), {std::chrono::seconds(20)}).ok());
  auto result = client_->run("cat " + (dir_ / "guest/a").string(), std::chrono::seconds(10));
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->stdout_text, "a");
}

// pull against a hostile guest: its sftp-server (tests/check/
// hostile_sftp_server.py, speaking SFTP v3 through the same libssh session
// and dropbear as above) sends names with '/', "..", symlinks with entries
// beneath them, files without end. Nothing may appear outside the
// destination: the canary directory is what the links point at.
class PullFromAHostileGuest : public SshAgainstDropbear {
 protected:
  void SetUp() override {
    if (!fs::exists("/usr/bin/python3")) GTEST_SKIP() << "/usr/bin/python3 missing";
    SshAgainstDropbear::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    fs::create_directories(canary());
  }
  fs::path canary() const { return dir_ / "canary"; }
  fs::path artifacts() const { return dir_ / "run/artifacts"; }
  std::unique_ptr<LibsshClient> guest(const std::string& mode) {
    SshTarget t = target();
    t.sftp_server = std::string("exec /usr/bin/python3 ") + HOSTILE_SFTP_SERVER + " " + mode + " " + canary().string();
    auto connected = LibsshClient::connect(t);
    EXPECT_TRUE(connected.ok()) << connected.error().message;
    return connected ? std::move(*connected) : nullptr;
  }
  Result<fs::path> pull(const std::string& mode, const std::string& source, const fs::path& relative, TransferLimits limits = {}) {
    auto client = guest(mode);
    if (!client) return make_error("no client");
    return pull_path(*client, source, artifacts(), relative, limits);
  }
  // Nothing outside the artifacts directory changed: the canary directory
  // is empty and nothing else appeared beside run/.
  void expect_host_untouched() {
    EXPECT_TRUE(fs::is_empty(canary())) << "something was written through a link into " << canary();
    std::set<std::string> top;
    for (const auto& entry : fs::directory_iterator(dir_)) top.insert(entry.path().filename().string());
    EXPECT_EQ(top, (std::set<std::string>{"canary", "home", "hostkey", "id_ed25519", "run"}));
    std::set<std::string> run;
    for (const auto& entry : fs::directory_iterator(dir_ / "run")) run.insert(entry.path().filename().string());
    EXPECT_EQ(run, std::set<std::string>{"artifacts"});
  }
  static std::string text(const Result<fs::path>& r) { return r ? "copied to " + r->string() : r.error().message; }
};

TEST_F(PullFromAHostileGuest, RefusesANameThatClimbsOut) {
  auto pulled = pull("climb", "/evil", "logs");
  ASSERT_FALSE(pulled.ok());
  EXPECT_NE(text(pulled).find("the guest sent the name '../../escaped' in /evil: it contains '/'"), std::string::npos) << text(pulled);
  EXPECT_NE(text(pulled).find("nothing was written for it"), std::string::npos) << text(pulled);
  EXPECT_FALSE(fs::exists(dir_ / "escaped"));
  EXPECT_FALSE(fs::exists(artifacts() / "escaped"));
  EXPECT_FALSE(fs::exists(artifacts() / "logs/evil/ok.txt")) << "the listing is checked before anything of it is made";
  expect_host_untouched();
}

TEST_F(PullFromAHostileGuest, RefusesANameWithASlash) {
  auto pulled = pull("slash", "/evil", "");
  ASSERT_FALSE(pulled.ok());
  EXPECT_NE(text(pulled).find("'sub/planted' in /evil: it contains '/'"), std::string::npos) << text(pulled);
  EXPECT_FALSE(fs::exists(artifacts() / "evil/sub"));
  expect_host_untouched();
}

TEST_F(PullFromAHostileGuest, RefusesDotDotAndEmptyNames) {
  auto pulled = pull("dotdot", "/evil", "");
  ASSERT_FALSE(pulled.ok());
  // "." and ".." come in every listing as directories and are skipped; a
  // ".." the guest calls a file is skipped with them, the empty name is not.
  EXPECT_NE(text(pulled).find("the guest sent the name '' in /evil: an empty name"), std::string::npos) << text(pulled);
  expect_host_untouched();
}

TEST_F(PullFromAHostileGuest, RefusesAnEntryBeneathASymlink) {
  auto pulled = pull("beneath", "/evil", "");
  ASSERT_FALSE(pulled.ok());
  EXPECT_NE(text(pulled).find("'link/planted' in /evil: it contains '/'"), std::string::npos) << text(pulled);
  expect_host_untouched();
}

TEST_F(PullFromAHostileGuest, RefusesANameListedTwice) {
  auto pulled = pull("twice", "/evil", "");
  ASSERT_FALSE(pulled.ok());
  EXPECT_NE(text(pulled).find("the guest listed 'link' twice in /evil"), std::string::npos) << text(pulled);
  expect_host_untouched();
}

// The guest's symlink is recreated as a symlink; a later pull whose
// destination goes through it stops there instead of writing into the
// link's target, and a pull onto it replaces the link, not its target.
TEST_F(PullFromAHostileGuest, KeepsSymlinksAsLinksAndNeverFollowsThem) {
  auto first = pull("link", "/evil", "");
  ASSERT_TRUE(first.ok()) << text(first);
  EXPECT_EQ(fs::read_symlink(artifacts() / "evil/link"), canary());
  auto through = pull("climb", "/evil", "evil/link");
  ASSERT_FALSE(through.ok());
  EXPECT_NE(text(through).find("evil/link exists and is not a directory (a symlink there is not followed)"), std::string::npos)
      << text(through);
  std::ofstream(canary() / "precious") << "keep";
  fs::create_symlink(canary() / "precious", artifacts() / "endless");
  auto onto = pull("endless", "/endless", "", {std::chrono::seconds(20), 64 * 1024});
  ASSERT_FALSE(onto.ok());
  EXPECT_FALSE(fs::exists(fs::symlink_status(artifacts() / "endless"))) << "the link was replaced, then the partial copy removed";
  EXPECT_EQ(read_text(canary() / "precious"), "keep");
  fs::remove(canary() / "precious");
  expect_host_untouched();
}

TEST_F(PullFromAHostileGuest, StopsAFileAtMaxBytesAndRemovesThePart) {
  auto pulled = pull("endless", "/endless", "logs", {std::chrono::seconds(30), 1 << 20});
  ASSERT_FALSE(pulled.ok());
  EXPECT_NE(text(pulled).find("pull stopped at 1048576 bytes: the max_bytes limit of 1048576 bytes is reached"), std::string::npos)
      << text(pulled);
  EXPECT_NE(text(pulled).find("the partial copy was removed"), std::string::npos) << text(pulled);
  EXPECT_FALSE(fs::exists(artifacts() / "logs/endless"));
  expect_host_untouched();
}

// A file without end under a large cap: the deadline stops it in the
// middle, and the session still serves the next command.
TEST_F(PullFromAHostileGuest, StopsAnEndlessFileAtTheDeadline) {
  auto client = guest("endless");
  ASSERT_TRUE(client);
  auto started = std::chrono::steady_clock::now();
  auto pulled = pull_path(*client, "/endless", artifacts(), "", {std::chrono::seconds(2), 1ull << 40});
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  ASSERT_FALSE(pulled.ok());
  EXPECT_NE(text(pulled).find("timed out after 2000 ms (the step's timeout)"), std::string::npos) << text(pulled);
  EXPECT_LT(seconds, 4.0);
  EXPECT_FALSE(fs::exists(artifacts() / "endless"));
  auto after = client->run("echo still here", std::chrono::seconds(10));
  ASSERT_TRUE(after.ok()) << after.error().message;
  EXPECT_EQ(after->stdout_text, "still here\n");
  expect_host_untouched();
}

// One byte every 200 ms inside a reply: libssh waits for the whole reply,
// so only cutting the connection stops it, a grace period after the deadline.
TEST_F(PullFromAHostileGuest, StopsATricklingGuestAtTheDeadline) {
  auto started = std::chrono::steady_clock::now();
  auto pulled = pull("trickle", "/trickle", "", {std::chrono::seconds(2), kDefaultMaxTransferBytes});
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  ASSERT_FALSE(pulled.ok());
  EXPECT_NE(text(pulled).find("did not answer by the deadline"), std::string::npos) << text(pulled);
  EXPECT_LT(seconds, 8.0);
  EXPECT_FALSE(fs::exists(artifacts() / "trickle"));
  expect_host_untouched();
}

TEST(GuestCommand, QuotesForTheGuestShell) {
  EXPECT_EQ(shell_quote("it's"), "'it'\\''s'");
  EXPECT_NE(guest_command_with_timeout("echo hi", std::chrono::milliseconds(1500))
                .find("/opt/meros/bin/meros-guest exec --timeout 1500ms -- sh -c 'echo hi'"),
            std::string::npos);
}

}  // namespace
}  // namespace meros
