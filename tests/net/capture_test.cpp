// The bridge capture on a real bridge (label "root;net"): a namespace with
// a bridge and two "machines" (namespaces on veth pairs) that talk through
// it; the frames the bridge passes from port to port are in its pcapng,
// read back with libpcap and a BPF filter. The host is left as it was.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <gtest/gtest.h>

#include <pcap/pcap.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "net/capture.h"
#include "net/netns.h"
#include "root_support.h"

namespace meros::net {
namespace {

namespace fs = std::filesystem;

class BridgeCaptureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string reason = test::root_skip_reason(); !reason.empty()) GTEST_SKIP() << reason;
    test::sweep_leftovers();
    before_ = test::snapshot_host();
  }
  void TearDown() override {
    if (before_.parts.empty()) return;
    EXPECT_EQ(list_netns(test::test_prefix()), std::vector<std::string>{}) << "namespaces left behind";
    EXPECT_EQ(test::host_difference(before_, test::snapshot_host()), "") << "the real host's network changed";
  }
  test::HostState before_;
};

// Runs an `ip` command for the test's own set-up; fails the test loudly.
void ip(const std::string& args) {
  std::string out = test::capture("ip " + args);
  ASSERT_EQ(out.find("exit status"), std::string::npos) << "ip " << args << ": " << out;
}

// Packets in FILE that match the BPF filter.
int count_matching(const fs::path& file, const std::string& filter) {
  char errbuf[PCAP_ERRBUF_SIZE] = "";
  pcap_t* handle = pcap_open_offline(file.c_str(), errbuf);
  EXPECT_NE(handle, nullptr) << errbuf;
  if (!handle) return -1;
  bpf_program program{};
  EXPECT_EQ(pcap_compile(handle, &program, filter.c_str(), 1, PCAP_NETMASK_UNKNOWN), 0) << pcap_geterr(handle);
  int count = 0;
  pcap_pkthdr* header = nullptr;
  const u_char* data = nullptr;
  while (pcap_next_ex(handle, &header, &data) == 1) count += pcap_offline_filter(&program, header, data) ? 1 : 0;
  pcap_freecode(&program);
  pcap_close(handle);
  return count;
}

TEST_F(BridgeCaptureTest, RecordsWhatTheBridgePassesBetweenItsPorts) {
  auto hub = NetworkNamespace::create(test::test_prefix() + "cap-hub");
  auto left = NetworkNamespace::create(test::test_prefix() + "cap-left");
  auto right = NetworkNamespace::create(test::test_prefix() + "cap-right");
  ASSERT_TRUE(hub && left && right);
  ip("-n " + hub->name() + " link add br-cap type bridge");
  ip("-n " + hub->name() + " link set br-cap up");
  int index = 0;
  for (auto* side : {&*left, &*right}) {
    std::string port = "p" + std::to_string(index), end = "e" + std::to_string(index);
    ip("-n " + hub->name() + " link add " + port + " type veth peer name " + end + " netns " + side->name());
    ip("-n " + hub->name() + " link set " + port + " master br-cap up");
    ip("-n " + side->name() + " addr add 10.99.0." + std::to_string(2 + index) + "/24 dev " + end);
    ip("-n " + side->name() + " link set " + end + " up");
    ++index;
  }
  fs::path dir = fs::path(testing::TempDir()) / "bridge-capture";
  fs::remove_all(dir);
  auto capture = BridgeCapture::start(hub->fd(), {{"lan", "br-cap"}}, dir);
  ASSERT_TRUE(capture) << capture.error().message;

  // left -> right: UDP datagrams, each crossing the bridge from port to port.
  auto sock = left->open_socket(AF_INET, SOCK_DGRAM);
  ASSERT_TRUE(sock);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(9999);
  ::inet_pton(AF_INET, "10.99.0.3", &to.sin_addr);
  for (int i = 0; i < 5; ++i) {
    std::string payload = "meros capture " + std::to_string(i);
    ::sendto(sock->get(), payload.data(), payload.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  auto summaries = (*capture)->stop();
  ASSERT_EQ(summaries.size(), 1u);
  EXPECT_EQ(summaries[0].bridge, "lan");
  EXPECT_EQ(summaries[0].file, dir / "br-cap.pcapng");
  EXPECT_EQ(summaries[0].error, "");
  EXPECT_EQ(summaries[0].kernel_drops, 0u);
  EXPECT_GE(summaries[0].packets, 5u);
  // The first datagrams may wait for ARP, which is there too; the kernel
  // queues a few while it resolves, so at least 4 of the 5 arrive.
  EXPECT_GE(count_matching(summaries[0].file, "src host 10.99.0.2 and dst host 10.99.0.3 and udp dst port 9999"), 4);
  EXPECT_GE(count_matching(summaries[0].file, "arp"), 1);
  EXPECT_EQ((*capture)->stop().size(), 1u) << "stop() is idempotent";
}

TEST_F(BridgeCaptureTest, AMissingBridgeIsAnErrorAndLeavesNothingRunning) {
  auto hub = NetworkNamespace::create(test::test_prefix() + "cap-none");
  ASSERT_TRUE(hub);
  fs::path dir = fs::path(testing::TempDir()) / "bridge-capture-missing";
  auto capture = BridgeCapture::start(hub->fd(), {{"lan", "br-nothere"}}, dir);
  ASSERT_FALSE(capture);
  EXPECT_NE(capture.error().message.find("capturing br-nothere"), std::string::npos) << capture.error().message;
}

}  // namespace
}  // namespace meros::net
