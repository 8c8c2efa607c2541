// pull_path's logic against a fake guest (RemoteFiles): the name checks,
// the local tree made by descriptors, the byte cap and the deadline. The
// same attacks through real SSH and SFTP are in ssh_test.cpp
// (PullFromAHostileGuest).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <thread>

#include "check/transfer.h"

namespace meros {
namespace {

namespace fs = std::filesystem;
using Kind = RemoteEntry::Kind;

RemoteEntry entry(const std::string& name, Kind kind, std::uint32_t mode = 0644) {
  RemoteEntry e;
  e.name = name;
  e.kind = kind;
  e.mode = mode;
  e.mtime = 1'700'000'000;
  return e;
}

// A guest that says whatever the test wants: listings by directory,
// contents and link targets by path, or a reader of its own.
class FakeGuest : public RemoteFiles {
 public:
  std::map<std::string, RemoteEntry> top;  // what lstat answers
  std::function<std::vector<RemoteEntry>(const std::string&)> listing = [](const std::string&) { return std::vector<RemoteEntry>{}; };
  std::map<std::string, std::string> contents, links;
  std::function<Status(const std::string&, const ChunkSink&)> reader;

  Result<RemoteEntry> lstat(const std::string& path) override {
    auto it = top.find(path);
    if (it == top.end()) return make_error(path + ": no such file or directory");
    return it->second;
  }
  Result<std::vector<RemoteEntry>> list(const std::string& dir) override { return listing(dir); }
  Status make_directory(const std::string&) override { return make_error("not in this fake"); }
  Status write_file(const std::string&, const fs::path&, const ChunkSink&) override { return make_error("not in this fake"); }
  Status read_file(const std::string& path, const ChunkSink& sink) override {
    if (reader) return reader(path, sink);
    const std::string& text = contents[path];
    return text.empty() ? Status{} : sink(text.data(), text.size());
  }
  Status set_mode_and_time(const std::string&, std::uint32_t, std::int64_t) override { return make_error("not in this fake"); }
  Result<std::string> read_link(const std::string& path) override { return links[path]; }
  Status make_link(const std::string&, const std::string&) override { return make_error("not in this fake"); }
  Result<std::string> home_directory() override { return home; }
  std::string home = "/root";
};

class PullLogic : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(testing::TempDir()) / ("meros-transfer-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(canary());
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path canary() const { return dir_ / "canary"; }
  fs::path root() const { return dir_ / "artifacts"; }
  // /evil: a directory listing children.
  void evil_directory(std::vector<RemoteEntry> children) {
    guest_.top["/evil"] = entry("evil", Kind::directory, 0755);
    guest_.listing = [children](const std::string& dir) { return dir == "/evil" ? children : std::vector<RemoteEntry>{}; };
  }
  Result<fs::path> pull(const std::string& source, const fs::path& relative = "", TransferLimits limits = {}) {
    return pull_path(guest_, source, root(), relative, limits);
  }
  static std::string text(const Result<fs::path>& r) { return r ? "copied to " + r->string() : r.error().message; }
  static std::string read(const fs::path& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  fs::path dir_;
  FakeGuest guest_;
};

TEST(GuestNames, OnlyOnePlainComponentPasses) {
  EXPECT_TRUE(check_guest_name("messages", "/var/log").ok());
  EXPECT_TRUE(check_guest_name(".hidden", "/root").ok());
  EXPECT_TRUE(check_guest_name("a..b", "/root").ok());
  EXPECT_EQ(check_guest_name("a/b", "/d").error().message,
            "the guest sent the name 'a/b' in /d: it contains '/'; a name must be one plain path component, so nothing was written for it");
  EXPECT_NE(check_guest_name("../x", "/d").error().message.find("'../x' in /d: it contains '/'"), std::string::npos);
  EXPECT_NE(check_guest_name("..", "/d").error().message.find("'..' in /d: not a name but a reference to a directory"), std::string::npos);
  EXPECT_NE(check_guest_name(".", "/d").error().message.find("'.' in /d: not a name"), std::string::npos);
  EXPECT_NE(check_guest_name("", "/d").error().message.find("'' in /d: an empty name"), std::string::npos);
  EXPECT_NE(check_guest_name(std::string("a\0b", 3), "/d").error().message.find("'a\\x00b' in /d: it contains a NUL byte"),
            std::string::npos);
  EXPECT_FALSE(check_guest_name("/", "/d").ok());
}

TEST(GuestNames, MessagesEscapeAndBoundTheName) {
  EXPECT_EQ(printable_name("a\nb\x1b[2J'\\\xff"), "'a\\x0ab\\x1b[2J\\x27\\x5c\\xff'");
  std::string huge(5000, '/');
  std::string shown = printable_name(huge);
  EXPECT_LT(shown.size(), 140u);
  EXPECT_NE(shown.find("(5000 bytes, the first 80 shown)"), std::string::npos) << shown;
  EXPECT_LT(check_guest_name(huge, "/d").error().message.size(), 300u);
}

TEST_F(PullLogic, CopiesATreeWithLinksAndWithoutSetuidBits) {
  evil_directory({entry("run.sh", Kind::file, 04755), entry("current", Kind::symlink), entry("sub", Kind::directory, 0700)});
  guest_.contents["/evil/run.sh"] = "#!/bin/sh\n";
  guest_.links["/evil/current"] = "/etc/shadow";
  auto pulled = pull("/evil", "logs/today");
  ASSERT_TRUE(pulled.ok()) << text(pulled);
  EXPECT_EQ(*pulled, root() / "logs/today/evil");
  EXPECT_EQ(read(*pulled / "run.sh"), "#!/bin/sh\n");
  EXPECT_EQ(fs::status(*pulled / "run.sh").permissions(), fs::perms(0755)) << "setuid is dropped";
  EXPECT_EQ(fs::read_symlink(*pulled / "current"), "/etc/shadow") << "kept as a link, never read through";
  EXPECT_EQ(fs::status(*pulled / "sub").permissions(), fs::perms(0700));
}

TEST_F(PullLogic, RefusesAListingWithABadNameBeforeMakingAnythingOfIt) {
  for (const std::string& bad : {std::string("../../escaped"), std::string("x/y"), std::string(".."), std::string(""),
                                 std::string("a\0b", 3)}) {
    evil_directory({entry("aaa-first", Kind::file), entry(bad, Kind::file)});
    auto pulled = pull("/evil");
    ASSERT_FALSE(pulled.ok()) << printable_name(bad);
    EXPECT_NE(text(pulled).find("the guest sent the name " + printable_name(bad) + " in /evil"), std::string::npos) << text(pulled);
    EXPECT_FALSE(fs::exists(root() / "evil/aaa-first")) << printable_name(bad);
  }
  EXPECT_FALSE(fs::exists(dir_ / "escaped"));
  EXPECT_TRUE(fs::is_empty(canary()));
}

TEST_F(PullLogic, RefusesASymlinkWithAnEntryBeneathIt) {
  evil_directory({entry("link", Kind::symlink), entry("link/planted", Kind::file)});
  guest_.links["/evil/link"] = canary().string();
  auto pulled = pull("/evil");
  ASSERT_FALSE(pulled.ok());
  EXPECT_NE(text(pulled).find("'link/planted' in /evil: it contains '/'"), std::string::npos) << text(pulled);
  evil_directory({entry("link", Kind::symlink), entry("link", Kind::directory)});
  pulled = pull("/evil");
  ASSERT_FALSE(pulled.ok());
  EXPECT_NE(text(pulled).find("the guest listed 'link' twice in /evil"), std::string::npos) << text(pulled);
  EXPECT_TRUE(fs::is_empty(canary()));
}

TEST_F(PullLogic, FollowsNoSymlinkAlreadyInTheDestination) {
  fs::create_directories(root());
  fs::create_directory_symlink(canary(), root() / "logs");
  guest_.top["/var/log/messages"] = entry("messages", Kind::file);
  guest_.contents["/var/log/messages"] = "boot\n";
  auto through = pull("/var/log/messages", "logs");
  ASSERT_FALSE(through.ok());
  EXPECT_NE(text(through).find("artifacts/logs exists and is not a directory (a symlink there is not followed)"), std::string::npos)
      << text(through);
  // A link in the copy's own place is replaced, its target untouched.
  std::ofstream(canary() / "precious") << "keep";
  fs::create_symlink(canary() / "precious", root() / "messages");
  auto onto = pull("/var/log/messages");
  ASSERT_TRUE(onto.ok()) << text(onto);
  EXPECT_FALSE(fs::is_symlink(root() / "messages"));
  EXPECT_EQ(read(root() / "messages"), "boot\n");
  EXPECT_EQ(read(canary() / "precious"), "keep");
  // And a directory there where a file comes goes whole, links inside it
  // removed as links.
  fs::remove(root() / "messages");
  fs::create_directories(root() / "messages/inner");
  fs::create_directory_symlink(canary(), root() / "messages/inner/out");
  ASSERT_TRUE(pull("/var/log/messages").ok());
  EXPECT_EQ(read(root() / "messages"), "boot\n");
  EXPECT_EQ(read(canary() / "precious"), "keep");
}

TEST_F(PullLogic, AGuestPathEndingInDotDotIsRefused) {
  auto pulled = pull("/var/..");
  ASSERT_FALSE(pulled.ok());
  EXPECT_NE(text(pulled).find("'..'"), std::string::npos) << text(pulled);
}

TEST_F(PullLogic, StopsAtMaxBytesInTheMiddleOfAFileAndRemovesThePart) {
  guest_.top["/dev/zero-ish"] = entry("zero-ish", Kind::file);
  guest_.reader = [](const std::string&, const ChunkSink& sink) -> Status {
    std::string chunk(32 * 1024, '\0');
    for (;;)
      if (auto taken = sink(chunk.data(), chunk.size()); !taken) return taken;
  };
  auto pulled = pull("/dev/zero-ish", "", {std::chrono::seconds(30), 100 * 1024});
  ASSERT_FALSE(pulled.ok());
  EXPECT_EQ(text(pulled),
            "pull stopped at 98304 bytes: the max_bytes limit of 102400 bytes is reached (raise max_bytes: on the step if that much is "
            "expected) (reading /dev/zero-ish; the partial copy was removed)");
  EXPECT_FALSE(fs::exists(root() / "zero-ish"));
}

TEST_F(PullLogic, TheCapCoversTheWholeTransferNotEachFile) {
  evil_directory({entry("a", Kind::file), entry("b", Kind::file)});
  guest_.contents["/evil/a"] = std::string(600, 'a');
  guest_.contents["/evil/b"] = std::string(600, 'b');
  auto pulled = pull("/evil", "", {std::chrono::seconds(30), 1000});
  ASSERT_FALSE(pulled.ok());
  EXPECT_NE(text(pulled).find("pull stopped at 600 bytes: the max_bytes limit of 1000 bytes"), std::string::npos) << text(pulled);
  EXPECT_EQ(read(root() / "evil/a"), std::string(600, 'a'));
  EXPECT_FALSE(fs::exists(root() / "evil/b"));
}

TEST_F(PullLogic, StopsATricklingFileAtTheDeadline) {
  guest_.top["/slow"] = entry("slow", Kind::file);
  guest_.reader = [](const std::string&, const ChunkSink& sink) -> Status {
    for (;;) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      if (auto taken = sink("y", 1); !taken) return taken;
    }
  };
  auto started = std::chrono::steady_clock::now();
  auto pulled = pull("/slow", "", {std::chrono::milliseconds(300), kDefaultMaxTransferBytes});
  auto elapsed = std::chrono::steady_clock::now() - started;
  ASSERT_FALSE(pulled.ok());
  EXPECT_NE(text(pulled).find("pull stopped at "), std::string::npos) << text(pulled);
  EXPECT_NE(text(pulled).find(" bytes: timed out after 300 ms (the step's timeout) (reading /slow; the partial copy was removed)"),
            std::string::npos)
      << text(pulled);
  EXPECT_LT(elapsed, std::chrono::seconds(2));
  EXPECT_FALSE(fs::exists(root() / "slow"));
}

TEST_F(PullLogic, StopsAnEndlesslyDeepTree) {
  guest_.top["/deep"] = entry("deep", Kind::directory, 0755);
  guest_.listing = [](const std::string&) { return std::vector<RemoteEntry>{entry("d", Kind::directory, 0755)}; };
  auto pulled = pull("/deep");
  ASSERT_FALSE(pulled.ok());
  EXPECT_NE(text(pulled).find("is nested more than 64 directories deep"), std::string::npos) << text(pulled);
}

}  // namespace
}  // namespace meros

