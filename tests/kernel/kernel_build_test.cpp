// Real kernel configure and build runs. They need root (the fixture cache
// is shared with CI in /var/cache/meros-test) and linux-source-6.1.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <thread>

#include "fixture/kernel_builder.h"

namespace meros {
namespace {

class RecordingReporter : public BuildReporter {
 public:
  void info(const std::string& line) override {
    lines.push_back(line);
    std::cerr << line << "\n";
  }
  void progress(const std::string&, const std::string&, int, int) override {}
  std::vector<std::string> lines;
};

fs::path cache_dir() {
  if (const char* env = std::getenv("MEROS_TEST_CACHE"); env && *env) return env;
  return fs::path(MEROS_TEST_BUILD_DIR) / "test-cache";
}

class KernelBuild : public testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    if (!fs::exists(kTarball)) GTEST_SKIP() << kTarball << " missing: apt-get install linux-source-6.1";
  }
  KernelRecipe default_recipe() const {
    KernelRecipe recipe;
    recipe.name = "default";
    recipe.tarball = kTarball;
    recipe.fragments = {fs::path(MEROS_FIXTURES_DIR) / "kernels/meros.config"};
    recipe.defined_in = fs::path(MEROS_FIXTURES_DIR) / "kernels/default.yml";
    return recipe;
  }
  static constexpr const char* kTarball = "/usr/src/linux-source-6.1.tar.xz";
  FixtureStore store{cache_dir()};
  SystemProcessRunner runner;
  FileHashCache hashes{store.file_hash_cache()};
  RecordingReporter reporter;
  BuildContext context{store, runner, hashes, reporter, static_cast<int>(std::thread::hardware_concurrency())};
};

// An option whose dependencies are not met is named in the error instead
// of silently missing from the kernel.
TEST_F(KernelBuild, FailsNamingAnOptionWithUnmetDependencies) {
  KernelRecipe recipe = default_recipe();
  recipe.name = "unmet";
  // NFT_FIB_INET needs NF_TABLES_INET and NFT_FIB_IPV4/6; with NF_TABLES off it cannot stay.
  recipe.options = {{"NF_TABLES", "n"}, {"NFT_FIB_INET", "y"}};
  auto built = ensure_kernel(recipe, context);
  ASSERT_FALSE(built.ok());
  EXPECT_NE(built.error().message.find("NFT_FIB_INET (asked y, got not set)"), std::string::npos) << built.error().message;
}

// The default kernel: built once per cache, then found by its key.
TEST_F(KernelBuild, BuildsTheDefaultKernelOnceThenFindsItCached) {
  auto first = ensure_kernel(default_recipe(), context);
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_TRUE(fs::exists(first->artifact()));
  EXPECT_GT(fs::file_size(first->artifact()), 500'000u);
  reporter.lines.clear();
  auto second = ensure_kernel(default_recipe(), context);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(first->key, second->key);
  ASSERT_FALSE(reporter.lines.empty());
  EXPECT_NE(reporter.lines.back().find("cached"), std::string::npos);
}

// A distribution kernel: downloaded, unpacked, its modules put into an
// initramfs in load order.
TEST_F(KernelBuild, BuildsADebianPackageKernelWithAnInitramfs) {
  KernelRecipe recipe;
  recipe.name = "cloud";
  recipe.kind = KernelKind::package;
  recipe.package = "linux-image-cloud-amd64";
  recipe.defined_in = "kernel_build_test";
  auto built = ensure_kernel(recipe, context);
  ASSERT_TRUE(built.ok()) << built.error().message;
  EXPECT_TRUE(fs::exists(built->artifact()));
  EXPECT_TRUE(fs::exists(built->dir / "initrd.img"));
  EXPECT_GT(built->manifest.value("modules", 0), 10);
}

}  // namespace
}  // namespace meros
