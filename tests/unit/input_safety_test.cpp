// The checks that keep user-, manifest- and guest-derived names inside
// their parent directories (util/path_join.h) and input disk images from
// reading other files (util/disk_format.h).
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "util/disk_format.h"
#include "util/path_join.h"

namespace fs = std::filesystem;
using namespace meros;

namespace {

TEST(PathJoin, AcceptsOnlyPlainNames) {
  for (std::string_view good : {"web", "web.console.log", "a..b", "...", "-x", " "}) EXPECT_TRUE(is_plain_name(good)) << good;
  for (std::string_view bad : {"", ".", "..", "/", "a/b", "../x", "/etc"}) EXPECT_FALSE(is_plain_name(bad)) << bad;
  EXPECT_FALSE(is_plain_name(std::string_view("a\0b", 3)));
}

TEST(PathJoin, ChildPathRefusesWhatLeavesTheParent) {
  auto joined = child_path("/var/cache/runs", "web", "scenario name");
  ASSERT_TRUE(joined);
  EXPECT_EQ(*joined, fs::path("/var/cache/runs/web"));
  auto refused = child_path("/var/cache/runs", "..", "scenario name");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().message,
            "scenario name '..' is not a plain file name (no '/', '.', '..' or NUL): refusing to use it under /var/cache/runs");
  EXPECT_FALSE(child_path("/var/cache/runs", "/", "scenario name"));
  EXPECT_THROW(checked_child_path("/work", "../etc", "scenario name"), FatalError);
}

TEST(PathJoin, PathBeneathStaysInside) {
  EXPECT_EQ(*path_beneath("/art", "logs/x", "pull destination"), fs::path("/art/logs/x"));
  EXPECT_EQ(*path_beneath("/art", "logs/../y", "pull destination"), fs::path("/art/y"));
  EXPECT_EQ(*path_beneath("/art", "", "pull destination"), fs::path("/art"));
  EXPECT_EQ(*path_beneath("/art", ".", "pull destination"), fs::path("/art"));
  for (const char* bad : {"..", "../x", "a/../../x", "/etc", "//etc"}) EXPECT_FALSE(path_beneath("/art", bad, "pull destination")) << bad;
  auto refused = path_beneath("/art", "a/../../x", "pull destination");
  EXPECT_EQ(refused.error().message, "pull destination 'a/../../x' does not stay inside /art: refusing to use it");
}

// A scratch file removed at the end.
class DiskFile : public testing::Test {
 protected:
  void TearDown() override { fs::remove(path_); }
  fs::path write(const std::string& bytes) {
    std::ofstream(path_, std::ios::binary) << bytes;
    return path_;
  }
  // A qcow2 header: version, backing file name (none when empty), incompatible features.
  static std::string qcow2(std::uint32_t version, const std::string& backing = "", std::uint64_t features = 0) {
    std::string h(512, '\0');
    h.replace(0, 4, "QFI\xfb");
    auto put = [&](std::size_t at, std::uint64_t value, int size) {
      for (int i = size - 1; i >= 0; --i, value >>= 8) h[at + static_cast<std::size_t>(i)] = static_cast<char>(value & 0xff);
    };
    put(4, version, 4);
    if (!backing.empty()) {
      put(8, 200, 8);
      put(16, backing.size(), 4);
      h.replace(200, backing.size(), backing);
    }
    put(72, features, 8);
    return h;
  }
  fs::path path_ = fs::temp_directory_path() / ("meros-disk-format-" + std::to_string(::getpid()));
};

TEST_F(DiskFile, SelfContainedQcow2AndRawAreRead) {
  EXPECT_EQ(*self_contained_disk_format(write(qcow2(3))), "qcow2");
  EXPECT_EQ(*self_contained_disk_format(write(qcow2(2))), "qcow2");
  EXPECT_EQ(*self_contained_disk_format(write(std::string(4096, '\0'))), "raw");
  EXPECT_EQ(*self_contained_disk_format(write("")), "raw");
}

TEST_F(DiskFile, ABackingFileIsRefusedAndNamed) {
  auto refused = self_contained_disk_format(write(qcow2(3, "/etc/shadow")));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().message, "'" + path_.string() + "' is a qcow2 image with a backing file ('/etc/shadow'); an input image must be "
                                                            "self-contained: if you trust that file, flatten the image first with `qemu-img convert -O qcow2 " +
                                         path_.string() + " NEW.qcow2`");
  // Control characters of the name are not echoed.
  auto hostile = self_contained_disk_format(write(qcow2(2, "a\nb\x1b[2J")));
  ASSERT_FALSE(hostile);
  EXPECT_NE(hostile.error().message.find("'a?b?[2J'"), std::string::npos) << hostile.error().message;
}

TEST_F(DiskFile, AnExternalDataFileIsRefused) {
  auto refused = self_contained_disk_format(write(qcow2(3, "", 1u << 2)));
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("with an external data file"), std::string::npos);
  EXPECT_TRUE(self_contained_disk_format(write(qcow2(3, "", 1u << 0))));  // the dirty bit is harmless
}

// Images made by the real qemu-img, when it is installed.
TEST_F(DiskFile, QemuImgImagesWithAndWithoutABackingFile) {
  if (std::system("command -v qemu-img >/dev/null 2>&1") != 0) GTEST_SKIP() << "qemu-img is not installed";
  fs::path base = path_.string() + ".base", top = path_.string() + ".top";
  std::string create = "qemu-img create -q -f qcow2 " + base.string() + " 16M && qemu-img create -q -f qcow2 -b " + base.string() +
                       " -F qcow2 " + top.string() + " && qemu-img create -q -f raw " + path_.string() + " 1M";
  ASSERT_EQ(std::system(create.c_str()), 0);
  EXPECT_EQ(*self_contained_disk_format(base), "qcow2");
  EXPECT_EQ(*self_contained_disk_format(path_), "raw");
  auto refused = self_contained_disk_format(top);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("with a backing file ('" + base.string() + "')"), std::string::npos) << refused.error().message;
  fs::remove(base);
  fs::remove(top);
}

TEST_F(DiskFile, FormatsThatNameOtherFilesAreRefused) {
  for (const auto& [bytes, name] : std::vector<std::pair<std::string, std::string>>{
           {"# Disk DescriptorFile\nRW 2048 FLAT \"/etc/shadow\" 0\n", "VMDK descriptor"},
           {"KDMV" + std::string(508, '\0'), "VMDK"},
           {std::string("QED\0", 4) + std::string(508, '\0'), "QED"},
           {"vhdxfile" + std::string(504, '\0'), "VHDX"}}) {
    auto refused = self_contained_disk_format(write(bytes));
    ASSERT_FALSE(refused) << name;
    EXPECT_NE(refused.error().message.find("is a " + name + " image; only self-contained qcow2 and raw images are read"), std::string::npos)
        << refused.error().message;
  }
}

}  // namespace
