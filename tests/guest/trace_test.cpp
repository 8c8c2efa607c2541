// `meros-guest trace`: the real agent records nftables trace events in a
// namespace while probes cross a veth link, and the events it returns are
// parsed here with libnftnl's trace API, as the harness does. Needs root
// (namespaces, nftables); skips otherwise. The trace directory is a
// temporary one (MEROS_GUEST_TRACE_DIR), so the host's /run is untouched.
#include <gtest/gtest.h>
#include <libnftnl/trace.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "guest/trace.h"
#include "netns_pair.h"
#include "test_support.h"

namespace meros::guest {
namespace {

using test::NetnsPair;

// NF_DROP of <linux/netfilter.h>, whose <linux/in.h> clashes with <netinet/in.h>.
constexpr std::uint32_t kNfDrop = 0;

constexpr char kRuleset[] = R"(
table inet t {
  chain input {
    type filter hook input priority 0; policy accept;
    tcp dport 443 reject with tcp reset
    udp dport 53 drop
  }
}
)";

std::string base64_decode(const std::string& text) {
  static const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::uint32_t bits = 0;
  int count = 0;
  for (char c : text) {
    if (c == '=') break;
    auto index = alphabet.find(c);
    if (index == std::string::npos) ADD_FAILURE() << "not base64: " << c;
    bits = bits << 6 | static_cast<std::uint32_t>(index);
    if ((count += 6) >= 8) out += static_cast<char>((bits >> (count -= 8)) & 0xff);
  }
  return out;
}

// One nftables trace event, as libnftnl reads it.
struct TraceEvent {
  std::uint32_t id = 0, type = 0, verdict = 0;
  std::uint64_t rule_handle = 0;
  std::string table, chain;
  int dport = -1;  // from the transport header, when the event carries one
};

// Checks that bytes are whole netlink messages and parses the trace ones.
std::vector<TraceEvent> parse_events(const std::string& bytes) {
  std::vector<TraceEvent> events;
  int length = static_cast<int>(bytes.size());
  auto* message = reinterpret_cast<const nlmsghdr*>(bytes.data());
  for (; NLMSG_OK(message, length); message = NLMSG_NEXT(message, length)) {
    if (message->nlmsg_type != ((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_TRACE)) continue;
    nftnl_trace* trace = nftnl_trace_alloc();
    EXPECT_GE(nftnl_trace_nlmsg_parse(message, trace), 0);
    TraceEvent event;
    event.id = nftnl_trace_get_u32(trace, NFTNL_TRACE_ID);
    event.type = nftnl_trace_get_u32(trace, NFTNL_TRACE_TYPE);
    if (nftnl_trace_is_set(trace, NFTNL_TRACE_TABLE)) event.table = nftnl_trace_get_str(trace, NFTNL_TRACE_TABLE);
    if (nftnl_trace_is_set(trace, NFTNL_TRACE_CHAIN)) event.chain = nftnl_trace_get_str(trace, NFTNL_TRACE_CHAIN);
    if (nftnl_trace_is_set(trace, NFTNL_TRACE_VERDICT)) event.verdict = nftnl_trace_get_u32(trace, NFTNL_TRACE_VERDICT);
    if (nftnl_trace_is_set(trace, NFTNL_TRACE_RULE_HANDLE))
      event.rule_handle = nftnl_trace_get_u64(trace, NFTNL_TRACE_RULE_HANDLE);
    if (nftnl_trace_is_set(trace, NFTNL_TRACE_TRANSPORT_HEADER)) {
      std::uint32_t size = 0;
      auto* header = static_cast<const unsigned char*>(nftnl_trace_get_data(trace, NFTNL_TRACE_TRANSPORT_HEADER, &size));
      if (size >= 4) event.dport = header[2] << 8 | header[3];
    }
    nftnl_trace_free(trace);
    events.push_back(event);
  }
  EXPECT_EQ(length, 0) << "the events do not end on a whole netlink message";
  return events;
}

class TraceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    skip_reason_ = test::netns_skip_reason();
    if (!skip_reason_.empty()) return;
    char pattern[] = "/tmp/meros-trace-test-XXXXXX";
    if (!::mkdtemp(pattern)) return fail_setup("mkdtemp failed");
    base_ = pattern;
    ::setenv("MEROS_GUEST_TRACE_DIR", (base_ + "/trace").c_str(), 1);
    pair_ = new NetnsPair;
    if (auto s = pair_->create(); !s) return fail_setup(s.error().message);
    if (auto s = pair_->load_target_ruleset(kRuleset); !s) return fail_setup(s.error().message);
  }

