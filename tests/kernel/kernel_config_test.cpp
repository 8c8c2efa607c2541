#include <gtest/gtest.h>

#include "fixture/kernel_builder.h"

namespace meros {
namespace {

TEST(Kconfig, ParsesSetAndUnsetLines) {
  auto values = parse_kconfig("CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C=\"x y\"\nCONFIG_D=42\n# comment\n");
  EXPECT_EQ(values["A"], "y");
  EXPECT_EQ(values["B"], "n");
  EXPECT_EQ(values["C"], "\"x y\"");
  EXPECT_EQ(values["D"], "42");
  EXPECT_EQ(values.size(), 4u);
}

TEST(Kconfig, WritesOptionLines) {
  EXPECT_EQ(kconfig_line("NF_TABLES", "y"), "CONFIG_NF_TABLES=y");
  EXPECT_EQ(kconfig_line("DEBUG_INFO", "n"), "# CONFIG_DEBUG_INFO is not set");
  EXPECT_EQ(kconfig_line("LOG_BUF_SHIFT", "14"), "CONFIG_LOG_BUF_SHIFT=14");
  EXPECT_EQ(kconfig_line("CMDLINE", "console=ttyS0"), "CONFIG_CMDLINE=\"console=ttyS0\"");
}

TEST(Kconfig, ReportsOptionsTheKernelDropped) {
  KconfigValues requested = {{"NF_TABLES", "y"}, {"DEBUG_INFO", "n"}, {"LOG_BUF_SHIFT", "14"}, {"CMDLINE", "quiet"}};
  KconfigValues final_config = {{"LOG_BUF_SHIFT", "17"}, {"CMDLINE", "\"quiet\""}};
  auto dropped = dropped_options(requested, final_config);
  ASSERT_EQ(dropped.size(), 2u);
  EXPECT_EQ(dropped[0], "LOG_BUF_SHIFT (asked 14, got 17)");
  EXPECT_EQ(dropped[1], "NF_TABLES (asked y, got not set)");
}

TEST(Kconfig, UnsetIsSatisfiedByAbsence) {
  EXPECT_TRUE(dropped_options({{"USB", "n"}}, {}).empty());
}

TEST(KernelInputs, OptionOrderDoesNotChangeTheKey) {
  FileHashCache hashes(testing::TempDir() + "/hashes.json");
  KernelRecipe a;
  a.kind = KernelKind::prebuilt;
  a.path = "/proc/self/exe";
  KernelRecipe b = a;
  auto key_a = kernel_inputs(a, hashes);
  auto key_b = kernel_inputs(b, hashes);
  ASSERT_TRUE(key_a.ok());
  EXPECT_EQ(fixture_key(*key_a), fixture_key(*key_b));
}

}  // namespace
}  // namespace meros

#include "fixture/package_kernel.h"

namespace meros {
namespace {

TEST(PackageKernel, OrdersModulesAfterTheirDependencies) {
  std::string dep =
      "kernel/fs/ext4/ext4.ko: kernel/fs/jbd2/jbd2.ko kernel/fs/mbcache.ko\n"
      "kernel/fs/jbd2/jbd2.ko:\n"
      "kernel/fs/mbcache.ko:\n"
      "kernel/drivers/block/virtio_blk.ko: kernel/drivers/virtio/virtio.ko\n"
      "kernel/drivers/virtio/virtio.ko:\n";
  std::vector<std::string> missing;
  auto order = modules_load_order(dep, {"virtio-blk", "ext4", "nf_tables"}, missing);
  ASSERT_EQ(order.size(), 5u);
  EXPECT_EQ(order[0], "kernel/drivers/virtio/virtio.ko");
  EXPECT_EQ(order[1], "kernel/drivers/block/virtio_blk.ko");
  EXPECT_EQ(order[4], "kernel/fs/ext4/ext4.ko");
  EXPECT_EQ(missing, std::vector<std::string>{"nf_tables"});
}

}  // namespace
}  // namespace meros
