// Probes across a veth link into a namespace with nftables rules: every
// observation (open, refused, unreachable, timeout) from a real stack.
// Needs root; skips otherwise.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "guest/probe.h"
#include "netns_pair.h"
#include "test_support.h"

namespace meros::guest {
namespace {

using namespace std::chrono_literals;
using test::NetnsPair;

constexpr char kRuleset[] = R"(
table inet meros_guest_test {
  chain input {
    type filter hook input priority 0; policy accept;
    tcp dport 81 reject with tcp reset
    tcp dport 82 drop
    tcp dport 83 reject with icmpx type admin-prohibited
    udp dport 84 drop
    udp dport 85 reject with icmpx type admin-prohibited
    tcp dport 86 reject with icmpx type port-unreachable
    ip daddr 10.250.1.1 icmp type echo-request drop
    ip daddr 10.250.1.2 icmp type echo-request reject with icmp type host-unreachable
  }
}
)";

// One namespace pair per test process (ctest runs each test on its own).
class NetnsProbeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    skip_reason_ = test::netns_skip_reason();
    if (!skip_reason_.empty()) return;
    pair_ = new NetnsPair;
    if (auto s = pair_->create(); !s) return fail_setup(s);
    if (auto s = pair_->load_target_ruleset(kRuleset); !s) return fail_setup(s);
    // Root in a fresh namespace may not open ping sockets until allowed.
    if (auto s = pair_->exec_in(pair_->prober(), "sysctl -qw net.ipv4.ping_group_range='0 2147483647'"); !s)
      return fail_setup(s);
    std::vector<ListenSpec> specs;
    for (int port : {80, 81, 82, 83, 84, 85, 86}) {
      specs.push_back({Proto::tcp, port});
      specs.push_back({Proto::udp, port});
    }
    auto started = test::BackgroundListeners::start(specs, pair_->target());
    if (!started) return fail_setup(started.error());
    listeners_ = started->release();
  }

  static void TearDownTestSuite() {
    delete listeners_;  // before the namespace goes
    listeners_ = nullptr;
    delete pair_;
    pair_ = nullptr;
  }

  static void fail_setup(const Status& status) { setup_error_ = status.error().message; }

  void SetUp() override {
    if (!skip_reason_.empty()) GTEST_SKIP() << skip_reason_;
    ASSERT_TRUE(setup_error_.empty()) << setup_error_;
  }

  // Probes from the prober namespace.
  static std::vector<Result<ProbeOutcome>> probe_from_prober(const std::vector<ProbeRequest>& requests) {
    std::vector<Result<ProbeOutcome>> outcomes;
    auto entered = test::run_in_netns(pair_->prober(), [&] { outcomes = probe_all(requests); });
    EXPECT_TRUE(entered.ok()) << entered.error().message;
    return outcomes;
  }

  static ProbeOutcome probe_one(Proto proto, const std::string& address, int port,
                                std::chrono::milliseconds timeout = 1000ms,
                                IcmpMethod method = IcmpMethod::automatic) {
    auto outcomes = probe_from_prober({{proto, address, port, timeout, method}});
    if (outcomes.size() != 1 || !outcomes[0]) {
      ADD_FAILURE() << "no probe made: " << (outcomes.empty() ? "" : outcomes[0].error().message);
      return {};
    }
    return *outcomes[0];
  }

  static void expect(const ProbeOutcome& outcome, Observed observed, const std::string& detail) {
    EXPECT_EQ(to_string(outcome.observed), to_string(observed)) << outcome.detail;
    EXPECT_EQ(outcome.detail, detail);
  }

  static inline std::string skip_reason_;
  static inline std::string setup_error_;
  static inline NetnsPair* pair_ = nullptr;
  static inline test::BackgroundListeners* listeners_ = nullptr;
};

TEST_F(NetnsProbeTest, TcpOpen) { expect(probe_one(Proto::tcp, "10.250.0.1", 80), Observed::open, "tcp handshake"); }

TEST_F(NetnsProbeTest, TcpRejectWithResetIsRefused) {
  expect(probe_one(Proto::tcp, "10.250.0.1", 81), Observed::refused, "tcp rst");
}

TEST_F(NetnsProbeTest, TcpDropTimesOut) {
  auto outcome = probe_one(Proto::tcp, "10.250.0.1", 82, 300ms);
  expect(outcome, Observed::timeout, "no answer");
  EXPECT_GE(outcome.elapsed, 300ms);
}

TEST_F(NetnsProbeTest, TcpAdminProhibitedIsUnreachable) {
  expect(probe_one(Proto::tcp, "10.250.0.1", 83), Observed::unreachable, "icmp admin prohibited");
}

