// The accelerator decision against a fake prober.
#include "vm/accel.h"

#include <gtest/gtest.h>

namespace meros::vm {
namespace {

using namespace std::chrono_literals;

class FakeProber : public KvmProber {
 public:
  Status device = {};
  ProbeOutcome probe{true, "the KVM probe guest got through its firmware in 120 ms"};
  int probes = 0;
  Duration deadline{0};

  Status open_device() override { return device; }
  ProbeOutcome run_probe_guest(Duration d) override {
    ++probes;
    deadline = d;
    return probe;
  }
};

TEST(Accel, TcgRequestedProbesNothing) {
  FakeProber prober;
  auto choice = choose_accel(AccelRequest::tcg, prober);
  ASSERT_TRUE(choice);
  EXPECT_EQ(choice->accel, Accel::tcg);
  EXPECT_EQ(choice->reason, "TCG requested with --accel tcg");
  EXPECT_EQ(prober.probes, 0);
}

TEST(Accel, AutoUsesKvmWhenTheProbeGuestRuns) {
  FakeProber prober;
  auto choice = choose_accel(AccelRequest::automatic, prober);
  ASSERT_TRUE(choice);
  EXPECT_EQ(choice->accel, Accel::kvm);
  EXPECT_EQ(choice->reason, "the KVM probe guest got through its firmware in 120 ms; using KVM");
  EXPECT_EQ(prober.deadline, kKvmProbeDeadline);
}

TEST(Accel, AutoFallsBackToTcgWhenTheDeviceIsMissing) {
  FakeProber prober;
  prober.device = make_error("/dev/kvm does not exist (no kvm module, or no nested virtualisation)");
  auto choice = choose_accel(AccelRequest::automatic, prober);
  ASSERT_TRUE(choice);
  EXPECT_EQ(choice->accel, Accel::tcg);
  EXPECT_EQ(choice->reason, "/dev/kvm does not exist (no kvm module, or no nested virtualisation); using TCG");
  EXPECT_EQ(prober.probes, 0);
}

TEST(Accel, AutoFallsBackToTcgWhenTheProbeGuestHangs) {
  FakeProber prober;
  prober.probe = {false, "the KVM probe guest made no progress in 1500ms (its firmware stalled after 1291 bytes of log)"};
  auto choice = choose_accel(AccelRequest::automatic, prober);
  ASSERT_TRUE(choice);
  EXPECT_EQ(choice->accel, Accel::tcg);
  EXPECT_EQ(choice->reason,
            "the KVM probe guest made no progress in 1500ms (its firmware stalled after 1291 bytes of log); using TCG");
}

TEST(Accel, KvmRequestedFailsLoudlyWhenKvmDoesNotWork) {
  FakeProber no_device;
  no_device.device = make_error("/dev/kvm is not accessible to uid 1000 (add the user to the kvm group)");
  auto choice = choose_accel(AccelRequest::kvm, no_device);
  ASSERT_FALSE(choice);
  EXPECT_EQ(choice.error().message, "--accel kvm: /dev/kvm is not accessible to uid 1000 (add the user to the kvm group)");

  FakeProber hangs;
  hangs.probe = {false, "the KVM probe guest made no progress in 1500ms"};
  choice = choose_accel(AccelRequest::kvm, hangs);
  ASSERT_FALSE(choice);
  EXPECT_EQ(choice.error().message, "--accel kvm: KVM does not work here: the KVM probe guest made no progress in 1500ms");

  FakeProber works;
  choice = choose_accel(AccelRequest::kvm, works);
  ASSERT_TRUE(choice);
  EXPECT_EQ(choice->accel, Accel::kvm);
}

TEST(Accel, ParsesTheOption) {
  EXPECT_EQ(*parse_accel_request("auto"), AccelRequest::automatic);
  EXPECT_EQ(*parse_accel_request("kvm"), AccelRequest::kvm);
  EXPECT_EQ(*parse_accel_request("tcg"), AccelRequest::tcg);
  EXPECT_EQ(parse_accel_request("hvf").error().message, "--accel expects auto, kvm or tcg, got 'hvf'");
  EXPECT_EQ(to_string(Accel::kvm), "kvm");
}

TEST(Accel, ForeignArchitecturesRunUnderTcg) {
  AccelChoice kvm{Accel::kvm, "works"};
  EXPECT_EQ(accel_for(Arch::x86_64, kvm), Accel::kvm);
  EXPECT_EQ(accel_for(Arch::aarch64, kvm), Accel::tcg);
  EXPECT_EQ(accel_for(Arch::x86_64, AccelChoice{Accel::tcg, "asked"}), Accel::tcg);
}

TEST(Accel, DeviceCheckNamesTheProblem) {
  QemuKvmProber prober("/nonexistent/kvm");
  Status device = prober.open_device();
  ASSERT_FALSE(device);
  EXPECT_EQ(device.error().message, "/nonexistent/kvm does not exist (no kvm module, or no nested virtualisation)");
}

}  // namespace
}  // namespace meros::vm
