// Tests that create real network namespaces, links and nftables rules
// (label "root;net"). Everything lives in namespaces named
// meros-nettest-<pid>-*, and every test checks that the real host's
// interfaces, addresses, routes, sysctls and ruleset are unchanged.
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <future>

#include "golden.h"
#include "net/scenario_network.h"
#include "root_support.h"
#include "scenarios.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

namespace meros::net {
namespace {

using guest::Observed;
using guest::ProbeRequest;
using test::ProbeWorld;

class NetnsTest : public test::HostUnchangedTest {};

std::uint64_t netns_cookie(int fd) {
  std::uint64_t cookie = 0;
  socklen_t length = sizeof cookie;
  if (::getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &length) != 0) return 0;
  return cookie;
}

ino_t inode_of(const std::string& path) {
  struct stat st{};
  return ::stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

TEST_F(NetnsTest, CreatesPinsAndRemovesANamespace) {
  std::string name = test::test_prefix() + "basic";
  auto ns = NetworkNamespace::create(name);
  ASSERT_TRUE(ns) << ns.error().message;
  EXPECT_EQ(list_netns(name), std::vector<std::string>{name});
  EXPECT_GE(ns->fd(), 0);
  ino_t inside = 0;
  ASSERT_TRUE(ns->run_inside([&] { inside = inode_of("/proc/thread-self/ns/net"); }));
  EXPECT_EQ(inside, inode_of(ns->path()));
  EXPECT_NE(inside, inode_of("/proc/thread-self/ns/net")) << "the caller stays where it was";
  ASSERT_TRUE(ns->remove());
  EXPECT_FALSE(std::filesystem::exists(netns_path(name)));
  EXPECT_FALSE(ns->run_inside([] {}));
  EXPECT_TRUE(ns->remove()) << "idempotent";
}

TEST_F(NetnsTest, RefusesATakenName) {
  std::string name = test::test_prefix() + "taken";
  auto first = NetworkNamespace::create(name);
  ASSERT_TRUE(first);
  auto second = NetworkNamespace::create(name);
  ASSERT_FALSE(second);
  EXPECT_NE(second.error().message.find("already exists"), std::string::npos) << second.error().message;
}

TEST_F(NetnsTest, MovingKeepsTheNamespaceAlive) {
  std::string name = test::test_prefix() + "moved";
  auto created = NetworkNamespace::create(name);
  ASSERT_TRUE(created);
  NetworkNamespace moved = std::move(*created);
  EXPECT_TRUE(std::filesystem::exists(netns_path(name)));
  EXPECT_TRUE(moved.run_inside([] {}));
}

TEST_F(NetnsTest, DestructorRemovesTheNamespace) {
  std::string name = test::test_prefix() + "scoped";
  { auto ns = NetworkNamespace::create(name); ASSERT_TRUE(ns); }
  EXPECT_FALSE(std::filesystem::exists(netns_path(name)));
}

TEST_F(NetnsTest, SocketsOpenedInsideStayInside) {
  auto ns = NetworkNamespace::create(test::test_prefix() + "sockets");
  ASSERT_TRUE(ns);
  auto inside = ns->open_socket(AF_INET, SOCK_DGRAM);
  ASSERT_TRUE(inside) << inside.error().message;
  Fd here(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  std::uint64_t inside_cookie = netns_cookie(inside->get());
  if (inside_cookie == 0) GTEST_SKIP() << "SO_NETNS_COOKIE unsupported";
  EXPECT_NE(inside_cookie, netns_cookie(here.get()));
  auto again = ns->open_socket(AF_INET, SOCK_STREAM);
  ASSERT_TRUE(again);
  EXPECT_EQ(netns_cookie(again->get()), inside_cookie);
}

TEST_F(NetnsTest, RunInsideRethrowsAndCallInsideReturns) {
  auto ns = NetworkNamespace::create(test::test_prefix() + "calls");
  ASSERT_TRUE(ns);
  EXPECT_THROW((void)ns->run_inside([] { throw std::runtime_error("boom"); }), std::runtime_error);
  auto value = ns->call_inside([]() -> Result<int> { return 42; });
  ASSERT_TRUE(value);
  EXPECT_EQ(*value, 42);
  // Nested calls from the namespace's own thread run directly.
  bool nested = false;
  ASSERT_TRUE(ns->run_inside([&] { (void)ns->run_inside([&] { nested = true; }); }));
  EXPECT_TRUE(nested);
}

TEST_F(NetnsTest, ChildProcessesEnterThroughTheDescriptor) {
  auto ns = NetworkNamespace::create(test::test_prefix() + "child");
  ASSERT_TRUE(ns);
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  const char* argv[] = {"/bin/readlink", "/proc/self/ns/net", nullptr};
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(pipe_fds[1], 1);
    if (enter_netns(ns->fd()) != 0) ::_exit(126);
    ::execv(argv[0], const_cast<char* const*>(argv));
    ::_exit(127);
  }
  ::close(pipe_fds[1]);
  char buffer[64] = {};
  ssize_t n = ::read(pipe_fds[0], buffer, sizeof buffer - 1);
  ::close(pipe_fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_EQ(std::string(buffer, n > 0 ? n : 0), "net:[" + std::to_string(inode_of(ns->path())) + "]\n");
}

TEST_F(NetnsTest, RemoveNetnsUnpinsLeftovers) {
  std::string name = test::test_prefix() + "leftover";
  auto ns = NetworkNamespace::create(name);
  ASSERT_TRUE(ns);
  ASSERT_TRUE(remove_netns(name));
  EXPECT_FALSE(std::filesystem::exists(netns_path(name)));
  EXPECT_TRUE(remove_netns(name)) << "a missing one is fine";
}

class RouteNetlinkTest : public NetnsTest {};

TEST_F(RouteNetlinkTest, CreatesAttachesAndDeletesLinks) {
  auto ns = NetworkNamespace::create(test::test_prefix() + "links");
  ASSERT_TRUE(ns);
  auto opened = RouteNetlink::open(*ns);
  ASSERT_TRUE(opened) << opened.error().message;
  Netlink& nl = **opened;
  ASSERT_TRUE(nl.set_up("lo"));
  ASSERT_TRUE(nl.create_bridge("br-test"));
  ASSERT_TRUE(nl.add_address("br-test", *parse_ipv4("10.9.0.1"), 24));
  ASSERT_TRUE(nl.set_up("br-test"));
  Status tap = nl.create_tap("t-0");
  ASSERT_TRUE(tap) << tap.error().message;
  ASSERT_TRUE(nl.set_master("t-0", "br-test"));
  ASSERT_TRUE(nl.set_up("t-0"));
  ASSERT_TRUE(nl.create_veth("v-a", "v-b"));
  EXPECT_FALSE(nl.create_tap("t-0")) << "a tap of that name exists";
  EXPECT_FALSE(nl.create_bridge("br-test"));
  auto links = nl.list_links();
  ASSERT_TRUE(links) << links.error().message;
  std::map<std::string, LinkInfo> by_name;
  for (const auto& link : *links) by_name[link.name] = link;
  EXPECT_TRUE(by_name["lo"].up);
  EXPECT_EQ(by_name["br-test"].kind, "bridge");
  EXPECT_EQ(by_name["t-0"].kind, "tun");
  EXPECT_EQ(by_name["t-0"].master, "br-test");
  EXPECT_TRUE(by_name["t-0"].up);
  EXPECT_EQ(by_name["v-a"].kind, "veth");
  EXPECT_EQ(by_name["v-b"].kind, "veth");
  EXPECT_EQ(by_name["br-test"].mac.size(), 17u);
  ASSERT_TRUE(nl.set_down("t-0"));
  Status deleted = nl.delete_link("t-0");
  EXPECT_TRUE(deleted) << deleted.error().message << " (persistent taps)";
  EXPECT_TRUE(nl.delete_link("v-a"));
  EXPECT_TRUE(nl.delete_link("br-test"));
  links = nl.list_links();
  ASSERT_TRUE(links);
  EXPECT_EQ(links->size(), 1u) << "only lo is left";
  EXPECT_FALSE(nl.delete_link("br-test"));
}

TEST_F(RouteNetlinkTest, SetsSysctlsOfTheNamespaceOnly) {
  auto ns = NetworkNamespace::create(test::test_prefix() + "sysctl");
  ASSERT_TRUE(ns);
  auto nl = RouteNetlink::open(*ns);
  ASSERT_TRUE(nl);
  ASSERT_TRUE((*nl)->set_sysctl("net.ipv4.ip_forward", "1"));
  std::string inside;
  ASSERT_TRUE(ns->run_inside([&] { inside = test::read_text("/proc/sys/net/ipv4/ip_forward"); }));
  EXPECT_EQ(inside, "1\n");
  EXPECT_FALSE((*nl)->set_sysctl("kernel.hostname", "x")) << "only net.* keys";
  EXPECT_FALSE((*nl)->has_sysctl("net.no.such.key"));
  // br_netfilter's settings are per namespace since Linux 5.3.
  if ((*nl)->has_sysctl("net.bridge.bridge-nf-call-iptables")) {
    std::string host_value = test::read_text("/proc/sys/net/bridge/bridge-nf-call-iptables");
    std::string flipped = host_value == "1\n" ? "0" : "1";
    ASSERT_TRUE((*nl)->set_sysctl("net.bridge.bridge-nf-call-iptables", flipped));
    EXPECT_EQ(test::read_text("/proc/sys/net/bridge/bridge-nf-call-iptables"), host_value);
  }
}

TEST_F(RouteNetlinkTest, MovesAVethPeerIntoAnotherNamespace) {
  auto a = NetworkNamespace::create(test::test_prefix() + "veth-a");
  auto b = NetworkNamespace::create(test::test_prefix() + "veth-b");
  ASSERT_TRUE(a && b);
  auto nl_a = RouteNetlink::open(*a);
  auto nl_b = RouteNetlink::open(*b);
  ASSERT_TRUE(nl_a && nl_b);
  ASSERT_TRUE((*nl_a)->create_veth("here", "there", b->fd()));
  auto links_b = (*nl_b)->list_links();
  ASSERT_TRUE(links_b);
  bool found = false;
  for (const auto& link : *links_b) found |= link.name == "there";
  EXPECT_TRUE(found);
  ASSERT_TRUE((*nl_b)->add_address("there", *parse_ipv4("10.9.1.2"), 24));
  ASSERT_TRUE((*nl_b)->set_up("there"));
  ASSERT_TRUE((*nl_b)->add_default_route(*parse_ipv4("10.9.1.1")));
  std::string routes;
  ASSERT_TRUE(b->run_inside([&] { routes = test::read_text("/proc/thread-self/net/route"); }));
  EXPECT_NE(routes.find("there\t00000000\t0101090A"), std::string::npos) << routes;
}

class NftablesTest : public NetnsTest {};

// The batch's expressions are the ones nft generates: `nft -s list` of the
// loaded table prints exactly the rendered text, for every policy shape.
TEST_F(NftablesTest, LoadedPolicyListsExactlyAsRendered) {
  for (const Scenario& scenario : {test::isolated_only(), test::host_access_open(), test::host_access_filtered(),
                                   test::two_host_access(), test::mixed()}) {
    SCOPED_TRACE(scenario.name);
    auto ns = NetworkNamespace::create(test::test_prefix() + "list");
    ASSERT_TRUE(ns);
    auto topology = plan_topology(scenario, "r1");
    ASSERT_TRUE(topology);
    Policy policy = plan_policy(scenario, *topology);
    auto nft = NamespaceNftables::open(*ns);
    ASSERT_TRUE(nft) << nft.error().message;
    Status applied = (*nft)->apply(policy);
    ASSERT_TRUE(applied) << applied.error().message;
    auto listing = (*nft)->list_ruleset(ListFormat::text_stateless);
    ASSERT_TRUE(listing) << listing.error().message;
    std::string rendered = render_nft(policy);
    EXPECT_TRUE(*listing == rendered) << test::first_difference(rendered, *listing) << "\n" << *listing;
    // Applying again replaces the table instead of adding to it.
    ASSERT_TRUE((*nft)->apply(policy));
    EXPECT_EQ(*(*nft)->list_ruleset(ListFormat::text_stateless), rendered);
  }
}

TEST_F(NftablesTest, ReportsWhichMessageTheKernelRefused) {
  auto ns = NetworkNamespace::create(test::test_prefix() + "refused");
  ASSERT_TRUE(ns);
  auto nft = NamespaceNftables::open(*ns);
  ASSERT_TRUE(nft);
  Policy policy;
  RuleSpec rule;
  rule.chain = Chain::input;
  rule.proto = Proto::tcp;
  rule.dports = {80};
  rule.comment = "fine";
  policy.rules.push_back(rule);
  policy.table = std::string(300, 't');  // longer than the kernel's table name limit
  Status status = (*nft)->apply(policy);
  ASSERT_FALSE(status);
  EXPECT_NE(status.error().message.find("refused the policy: create table inet ttt"), std::string::npos) << status.error().message;
}

TEST_F(NftablesTest, DoesNotAdoptAForeignTableOfTheSameName) {
  auto ns = NetworkNamespace::create(test::test_prefix() + "foreign");
  ASSERT_TRUE(ns);
  std::filesystem::path file = std::filesystem::temp_directory_path() / (test::test_prefix() + "foreign.nft");
  std::ofstream(file) << "table inet meros {\n}\n";
  auto nft = NamespaceNftables::open(*ns);
  ASSERT_TRUE(nft);
  ASSERT_TRUE((*nft)->load_file(file));
  std::filesystem::remove(file);
  auto topology = plan_topology(test::isolated_only(), "r1");
  Status status = (*nft)->apply(plan_policy(test::isolated_only(), *topology));
  ASSERT_FALSE(status);
  EXPECT_NE(status.error().message.find("create table inet meros: File exists"), std::string::npos) << status.error().message;
}

TEST_F(NftablesTest, LoadsAUserFileAndReportsItsErrors) {
  auto ns = NetworkNamespace::create(test::test_prefix() + "userfile");
  ASSERT_TRUE(ns);
  auto nft = NamespaceNftables::open(*ns);
  ASSERT_TRUE(nft);
  std::filesystem::path dir = std::filesystem::temp_directory_path() / (test::test_prefix() + "files");
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "good.nft") << "table inet user {\n  chain input {\n    type filter hook input priority 0;\n"
                                     "    tcp dport 22 reject with tcp reset\n  }\n}\n";
  std::ofstream(dir / "bad.nft") << "table inet user {\n  chain input {\n    tcp dport twenty-two drop\n  }\n}\n";
  Status good = (*nft)->load_file(dir / "good.nft");
  EXPECT_TRUE(good) << good.error().message;
  auto json = (*nft)->list_ruleset(ListFormat::json);
  ASSERT_TRUE(json);
  EXPECT_NE(json->find("\"name\": \"user\""), std::string::npos) << *json;
  Status bad = (*nft)->load_file(dir / "bad.nft");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("bad.nft:3"), std::string::npos) << bad.error().message;
  std::filesystem::remove_all(dir);
}

class ReachabilityTest : public NetnsTest {};

struct Row {
  std::string from;
  std::string to;  // an address
  guest::Proto proto;
  int port;
  Observed expected;
  std::string why;
};

std::string describe(const Row& row) {
  return row.from + " -> " + row.to + " " + std::string(to_string(row.proto)) + (row.proto == guest::Proto::icmp ? "" : "/" + std::to_string(row.port)) +
         " (" + row.why + ")";
}

// Runs the rows, all sources at once, and checks each observation.
void expect_rows(const ProbeWorld& world, const std::vector<Row>& rows, std::chrono::milliseconds timeout) {
  std::map<std::string, std::vector<std::size_t>> by_source;
  for (std::size_t i = 0; i < rows.size(); ++i) by_source[rows[i].from].push_back(i);
  std::map<std::string, std::future<std::vector<Result<guest::ProbeOutcome>>>> running;
  for (const auto& [from, indexes] : by_source) {
    std::vector<ProbeRequest> requests;
    for (std::size_t i : indexes) requests.push_back({rows[i].proto, rows[i].to, rows[i].port, timeout});
    running[from] = std::async(std::launch::async, [&world, from = from, requests] { return world.probe_from(from, requests); });
  }
  for (auto& [from, future] : running) {
    auto outcomes = future.get();
    const auto& indexes = by_source[from];
    for (std::size_t k = 0; k < indexes.size(); ++k) {
      const Row& row = rows[indexes[k]];
      ASSERT_TRUE(outcomes[k]) << describe(row) << ": " << outcomes[k].error().message;
      EXPECT_EQ(guest::to_string(outcomes[k]->observed), guest::to_string(row.expected))
          << describe(row) << ": " << outcomes[k]->detail;
    }
  }
}

const std::vector<guest::ListenSpec> kListen = {
    {guest::Proto::tcp, 22}, {guest::Proto::tcp, 80}, {guest::Proto::tcp, 8080},
    {guest::Proto::udp, 53}, {guest::Proto::udp, 80},
};

constexpr std::chrono::milliseconds kDropTimeout{400};

TEST_F(ReachabilityTest, EveryVerdictOfTheBridgePolicies) {
  auto world = ProbeWorld::create(test::probe_scenario(), kListen);
  ASSERT_TRUE(world) << world.error().message;
  using P = guest::Proto;
  const Observed open = Observed::open, drop = Observed::timeout;
  expect_rows(**world, {
      // A bridge is one switch.
      {"web", "10.0.10.3", P::tcp, 8080, open, "same bridge, any port"},
      {"outsider", "10.0.10.2", P::tcp, 8080, open, "same bridge, any source"},
      {"web", "10.0.10.3", P::icmp, 0, open, "same bridge, icmp despite allow_icmp false"},
      // host-access to the host: the starting bridge's filters.
      {"web", "10.0.10.1", P::tcp, 80, open, "allowed port"},
      {"web", "10.0.10.1", P::udp, 80, open, "allowed port, udp answer comes back"},
      {"web", "10.0.10.1", P::tcp, 8080, drop, "port not in allowed_ports"},
      {"outsider", "10.0.10.1", P::tcp, 80, drop, "source outside allowed_ips"},
      {"web", "10.0.10.1", P::icmp, 0, drop, "allow_icmp false"},
      {"api", "10.0.30.1", P::tcp, 8080, open, "no filters"},
      {"api", "10.0.30.1", P::icmp, 0, open, "allow_icmp default true"},
      // isolated to the host.
      {"db", "10.0.20.1", P::tcp, 80, drop, "isolated"},
      {"db", "10.0.20.1", P::icmp, 0, drop, "isolated"},
      // host-access to host-access, routed through the host.
      {"web", "10.0.30.2", P::tcp, 80, open, "lan's allowed port"},
      {"web", "10.0.30.2", P::udp, 80, open, "lan's allowed port, udp"},
      {"web", "10.0.30.2", P::tcp, 8080, drop, "not in lan's allowed_ports"},
      {"outsider", "10.0.30.2", P::tcp, 80, drop, "outside lan's allowed_ips"},
      {"web", "10.0.30.2", P::icmp, 0, drop, "lan: allow_icmp false"},
      {"api", "10.0.10.2", P::tcp, 8080, open, "app decides: no filters"},
      {"api", "10.0.10.100", P::icmp, 0, open, "app allows icmp"},
      // Nothing into or out of an isolated bridge.
      {"web", "10.0.20.2", P::tcp, 80, drop, "into isolated"},
      {"api", "10.0.20.2", P::tcp, 80, drop, "into isolated"},
      {"api", "10.0.20.2", P::icmp, 0, drop, "into isolated"},
      {"db", "10.0.30.2", P::tcp, 80, drop, "out of isolated"},
      // The host's own connections, and their return traffic.
      {"host", "10.0.20.2", P::tcp, 80, open, "host into isolated"},
      {"host", "10.0.20.2", P::icmp, 0, open, "host into isolated"},
      {"host", "10.0.10.100", P::tcp, 8080, open, "host to any port"},
      {"host", "10.0.10.2", P::udp, 53, open, "host udp"},
      // Management links: the harness reaches VMs; nothing else uses them.
      {"host", "100.127.0.2", P::tcp, 22, open, "host over web's management link"},
      {"web", "100.127.0.1", P::tcp, 80, drop, "new connection from a VM over its management link"},
      {"web", "100.127.0.6", P::tcp, 80, drop, "another VM's management address (never forwarded)"},
  }, kDropTimeout);
}

TEST_F(ReachabilityTest, HostFirewallRejectsOnTopOfThePolicy) {
  std::filesystem::path file = std::filesystem::temp_directory_path() / (test::test_prefix() + "host.nft");
  std::ofstream(file) << "table inet hostfw {\n  chain input {\n    type filter hook input priority filter; policy accept;\n"
                         "    tcp dport 22 reject with tcp reset\n  }\n}\n";
  Scenario scenario = test::probe_scenario();
  scenario.host_firewall = file;
  auto world = ProbeWorld::create(scenario, kListen);
  std::filesystem::remove(file);
  ASSERT_TRUE(world) << world.error().message;
  using P = guest::Proto;
  expect_rows(**world, {
      {"web", "10.0.10.1", P::tcp, 22, Observed::refused, "allowed by lan, rejected by host.firewall"},
      {"web", "10.0.10.1", P::tcp, 80, Observed::open, "host.firewall leaves 80 alone"},
      {"web", "10.0.10.1", P::tcp, 8080, Observed::timeout, "host.firewall cannot widen the policy"},
  }, kDropTimeout);
}

TEST_F(ReachabilityTest, CountersShowWhichRulesMatched) {
  auto world = ProbeWorld::create(test::probe_scenario(), kListen);
  ASSERT_TRUE(world) << world.error().message;
  using P = guest::Proto;
  expect_rows(**world, {
      {"web", "10.0.10.1", P::tcp, 80, Observed::open, "input allow"},
      {"db", "10.0.20.1", P::tcp, 80, Observed::timeout, "input isolated"},
      {"web", "10.0.10.3", P::tcp, 80, Observed::open, "bridged, through br_netfilter"},
  }, kDropTimeout);
  auto counters = read_rule_counters((*world)->nftables());
  ASSERT_TRUE(counters) << counters.error().message;
  std::map<std::string, std::uint64_t> packets;  // by chain + comment
  for (const auto& c : *counters) packets[c.chain + ": " + c.comment] += c.packets;
  EXPECT_EQ(counters->size(), (*world)->policy().rules.size());
  EXPECT_GT(packets["input: bridge lan: allowed_ports (tcp), allowed_ips"], 0u);
  EXPECT_GT(packets["input: bridge dmz: isolated"], 0u);
  EXPECT_GT(packets["forward: bridge lan: one switch"], 0u);
  EXPECT_EQ(packets["forward: bridge dmz: one switch"], 0u);
}

TEST_F(ReachabilityTest, TheGuestAgentBinaryListensInsideAnEndpoint) {
  auto world = ProbeWorld::create(test::probe_scenario(), {});
  ASSERT_TRUE(world) << world.error().message;
  int out[2];
  ASSERT_EQ(::pipe(out), 0);
  const char* argv[] = {MEROS_GUEST_BIN, "listen", "tcp", "9000", nullptr};
  int fd = (*world)->endpoint("api").fd();
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out[1], 1);
    if (enter_netns(fd) != 0) ::_exit(126);
    ::execv(argv[0], const_cast<char* const*>(argv));
    ::_exit(127);
  }
  ::close(out[1]);
  char line[256] = {};
  ssize_t n = ::read(out[0], line, sizeof line - 1);  // {"listening":...} once bound
  ::close(out[0]);
  EXPECT_GT(n, 0);
  EXPECT_NE(std::string(line).find("listening"), std::string::npos) << line;
  expect_rows(**world, {{"web", "10.0.30.2", guest::Proto::tcp, 9000, Observed::timeout, "lan does not allow 9000"},
                        {"host", "10.0.30.2", guest::Proto::tcp, 9000, Observed::open, "the agent answers"}},
              kDropTimeout);
  ::kill(pid, SIGTERM);
  int status = 0;
  ::waitpid(pid, &status, 0);
}

