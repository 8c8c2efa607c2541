// Loopback probes: open, refused and timeout without root or namespaces.
#include <gtest/gtest.h>

#include "guest/probe.h"
#include "test_support.h"

namespace meros::guest {
namespace {

using namespace std::chrono_literals;
using test::BackgroundListeners;

ProbeRequest request(Proto proto, std::string address, int port, std::chrono::milliseconds timeout = 1000ms) {
  ProbeRequest r;
  r.proto = proto;
  r.address = std::move(address);
  r.port = port;
  r.timeout = timeout;
  return r;
}

ProbeOutcome must_probe(const ProbeRequest& r) {
  auto outcome = probe(r);
  EXPECT_TRUE(outcome.ok()) << (outcome ? "" : outcome.error().message);
  return outcome ? *outcome : ProbeOutcome{};
}

class LoopbackProbeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto started = BackgroundListeners::start({{Proto::tcp, 0}, {Proto::udp, 0}});
    ASSERT_TRUE(started.ok()) << started.error().message;
    listeners_ = std::move(*started);
  }

  int tcp_port() const { return listeners_->port(0); }
  int udp_port() const { return listeners_->port(1); }

  std::unique_ptr<BackgroundListeners> listeners_;
};

TEST_F(LoopbackProbeTest, TcpToListenerIsOpen) {
  auto outcome = must_probe(request(Proto::tcp, "127.0.0.1", tcp_port()));
  EXPECT_EQ(outcome.observed, Observed::open);
  EXPECT_EQ(outcome.detail, "tcp handshake");
  EXPECT_GT(outcome.elapsed.count(), 0);
}

TEST_F(LoopbackProbeTest, TcpToClosedPortIsRefusedByRst) {
  auto outcome = must_probe(request(Proto::tcp, "127.0.0.1", test::closed_port(Proto::tcp)));
  EXPECT_EQ(outcome.observed, Observed::refused);
  EXPECT_EQ(outcome.detail, "tcp rst");
}

TEST_F(LoopbackProbeTest, UdpToEchoListenerIsOpen) {
  auto outcome = must_probe(request(Proto::udp, "127.0.0.1", udp_port()));
  EXPECT_EQ(outcome.observed, Observed::open);
  EXPECT_EQ(outcome.detail, "udp reply");
}

TEST_F(LoopbackProbeTest, UdpToClosedPortIsRefusedByIcmp) {
  auto outcome = must_probe(request(Proto::udp, "127.0.0.1", test::closed_port(Proto::udp)));
  EXPECT_EQ(outcome.observed, Observed::refused);
  EXPECT_EQ(outcome.detail, "icmp port unreachable");
}

TEST(LoopbackProbe, UdpToSilentSocketTimesOut) {
  auto silent = test::silent_udp(AF_INET);
  auto outcome = must_probe(request(Proto::udp, "127.0.0.1", silent.port, 200ms));
  EXPECT_EQ(outcome.observed, Observed::timeout);
  EXPECT_GE(outcome.elapsed, 200ms);
  EXPECT_LT(outcome.elapsed, 1000ms);
}

TEST(LoopbackProbe, IcmpToLoopbackIsOpen) {
  auto outcome = probe(request(Proto::icmp, "127.0.0.1", 0));
  if (!outcome) GTEST_SKIP() << "no ICMP socket allowed here: " << outcome.error().message;
  EXPECT_EQ(outcome->observed, Observed::open);
  EXPECT_EQ(outcome->detail, "echo reply");
}

TEST(LoopbackProbe, IcmpOverEachSocketKindIsOpen) {
  for (auto method : {IcmpMethod::ping_socket, IcmpMethod::raw_socket}) {
    for (std::string address : {"127.0.0.1", "::1"}) {
      if (address == "::1" && !test::ipv6_loopback_available()) continue;
      auto r = request(Proto::icmp, address, 0);
      r.icmp_method = method;
      auto outcome = probe(r);
      if (!outcome) {
        // Ping sockets need net.ipv4.ping_group_range, raw ones CAP_NET_RAW.
        std::cout << "skipped " << address << ": " << outcome.error().message << "\n";
        continue;
      }
      EXPECT_EQ(outcome->observed, Observed::open) << address;
      EXPECT_EQ(outcome->detail, "echo reply") << address;
    }
  }
}

