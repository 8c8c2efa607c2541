// Bounded output (util/bounded_output.h): what a step keeps of a stream
// and what a transcript or console log keeps on disk, and the counts of
// what they left out.
#include <gtest/gtest.h>

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "util/bounded_output.h"
#include "../support/read_file.h"

namespace meros {
namespace {
namespace fs = std::filesystem;

std::string read(const fs::path& path) { return testing_support::read_whole_file(path); }

TEST(BoundedText, KeepsEverythingWithinTheLimit) {
  BoundedText text(4, 4);
  text.append("abc");
  text.append("defgh");
  EXPECT_EQ(text.str(), "abcdefgh");
  EXPECT_EQ(text.dropped(), 0u);
  EXPECT_EQ(text.total(), 8u);
}

TEST(BoundedText, KeepsHeadAndTailAndCountsTheMiddle) {
  BoundedText text(4, 4);
  // Appended in pieces that wrap the tail's ring more than once.
  for (const char* piece : {"abcd", "ef", "ghi", "jklmn", "o", "pq"}) text.append(piece);
  EXPECT_EQ(text.total(), 17u);
  EXPECT_EQ(text.dropped(), 9u);
  EXPECT_EQ(text.kept(), 8u);
  EXPECT_EQ(text.str(), "abcd\n[... meros-test: 9 bytes not kept ...]\nnopq");
}

TEST(BoundedText, AOnePieceFloodKeepsItsEnd) {
  BoundedText text(3, 5);
  text.append(std::string(100, 'x') + "12345");
  EXPECT_EQ(text.str(), "xxx\n[... meros-test: 97 bytes not kept ...]\n12345");
  EXPECT_EQ(text.dropped(), 97u);
}

TEST(BoundedText, MemoryStaysAtTheLimitWhateverIsAppended) {
  BoundedText text;  // kStepOutputLimit
  std::string chunk(64 * 1024, 'z');
  for (int i = 0; i < 1024; ++i) text.append(chunk);  // 64 MiB
  EXPECT_EQ(text.kept(), kStepOutputLimit);
  EXPECT_EQ(text.dropped(), 64u * 1024 * 1024 - kStepOutputLimit);
  EXPECT_EQ(text.str().size(), kStepOutputLimit + not_kept_marker(text.dropped()).size());
}

TEST(BoundedText, DescribesWhatWasNotKept) {
  EXPECT_EQ(describe_not_kept(0, 0), "");
  EXPECT_EQ(describe_not_kept(12, 0), "12 bytes of stdout not kept");
  EXPECT_EQ(describe_not_kept(0, 5), "5 bytes of stderr not kept");
  EXPECT_EQ(describe_not_kept(12, 5), "12 bytes of stdout and 5 bytes of stderr not kept");
}

class CappedLog : public testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "meros-capped-XXXXXX").string();
    ASSERT_TRUE(mkdtemp(pattern.data()));
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(CappedLog, WritesThroughWithinTheLimits) {
  CappedLogFile log(dir_ / "a.log", 4, 8);
  ASSERT_TRUE(log.open());
  ASSERT_TRUE(log.append("ab"));
  ASSERT_TRUE(log.append("cdefghij"));
  EXPECT_EQ(read(dir_ / "a.log"), "abcdefghij");
  EXPECT_EQ(log.dropped(), 0u);
}

TEST_F(CappedLog, CompactsToHeadMarkerAndTail) {
  CappedLogFile log(dir_ / "a.log", 4, 4);
  ASSERT_TRUE(log.open());
  // Head "abcd"; the tail may grow to 8 bytes before a compaction.
  for (const char* piece : {"abcd", "123", "456", "78"}) ASSERT_TRUE(log.append(piece));
  EXPECT_EQ(read(dir_ / "a.log"), "abcd12345678");
  ASSERT_TRUE(log.append("9"));  // 9 bytes after the head: keep the last 4
  EXPECT_EQ(log.dropped(), 5u);
  EXPECT_EQ(read(dir_ / "a.log"), "abcd\n[... meros-test: 5 bytes not kept ...]\n6789");
  ASSERT_TRUE(log.append("xy"));  // appended after the compacted tail
  EXPECT_EQ(read(dir_ / "a.log"), "abcd\n[... meros-test: 5 bytes not kept ...]\n6789xy");
}

TEST_F(CappedLog, ABigAppendReplacesTheTail) {
  CappedLogFile log(dir_ / "a.log", 2, 3);
  ASSERT_TRUE(log.open());
  ASSERT_TRUE(log.append("hd"));
  ASSERT_TRUE(log.append("old"));
  ASSERT_TRUE(log.append(std::string(50, '-') + "new"));
  EXPECT_EQ(log.dropped(), 3u + 50u);
  EXPECT_EQ(read(dir_ / "a.log"), "hd\n[... meros-test: 53 bytes not kept ...]\nnew");
}

TEST_F(CappedLog, StaysBoundedOnDiskUnderAFlood) {
  CappedLogFile log(dir_ / "flood.log");
  ASSERT_TRUE(log.open());
  std::string chunk(256 * 1024, 'y');
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(log.append(chunk));  // 50 MiB
  auto size = fs::file_size(dir_ / "flood.log");
  EXPECT_LE(size, kLogHeadLimit + 2 * kLogTailLimit + 100);
  EXPECT_GT(log.dropped(), 50u * 1024 * 1024 - kLogHeadLimit - 2 * kLogTailLimit);
  std::string text = read(dir_ / "flood.log");
  EXPECT_NE(text.find(not_kept_marker(log.dropped())), std::string::npos);
  // Everything written is either in the file or counted.
  EXPECT_EQ(size - not_kept_marker(log.dropped()).size() + log.dropped(), 50u * 1024 * 1024);
}

}  // namespace
}  // namespace meros
