// The bridge capture on a real bridge (label "root;net"): a namespace with
// a bridge and two "machines" (namespaces on veth pairs) that talk through
// it; the frames the bridge passes from port to port are in its pcapng,
// read back with libpcap and a BPF filter. The host is left as it was.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "../support/pcap_count.h"
#include "net/capture.h"
#include "net/netns.h"
#include "root_support.h"

namespace meros::net {
namespace {

namespace fs = std::filesystem;

using testing_support::count_matching;

class BridgeCaptureTest : public test::HostUnchangedTest {};

using test::ip;

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
  ip("-n " + hub->name() + " link add br-here type bridge");
  ip("-n " + hub->name() + " link set br-here up");
  fs::path dir = fs::path(testing::TempDir()) / "bridge-capture-missing";
  fs::remove_all(dir);
  auto capture = BridgeCapture::start(hub->fd(), {{"lan", "br-here"}, {"dmz", "br-nothere"}}, dir);
  ASSERT_FALSE(capture);
  EXPECT_NE(capture.error().message.find("capturing br-nothere"), std::string::npos) << capture.error().message;
  EXPECT_FALSE(fs::exists(dir / "br-here.pcapng")) << "the bridge opened before the failure left its file";
}

}  // namespace
}  // namespace meros::net
