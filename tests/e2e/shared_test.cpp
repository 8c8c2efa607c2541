// Shared folders on a real VM (scenario-format.md, "Shared folders"): a ro
// and an rw virtio-9p folder mounted by the guest init before the first
// test, and push/pull without paths going through ~/mos-shared.
#include "e2e_support.h"

namespace {

using namespace e2e;

TEST_F(EndToEnd, SharedFoldersAreMountedAndMosSharedIsThePushAndPullDefault) {
  // A copy: the guest writes into the rw folder, which must not be the source tree.
  fs::path scenario = out_ / "shared";
  fs::copy(fs::path(MEROS_SOURCE_DIR) / "tests/e2e/shared", scenario, fs::copy_options::recursive);
  fs::path junit = out_ / "junit.xml";
  fs::path artifacts = out_ / "artifacts";
  auto result = meros(scenario.string() + " --junit " + junit.string() + " --artifacts " + artifacts.string());
  EXPECT_EQ(result.exit_code, 0) << result.text;
  EXPECT_EQ(junit_summary(junit),
            "the ro folder is mounted before the first test | passed |\n"
            "the ro folder refuses writes | passed |\n"
            "the guest writes into the rw folder | passed |\n"
            "push seed/hello.txt to web:~/mos-shared/ | passed |\n"
            "a push without dst lands in ~/mos-shared | passed |\n"
            "pull web:~/mos-shared/ | passed |\n")
      << result.text;
  EXPECT_EQ(read_file(scenario / "out/result.txt"), "written by web\n");
  EXPECT_FALSE(fs::exists(scenario / "seed/new"));
  // mapped-xattr: the guest's file is a plain file of QEMU's user, no set-id bits.
  auto status = fs::status(scenario / "out/result.txt");
  EXPECT_EQ(status.permissions() & (fs::perms::set_uid | fs::perms::set_gid), fs::perms::none);
  EXPECT_EQ(read_file(artifacts / "e2e-shared/mos-shared/web/hello.txt"), "seeded from the host\n");
  EXPECT_EQ(read_file(artifacts / "e2e-shared/mos-shared/web/extra.txt"), "more\n");
  expect_valid_junit(junit);
  auto listed = meros("list " + scenario.string());
  EXPECT_NE(listed.text.find("  shared web:/mnt/seed <- seed (ro)\n  shared web:/srv/out <- out (rw)\n"), std::string::npos) << listed.text;
}

}  // namespace