  static void TearDownTestSuite() {
    if (pair_) (void)agent("trace stop");  // a failed test's daemon
    delete pair_;
    pair_ = nullptr;
    if (!base_.empty()) (void)test::run_process({"/bin/rm", "-rf", base_});
  }

  static void fail_setup(const std::string& message) { setup_error_ = message; }

  void SetUp() override {
    if (!skip_reason_.empty()) GTEST_SKIP() << skip_reason_;
    ASSERT_TRUE(setup_error_.empty()) << setup_error_;
  }

  // The real agent in the target namespace.
  static test::ProcessResult agent(const std::string& arguments, const std::string& netns = "") {
    return test::run_shell("ip netns exec " + (netns.empty() ? pair_->target() : netns) + " " MEROS_GUEST_BIN " " +
                           arguments);
  }

  static std::string target_tables() { return test::run_shell("ip netns exec " + pair_->target() + " nft list tables").out; }

  // A TCP SYN to 443 (answered by a reset) and a UDP datagram to 53.
  static void send_probes() {
    auto result = test::run_process(
        {"/bin/sh", "-c", "ip netns exec " + pair_->prober() + " " MEROS_GUEST_BIN " probe --batch"},
        std::string("tcp ") + NetnsPair::kTarget4 + " 443 1000\nudp " + NetnsPair::kTarget4 + " 53 300\n");
    ASSERT_EQ(result.exit_code, 0) << result.err;
    EXPECT_NE(result.out.find("\"observed\":\"refused\""), std::string::npos) << result.out;
  }

  static nlohmann::json start_probe_stop() {
    auto started = agent("trace start --skip lo");
    EXPECT_EQ(started.exit_code, 0) << started.err;
    EXPECT_EQ(started.out, "{\"tracing\":true}\n");
    EXPECT_NE(target_tables().find("meros_trace"), std::string::npos);
    send_probes();
    auto stopped = agent("trace stop");
    EXPECT_EQ(stopped.exit_code, 0) << stopped.err;
    return nlohmann::json::parse(stopped.out);
  }

  static inline std::string skip_reason_, setup_error_, base_;
  static inline NetnsPair* pair_ = nullptr;
};

// The rule handle `nft -a` printed for the rule matching `text`, or 0.
std::uint64_t handle_of(const std::string& listing, const std::string& text) {
  std::smatch match;
  if (!std::regex_search(listing, match, std::regex(text + " # handle ([0-9]+)"))) return 0;
  return std::stoull(match[1]);
}

TEST_F(TraceTest, EventsNameTheRuleThatDecidedEachProbe) {
  auto line = start_probe_stop();
  std::string events = base64_decode(line["events_base64"]);
  EXPECT_EQ(line["events_bytes"], events.size());
  EXPECT_GT(events.size(), 0u);
  EXPECT_EQ(line["lost_bytes"], 0);
  EXPECT_EQ(line["overruns"], 0);
  EXPECT_FALSE(line.contains("ruleset_error"));
  EXPECT_FALSE(line.contains("trace_error"));
  std::string listing = line["ruleset"];
  std::uint64_t reject_handle = handle_of(listing, "tcp dport 443 reject with tcp reset");
  std::uint64_t drop_handle = handle_of(listing, "udp dport 53 drop");
  EXPECT_NE(reject_handle, 0u) << listing;
  EXPECT_EQ(listing.find("meros_trace"), std::string::npos) << "the trace table is deleted before the listing";

  auto parsed = parse_events(events);
  std::map<std::uint32_t, int> dport_of_trace;  // trace id -> destination port
  for (const auto& event : parsed)
    if (event.dport >= 0) dport_of_trace[event.id] = event.dport;
  std::set<std::pair<int, std::uint64_t>> drops;  // (port, rule handle) dropped in t/input
  for (const auto& event : parsed)
    if (event.table == "t" && event.chain == "input" && event.type == NFT_TRACETYPE_RULE && event.verdict == kNfDrop)
      drops.insert({dport_of_trace.count(event.id) ? dport_of_trace[event.id] : -1, event.rule_handle});
  EXPECT_TRUE(drops.count({443, reject_handle})) << parsed.size() << " events";
  EXPECT_TRUE(drops.count({53, drop_handle})) << parsed.size() << " events";

  EXPECT_EQ(target_tables().find("meros_trace"), std::string::npos);
  struct stat info {};
  EXPECT_NE(::lstat((base_ + "/trace").c_str(), &info), 0) << "stop removes the trace files";
}

