// Overlays made by the real qemu-img on a small base (label qemu: needs
// qemu-utils, not root; fast).
#include <gtest/gtest.h>

#include "vm/overlay.h"
#include "vm_test_support.h"

namespace meros::vm {
namespace {

namespace fs = std::filesystem;

// Real qemu-img: a 64 MiB base, an overlay grown to 1 GiB, removed with
// its owner (and left alone once kept).
TEST(OverlayReal, CreatesGrowsAndRemoves) {
  if (!find_program("qemu-img")) GTEST_SKIP() << "qemu-img not found (install qemu-utils)";
  TempDir dir;
  SystemProcessRunner runner;
  ProcessSpec make_base;
  make_base.argv = {"qemu-img", "create", "-q", "-f", "qcow2", (dir.path() / "base.qcow2").string(), "64M"};
  ASSERT_TRUE(runner.run(make_base)->ok());
  fs::path path = dir.path() / "web.qcow2";
  {
    auto overlay = Overlay::create(runner, dir.path() / "base.qcow2", path, 1ull << 30);
    ASSERT_TRUE(overlay) << overlay.error().message;
    auto info = image_info(runner, path);
    ASSERT_TRUE(info) << info.error().message;
    EXPECT_EQ(info->format, "qcow2");
    EXPECT_EQ(info->virtual_size, 1ull << 30);
    EXPECT_LT(fs::file_size(path), 1u << 20);  // copy-on-write: no data copied
    Overlay moved = std::move(*overlay);
    EXPECT_TRUE(fs::exists(path));
  }
  EXPECT_FALSE(fs::exists(path));
  {
    auto overlay = Overlay::create(runner, dir.path() / "base.qcow2", path);
    ASSERT_TRUE(overlay) << overlay.error().message;
    EXPECT_EQ(overlay->virtual_size(), 64u << 20);
    overlay->keep();
  }
  EXPECT_TRUE(fs::exists(path));
}

}  // namespace
}  // namespace meros::vm