namespace meros {
namespace {

TEST_F(PullLogic, WithoutASourceTheWholeMosSharedBecomesMosSharedSlashVm) {
  guest_.top["/root/mos-shared"] = entry("mos-shared", Kind::directory, 0755);
  guest_.listing = [](const std::string& dir) {
    return dir == "/root/mos-shared" ? std::vector<RemoteEntry>{entry("result.txt", Kind::file, 0644)} : std::vector<RemoteEntry>{};
  };
  guest_.contents["/root/mos-shared/result.txt"] = "done\n";
  auto pulled = pull_mos_shared(guest_, "web", root(), "", {});
  ASSERT_TRUE(pulled.ok()) << text(pulled);
  EXPECT_EQ(*pulled, root() / "mos-shared/web");
  EXPECT_EQ(read(*pulled / "result.txt"), "done\n");
}

TEST_F(PullLogic, AHomeDirectoryThatIsNoAbsolutePathIsRefused) {
  for (const std::string& home : {std::string("relative"), std::string("/root\n/x"), std::string(""), std::string(5000, '/') + "x"}) {
    guest_.home = home;
    auto pulled = pull_mos_shared(guest_, "web", root(), "", {});
    ASSERT_FALSE(pulled.ok());
    EXPECT_NE(pulled.error().message.find("as the home directory: not an absolute path, so there is no ~/mos-shared"), std::string::npos)
        << pulled.error().message;
    EXPECT_LT(pulled.error().message.size(), 300u);
  }
  EXPECT_FALSE(fs::exists(root() / "mos-shared"));
}

TEST(MosShared, TheDirectoryIsInTheReportedHome) {
  FakeGuest guest;
  guest.home = "/home/alice/";
  EXPECT_EQ(mos_shared_directory(guest).value(), "/home/alice/mos-shared");
  guest.home = "/";
  EXPECT_EQ(mos_shared_directory(guest).value(), "/mos-shared");
}

}  // namespace
}  // namespace meros