TEST_F(ReachabilityTest, ScenarioNetworkStartsWritesArtifactsAndStops) {
  std::filesystem::path artifacts = std::filesystem::temp_directory_path() / (test::test_prefix() + "artifacts");
  std::string name;
  {
    auto network = ScenarioNetwork::start(test::mixed(), test::unique_run_id());
    ASSERT_TRUE(network) << network.error().message;
    name = network->ns().name();
    EXPECT_EQ(list_netns(name), std::vector<std::string>{name});
    auto links = network->netlink().list_links();
    ASSERT_TRUE(links);
    EXPECT_EQ(links->size(), 1u + 4u + 3u + 5u) << "lo, 4 bridges, 3 management taps, 5 taps";
    ASSERT_TRUE(network->write_artifacts(artifacts));
    EXPECT_EQ(test::read_text(artifacts / "nft-policy.nft"), render_nft(network->policy()));
    EXPECT_NE(test::read_text(artifacts / "nft-ruleset.txt").find("counter packets 0 bytes 0"), std::string::npos);
    EXPECT_NE(test::read_text(artifacts / "nft-counters.json").find("\"comment\": \"bridge lan: one switch\""), std::string::npos);
    ASSERT_TRUE(network->stop());
    EXPECT_EQ(list_netns(name), std::vector<std::string>{});
  }
  std::filesystem::remove_all(artifacts);
}

TEST_F(ReachabilityTest, HostFirewallThatFlushesEverythingIsAnError) {
  std::filesystem::path file = std::filesystem::temp_directory_path() / (test::test_prefix() + "flush.nft");
  std::ofstream(file) << "flush ruleset\n";
  Scenario scenario = test::isolated_only();
  scenario.host_firewall = file;
  auto network = ScenarioNetwork::start(scenario, test::unique_run_id());
  std::filesystem::remove(file);
  ASSERT_FALSE(network);
  EXPECT_NE(network.error().message.find("flush ruleset"), std::string::npos) << network.error().message;
}

}  // namespace
}  // namespace meros::net