TEST_F(NetnsProbeTest, TcpIcmpPortUnreachableIsRefused) {
  expect(probe_one(Proto::tcp, "10.250.0.1", 86), Observed::refused, "icmp port unreachable");
}

TEST_F(NetnsProbeTest, UdpEchoIsOpen) { expect(probe_one(Proto::udp, "10.250.0.1", 80), Observed::open, "udp reply"); }

TEST_F(NetnsProbeTest, UdpDropTimesOut) {
  expect(probe_one(Proto::udp, "10.250.0.1", 84, 300ms), Observed::timeout, "no answer");
}

TEST_F(NetnsProbeTest, UdpAdminProhibitedIsUnreachable) {
  expect(probe_one(Proto::udp, "10.250.0.1", 85), Observed::unreachable, "icmp admin prohibited");
}

TEST_F(NetnsProbeTest, UdpClosedPortIsRefused) {
  expect(probe_one(Proto::udp, "10.250.0.1", 90), Observed::refused, "icmp port unreachable");
}

TEST_F(NetnsProbeTest, IcmpEchoIsOpenOverBothSocketKinds) {
  for (auto method : {IcmpMethod::automatic, IcmpMethod::ping_socket, IcmpMethod::raw_socket})
    expect(probe_one(Proto::icmp, "10.250.0.1", 0, 1000ms, method), Observed::open, "echo reply");
}

TEST_F(NetnsProbeTest, IcmpDropTimesOut) {
  for (auto method : {IcmpMethod::ping_socket, IcmpMethod::raw_socket})
    expect(probe_one(Proto::icmp, "10.250.1.1", 0, 300ms, method), Observed::timeout, "no answer");
}

TEST_F(NetnsProbeTest, IcmpRejectIsUnreachable) {
  for (auto method : {IcmpMethod::ping_socket, IcmpMethod::raw_socket})
    expect(probe_one(Proto::icmp, "10.250.1.2", 0, 1000ms, method), Observed::unreachable, "icmp host unreachable");
}

TEST_F(NetnsProbeTest, NoRouteIsUnreachableLocally) {
  auto outcome = probe_one(Proto::tcp, "10.251.0.1", 80);
  EXPECT_EQ(outcome.observed, Observed::unreachable);
  EXPECT_EQ(outcome.detail.rfind("local: ", 0), 0u) << outcome.detail;
}

TEST_F(NetnsProbeTest, Ipv6Observations) {
  expect(probe_one(Proto::tcp, "fd00:250::1", 80), Observed::open, "tcp handshake");
  expect(probe_one(Proto::tcp, "fd00:250::1", 81), Observed::refused, "tcp rst");
  expect(probe_one(Proto::tcp, "fd00:250::1", 83), Observed::unreachable, "icmp admin prohibited");
  expect(probe_one(Proto::tcp, "fd00:250::1", 86), Observed::refused, "icmp port unreachable");
  expect(probe_one(Proto::udp, "fd00:250::1", 80), Observed::open, "udp reply");
  expect(probe_one(Proto::udp, "fd00:250::1", 85), Observed::unreachable, "icmp admin prohibited");
  expect(probe_one(Proto::udp, "fd00:250::1", 90), Observed::refused, "icmp port unreachable");
  for (auto method : {IcmpMethod::ping_socket, IcmpMethod::raw_socket})
    expect(probe_one(Proto::icmp, "fd00:250::1", 0, 1000ms, method), Observed::open, "echo reply");
}

TEST_F(NetnsProbeTest, DropsAreProbedConcurrently) {
  std::vector<ProbeRequest> requests(5, ProbeRequest{Proto::tcp, "10.250.0.1", 82, 300ms});
  auto start = std::chrono::steady_clock::now();
  auto outcomes = probe_from_prober(requests);
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_EQ(outcomes.size(), 5u);
  for (const auto& outcome : outcomes) {
    ASSERT_TRUE(outcome.ok());
    EXPECT_EQ(outcome->observed, Observed::timeout);
  }
  EXPECT_LT(took, 1200ms);
}

TEST_F(NetnsProbeTest, AgentBinaryInProberNamespace) {
  std::string input = "tcp 10.250.0.1 82 300\ntcp 10.250.0.1 80 1000\ntcp 10.250.0.1 83 1000\nicmp 10.250.0.1 0 1000\n";
  auto result = test::run_process({"/bin/sh", "-c", "ip netns exec " + pair_->prober() + " " MEROS_GUEST_BIN " probe --batch"},
                                  input);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  std::vector<std::string> observed;
  std::istringstream lines(result.out);
  for (std::string line; std::getline(lines, line);) observed.push_back(nlohmann::json::parse(line)["observed"]);
  EXPECT_EQ(observed, (std::vector<std::string>{"timeout", "open", "unreachable", "open"}));
}

}  // namespace
}  // namespace meros::guest
