#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "fixture/kernel_builder.h"
#include "fixture/resolution.h"

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

// A recipe used by x86_64 and aarch64 VMs is two fixtures: the keys differ,
// and the aarch64 build takes the recipe's arch_fragments.
TEST(KernelInputs, EachArchitectureHasItsOwnKey) {
  FileHashCache hashes(testing::TempDir() + "/hashes-arch.json");
  fs::path dir = testing::TempDir() + "/arch-fragments";
  fs::create_directories(dir);
  std::ofstream(dir / "x86.config") << "CONFIG_SERIAL_8250=y\n";
  std::ofstream(dir / "arm64.config") << "CONFIG_SERIAL_AMBA_PL011=y\n";
  std::ofstream(dir / "linux.tar") << "not really a tarball";
  KernelRecipe recipe;
  recipe.name = "default";
  recipe.tarball = (dir / "linux.tar").string();
  recipe.fragments = {dir / "x86.config"};
  recipe.arch_fragments[Arch::aarch64] = {dir / "arm64.config"};
  KernelRecipe x86 = recipe.for_arch(Arch::x86_64), arm = recipe.for_arch(Arch::aarch64);
  EXPECT_EQ(x86.fragments, std::vector<fs::path>{dir / "x86.config"});
  EXPECT_EQ(arm.fragments, std::vector<fs::path>{dir / "arm64.config"});
  auto x86_inputs = kernel_inputs(x86, hashes);
  auto arm_inputs = kernel_inputs(arm, hashes);
  ASSERT_TRUE(x86_inputs.ok() && arm_inputs.ok());
  EXPECT_EQ((*x86_inputs)["arch"], "x86_64");
  EXPECT_EQ((*arm_inputs)["arch"], "aarch64");
  EXPECT_NE(fixture_key(*x86_inputs), fixture_key(*arm_inputs));
  // The same fragments for both still make two keys: the architecture alone differs.
  recipe.arch_fragments.clear();
  auto same_x86 = kernel_inputs(recipe.for_arch(Arch::x86_64), hashes);
  auto same_arm = kernel_inputs(recipe.for_arch(Arch::aarch64), hashes);
  ASSERT_TRUE(same_x86.ok() && same_arm.ok());
  EXPECT_NE(fixture_key(*same_x86), fixture_key(*same_arm));
}

TEST(RecipesUsed, ARecipeOfBothArchitecturesIsResolvedTwice) {
  Scenario scenario;
  KernelRecipe kernel;
  kernel.name = "default";
  kernel.defined_in = "/f/default.yml";
  ImageRecipe image;
  image.name = "busybox";
  image.defined_in = "/f/image.yml";
  scenario.kernels["default"] = kernel;
  scenario.images["busybox"] = image;
  VirtualMachine pc, arm, arm2;
  pc.name = "pc";
  arm.name = "arm";
  arm.arch = Arch::aarch64;
  arm2 = arm;
  arm2.name = "arm2";
  scenario.vms = {pc, arm, arm2};
  RecipeSet set = recipes_used({&scenario});
  ASSERT_EQ(set.kernels.size(), 2u);
  ASSERT_EQ(set.images.size(), 2u);
  std::set<Arch> arches;
  for (const auto& [identity, recipe] : set.images) arches.insert(recipe.arch);
  EXPECT_EQ(arches, (std::set<Arch>{Arch::x86_64, Arch::aarch64}));
  EXPECT_EQ(set.kernels.at(recipe_identity("/f/default.yml", "default", Arch::aarch64)).arch, Arch::aarch64);
}

TEST(FixtureRefs, NameTheArchitecture) {
  EXPECT_EQ(fixture_ref("busybox", Arch::aarch64), "busybox@aarch64");
  EXPECT_NE(recipe_identity("/f/image.yml", "busybox", Arch::x86_64), recipe_identity("/f/image.yml", "busybox", Arch::aarch64));
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
