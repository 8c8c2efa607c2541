// Overlays: the qemu-img commands they run, against a scripted runner.
#include "vm/overlay.h"

#include <gtest/gtest.h>

#include <fstream>

#include "vm_test_support.h"

namespace meros::vm {
namespace {

namespace fs = std::filesystem;

ProcessResult info_reply(std::uint64_t size, const std::string& format) {
  return {0, false, R"({"virtual-size": )" + std::to_string(size) + R"(, "filename": "base", "format": ")" + format + "\"}"};
}

TEST(Overlay, GrowsToTheDiskSizeWhenLargerThanTheBase) {
  TempDir dir;
  std::ofstream(dir.path() / "base.qcow2") << "x";
  ScriptedRunner runner;
  runner.respond = [](const ProcessSpec& spec) {
    return spec.argv[1] == "info" ? info_reply(1 << 30, "qcow2") : ProcessResult{0, false, ""};
  };
  auto overlay = Overlay::create(runner, dir.path() / "base.qcow2", dir.path() / "web.qcow2", 2ull << 30);
  ASSERT_TRUE(overlay) << overlay.error().message;
  EXPECT_EQ(overlay->virtual_size(), 2ull << 30);
  EXPECT_TRUE(overlay->grown());  // the guest grows its filesystem into the space
  ASSERT_EQ(runner.commands.size(), 2u);
  EXPECT_EQ(runner.commands[0], (std::vector<std::string>{"qemu-img", "info", "--force-share", "--output=json",
                                                           (dir.path() / "base.qcow2").string()}));
  EXPECT_EQ(runner.commands[1],
            (std::vector<std::string>{"qemu-img", "create", "-q", "-f", "qcow2", "-b", (dir.path() / "base.qcow2").string(),
                                      "-F", "qcow2", (dir.path() / "web.qcow2").string(), "2147483648"}));
}

TEST(Overlay, KeepsTheBaseSizeWhenTheDiskSizeIsSmaller) {
  TempDir dir;
  std::ofstream(dir.path() / "base.img") << "x";
  ScriptedRunner runner;
  runner.respond = [](const ProcessSpec& spec) {
    return spec.argv[1] == "info" ? info_reply(1 << 30, "raw") : ProcessResult{0, false, ""};
  };
  auto overlay = Overlay::create(runner, dir.path() / "base.img", dir.path() / "web.qcow2", 1 << 20);
  ASSERT_TRUE(overlay) << overlay.error().message;
  EXPECT_EQ(overlay->virtual_size(), 1u << 30);
  EXPECT_FALSE(overlay->grown());
  EXPECT_EQ(runner.commands[1].back(), (dir.path() / "web.qcow2").string());  // no size argument
  EXPECT_EQ(runner.commands[1][8], "raw");
}

TEST(Overlay, ReportsQemuImgFailures) {
  TempDir dir;
  std::ofstream(dir.path() / "base.qcow2") << "x";
  ScriptedRunner runner;
  runner.respond = [](const ProcessSpec&) {
    return ProcessResult{1, false, "qemu-img: Could not open 'base.qcow2': Image is not in qcow2 format\n"};
  };
  auto overlay = Overlay::create(runner, dir.path() / "base.qcow2", dir.path() / "web.qcow2");
  ASSERT_FALSE(overlay);
  EXPECT_EQ(overlay.error().message, "qemu-img info --force-share --output=json " + (dir.path() / "base.qcow2").string() +
                                         " failed: qemu-img: Could not open 'base.qcow2': Image is not in qcow2 format");
  EXPECT_EQ(Overlay::create(runner, dir.path() / "missing.qcow2", dir.path() / "o.qcow2").error().message,
            "base image " + (dir.path() / "missing.qcow2").string() + " does not exist");
}

}  // namespace
}  // namespace meros::vm
