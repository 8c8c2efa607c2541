// meros-guest link-wait: a link is ready only with carrier, operstate up
// and its address. Unit tests read a fake sysfs tree; the root tests take a
// real veth's peer down and up and run the agent inside the namespace.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "guest/link.h"
#include "netns_pair.h"
#include "test_support.h"

namespace meros::guest {
namespace {

namespace fs = std::filesystem;

class FakeSysfs : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "meros-sysfs-XXXXXX").string();
    root_ = ::mkdtemp(pattern.data());
  }
  void TearDown() override { fs::remove_all(root_); }
  void set(const std::string& ifname, const std::string& carrier, const std::string& operstate) {
    fs::create_directories(root_ / ifname);
    std::ofstream(root_ / ifname / "carrier") << carrier << "\n";
    std::ofstream(root_ / ifname / "operstate") << operstate << "\n";
  }
  fs::path root_;
};

TEST_F(FakeSysfs, ReadyNeedsCarrierAndOperstateUp) {
  set("eth1", "1", "up");
  EXPECT_TRUE(read_link_state("eth1", "", root_).ready());
  // The moment after QMP set_link up: carrier back, the link watcher not run yet.
  set("eth1", "1", "down");
  LinkState early = read_link_state("eth1", "", root_);
  EXPECT_FALSE(early.ready());
  EXPECT_EQ(early.describe(""), "carrier 1, operstate down");
  set("eth1", "0", "up");
  EXPECT_FALSE(read_link_state("eth1", "", root_).ready());
  // A driver without link state reporting: carrier is all there is.
  set("lo", "1", "unknown");
  EXPECT_TRUE(read_link_state("lo", "", root_).ready());
}

TEST_F(FakeSysfs, MissingOrHostileNamesAreNotReady) {
  EXPECT_EQ(read_link_state("eth9", "", root_).describe(""), "no such interface");
  set("eth1", "1", "up");
  EXPECT_FALSE(read_link_state("../" + root_.filename().string() + "/eth1", "", root_).exists);
  EXPECT_FALSE(read_link_state("..", "", root_).exists);
}

// --- the real agent in a namespace -------------------------------------------

class LinkWaitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string reason = test::netns_skip_reason(); !reason.empty()) GTEST_SKIP() << reason;
    ASSERT_TRUE(pair_.create());
    veth_ = "vt" + std::to_string(::getpid());
    peer_ = "vp" + std::to_string(::getpid());
  }
  // The agent inside the target namespace (ip netns exec mounts its sysfs).
  test::ProcessResult link_wait(const std::string& address, const std::string& timeout) {
    std::string command = "ip netns exec " + pair_.target() + " " MEROS_GUEST_BIN " link-wait " + veth_ + " --timeout " + timeout;
    if (!address.empty()) command += " --address " + address;
    return test::run_shell(command);
  }
  test::NetnsPair pair_;
  std::string veth_, peer_;
};

TEST_F(LinkWaitTest, AnUpLinkIsReadyAtOnce) {
  auto result = link_wait(test::NetnsPair::kTarget4, "2s");
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
  auto line = nlohmann::json::parse(result.out);
  EXPECT_TRUE(line["ready"].get<bool>());
  EXPECT_EQ(line["state"], std::string("carrier 1, operstate up, address ") + test::NetnsPair::kTarget4 + " present");
}

TEST_F(LinkWaitTest, ALinkWithoutCarrierTimesOutSayingSo) {
  ASSERT_TRUE(pair_.exec_in(pair_.prober(), "ip link set " + peer_ + " down"));
  auto result = link_wait(test::NetnsPair::kTarget4, "300ms");
  EXPECT_EQ(result.exit_code, 1) << result.out << result.err;
  auto line = nlohmann::json::parse(result.out);
  EXPECT_FALSE(line["ready"].get<bool>());
  EXPECT_NE(line["state"].get<std::string>().find("carrier 0"), std::string::npos) << result.out;
}

TEST_F(LinkWaitTest, WaitsUntilTheCarrierComesBack) {
  ASSERT_TRUE(pair_.exec_in(pair_.prober(), "ip link set " + peer_ + " down"));
  std::thread restore([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    (void)pair_.exec_in(pair_.prober(), "ip link set " + peer_ + " up");
  });
  auto result = link_wait(test::NetnsPair::kTarget4, "10s");
  restore.join();
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
  auto line = nlohmann::json::parse(result.out);
  EXPECT_GE(line["waited_ms"].get<int>(), 300) << result.out;
}

TEST_F(LinkWaitTest, AMissingAddressIsNotReady) {
  auto result = link_wait("10.250.9.9", "200ms");
  EXPECT_EQ(result.exit_code, 1) << result.out;
  EXPECT_NE(result.out.find("address 10.250.9.9 missing"), std::string::npos) << result.out;
}

}  // namespace
}  // namespace meros::guest
