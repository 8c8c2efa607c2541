// The console capture (vm/console_capture.h) with a process standing in
// for QEMU: whatever is written into the FIFO lands in the log, head and
// tail of it when there is too much, and the boot wait's reader follows
// the log through a compaction.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "vm/boot_watch.h"
#include "vm/console_capture.h"
#include "../support/read_file.h"

namespace meros::vm {
namespace {
namespace fs = std::filesystem;

std::string read(const fs::path& path) { return testing_support::read_whole_file(path); }

class ConsoleCaptureTest : public testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "meros-console-XXXXXX").string();
    ASSERT_TRUE(mkdtemp(pattern.data()));
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }
  // Writes all of data into the FIFO, as QEMU's pipe chardev would.
  static void write_all(int fd, std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::write(fd, data.data(), data.size());
      if (n > 0) data.remove_prefix(static_cast<std::size_t>(n));
    }
  }
  fs::path dir_;
};

TEST_F(ConsoleCaptureTest, CopiesTheFifoIntoTheLogAndRemovesTheFifos) {
  auto capture = ConsoleCapture::start(dir_ / "vm.console", dir_ / "vm.console.log");
  ASSERT_TRUE(capture) << capture.error().message;
  EXPECT_TRUE(fs::exists(dir_ / "vm.console.in"));
  int fd = ::open((dir_ / "vm.console.out").c_str(), O_WRONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  write_all(fd, "Linux version 6.1\nMEROS-READY hostname=vm\n");
  ::close(fd);
  ConsoleLog reader(dir_ / "vm.console.log");
  std::vector<std::string> lines;
  for (int i = 0; i < 100 && lines.size() < 2; ++i) {
    for (auto& line : reader.read_new_lines()) lines.push_back(line);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(lines, (std::vector<std::string>{"Linux version 6.1", "MEROS-READY hostname=vm"}));
  (*capture)->stop();
  EXPECT_FALSE(fs::exists(dir_ / "vm.console.in"));
  EXPECT_FALSE(fs::exists(dir_ / "vm.console.out"));
}

TEST_F(ConsoleCaptureTest, AFloodKeepsHeadAndTailWithAMarker) {
  auto capture = ConsoleCapture::start(dir_ / "vm.console", dir_ / "vm.console.log");
  ASSERT_TRUE(capture) << capture.error().message;
  int fd = ::open((dir_ / "vm.console.out").c_str(), O_WRONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  ConsoleLog reader(dir_ / "vm.console.log");
  write_all(fd, "MEROS-READY hostname=vm\n");
  std::string line = std::string(99, 'f') + "\n";
  std::string chunk;
  for (int i = 0; i < 1000; ++i) chunk += line;  // 100 KB
  bool seen_ready = false;
  for (int i = 0; i < 300; ++i) {  // 30 MB
    write_all(fd, chunk);
    // The reader keeps up through compactions without error.
    for (const auto& l : reader.read_new_lines()) seen_ready = seen_ready || l.find("MEROS-READY") != std::string::npos;
  }
  write_all(fd, "the last line\n");
  ::close(fd);
  (*capture)->stop();
  std::string log = read(dir_ / "vm.console.log");
  EXPECT_TRUE(seen_ready);
  EXPECT_LE(log.size(), kLogHeadLimit + 2 * kLogTailLimit + 100);
  EXPECT_EQ(log.rfind("MEROS-READY hostname=vm\n", 0), 0u) << "the head is kept";
  EXPECT_NE(log.find(" bytes not kept ...]\n"), std::string::npos);
  EXPECT_TRUE(log.ends_with("the last line\n"));
  EXPECT_GT((*capture)->dropped(), 30'000'000u - kLogHeadLimit - 2 * kLogTailLimit);
}

}  // namespace
}  // namespace meros::vm
