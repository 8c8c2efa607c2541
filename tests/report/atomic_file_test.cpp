#include "report/atomic_file.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "golden.h"
#include "report/write_reports.h"
#include "sample_report.h"

namespace meros {
namespace {

namespace fs = std::filesystem;

// A fresh directory per test, removed afterwards.
class AtomicFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "meros-atomic-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    fs::permissions(dir_, fs::perms::owner_all, fs::perm_options::add);
    fs::remove_all(dir_);
  }

  std::vector<std::string> entries(const fs::path& directory) const {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(directory)) {
      names.push_back(entry.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  fs::path dir_;
};

TEST_F(AtomicFileTest, WritesANewFile) {
  fs::path target = dir_ / "junit.xml";
  ASSERT_TRUE(write_file_atomically(target, "<testsuites/>\n"));
  EXPECT_EQ(testing::read_file(target), "<testsuites/>\n");
  EXPECT_EQ(entries(dir_), std::vector<std::string>{"junit.xml"});
}

TEST_F(AtomicFileTest, ReplacesTheTargetWhole) {
  fs::path target = dir_ / "report.json";
  std::ofstream(target) << std::string(10000, 'x');
  ASSERT_TRUE(write_file_atomically(target, "short"));
  EXPECT_EQ(testing::read_file(target), "short");
  EXPECT_EQ(entries(dir_), std::vector<std::string>{"report.json"});
}

TEST_F(AtomicFileTest, WritesEmptyContent) {
  fs::path target = dir_ / "empty";
  ASSERT_TRUE(write_file_atomically(target, ""));
  EXPECT_TRUE(fs::exists(target));
  EXPECT_EQ(fs::file_size(target), 0u);
}

TEST_F(AtomicFileTest, CreatesMissingParentDirectories) {
  fs::path target = dir_ / "reports" / "nested" / "junit.xml";
  ASSERT_TRUE(write_file_atomically(target, "x"));
  EXPECT_EQ(testing::read_file(target), "x");
}

TEST_F(AtomicFileTest, FailsNamingThePathWhenAParentIsAFile) {
  std::ofstream(dir_ / "blocker") << "a file, not a directory";
  fs::path target = dir_ / "blocker" / "junit.xml";
  Status status = write_file_atomically(target, "x");
  ASSERT_FALSE(status);
  EXPECT_NE(status.error().message.find(target.string()), std::string::npos)
      << status.error().message;
  EXPECT_NE(status.error().message.find("Not a directory"), std::string::npos)
      << status.error().message;
}

TEST_F(AtomicFileTest, FailsWithoutLeftoversWhenTheTargetIsADirectory) {
  fs::path target = dir_ / "junit.xml";
  fs::create_directory(target);
  Status status = write_file_atomically(target, "x");
  ASSERT_FALSE(status);
  EXPECT_NE(status.error().message.find(target.string()), std::string::npos);
  EXPECT_EQ(entries(dir_), std::vector<std::string>{"junit.xml"});
  EXPECT_TRUE(fs::is_directory(target));
}

TEST_F(AtomicFileTest, FailsInAnUnwritableDirectory) {
  if (geteuid() == 0) GTEST_SKIP() << "root ignores directory permissions";
  fs::path target = dir_ / "junit.xml";
  std::ofstream(target) << "old";
  fs::permissions(dir_, fs::perms::owner_read | fs::perms::owner_exec);
  Status status = write_file_atomically(target, "new");
  fs::permissions(dir_, fs::perms::owner_all);
  ASSERT_FALSE(status);
  EXPECT_NE(status.error().message.find(target.string()), std::string::npos);
  EXPECT_NE(status.error().message.find("Permission denied"), std::string::npos);
  EXPECT_EQ(testing::read_file(target), "old");
  EXPECT_EQ(entries(dir_), std::vector<std::string>{"junit.xml"});
}

// A write that fails halfway (the file size limit stands in for a full
// disk, and works for root too) must leave the old file and no temp file.
TEST_F(AtomicFileTest, FailedWriteLeavesNoPartialFile) {
  fs::path target = dir_ / "junit.xml";
  std::ofstream(target) << "old";
  rlimit saved{};
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &saved), 0);
  auto previous_handler = std::signal(SIGXFSZ, SIG_IGN);
  rlimit small = saved;
  small.rlim_cur = 1000;
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);
  Status status = write_file_atomically(target, std::string(5000, 'n'));
  setrlimit(RLIMIT_FSIZE, &saved);
  std::signal(SIGXFSZ, previous_handler);
  ASSERT_FALSE(status);
  EXPECT_NE(status.error().message.find(target.string()), std::string::npos);
  EXPECT_NE(status.error().message.find("File too large"), std::string::npos)
      << status.error().message;
  EXPECT_EQ(testing::read_file(target), "old");
  EXPECT_EQ(entries(dir_), std::vector<std::string>{"junit.xml"});
}

TEST_F(AtomicFileTest, WriteReportsWritesBothFormats) {
  fs::path junit = dir_ / "out" / "junit.xml";
  fs::path json = dir_ / "out" / "report.json";
  ASSERT_TRUE(write_reports(testing::sample_report(), junit, json));
  EXPECT_EQ(testing::read_file(junit).rfind("<?xml", 0), 0u);
  EXPECT_EQ(testing::read_file(json).rfind("{", 0), 0u);
}

TEST_F(AtomicFileTest, WriteReportsSkipsFormatsNotAskedFor) {
  fs::path json = dir_ / "report.json";
  ASSERT_TRUE(write_reports(testing::empty_report(), std::nullopt, json));
  EXPECT_EQ(entries(dir_), std::vector<std::string>{"report.json"});
}

TEST_F(AtomicFileTest, WriteReportsTriesBothAndNamesEachFailure) {
  fs::path junit = dir_ / "junit.xml";
  fs::path bad_json = dir_ / "taken" / "report.json";
  std::ofstream(dir_ / "taken") << "a file";
  Status status = write_reports(testing::empty_report(), junit, bad_json);
  ASSERT_FALSE(status);
  EXPECT_NE(status.error().message.find(bad_json.string()), std::string::npos);
  EXPECT_TRUE(fs::exists(junit));
}

}  // namespace
}  // namespace meros
