// The manifest parser on valid and invalid input, the scenario selection
// of runner/selection.h.
#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "manifest/catalog.h"
#include "manifest/parser.h"
#include "manifest/yaml_loader.h"
#include "runner/selection.h"

namespace fs = std::filesystem;
using namespace meros;

namespace {

// A scratch directory, removed with everything in it at the end.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "meros-parser-test-XXXXXX").string();
    if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }
  fs::path write(const fs::path& relative, const std::string& content) const {
    fs::path file = path_ / relative;
    fs::create_directories(file.parent_path());
    std::ofstream(file) << content;
    return file;
  }

 private:
  fs::path path_;
};

const char* kMinimal = R"(
bridges:
  lan:
    subnet: 10.0.10.0/24
virtual_machines:
  web:
    networks: [{bridge: lan}]
)";

// Parses text as dir/<name>/scenario.yml; keeps the diagnostics.
struct Parsed {
  std::optional<Scenario> scenario;
  Diagnostics diagnostics;
  std::vector<std::string> messages() const {
    std::vector<std::string> out;
    for (const auto& d : diagnostics.sorted()) out.push_back(d.message);
    return out;
  }
  std::string all() const {
    std::string out;
    for (const auto& m : messages()) out += m + "\n";
    return out;
  }
};

Parsed parse_in(const fs::path& file, const std::string& text) {
  Parsed parsed;
  FixtureCatalog catalog(builtin_fixtures_dir());
  fs::create_directories(file.parent_path());
  parsed.scenario = parse_scenario_text(text, file, catalog, parsed.diagnostics);
  return parsed;
}

class ManifestParser : public testing::Test {
 protected:
  Parsed parse(const std::string& text, const std::string& dir_name = "demo") {
    return parse_in(tmp_.path() / dir_name / "scenario.yml", text);
  }
  // The one error text expects, or a failure listing what came instead.
  std::string only_error(const std::string& text) {
    Parsed parsed = parse(text);
    EXPECT_FALSE(parsed.scenario);
    EXPECT_EQ(parsed.messages().size(), 1u) << parsed.all();
    return parsed.messages().empty() ? "" : parsed.messages().front();
  }
  TempDir tmp_;
};

