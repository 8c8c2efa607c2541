// nftables tracing and attribution for real (label "root;net"): a "client"
// and a "server" namespace on a veth pair, the server with a user's ruleset
// of a reject rule, an accept rule and a drop policy. Probes made at once
// from the client are traced in the server's namespace with the harness's
// trace table and socket, and each is attributed to the rule that decided
// it, with its line in the file. The host is left as it was.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "guest/listen.h"
#include "guest/probe.h"
#include "net/attribution.h"
#include "net/capture.h"
#include "net/nft_trace.h"
#include "net/nftables.h"
#include "root_support.h"

namespace meros::net {
namespace {

namespace fs = std::filesystem;

class TraceTest : public test::HostUnchangedTest {};

using test::ip;

constexpr char kRuleset[] = R"(# the server's policy
table inet fw {
  chain input {
    type filter hook input priority filter; policy drop;
    ct state established,related accept
    iifname "lo" accept
    tcp dport 443 reject with tcp reset
    tcp dport 80 accept
  }
}
)";

guest::ProbeRequest tcp_probe(int port) {
  guest::ProbeRequest request;
  request.proto = Proto::tcp;
  request.address = "10.98.0.1";
  request.port = port;
  request.timeout = std::chrono::milliseconds(400);
  return request;
}

ProbeTuple tuple_of(const guest::ProbeOutcome& outcome, int port) {
  ProbeTuple tuple;
  tuple.proto = Proto::tcp;
  tuple.target_address = "10.98.0.1";
  tuple.target_port = port;
  auto source = split_endpoint(outcome.source);
  if (source) {
    tuple.source_addresses = {source->first};
    tuple.source_port = source->second;
  }
  return tuple;
}

TEST_F(TraceTest, ProbesBatchedAtOnceAreEachAttributedToTheRuleOrPolicyThatDecidedThem) {
  auto client = NetworkNamespace::create(test::test_prefix() + "tr-client");
  auto server = NetworkNamespace::create(test::test_prefix() + "tr-server");
  ASSERT_TRUE(client && server);
  ip("-n " + server->name() + " link add tr0 type veth peer name tr1 netns " + client->name());
  ip("-n " + server->name() + " addr add 10.98.0.1/24 dev tr0");
  ip("-n " + client->name() + " addr add 10.98.0.2/24 dev tr1");
  ip("-n " + server->name() + " link set tr0 up");
  ip("-n " + client->name() + " link set tr1 up");

  fs::path file = fs::temp_directory_path() / ("meros-trace-test-" + std::to_string(::getpid()) + ".nft");
  std::ofstream(file) << kRuleset;
  auto nftables = NamespaceNftables::open(*server);
  ASSERT_TRUE(nftables) << nftables.error().message;
  ASSERT_TRUE((*nftables)->load_file(file).ok());

  auto listeners = server->call_inside([] { return guest::ListenerSet::open({{Proto::tcp, 80, "10.98.0.1"}}); });
  ASSERT_TRUE(listeners) << listeners.error().message;
  std::thread serving([&] { (void)listeners->serve(); });

  auto listener = TraceListener::open(*server);
  ASSERT_TRUE(listener) << listener.error().message;
  ASSERT_TRUE((*nftables)->run_script(trace_table_text({"lo"})).ok());
  std::vector<Result<guest::ProbeOutcome>> outcomes;
  ASSERT_TRUE(client->run_inside([&] { outcomes = guest::probe_all({tcp_probe(80), tcp_probe(443), tcp_probe(22)}); }).ok());
  ASSERT_TRUE((*nftables)->run_script(std::string("delete table inet ") + kTraceTable).ok());
  std::string bytes = (*listener)->drain();
  auto listing = (*nftables)->list_ruleset(ListFormat::text_handles);
  listeners->stop();
  serving.join();
  fs::remove(file);
  ASSERT_TRUE(listing);
  ASSERT_EQ(outcomes.size(), 3u);
  for (const auto& outcome : outcomes) ASSERT_TRUE(outcome) << outcome.error().message;
  EXPECT_EQ(outcomes[0]->observed, guest::Observed::open);
  EXPECT_EQ(outcomes[1]->observed, guest::Observed::refused);
  EXPECT_EQ(outcomes[2]->observed, guest::Observed::timeout);

  TraceSource source;
  source.where = "server";
  TraceMessages messages = parse_trace_messages(bytes);
  source.events = messages.events;
  ASSERT_FALSE(source.events.empty()) << "no trace events from " << bytes.size() << " bytes";
  source.rules = RuleIndex::from_listing(*listing);
  source.rules.attach_source(kRuleset, "fw.nft");

  auto accepted = attribute({source}, tuple_of(*outcomes[0], 80));
  ASSERT_TRUE(accepted.decided_by);
  EXPECT_EQ(accepted.decided_by->explain(), "accepted by server rule \"tcp dport 80 accept\" (fw.nft:8)");
  auto rejected = attribute({source}, tuple_of(*outcomes[1], 443));
  ASSERT_TRUE(rejected.decided_by);
  EXPECT_EQ(rejected.decided_by->explain(), "rejected by server rule \"tcp dport 443 reject with tcp reset\" (fw.nft:7)");
  EXPECT_EQ(rejected.decided_by->to_json()["line"], 7);
  auto dropped = attribute({source}, tuple_of(*outcomes[2], 22));
  ASSERT_TRUE(dropped.decided_by);
  EXPECT_EQ(dropped.decided_by->explain(), "dropped by the policy of server chain input (table inet fw)");
  // The reply of the accepted probe met the established rule: a hit of its own check.
  bool established = false;
  for (const auto& hit : accepted.rules_hit) established |= hit.line == 5;
  EXPECT_TRUE(established);
  for (const auto& hit : dropped.rules_hit) EXPECT_NE(hit.line, 8) << "a rule another probe hit";
}

}  // namespace
}  // namespace meros::net