TEST_F(TraceTest, RestartAndSecondTraceWork) {
  ASSERT_EQ(agent("trace start --skip lo").exit_code, 0);
  std::string pid = test::run_shell("cat " + base_ + "/trace/pid").out;
  // A second start replaces the first daemon and table.
  auto again = agent("trace start --skip lo --limit 1000000");
  ASSERT_EQ(again.exit_code, 0) << again.err;
  // Gone, or a zombie its new parent has not reaped yet (no cmdline).
  EXPECT_EQ(test::run_shell("cat /proc/" + std::to_string(std::stoi(pid)) + "/cmdline 2>/dev/null").out, "")
      << "the first daemon is gone";
  send_probes();
  auto first = agent("trace stop");
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_GT(nlohmann::json::parse(first.out)["events_bytes"], 0);

  auto second = start_probe_stop();
  EXPECT_GT(second["events_bytes"], 0);
  EXPECT_EQ(target_tables().find("meros_trace"), std::string::npos);
}

TEST_F(TraceTest, LimitDropsWholeDatagramsAndCountsThem) {
  ASSERT_EQ(agent("trace start --skip lo --limit 200").exit_code, 0);
  send_probes();
  auto stopped = agent("trace stop");
  ASSERT_EQ(stopped.exit_code, 0) << stopped.err;
  auto line = nlohmann::json::parse(stopped.out);
  EXPECT_LE(line["events_bytes"], 200);
  EXPECT_GT(line["lost_bytes"], 0);
  parse_events(base64_decode(line["events_base64"]));  // still whole messages
}

TEST_F(TraceTest, StopWithoutStartFails) {
  auto stopped = agent("trace stop");
  EXPECT_EQ(stopped.exit_code, 1);
  EXPECT_EQ(stopped.out, "{\"error\":\"no trace was started\"}\n");
}

TEST_F(TraceTest, AFlushedRulesetStillStops) {
  ASSERT_EQ(agent("trace start").exit_code, 0);
  (void)pair_->exec_in(pair_->target(), "nft delete table inet meros_trace");
  auto stopped = agent("trace stop");
  ASSERT_EQ(stopped.exit_code, 0) << stopped.err;
  EXPECT_FALSE(nlohmann::json::parse(stopped.out).contains("ruleset_error"));
}

// No namespace needed: bad usage is refused before anything is set up.
TEST(TraceUsage, BadInterfaceNamesAndLimitsExit2) {
  for (const char* arguments : {"--skip 'a\"b'", "--skip ''", "--skip abcdefghijklmnop", "--skip 'x y'",
                                "--skip", "--limit 0", "--limit 10k", "--limit 999999999999", "--bogus 1"}) {
    auto result = test::run_shell(MEROS_GUEST_BIN " trace start " + std::string(arguments));
    EXPECT_EQ(result.exit_code, 2) << arguments;
    EXPECT_EQ(result.out, "") << arguments;
  }
  EXPECT_EQ(test::run_shell(MEROS_GUEST_BIN " trace").exit_code, 2);
  EXPECT_EQ(test::run_shell(MEROS_GUEST_BIN " trace stop now").exit_code, 2);
}

TEST(TraceText, RulesetSkipsTheGivenInterfaces) {
  EXPECT_EQ(trace_ruleset({"mgmt0", "lo"}),
            "table inet meros_trace\ndelete table inet meros_trace\ntable inet meros_trace {\n"
            "  chain prerouting { type filter hook prerouting priority -350; policy accept; "
            "iifname != { \"mgmt0\", \"lo\" } meta nftrace set 1; }\n"
            "  chain output { type filter hook output priority -350; policy accept; "
            "oifname != { \"mgmt0\", \"lo\" } meta nftrace set 1; }\n}\n");
  EXPECT_NE(trace_ruleset({}).find("policy accept; meta nftrace set 1; }"), std::string::npos);
}

TEST(TraceText, Base64) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64_encode(std::string("\xff\x00\xfe", 3)), "/wD+");
  EXPECT_EQ(base64_decode(base64_encode(std::string("\x01\x02\x03\x04\x05", 5))), std::string("\x01\x02\x03\x04\x05", 5));
}

TEST(TraceText, ParseArgs) {
  auto parsed = parse_trace_args({"start", "--skip", "mgmt0", "--skip", "eth0.10", "--limit", "4096"});
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->skip, (std::vector<std::string>{"mgmt0", "eth0.10"}));
  EXPECT_EQ(parsed->limit, 4096u);
  EXPECT_EQ(parse_trace_args({"start"})->limit, 8u * 1024 * 1024);
  EXPECT_EQ(parse_trace_args({"stop"})->action, TraceOptions::Action::stop);
}

}  // namespace
}  // namespace meros::guest
