// The pcapng writer (unit): files it writes are read back with libpcap
// itself, which knows the format; the size bound leaves packets out and
// counts them. The display filter of a failed probe.
#include <gtest/gtest.h>

#include <pcap/pcap.h>

#include <filesystem>
#include <fstream>
#include <vector>

#include "../support/read_file.h"
#include "net/capture.h"
#include "net/pcapng.h"

namespace meros::net {
namespace {

namespace fs = std::filesystem;
using testing_support::read_whole_file;

struct ReadPacket {
  std::vector<std::uint8_t> bytes;
  std::uint32_t wire_length = 0;
  std::uint64_t timestamp_us = 0;
};

std::vector<ReadPacket> read_with_libpcap(const fs::path& file, int* link_type = nullptr) {
  char errbuf[PCAP_ERRBUF_SIZE] = "";
  pcap_t* handle = pcap_open_offline(file.c_str(), errbuf);
  EXPECT_NE(handle, nullptr) << errbuf;
  if (!handle) return {};
  if (link_type) *link_type = pcap_datalink(handle);
  std::vector<ReadPacket> out;
  pcap_pkthdr* header = nullptr;
  const u_char* data = nullptr;
  while (pcap_next_ex(handle, &header, &data) == 1)
    out.push_back({{data, data + header->caplen}, header->len,
                   static_cast<std::uint64_t>(header->ts.tv_sec) * 1'000'000 + static_cast<std::uint64_t>(header->ts.tv_usec)});
  pcap_close(handle);
  return out;
}

fs::path scratch(const std::string& name) {
  fs::path dir = fs::path(testing::TempDir()) / "pcapng-test";
  fs::create_directories(dir);
  fs::remove(dir / name);
  return dir / name;
}

TEST(Pcapng, LibpcapReadsBackEveryPacketWithItsLengthsAndTime) {
  fs::path file = scratch("three.pcapng");
  auto writer = PcapngWriter::create(file, "br-lan", kLinkTypeEthernet, 65535, 1 << 20);
  ASSERT_TRUE(writer) << writer.error().message;
  std::vector<std::uint8_t> odd(61, 0xab), even(64, 0x11), big(1514, 0x5a);
  EXPECT_TRUE(writer->packet(odd, 61, 1'700'000'000'000'001));
  EXPECT_TRUE(writer->packet(even, 1000, 1'700'000'000'500'000));  // captured short of the wire length
  EXPECT_TRUE(writer->packet(big, 1514, 1'700'000'001'000'000));
  ASSERT_TRUE(writer->close());
  int link = 0;
  auto packets = read_with_libpcap(file, &link);
  EXPECT_EQ(link, DLT_EN10MB);
  ASSERT_EQ(packets.size(), 3u);
  EXPECT_EQ(packets[0].bytes, odd);
  EXPECT_EQ(packets[0].timestamp_us, 1'700'000'000'000'001u);
  EXPECT_EQ(packets[1].bytes, even);
  EXPECT_EQ(packets[1].wire_length, 1000u);
  EXPECT_EQ(packets[2].bytes, big);
  EXPECT_EQ(writer->written(), 3u);
  EXPECT_EQ(static_cast<std::uint64_t>(fs::file_size(file)), writer->bytes());
  EXPECT_NE(read_whole_file(file).find("br-lan"), std::string::npos) << "the interface is named in the file";
}

TEST(Pcapng, TheBoundLeavesPacketsOutAndCountsThem) {
  fs::path file = scratch("bounded.pcapng");
  auto writer = PcapngWriter::create(file, "br0", kLinkTypeEthernet, 65535, 4096);
  ASSERT_TRUE(writer);
  std::vector<std::uint8_t> frame(1000, 0x42);
  int kept = 0;
  for (int i = 0; i < 10; ++i) kept += writer->packet(frame, 1000, 1'000'000 * i);
  ASSERT_TRUE(writer->close());
  EXPECT_EQ(kept, 3);  // headers ~100 bytes, then 1032 bytes a packet
  EXPECT_EQ(writer->left_out(), 7u);
  EXPECT_LE(fs::file_size(file), 4096u);
  EXPECT_EQ(read_with_libpcap(file).size(), 3u);
}

TEST(Pcapng, CapturedBytesBeyondTheSnaplenAreCut) {
  fs::path file = scratch("snap.pcapng");
  auto writer = PcapngWriter::create(file, "br0", kLinkTypeEthernet, 128, 1 << 20);
  ASSERT_TRUE(writer);
  std::vector<std::uint8_t> frame(1500, 0x42);
  EXPECT_TRUE(writer->packet(frame, 1500, 1));
  ASSERT_TRUE(writer->close());
  auto packets = read_with_libpcap(file);
  ASSERT_EQ(packets.size(), 1u);
  EXPECT_EQ(packets[0].bytes.size(), 128u);
  EXPECT_EQ(packets[0].wire_length, 1500u);
}

TEST(Pcapng, NeverWritesThroughASymlink) {
  fs::path target = scratch("target"), link = scratch("link.pcapng");
  std::ofstream(target) << "keep";
  fs::create_symlink(target, link);
  auto writer = PcapngWriter::create(link, "br0", kLinkTypeEthernet, 65535, 1 << 20);
  EXPECT_FALSE(writer);
  EXPECT_EQ(read_whole_file(target), "keep");
}

TEST(CaptureDisplayFilter, IsTheFiveTupleWhenTheProberNamedItsEnd) {
  EXPECT_EQ(capture_display_filter({"10.0.10.5"}, "10.0.10.5:43512", "10.0.20.6", {443, Proto::tcp}),
            "ip.addr == 10.0.20.6 && ip.addr == 10.0.10.5 && tcp.port == 443 && tcp.port == 43512");
  EXPECT_EQ(capture_display_filter({}, "10.0.20.1:5353", "10.0.20.6", {53, Proto::udp}),
            "ip.addr == 10.0.20.6 && ip.addr == 10.0.20.1 && udp.port == 53 && udp.port == 5353");
}

TEST(CaptureDisplayFilter, ElseNamesTheTargetThePortAndTheSourcesAddresses) {
  EXPECT_EQ(capture_display_filter({"10.0.10.5"}, "", "10.0.20.6", {443, Proto::tcp}),
            "ip.addr == 10.0.20.6 && ip.addr == 10.0.10.5 && tcp.port == 443");
  EXPECT_EQ(capture_display_filter({"10.0.10.5", "10.0.30.5"}, "", "10.0.20.6", {53, Proto::udp}),
            "ip.addr == 10.0.20.6 && ip.addr in {10.0.10.5 10.0.30.5} && udp.port == 53");
  EXPECT_EQ(capture_display_filter({}, "", "10.0.20.6", {0, Proto::icmp}), "ip.addr == 10.0.20.6 && icmp");
}

// The source comes from the guest's answer: anything but an address and a
// port is left out of the filter, never copied into it.
TEST(CaptureDisplayFilter, IgnoresASourceThatIsNotAnAddressAndPort) {
  for (const char* hostile : {"10.0.10.5:0", "10.0.10.5:70000", "10.0.10.5", "x || frame:1", "10.0.10.5:1 || 1",
                              "[::1]:80", "10.0.10.256:80", "10.0.10.5:80\n"}) {
    EXPECT_EQ(capture_display_filter({"10.0.10.5"}, hostile, "10.0.20.6", {443, Proto::tcp}),
              "ip.addr == 10.0.20.6 && ip.addr == 10.0.10.5 && tcp.port == 443")
        << hostile;
  }
}

}  // namespace
}  // namespace meros::net