TEST_F(LoopbackProbeTest, Ipv6LoopbackProbes) {
  if (!test::ipv6_loopback_available()) GTEST_SKIP() << "no IPv6 loopback";
  EXPECT_EQ(must_probe(request(Proto::tcp, "::1", tcp_port())).observed, Observed::open);
  EXPECT_EQ(must_probe(request(Proto::udp, "::1", udp_port())).observed, Observed::open);
  auto rst = must_probe(request(Proto::tcp, "::1", test::closed_port(Proto::tcp)));
  EXPECT_EQ(rst.observed, Observed::refused);
  EXPECT_EQ(rst.detail, "tcp rst");
  auto icmp = must_probe(request(Proto::udp, "::1", test::closed_port(Proto::udp)));
  EXPECT_EQ(icmp.observed, Observed::refused);
  EXPECT_EQ(icmp.detail, "icmp port unreachable");
}

TEST_F(LoopbackProbeTest, Ipv4MappedAddressProbesIpv4) {
  auto outcome = must_probe(request(Proto::tcp, "::ffff:127.0.0.1", tcp_port()));
  EXPECT_EQ(outcome.observed, Observed::open);
}

TEST(LoopbackProbe, ProbeAllRunsConcurrently) {
  auto silent = test::silent_udp(AF_INET);
  std::vector<ProbeRequest> requests(5, request(Proto::udp, "127.0.0.1", silent.port, 300ms));
  auto start = std::chrono::steady_clock::now();
  auto outcomes = probe_all(requests);
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_EQ(outcomes.size(), 5u);
  for (const auto& outcome : outcomes) {
    ASSERT_TRUE(outcome.ok());
    EXPECT_EQ(outcome->observed, Observed::timeout);
  }
  EXPECT_LT(took, 1200ms);
}

TEST_F(LoopbackProbeTest, ProbeAllKeepsRequestOrder) {
  auto silent = test::silent_udp(AF_INET);
  std::vector<ProbeRequest> requests = {
      request(Proto::udp, "127.0.0.1", silent.port, 300ms),
      request(Proto::tcp, "127.0.0.1", tcp_port()),
      request(Proto::tcp, "not-an-address", 80),
      request(Proto::tcp, "127.0.0.1", test::closed_port(Proto::tcp)),
  };
  auto outcomes = probe_all(requests);
  ASSERT_EQ(outcomes.size(), 4u);
  EXPECT_EQ(outcomes[0]->observed, Observed::timeout);
  EXPECT_EQ(outcomes[1]->observed, Observed::open);
  EXPECT_FALSE(outcomes[2].ok());
  EXPECT_EQ(outcomes[3]->observed, Observed::refused);
}

TEST(LoopbackProbe, ProbeAllOfNothingIsEmpty) { EXPECT_TRUE(probe_all({}).empty()); }

TEST(ProbeErrors, BadRequestsAreErrorsNotObservations) {
  EXPECT_FALSE(probe(request(Proto::tcp, "example.com", 80)).ok());
  EXPECT_FALSE(probe(request(Proto::tcp, "10.0.0.300", 80)).ok());
  EXPECT_FALSE(probe(request(Proto::tcp, "", 80)).ok());
  EXPECT_FALSE(probe(request(Proto::tcp, "127.0.0.1", 0)).ok());
  EXPECT_FALSE(probe(request(Proto::udp, "127.0.0.1", 65536)).ok());
  EXPECT_FALSE(probe(request(Proto::tcp, "127.0.0.1", 80, 0ms)).ok());
  EXPECT_FALSE(probe(request(Proto::tcp, "fe80::1%no-such-if0", 80)).ok());
}

TEST(ProbeNames, RoundTrip) {
  for (auto proto : {Proto::tcp, Proto::udp, Proto::icmp}) EXPECT_EQ(*parse_proto(to_string(proto)), proto);
  for (auto observed : {Observed::open, Observed::refused, Observed::unreachable, Observed::timeout})
    EXPECT_EQ(*parse_observed(to_string(observed)), observed);
  EXPECT_FALSE(parse_proto("sctp").ok());
  EXPECT_FALSE(parse_observed("closed").ok());
}

}  // namespace
}  // namespace meros::guest
