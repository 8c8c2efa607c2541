// Attribution's logic on made-up trace events (unit), and the trace
// parser and base64 decoder on hostile bytes. The real kernel's events
// are in trace_test.cpp.
#include <gtest/gtest.h>

#include <linux/netlink.h>

#include <cstring>
#include <random>

#include "net/attribution.h"
#include "net/nft_trace.h"
#include "util/base64.h"

namespace meros::net {
namespace {

TracedPacket tcp_packet(const std::string& from, int sport, const std::string& to, int dport) {
  TracedPacket p;
  p.known = true;
  p.protocol = 6;
  p.saddr = from;
  p.sport = sport;
  p.daddr = to;
  p.dport = dport;
  return p;
}

TraceEvent event(std::uint32_t id, const std::string& table, const std::string& chain, TraceKind kind, std::uint64_t handle,
                 const std::string& verdict, std::optional<TracedPacket> packet = std::nullopt) {
  TraceEvent e;
  e.id = id;
  e.family = "inet";
  e.table = table;
  e.chain = chain;
  e.kind = kind;
  e.rule_handle = handle;
  e.verdict = verdict;
  if (packet) e.packet = *packet;
  return e;
}

constexpr char kRouterListing[] = R"(table inet router { # handle 1
	chain forward { # handle 1
		type filter hook forward priority filter; policy drop;
		ct state established,related accept # handle 2
		tcp dport 443 reject with tcp reset # handle 3
	}
}
)";

ProbeTuple probe_443() {
  ProbeTuple t;
  t.proto = Proto::tcp;
  t.source_addresses = {"10.0.10.10"};
  t.source_port = 40000;
  t.target_address = "10.0.20.10";
  t.target_port = 443;
  return t;
}

TEST(Attribution, ADropOnThePathDecidesOverAcceptsElsewhere) {
  TraceSource host;
  host.where = "host";
  host.events = {event(7, "meros", "forward", TraceKind::rule, 9, "accept", tcp_packet("10.0.10.10", 40000, "10.0.20.10", 443))};
  TraceSource router;
  router.where = "router";
  router.rules = RuleIndex::from_listing(kRouterListing);
  router.events = {
      event(1, kTraceTable, "prerouting", TraceKind::policy, 0, "accept", tcp_packet("10.0.10.10", 40000, "10.0.20.10", 443)),
      event(2, "router", "forward", TraceKind::rule, 3, "drop", tcp_packet("10.0.10.10", 40000, "10.0.20.10", 443)),
  };
  auto a = attribute({host, router}, probe_443());
  ASSERT_TRUE(a.decided_by);
  EXPECT_EQ(a.decided_by->where, "router");
  EXPECT_EQ(a.decided_by->verdict, "reject");
  EXPECT_EQ(a.decided_by->rule, "tcp dport 443 reject with tcp reset");
  EXPECT_EQ(a.rules_hit.size(), 2u);  // the host's accept and the router's reject; not the marking
}

TEST(Attribution, LaterEventsOfAPacketInheritItsHeadersAndOtherProbesAreIgnored) {
  TraceSource router;
  router.where = "router";
  router.rules = RuleIndex::from_listing(kRouterListing);
  router.events = {
      // Another probe, from another source port, dropped by the policy.
      event(5, "router", "forward", TraceKind::policy, 0, "drop", tcp_packet("10.0.10.10", 40001, "10.0.20.10", 443)),
      // Ours: headers in the first event only.
      event(6, "router", "forward", TraceKind::rule, 2, "continue", tcp_packet("10.0.10.10", 40000, "10.0.20.10", 443)),
      event(6, "router", "forward", TraceKind::policy, 0, "accept"),
  };
  auto a = attribute({router}, probe_443());
  ASSERT_TRUE(a.decided_by);
  EXPECT_TRUE(a.decided_by->by_policy);
  EXPECT_EQ(a.decided_by->explain(), "accepted by the policy of router chain forward (table inet router)");
}

TEST(Attribution, NoEventOfTheProbeDecidesNothing) {
  TraceSource host;
  host.where = "host";
  host.events = {event(1, "meros", "forward", TraceKind::rule, 3, "drop", tcp_packet("10.9.9.9", 1, "10.0.20.10", 443))};
  EXPECT_FALSE(attribute({host}, probe_443()).decided_by);
  EXPECT_FALSE(attribute({}, probe_443()).decided_by);
}

TEST(Attribution, AnUnknownHandleIsNamedByItsHandle) {
  TraceSource vm;
  vm.where = "server";
  vm.events = {event(1, "t", "input", TraceKind::rule, 42, "drop", tcp_packet("10.0.10.10", 40000, "10.0.20.10", 443))};
  auto a = attribute({vm}, probe_443());
  ASSERT_TRUE(a.decided_by);
  EXPECT_EQ(a.decided_by->explain(), "dropped by server rule \"rule handle 42\" (table inet t, chain input)");
}

TEST(TraceMessagesParser, HostileBytesGiveNoEventsAndNeverReadPastTheEnd) {
  EXPECT_TRUE(parse_trace_messages("").events.empty());
  // A header whose length claims more than there is.
  nlmsghdr lying{};
  lying.nlmsg_len = 4096;
  lying.nlmsg_type = (10 << 8) | 14;
  std::string bytes(reinterpret_cast<const char*>(&lying), sizeof lying);
  auto parsed = parse_trace_messages(bytes);
  EXPECT_TRUE(parsed.events.empty());
  EXPECT_EQ(parsed.skipped, 1u);
  // A trace-typed message with garbage attributes.
  std::string junk(64, '\xff');
  nlmsghdr header{};
  header.nlmsg_len = static_cast<std::uint32_t>(sizeof header + junk.size());
  header.nlmsg_type = (10 << 8) | 14;
  std::string message(reinterpret_cast<const char*>(&header), sizeof header);
  message += junk;
  EXPECT_TRUE(parse_trace_messages(message).events.empty());
  std::mt19937 random(1);
  std::string noise(1 << 20, '\0');
  for (auto& c : noise) c = static_cast<char>(random());
  (void)parse_trace_messages(noise);  // must not crash (ASan builds check the reads)
}

TEST(Base64, RoundTripsAndRefusesWhatIsNotBase64) {
  for (const std::string& text : std::vector<std::string>{"", "a", "ab", "abc", "abcd", std::string("\0\xff\x10", 3)}) {
    auto decoded = decode_base64(encode_base64(text));
    ASSERT_TRUE(decoded);
    EXPECT_EQ(*decoded, text);
  }
  EXPECT_EQ(encode_base64("meros"), "bWVyb3M=");
  EXPECT_FALSE(decode_base64("bWVyb3M"));
  EXPECT_FALSE(decode_base64("bW=yb3M="));
  EXPECT_FALSE(decode_base64("bWVy b3M"));
}

TEST(TraceTable, MarksEveryInterfaceButTheSkippedOnes) {
  std::string text = trace_table_text({"mgmt0"});
  EXPECT_NE(text.find("iifname != { \"mgmt0\" } meta nftrace set 1"), std::string::npos) << text;
  EXPECT_NE(text.find("oifname != { \"mgmt0\" } meta nftrace set 1"), std::string::npos) << text;
  EXPECT_NE(text.find("priority -350"), std::string::npos);
}

}  // namespace
}  // namespace meros::net
