// The KVM probe's outcome kept for the host's boot, against a fake prober
// and a fake boot id.
#include "vm/accel_cache.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

namespace meros::vm {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class CountingProber : public KvmProber {
 public:
  ProbeOutcome probe{false, "the KVM probe guest's QEMU exited with status 134"};
  int probes = 0;
  Status open_device() override { return {}; }
  ProbeOutcome run_probe_guest(Duration) override {
    ++probes;
    return probe;
  }
};

class AccelCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("meros-accel-cache-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    write(dir_ / "boot_id", "4d1c0a5e-1111-2222-3333-444455556666\n");
    write(dir_ / "qemu", "binary");
    write(dir_ / "kvm", "");
  }
  void TearDown() override { fs::remove_all(dir_); }
  static void write(const fs::path& path, const std::string& text) { std::ofstream(path) << text; }
  std::optional<std::string> identity() { return probe_identity(dir_ / "qemu", dir_ / "kvm", dir_ / "boot_id"); }
  fs::path cache() const { return dir_ / "store" / "accel-probe.json"; }

  fs::path dir_;
  CountingProber inner_;
};

TEST_F(AccelCacheTest, SecondRunOfTheBootReusesTheProbe) {
  {
    CachedKvmProber first(inner_, cache(), identity());
    auto choice = choose_accel(AccelRequest::automatic, first);
    ASSERT_TRUE(choice);
    EXPECT_EQ(choice->accel, Accel::tcg);
  }
  EXPECT_EQ(inner_.probes, 1);
  EXPECT_TRUE(fs::exists(cache()));
  CachedKvmProber second(inner_, cache(), identity());
  auto again = choose_accel(AccelRequest::automatic, second);
  ASSERT_TRUE(again);
  EXPECT_EQ(inner_.probes, 1) << "the probe guest ran again in the same boot";
  EXPECT_EQ(again->accel, Accel::tcg);
  EXPECT_NE(again->reason.find("status 134"), std::string::npos) << again->reason;
  EXPECT_NE(again->reason.find("probed earlier this boot"), std::string::npos) << again->reason;
}

TEST_F(AccelCacheTest, AWorkingKvmIsRememberedToo) {
  inner_.probe = {true, "the KVM probe guest got through its firmware in 90 ms"};
  CachedKvmProber(inner_, cache(), identity()).run_probe_guest(1500ms);
  auto outcome = CachedKvmProber(inner_, cache(), identity()).run_probe_guest(1500ms);
  EXPECT_TRUE(outcome.ran);
  EXPECT_EQ(inner_.probes, 1);
}

TEST_F(AccelCacheTest, ANewBootANewQemuOrANewKvmNodeProbesAgain) {
  CachedKvmProber(inner_, cache(), identity()).run_probe_guest(1500ms);
  write(dir_ / "boot_id", "99999999-1111-2222-3333-444455556666\n");
  CachedKvmProber(inner_, cache(), identity()).run_probe_guest(1500ms);
  EXPECT_EQ(inner_.probes, 2) << "a reboot must probe again";
  write(dir_ / "qemu", "an upgraded binary");
  CachedKvmProber(inner_, cache(), identity()).run_probe_guest(1500ms);
  EXPECT_EQ(inner_.probes, 3) << "a new QEMU must probe again";
  write(dir_ / "kvm.new", "");  // both exist at once: a different inode
  fs::rename(dir_ / "kvm.new", dir_ / "kvm");
  CachedKvmProber(inner_, cache(), identity()).run_probe_guest(1500ms);
  EXPECT_EQ(inner_.probes, 4) << "a new /dev/kvm node must probe again";
  CachedKvmProber(inner_, cache(), identity()).run_probe_guest(1500ms);
  EXPECT_EQ(inner_.probes, 4);
}

TEST_F(AccelCacheTest, ATimedOutProbeIsNotRemembered) {
  inner_.probe = {false, "the KVM probe guest made no progress in 1.5 s", true};
  CachedKvmProber(inner_, cache(), identity()).run_probe_guest(1500ms);
  CachedKvmProber(inner_, cache(), identity()).run_probe_guest(1500ms);
  EXPECT_EQ(inner_.probes, 2) << "a stall may be load, not KVM: the next run must look again";
}

TEST_F(AccelCacheTest, AGarbledOrOversizedCacheIsIgnored) {
  fs::create_directories(cache().parent_path());
  write(cache(), "{\"identity\": 7, \"ran\": \"yes\"");
  auto outcome = CachedKvmProber(inner_, cache(), identity()).run_probe_guest(1500ms);
  EXPECT_EQ(inner_.probes, 1);
  EXPECT_FALSE(outcome.ran);
  // Rewritten with a valid entry, then padded past the size bound.
  std::ofstream(cache(), std::ios::app) << std::string(70 * 1024, ' ');
  CachedKvmProber(inner_, cache(), identity()).run_probe_guest(1500ms);
  EXPECT_EQ(inner_.probes, 2);
}

TEST_F(AccelCacheTest, NoBootIdMeansNoCache) {
  fs::remove(dir_ / "boot_id");
  EXPECT_FALSE(identity());
  CachedKvmProber(inner_, cache(), identity()).run_probe_guest(1500ms);
  CachedKvmProber(inner_, cache(), identity()).run_probe_guest(1500ms);
  EXPECT_EQ(inner_.probes, 2);
  EXPECT_FALSE(fs::exists(cache()));
}

TEST(ProbeIdentity, TheRealHostHasOne) {
  auto id = probe_identity("qemu-system-x86_64", "/dev/kvm");
  ASSERT_TRUE(id);
  EXPECT_NE(id->find("boot "), std::string::npos);
  EXPECT_EQ(*id, *probe_identity("qemu-system-x86_64", "/dev/kvm")) << "the identity must be stable within a boot";
}

}  // namespace
}  // namespace meros::vm