TEST_F(ManifestParser, FillsInDefaults) {
  Parsed parsed = parse(std::string(kMinimal) + "tests:\n  - {vm: web, run: uname}\n", "my-scenario");
  ASSERT_TRUE(parsed.scenario) << parsed.all();
  const Scenario& s = *parsed.scenario;
  EXPECT_EQ(s.name, "my-scenario");
  EXPECT_EQ(s.timeout, Duration(15 * 60'000));
  EXPECT_EQ(s.probe_timeout, Duration(1000));
  ASSERT_EQ(s.bridges.size(), 1u);
  EXPECT_EQ(s.bridges[0].policy, PolicyType::isolated);
  EXPECT_TRUE(s.bridges[0].allow_icmp);
  EXPECT_FALSE(s.bridges[0].allowed_ports);
  EXPECT_FALSE(s.bridges[0].allowed_ips);
  EXPECT_EQ(s.bridges[0].gateway().str(), "10.0.10.1");
  ASSERT_EQ(s.vms.size(), 1u);
  const VirtualMachine& vm = s.vms[0];
  EXPECT_EQ(vm.arch, Arch::x86_64);
  EXPECT_EQ(vm.machine, "microvm");
  EXPECT_EQ(vm.boot, BootMode::direct);
  EXPECT_EQ(vm.ssh_user, "root");
  EXPECT_EQ(vm.kernel, "default");
  EXPECT_EQ(vm.image, "busybox");
  EXPECT_EQ(vm.memory_mib, 256u);
  EXPECT_EQ(vm.cpus, 1);
  EXPECT_EQ(vm.disk_size, 0u);
  ASSERT_EQ(vm.networks.size(), 1u);
  EXPECT_EQ(vm.networks[0].model, "virtio-net");
  EXPECT_FALSE(vm.networks[0].mac);
  EXPECT_FALSE(vm.gateway);
  EXPECT_FALSE(vm.firewall);
  // The built-in recipes the VM uses come along.
  EXPECT_TRUE(s.kernels.count("default"));
  EXPECT_TRUE(s.images.count("busybox"));
  ASSERT_EQ(s.tests.size(), 1u);
  EXPECT_EQ(s.tests[0].timeout, Duration(60'000));
  EXPECT_EQ(s.tests[0].retries, 0);
  EXPECT_EQ(s.tests[0].expect.exit_code, 0);
  EXPECT_EQ(s.tests[0].name, "web: uname");
}

TEST_F(ManifestParser, ScenarioNamesAreIdentifiersOfAtMost64Characters) {
  // The name becomes part of the artifacts and work paths that teardown removes.
  std::string longest(64, 'n');
  Parsed parsed = parse("name: " + longest + "\n" + kMinimal);
  ASSERT_TRUE(parsed.scenario) << parsed.all();
  EXPECT_EQ(parsed.scenario->name, longest);
  EXPECT_EQ(parse("name: web.fw_2-a\n" + std::string(kMinimal)).scenario->name, "web.fw_2-a");
  const std::string rule = "a letter or digit, then letters, digits, '.', '_' or '-', at most 64 characters";
  EXPECT_EQ(only_error("name: " + longest + "x\n" + kMinimal),
            "name: a scenario name is an identifier (" + rule + "), got one of 65 characters");
  for (std::string bad : {"/", ".", "..", "../x", "a/b", "-a", "_a", ".a", "a b", "a\\tb", "\"\""}) {
    Parsed refused = parse("name: " + bad + "\n" + kMinimal);
    EXPECT_FALSE(refused.scenario) << bad;
    ASSERT_EQ(refused.messages().size(), 1u) << bad << ": " << refused.all();
    EXPECT_TRUE(refused.messages()[0].starts_with("name: a scenario name is an identifier")) << refused.messages()[0];
  }
}

TEST_F(ManifestParser, ADefaultedNameMustBeAnIdentifierToo) {
  Parsed parsed = parse(kMinimal, "web firewall");
  EXPECT_FALSE(parsed.scenario);
  ASSERT_EQ(parsed.messages().size(), 1u) << parsed.all();
  EXPECT_EQ(parsed.messages()[0],
            "the scenario is named after its directory, 'web firewall', which is not a scenario name (a letter or digit, then "
            "letters, digits, '.', '_' or '-', at most 64 characters): add name: or rename the directory");
  EXPECT_EQ(parsed.diagnostics.sorted()[0].mark.line, 1);
  // An explicit name makes any directory usable.
  EXPECT_TRUE(parse("name: web-firewall\n" + std::string(kMinimal), "web firewall").scenario);
}

TEST_F(ManifestParser, TakesTheNameFromAnotherYmlFile) {
  Parsed parsed = parse_in(tmp_.path() / "dir" / "edge-case.yml", kMinimal);
  ASSERT_TRUE(parsed.scenario) << parsed.all();
  EXPECT_EQ(parsed.scenario->name, "edge-case");
}

TEST_F(ManifestParser, ReadsEveryField) {
  tmp_.write("full/policies/web.nft", "table inet t {}\n");
  tmp_.write("full/policies/host.nft", "table inet h {}\n");
  tmp_.write("full/files/app.conf", "x\n");
  Parsed parsed = parse(R"(
name: full
description: every field
tags: [a, b-c]
timeout: 2m
probe_timeout: 500ms
bridges:
  lan:
    subnet: 10.0.10.0/24
    policy_type: host-access
    allowed_ports: [22, 80]
    allowed_ips: [10.0.10.0/28, 10.0.10.100]
    allow_icmp: false
virtual_machines:
  web:
    machine: q35
    boot: direct
    ssh_user: admin
    image: debian
    disk_size: 2G
    memory: 1G
    cpus: 2
    cmdline: quiet
    qemu_args: [-nographic]
    networks:
      - bridge: lan
        ip_addr: 10.0.10.21
        model: e1000
        mac: 52:54:00:12:34:56
    gateway: 10.0.10.1
    firewall: policies/web.nft
    services: [tcp/80, 53/udp]
host:
  firewall: policies/host.nft
tests:
  - name: run
    vm: web
    run: uname
    expect: {exit: 3, stdout: Linux, stdout_matches: "^L", stderr: "", stderr_matches: "x*"}
    timeout: 5s
    retries: 2
  - name: push
    push: {vm: web, src: files/app.conf, dst: /etc/app.conf}
  - name: pull
    pull: {vm: web, src: /var/log/messages, dst: logs/}
)", "full");
  ASSERT_TRUE(parsed.scenario) << parsed.all();
  const Scenario& s = *parsed.scenario;
  EXPECT_EQ(s.name, "full");
  EXPECT_EQ(s.description, "every field");
  EXPECT_EQ(s.tags, (std::vector<std::string>{"a", "b-c"}));
  EXPECT_EQ(s.timeout, Duration(120'000));
  EXPECT_EQ(s.probe_timeout, Duration(500));
  const Bridge& lan = s.bridges[0];
  EXPECT_EQ(lan.policy, PolicyType::host_access);
  EXPECT_EQ(*lan.allowed_ports, (std::vector<int>{22, 80}));
  ASSERT_EQ(lan.allowed_ips->size(), 2u);
  EXPECT_EQ((*lan.allowed_ips)[1].str(), "10.0.10.100/32");
  EXPECT_FALSE(lan.allow_icmp);
  const VirtualMachine& vm = s.vms[0];
  EXPECT_EQ(vm.machine, "q35");
  EXPECT_EQ(vm.boot, BootMode::direct);  // boot: disk takes no cmdline; see BootableImagesAndDiskBootVms
  EXPECT_EQ(vm.ssh_user, "admin");
  EXPECT_EQ(vm.disk_size, 2ull << 30);
  EXPECT_EQ(vm.memory_mib, 1024u);
  EXPECT_EQ(vm.cpus, 2);
  EXPECT_EQ(vm.cmdline, "quiet");
  EXPECT_EQ(vm.qemu_args, (std::vector<std::string>{"-nographic"}));
  EXPECT_EQ(vm.networks[0].ip->str(), "10.0.10.21");
  EXPECT_EQ(vm.networks[0].model, "e1000");
  EXPECT_EQ(vm.networks[0].mac->str(), "52:54:00:12:34:56");
  EXPECT_EQ(vm.gateway->str(), "10.0.10.1");
  EXPECT_EQ(*vm.firewall, tmp_.path() / "full/policies/web.nft");
  EXPECT_EQ(vm.services, (std::vector<PortProto>{{80, Proto::tcp}, {53, Proto::udp}}));
  EXPECT_EQ(*s.host_firewall, tmp_.path() / "full/policies/host.nft");
  const TestStep& run = s.tests[0];
  EXPECT_EQ(run.kind, StepKind::run);
  EXPECT_EQ(run.expect.exit_code, 3);
  EXPECT_EQ(run.expect.stdout_contains, "Linux");
  EXPECT_EQ(run.expect.stdout_matches, "^L");
  EXPECT_EQ(run.expect.stderr_contains, "");
  EXPECT_EQ(run.expect.stderr_matches, "x*");
  EXPECT_EQ(run.timeout, Duration(5000));
  EXPECT_EQ(run.retries, 2);
  EXPECT_EQ(s.tests[1].kind, StepKind::push);
  EXPECT_EQ(s.tests[1].local_path, tmp_.path() / "full/files/app.conf");
  EXPECT_EQ(s.tests[1].dst, "/etc/app.conf");
  EXPECT_EQ(s.tests[2].kind, StepKind::pull);
  EXPECT_EQ(s.tests[2].local_path, fs::path("logs/"));
}

TEST_F(ManifestParser, NullMeansDefault) {
  Parsed parsed = parse(R"(
name:
timeout: ~
bridges:
  lan:
    subnet: 10.0.10.0/24
    policy_type: null
    allowed_ports:
virtual_machines:
  web:
    memory: null
    kernel:
    networks:
      - bridge: lan
        ip_addr: null
        mac: null
        model: ~
)");
  ASSERT_TRUE(parsed.scenario) << parsed.all();
  const Scenario& s = *parsed.scenario;
  EXPECT_EQ(s.name, "demo");
  EXPECT_EQ(s.timeout, Duration(15 * 60'000));
  EXPECT_EQ(s.bridges[0].policy, PolicyType::isolated);
  EXPECT_FALSE(s.bridges[0].allowed_ports);
  EXPECT_EQ(s.vms[0].memory_mib, 256u);
  EXPECT_EQ(s.vms[0].kernel, "default");
  EXPECT_FALSE(s.vms[0].networks[0].mac);
  EXPECT_EQ(s.vms[0].networks[0].model, "virtio-net");
  EXPECT_EQ(s.vms[0].networks[0].ip->str(), "10.0.10.2");
}

TEST_F(ManifestParser, AssignsFreeAddressesInManifestOrder) {
  Parsed parsed = parse(R"(
bridges:
  lan: {subnet: 10.0.10.0/24}
  dmz: {subnet: 10.0.20.0/29}
virtual_machines:
  a:
    networks: [{bridge: lan}, {bridge: dmz}]
  b:
    networks: [{bridge: lan, ip_addr: 10.0.10.3}]
  c:
    networks: [{bridge: lan}, {bridge: dmz}]
)");
  ASSERT_TRUE(parsed.scenario) << parsed.all();
  const auto& vms = parsed.scenario->vms;
  EXPECT_EQ(vms[0].networks[0].ip->str(), "10.0.10.2");
  EXPECT_EQ(vms[0].networks[1].ip->str(), "10.0.20.2");
  EXPECT_EQ(vms[1].networks[0].ip->str(), "10.0.10.3");
  EXPECT_EQ(vms[2].networks[0].ip->str(), "10.0.10.4");  // .3 is taken by b
  EXPECT_EQ(vms[2].networks[1].ip->str(), "10.0.20.3");
}

TEST_F(ManifestParser, ReportsAFullSubnet) {
  EXPECT_EQ(only_error(R"(
bridges:
  tiny: {subnet: 10.0.10.0/30}
virtual_machines:
  a: {networks: [{bridge: tiny}]}
  b: {networks: [{bridge: tiny}]}
)"),
            "virtual_machines.b: no free address left in the subnet 10.0.10.0/30 of bridge 'tiny'; use a larger subnet");
}

TEST_F(ManifestParser, DefaultMachineFollowsArch) {
  Parsed parsed = parse(std::string(kMinimal) + "  arm:\n    arch: aarch64\n    networks: [{bridge: lan}]\n");
  ASSERT_TRUE(parsed.scenario) << parsed.all();
  EXPECT_EQ(parsed.scenario->vms[1].arch, Arch::aarch64);
  EXPECT_EQ(parsed.scenario->vms[1].machine, "virt");
}

TEST_F(ManifestParser, ParsesEndpoints) {
  Parsed parsed = parse(R"(
bridges:
  lan: {subnet: 10.0.10.0/24}
  dmz: {subnet: 10.0.20.0/24}
virtual_machines:
  router:
    networks: [{bridge: lan}, {bridge: dmz}]
  client:
    networks: [{bridge: lan}]
tests:
  - reach: {from: client, to: router@dmz, port: 80, expect: allow}
  - reach: {from: host, to: 10.0.20.9, proto: icmp, expect: drop}
  - reach: {from: router, to: host, port: 53, proto: udp, expect: deny}
)");
  ASSERT_TRUE(parsed.scenario) << parsed.all();
  const auto& tests = parsed.scenario->tests;
  const ReachCheck& a = tests[0].checks.at(0);
  EXPECT_EQ(a.from.kind, Endpoint::Kind::vm);
  EXPECT_EQ(a.from.vm, "client");
  EXPECT_EQ(a.from.bridge, "");
  EXPECT_EQ(a.to.kind, Endpoint::Kind::vm);
  EXPECT_EQ(a.to.vm, "router");
  EXPECT_EQ(a.to.bridge, "dmz");
  EXPECT_EQ(a.target, (PortProto{80, Proto::tcp}));  // tcp is the default proto
  EXPECT_EQ(a.expect, Expect::allow);
  EXPECT_EQ(tests[0].name, "client -> router@dmz 80/tcp allow");
  const ReachCheck& b = tests[1].checks.at(0);
  EXPECT_EQ(b.from.kind, Endpoint::Kind::host);
  EXPECT_EQ(b.to.kind, Endpoint::Kind::address);
  EXPECT_EQ(b.to.address.str(), "10.0.20.9");
  EXPECT_EQ(b.target, (PortProto{0, Proto::icmp}));
  EXPECT_EQ(b.expect, Expect::drop);
  const ReachCheck& c = tests[2].checks.at(0);
  EXPECT_EQ(c.to.kind, Endpoint::Kind::host);
  EXPECT_EQ(c.target, (PortProto{53, Proto::udp}));
  EXPECT_EQ(c.expect, Expect::deny);
}

TEST_F(ManifestParser, ParsesMatrixRows) {
  Parsed parsed = parse(std::string(kMinimal) + R"(  client:
    networks: [{bridge: lan}]
tests:
  - name: policy
    matrix:
      - [client, web, 80/tcp, allow]
      - [client, web, tcp/22, drop]
      - [web, host, 53/udp, reject]
      - [host, web@lan, icmp, deny]
)");
  ASSERT_TRUE(parsed.scenario) << parsed.all();
  const TestStep& step = parsed.scenario->tests.at(0);
  EXPECT_EQ(step.kind, StepKind::matrix);
  ASSERT_EQ(step.checks.size(), 4u);
  EXPECT_EQ(step.checks[1].target, (PortProto{22, Proto::tcp}));
  EXPECT_EQ(step.checks[2].to.kind, Endpoint::Kind::host);
  EXPECT_EQ(step.checks[2].expect, Expect::reject);
  EXPECT_EQ(step.checks[3].to.bridge, "lan");
  EXPECT_EQ(step.checks[3].target.proto, Proto::icmp);
  EXPECT_EQ(step.checks[3].mark.line, 16);
}

TEST_F(ManifestParser, LinkNamesTheNetworkByBridgeOrIndex) {
  Parsed parsed = parse(R"(
bridges:
  lan: {subnet: 10.0.10.0/24}
  dmz: {subnet: 10.0.20.0/24}
virtual_machines:
  router:
    networks: [{bridge: lan}, {bridge: dmz}]
tests:
  - link: {vm: router, network: dmz, state: down}
  - link: {vm: router, network: 0, state: up}
)");
  ASSERT_TRUE(parsed.scenario) << parsed.all();
  EXPECT_EQ(parsed.scenario->tests[0].network_index, 1);
  EXPECT_FALSE(parsed.scenario->tests[0].link_up);
  EXPECT_EQ(parsed.scenario->tests[0].name, "link router network 1 down");
  EXPECT_EQ(parsed.scenario->tests[1].network_index, 0);
  EXPECT_TRUE(parsed.scenario->tests[1].link_up);
}

TEST_F(ManifestParser, RejectsUnknownField) {
  Parsed parsed = parse(std::string(kMinimal) + "    memroy: 512\n");
  EXPECT_FALSE(parsed.scenario);
  ASSERT_EQ(parsed.messages().size(), 1u) << parsed.all();
  EXPECT_EQ(parsed.messages()[0], "unknown key 'memroy' in virtual_machines.web (did you mean 'memory'?)");
  const Diagnostic& d = parsed.diagnostics.sorted()[0];
  EXPECT_EQ(d.mark.line, 8);
  EXPECT_EQ(d.mark.column, 5);
}

TEST_F(ManifestParser, SuggestsKeysBySynonym) {
  EXPECT_EQ(only_error(std::string(kMinimal) + "tests:\n  - {vm: web, run: uname, retry: 2}\n"),
            "unknown key 'retry' in tests[0] (did you mean 'retries'?)");
}

TEST_F(ManifestParser, RejectsWrongTypes) {
  EXPECT_EQ(only_error(std::string(kMinimal) + "    cpus: [1]\n"),
            "virtual_machines.web.cpus: expected an integer from 1 to 64, got a list");
  EXPECT_EQ(only_error(std::string(kMinimal) + "tags: smoke\n"), "tags: expected a list of strings, got 'smoke'");
}

TEST_F(ManifestParser, ReportsEveryErrorAtOnce) {
  Parsed parsed = parse(R"(
timeout: 10
bridges:
  lan: {subnet: 10.0.10.5/24}
virtual_machines:
  web: {cpus: 0}
tests:
  - {vm: nobody, run: x}
)");
  EXPECT_FALSE(parsed.scenario);
  EXPECT_EQ(parsed.messages(), (std::vector<std::string>{
                                   "timeout: duration '10' has no unit: expected a duration such as 500ms, 30s, 10m or 1h",
                                   "bridges.lan.subnet: subnet '10.0.10.5/24' has host bits set: did you mean 10.0.10.0/24?",
                                   "virtual_machines.web.cpus: expected an integer from 1 to 64, got '0'",
                                   "tests[0].vm: unknown VM 'nobody'",
                               }));
}

TEST_F(ManifestParser, RejectsDuplicateTestNames) {
  EXPECT_EQ(only_error(std::string(kMinimal) + "tests:\n  - {name: a, vm: web, run: x}\n  - {name: a, vm: web, run: y}\n"),
            "tests[1].name: 'a' is already the name of tests[0]; test names must be unique in a scenario");
}

TEST_F(ManifestParser, CompilesExpectRegexesOnceWithRe2) {
  Parsed parsed = parse(std::string(kMinimal) + "tests:\n  - {vm: web, run: x, expect: {stdout_matches: '^L', stderr_matches: 'e+'}}\n");
  ASSERT_TRUE(parsed.scenario) << parsed.all();
  EXPECT_TRUE(parsed.scenario->tests[0].expect.stdout_regex);
  EXPECT_TRUE(parsed.scenario->tests[0].expect.stderr_regex);
}

TEST_F(ManifestParser, ReportsAnInvalidRegexWithRe2sReason) {
  EXPECT_EQ(only_error(std::string(kMinimal) + "tests:\n  - {vm: web, run: x, expect: {stdout_matches: '(a)\\1'}}\n"),
            "tests[0].expect.stdout_matches: '(a)\\1' is not a valid regular expression: invalid escape sequence: \\1; "
            "write it in RE2 syntax (Perl-like, without back references or lookaround)");
}

TEST_F(ManifestParser, RejectsStepWithTwoActions) {
  EXPECT_EQ(only_error(std::string(kMinimal) + "tests:\n  - {vm: web, run: x, link: {vm: web, network: 0, state: up}}\n"),
            "tests[0]: a step does exactly one of run, reach, matrix, push, pull or link; this one has run and link");
}

TEST_F(ManifestParser, RejectsOverlapWithManagementRange) {
  EXPECT_EQ(only_error("bridges:\n  m: {subnet: 100.127.1.0/24}\nvirtual_machines:\n  web: {}\n"),
            "bridges.m.subnet: 100.127.1.0/24 overlaps 100.127.0.0/16, reserved for meros-test's management links");
}

TEST_F(ManifestParser, RejectsAnEmptyManifest) {
  EXPECT_EQ(only_error(""),
            "the manifest is empty: a scenario is a mapping with keys such as name, bridges, virtual_machines and tests");
}

TEST_F(ManifestParser, RejectsTwoDocuments) {
  EXPECT_EQ(only_error(std::string(kMinimal) + "---\nname: again\n"),
            "a manifest holds exactly one YAML document; remove the second '---' document");
}

TEST_F(ManifestParser, RejectsAnAliasBombQuickly) {
  std::string text = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 10; ++i) {
    text += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int j = 0; j < 10; ++j) text += (j ? ", *a" : "*a") + std::to_string(i - 1);
    text += "]\n";
  }
  text += "virtual_machines: {web: {}}\ntags: *a9\n";
  auto start = std::chrono::steady_clock::now();
  std::string error = only_error(text);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
  EXPECT_EQ(error, "aliases expand this manifest to more than 8 MiB (an alias bomb?); refusing to read it");
}

TEST_F(ManifestParser, RejectsACircularAlias) {
  EXPECT_EQ(only_error("virtual_machines: {web: {}}\ntags: &t [*t]\n"),
            "this alias refers to a node that contains it; a manifest cannot be circular");
}

TEST_F(ManifestParser, AcceptsHarmlessAliases) {
  Parsed parsed = parse(R"(
bridges:
  lan: {subnet: 10.0.10.0/24}
virtual_machines:
  a: {memory: &mem 512M, networks: &nets [{bridge: lan}]}
  b: {memory: *mem}
tags: &tags [x]
)");
  ASSERT_TRUE(parsed.scenario) << parsed.all();
  EXPECT_EQ(parsed.scenario->vms[1].memory_mib, 512u);
}

TEST_F(ManifestParser, RejectsDeepNesting) {
  EXPECT_EQ(only_error("virtual_machines: {web: {}}\ntags: " + std::string(10000, '[') + std::string(10000, ']') + "\n"),
            "YAML nested deeper than 64 levels: a manifest needs only a few; refusing to parse it");
}

TEST_F(ManifestParser, RejectsDeepNestingAfterEveryDocumentMarkerForm) {
  // yaml-cpp skips the marker (and a byte order mark), so the node after it
  // on the same line counts like any other.
  const std::string flow = std::string(100, '[') + std::string(100, ']');
  std::string block;
  for (int i = 0; i < 100; ++i) block += "- ";
  for (const std::string& text : {"--- " + flow, "---\t" + flow, "---  " + flow, "\xEF\xBB\xBF--- " + flow, "\xEF\xBB\xBF" + flow,
                                  "--- !!seq " + flow, "--- &a " + flow, "%YAML 1.2\n--- " + flow + "\n...", "--- " + block + "x",
                                  "--- # comment\n" + flow, "--- |\n  text\n--- " + flow}) {
    EXPECT_TRUE(find_excessive_nesting(text, kMaxNestingDepth)) << text.substr(0, 30);
    Parsed parsed = parse(text + "\n");
    ASSERT_FALSE(parsed.messages().empty()) << text.substr(0, 30);
    EXPECT_EQ(parsed.messages()[0], "YAML nested deeper than 64 levels: a manifest needs only a few; refusing to parse it")
        << text.substr(0, 30);
  }
  // A marker-like plain scalar is no marker, and shallow documents pass.
  EXPECT_FALSE(find_excessive_nesting("---x " + flow + "\n", kMaxNestingDepth));
  EXPECT_FALSE(find_excessive_nesting("--- [[a]]\n", kMaxNestingDepth));
  EXPECT_TRUE(parse("--- \n" + std::string(kMinimal)).scenario);
}

TEST_F(ManifestParser, RejectsAnOversizedManifest) {
  std::string text = std::string(kMinimal) + "description: \"" + std::string(1 << 20, 'x') + "\"\n";
  EXPECT_EQ(only_error(text), "the file is " + std::to_string(text.size()) + " bytes; a manifest may be at most 1 MiB");
}

TEST_F(ManifestParser, PointsAtTheUnclosedBracket) {
  Parsed parsed = parse("virtual_machines:\n  web:\n    qemu_args: [-m, 1\ntags: [x]\n");
  ASSERT_EQ(parsed.messages().size(), 1u) << parsed.all();
  EXPECT_EQ(parsed.messages()[0], "YAML syntax error: this '[' is never closed with ']'");
  EXPECT_EQ(parsed.diagnostics.sorted()[0].mark.line, 3);
  EXPECT_EQ(parsed.diagnostics.sorted()[0].mark.column, 16);
}

// bootable: on images, implied by boot: disk; a plain and a bootable build
// of one recipe are two fixtures with two names.
TEST_F(ManifestParser, BootableImagesAndDiskBootVms) {
  Parsed parsed = parse(R"(
images:
  plain: {distribution: debian}
  ready: {distribution: debian, bootable: true}
bridges:
  lan: {subnet: 10.0.10.0/24}
virtual_machines:
  direct: {image: plain}
  disk: {boot: disk, image: plain}
  pc: {boot: disk, machine: pc, image: ready}
)");
  ASSERT_TRUE(parsed.scenario) << parsed.all();
  const Scenario& s = *parsed.scenario;
  EXPECT_FALSE(s.images.at("plain").bootable);
  EXPECT_TRUE(s.images.at("ready").bootable);
  const VirtualMachine& direct = s.vms[0];
  const VirtualMachine& disk = s.vms[1];
  const VirtualMachine& pc = s.vms[2];
  EXPECT_EQ(disk.machine, "q35");  // boot: disk without machine: q35
  EXPECT_EQ(pc.machine, "pc");
  EXPECT_FALSE(image_recipe_for(s, direct).bootable);
  EXPECT_TRUE(image_recipe_for(s, disk).bootable);  // implied
  EXPECT_TRUE(image_recipe_for(s, pc).bootable);
  EXPECT_EQ(image_fixture_name(s, direct), "plain");
  EXPECT_EQ(image_fixture_name(s, disk), "plain (bootable)");
  EXPECT_EQ(image_fixture_name(s, pc), "ready");
}

TEST_F(ManifestParser, ResolvesKernelsAndImagesInOrder) {
  // The scenario's own recipes first, then the nearest fixtures/, then the
  // built-in ones.
  tmp_.write("fixtures/kernels/distro.yml", "package: linux-image-cloud-amd64\n");
  tmp_.write("fixtures/kernels/default.yml", "package: linux-image-amd64\n");
  tmp_.write("fixtures/images/tiny/image.yml", "distribution: busybox\nsize: 32M\n");
  Parsed parsed = parse_in(tmp_.path() / "scenarios" / "s" / "scenario.yml", R"(
kernels:
  own:
    package: linux-image-rt-amd64
images:
  debian:
    distribution: busybox
bridges:
  lan: {subnet: 10.0.10.0/24}
virtual_machines:
  a: {kernel: own, image: debian}
  b: {kernel: distro, image: tiny}
  c: {}
  d: {image: busybox}
)");
  ASSERT_TRUE(parsed.scenario) << parsed.all();
  const Scenario& s = *parsed.scenario;
  EXPECT_EQ(s.kernels.at("own").package, "linux-image-rt-amd64");
  EXPECT_EQ(s.images.at("debian").kind, ImageKind::busybox);  // the scenario's own one wins
  EXPECT_EQ(s.kernels.at("distro").kind, KernelKind::package);
  EXPECT_EQ(s.kernels.at("default").package, "linux-image-amd64");  // the nearest fixtures/ wins
  EXPECT_EQ(s.images.at("tiny").size, 32ull << 20);
  EXPECT_EQ(s.images.at("busybox").defined_in, builtin_fixtures_dir() / "images/busybox/image.yml");
}

TEST_F(ManifestParser, AllowsAbsolutePathsOnlyForKernelsAndImages) {
  Parsed parsed = parse(R"(
kernels:
  k: {tarball: /usr/src/linux-source-6.1.tar.xz}
images:
  i: {distribution: tarball, archive: /etc/hostname}
virtual_machines:
  web: {kernel: k, image: i, firewall: /etc/hostname}
)");
  ASSERT_FALSE(parsed.scenario);
  std::vector<std::string> messages = parsed.messages();
  bool tarball_missing = !fs::exists("/usr/src/linux-source-6.1.tar.xz");
  ASSERT_EQ(messages.size(), tarball_missing ? 2u : 1u) << parsed.all();
  EXPECT_EQ(messages.back(),
            "virtual_machines.web.firewall: absolute path '/etc/hostname' is not allowed here: give a path relative to "
            "the file, inside the scenario directory");
}

TEST_F(ManifestParser, RefusesPathsLeadingOutside) {
  tmp_.write("secret", "x\n");
  tmp_.write("demo/files/readme", "x\n");
  fs::create_symlink("../../secret", tmp_.path() / "demo/files/link");
  fs::create_symlink("readme", tmp_.path() / "demo/files/inside");
  Parsed parsed = parse(std::string(kMinimal) + R"(tests:
  - push: {vm: web, src: ../secret, dst: /tmp/a}
  - push: {vm: web, src: files/link, dst: /tmp/b}
  - push: {vm: web, src: files/inside, dst: /tmp/c}
)");
  EXPECT_EQ(parsed.messages(),
            (std::vector<std::string>{
                "tests[0].push.src: path '../secret' leads outside the scenario directory: referenced files must stay inside it",
                "tests[1].push.src: path 'files/link' is a symlink leading outside the scenario directory: referenced files must stay inside it",
            }));
}

TEST_F(ManifestParser, RejectsRootfsDirectoryWithoutImage) {
  tmp_.write("demo/rootfs/web/hooks/10-x.sh", "true\n");
  Parsed parsed = parse(kMinimal);
  EXPECT_EQ(parsed.messages(), (std::vector<std::string>{
                                   "rootfs/web/ belongs to no image of this scenario: define images: {web: {distribution: busybox}} (or debian)"}));
}

TEST_F(ManifestParser, FindsImageLayersByDefault) {
  tmp_.write("demo/rootfs/web/includes.chroot/etc/motd", "hi\n");
  Parsed parsed = parse(std::string(kMinimal) + "images:\n  web: {distribution: busybox}\n");
  ASSERT_TRUE(parsed.scenario) << parsed.all();
  EXPECT_EQ(*parsed.scenario->images.at("web").includes, tmp_.path() / "demo/rootfs/web/includes.chroot");
  EXPECT_FALSE(parsed.scenario->images.at("web").hooks);
}

TEST(ManifestKeys, EverySectionHasKeys) {
  const auto& table = manifest_key_table();
  for (const char* section : {"top", "kernels.<name>", "images.<name>", "images.<name>.applications.<app>", "bridges.<name>", "virtual_machines.<name>",
                              "networks[]", "host", "hooks", "virtual_machines.<name>.hooks", "tests[]", "expect", "reach", "push", "pull", "link"}) {
    ASSERT_TRUE(table.count(section)) << section;
    EXPECT_FALSE(table.at(section).empty()) << section;
  }
  EXPECT_EQ(table.size(), 17u);
  EXPECT_THROW(manifest_keys("nonsense"), FatalError);
}

TEST(MatchesPattern, SubstringOrGlob) {
  EXPECT_TRUE(matches_pattern("smoke::kernel answers", "kernel"));
  EXPECT_FALSE(matches_pattern("smoke::kernel answers", "Kernel"));
  EXPECT_TRUE(matches_pattern("smoke::kernel answers", "smoke::*"));
  EXPECT_FALSE(matches_pattern("smoke::kernel answers", "two*"));
  EXPECT_TRUE(matches_pattern("web1", "web?"));
}

Scenario named_scenario(const std::string& name, std::vector<std::string> tags, std::vector<std::string> tests) {
  Scenario s;
  s.name = name;
  s.tags = std::move(tags);
  for (auto& t : tests) {
    TestStep step;
    step.name = t;
    s.tests.push_back(step);
  }
  return s;
}

std::vector<Scenario> sample_scenarios() {
  return {named_scenario("smoke", {"smoke"}, {"boots", "pings"}),
          named_scenario("two-bridges", {"firewall", "policy"}, {"lan policy", "dmz is isolated"}),
          named_scenario("router-firewall", {"firewall", "router"}, {"router forwards", "forwarding policy"}),
          named_scenario("custom-kernel", {"kernel"}, {"config"})};
}

std::vector<std::string> names_of(const std::vector<SelectedScenario>& selected) {
  std::vector<std::string> names;
  for (const auto& s : selected) names.push_back(s.scenario.name);
  return names;
}

TEST(Selection, TagsIncludeAndExclude) {
  Selection options;
  options.tags = {"firewall"};
  EXPECT_EQ(names_of(select_scenarios(sample_scenarios(), options)), (std::vector<std::string>{"two-bridges", "router-firewall"}));
  options.tags = {"firewall", "!router"};
  EXPECT_EQ(names_of(select_scenarios(sample_scenarios(), options)), (std::vector<std::string>{"two-bridges"}));
  options.tags = {"!firewall"};
  EXPECT_EQ(names_of(select_scenarios(sample_scenarios(), options)), (std::vector<std::string>{"smoke", "custom-kernel"}));
  options.tags = {"smoke", "kernel"};
  EXPECT_EQ(names_of(select_scenarios(sample_scenarios(), options)), (std::vector<std::string>{"smoke", "custom-kernel"}));
}

TEST(Selection, PatternSelectsTestsOrWholeScenarios) {
  Selection options;
  options.patterns = {"policy"};
  auto selected = select_scenarios(sample_scenarios(), options);
  ASSERT_EQ(names_of(selected), (std::vector<std::string>{"two-bridges", "router-firewall"}));
  EXPECT_EQ(selected[0].run_test, (std::vector<bool>{true, false}));
  EXPECT_EQ(selected[1].run_test, (std::vector<bool>{false, true}));
  options.patterns = {"smoke"};
  selected = select_scenarios(sample_scenarios(), options);
  ASSERT_EQ(names_of(selected), (std::vector<std::string>{"smoke"}));
  EXPECT_EQ(selected[0].run_test, (std::vector<bool>{true, true}));
  options.patterns = {"*::pings"};
  selected = select_scenarios(sample_scenarios(), options);
  ASSERT_EQ(names_of(selected), (std::vector<std::string>{"smoke"}));
  EXPECT_EQ(selected[0].run_test, (std::vector<bool>{false, true}));
  options.patterns = {"nothing-matches"};
  EXPECT_TRUE(select_scenarios(sample_scenarios(), options).empty());
}

TEST(Selection, ShardsSplitTheSelectionWithoutOverlap) {
  Selection options;
  std::vector<std::string> all;
  for (int k = 1; k <= 3; ++k) {
    options.shard = Shard{k, 3};
    for (const auto& name : names_of(select_scenarios(sample_scenarios(), options))) all.push_back(name);
  }
  std::sort(all.begin(), all.end());
  EXPECT_EQ(all, (std::vector<std::string>{"custom-kernel", "router-firewall", "smoke", "two-bridges"}));
  options.shard = Shard{1, 2};
  EXPECT_EQ(names_of(select_scenarios(sample_scenarios(), options)), (std::vector<std::string>{"smoke", "router-firewall"}));
}

TEST(Selection, ShardsApplyAfterFilters) {
  Selection options;
  options.tags = {"firewall"};
  options.shard = Shard{2, 2};
  EXPECT_EQ(names_of(select_scenarios(sample_scenarios(), options)), (std::vector<std::string>{"router-firewall"}));
}

}  // namespace
