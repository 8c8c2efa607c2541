// The step engine against a fake Testbed: retries and flaky marking, the
// scenario deadline, matrix batching, listener dedup and services:,
// outcome classes and per-row time. Nothing is started; time is fake.
#include <gtest/gtest.h>

#include "fake_testbed.h"
#include "runner/steps.h"
#include "test_scenarios.h"

namespace meros {
namespace {

using test::FakeTestbed;
using test::plan_text;

CommandResult exited(int code, std::string out = "") {
  CommandResult r;
  r.exit_code = code;
  r.stdout_text = std::move(out);
  return r;
}

struct Engine {
  explicit Engine(const std::string& yaml) : planned(plan_text(yaml)) {}
  std::vector<CaseResult> run_all(const std::atomic<int>* stop = nullptr) {
    StepEngine engine(testbed, planned->plan, testbed.clock().now() + planned->plan.scenario_timeout, stop);
    return engine.run_all();
  }
  std::unique_ptr<test::Planned> planned;
  FakeTestbed testbed;
};

const char* kTwoVms = R"(
name: steps
timeout: 10s
bridges:
  lan: {subnet: 10.0.10.0/24, policy_type: host-access}
virtual_machines:
  a: {networks: [{bridge: lan, ip_addr: 10.0.10.2}]}
  b: {networks: [{bridge: lan, ip_addr: 10.0.10.3}], services: [tcp/80]}
tests:
)";

std::string with(const std::string& tests) { return std::string(kTwoVms) + tests; }

TEST(StepEngine, RetriesUntilPassAndMarksFlaky) {
  Engine e(with("  - {name: flaky, vm: a, run: 'test -e /x', retries: 2}\n"));
  int calls = 0;
  e.testbed.on_run = [&](const test::RunCall&) -> Result<CommandResult> { return exited(++calls < 2 ? 1 : 0); };
  auto cases = e.run_all();
  ASSERT_EQ(cases.size(), 1u);
  EXPECT_EQ(cases[0].status, CaseStatus::passed);
  EXPECT_TRUE(cases[0].flaky);
  ASSERT_EQ(cases[0].attempts.size(), 2u);
  EXPECT_EQ(cases[0].attempts[0].status, CaseStatus::failed);
  EXPECT_EQ(cases[0].retries, 2);
}

// What the SSH layer left out of a flood reaches the case (for the
// reports), the failure detail and the transcript.
TEST(StepEngine, SaysHowMuchOutputWasNotKept) {
  Engine e(with("  - {name: flood, vm: a, run: 'yes', expect: {exit: 3}}\n"));
  e.testbed.on_run = [](const test::RunCall&) -> Result<CommandResult> {
    CommandResult r = exited(0, "y\n");
    r.stdout_dropped = 1000;
    r.stderr_dropped = 20;
    return r;
  };
  auto cases = e.run_all();
  ASSERT_EQ(cases.size(), 1u);
  EXPECT_EQ(cases[0].stdout_dropped, 1000u);
  EXPECT_EQ(cases[0].stderr_dropped, 20u);
  EXPECT_NE(cases[0].detail.find("output: 1000 bytes of stdout and 20 bytes of stderr not kept (a step keeps the first and last 8 MiB of each stream)\n"),
            std::string::npos)
      << cases[0].detail;
  ASSERT_EQ(e.testbed.notes.size(), 1u);
  EXPECT_NE(e.testbed.notes[0].find(", 1000 bytes of stdout and 20 bytes of stderr not kept]"), std::string::npos) << e.testbed.notes[0];
}

TEST(StepEngine, RetriesRunOutAsAFailureThatIsNotFlaky) {
  Engine e(with("  - {name: never, vm: a, run: 'false', retries: 1}\n"));
  e.testbed.on_run = [](const test::RunCall&) -> Result<CommandResult> { return exited(1); };
  auto cases = e.run_all();
  EXPECT_EQ(cases[0].status, CaseStatus::failed);
  EXPECT_FALSE(cases[0].flaky);
  EXPECT_EQ(cases[0].attempts.size(), 2u);
  EXPECT_EQ(e.testbed.runs.size(), 2u);
}

TEST(StepEngine, MatrixRowRetriedAloneAndMarkedFlaky) {
  Engine e(with("  - name: m\n    retries: 1\n    matrix:\n      - [a, b, 80/tcp, allow]\n      - [b, a, 81/tcp, allow]\n"));
  int tries_81 = 0;
  e.testbed.on_probe = [&](const std::string&, const guest::ProbeRequest& r) -> Result<guest::ProbeOutcome> {
    bool open = r.port != 81 || ++tries_81 > 1;
    return guest::ProbeOutcome{open ? guest::Observed::open : guest::Observed::timeout, std::chrono::microseconds(500), ""};
  };
  auto cases = e.run_all();
  ASSERT_EQ(cases.size(), 2u);
  EXPECT_EQ(cases[0].status, CaseStatus::passed);
  EXPECT_FALSE(cases[0].flaky);
  EXPECT_EQ(cases[1].status, CaseStatus::passed);
  EXPECT_TRUE(cases[1].flaky);
  EXPECT_EQ(cases[1].attempts.size(), 2u);
  // The second round probed only the row that had not passed.
  ASSERT_EQ(e.testbed.probes.size(), 3u);
  EXPECT_EQ(e.testbed.probes[2].requests.size(), 1u);
  EXPECT_EQ(e.testbed.probes[2].requests[0].port, 81);
}

TEST(StepEngine, ScenarioDeadlineCutsTheStepAndSkipsTheRest) {
  Engine e(with("  - {name: long, vm: a, run: 'sleep 60'}\n  - {name: after, vm: a, run: 'true'}\n"));
  e.testbed.on_run = [&](const test::RunCall& call) -> Result<CommandResult> {
    e.testbed.fake_clock.advance(call.timeout);  // the command ran until it was killed
    CommandResult r;
    r.timed_out = true;
    return r;
  };
  auto cases = e.run_all();
  ASSERT_EQ(cases.size(), 2u);
  // The step got what was left of the 10 s, not its own 60 s.
  EXPECT_EQ(e.testbed.runs.at(0).timeout, Duration(10'000));
  EXPECT_EQ(cases[0].status, CaseStatus::failed);
  EXPECT_EQ(cases[0].message, "the scenario's timeout ran out during the step (the command was killed)");
  EXPECT_EQ(cases[1].status, CaseStatus::skipped);
  EXPECT_EQ(cases[1].message, "not run: the scenario's timeout (10s) ran out");
  EXPECT_EQ(e.testbed.runs.size(), 1u);
}

TEST(StepEngine, NoRetryStartsAfterTheDeadline) {
  Engine e(with("  - {name: slow, vm: a, run: 'false', retries: 5}\n"));
  e.testbed.on_run = [&](const test::RunCall&) -> Result<CommandResult> {
    e.testbed.fake_clock.advance(std::chrono::seconds(6));
    return exited(1);
  };
  auto cases = e.run_all();
  EXPECT_EQ(cases[0].attempts.size(), 2u);  // 6 s + 6 s > 10 s
}

// timeout: bounds a matrix whole: its rows share it, across retry rounds.
TEST(StepEngine, AMatrixsRowsShareItsTimeoutAcrossRetries) {
  Engine e(with("  - name: m\n    timeout: 5s\n    retries: 3\n    matrix:\n      - [a, b, 80/tcp, allow]\n      - [b, a, 81/tcp, allow]\n"));
  e.testbed.on_probe = [&](const std::string&, const guest::ProbeRequest&) -> Result<guest::ProbeOutcome> {
    e.testbed.fake_clock.advance(std::chrono::seconds(1));  // each source's batch: 2 s, a and b at once
    return guest::ProbeOutcome{guest::Observed::refused, std::chrono::microseconds(300), "tcp rst"};
  };
  auto cases = e.run_all();
  ASSERT_EQ(cases.size(), 2u);
  // Round 0 gets the whole 5 s; after it (2 s) and the pause (1 s), round 1
  // gets what is left; then the step's time is up: no round 2 or 3.
  ASSERT_EQ(e.testbed.probes.size(), 4u);
  EXPECT_EQ(e.testbed.probes[0].timeout, Duration(5000));
  EXPECT_LE(e.testbed.probes[2].timeout, Duration(3000));
  for (const auto& c : cases) {
    EXPECT_EQ(c.status, CaseStatus::failed) << c.message;
    EXPECT_EQ(c.attempts.size(), 2u);
  }
}

TEST(StepEngine, AProbeBatchCutByTheStepTimeoutSaysSo) {
  Engine e(with("  - {name: r, timeout: 2s, reach: {from: a, to: b, port: 80, proto: tcp, expect: allow}}\n"));
  e.testbed.on_probe = [&](const std::string&, const guest::ProbeRequest&) -> Result<guest::ProbeOutcome> {
    e.testbed.fake_clock.advance(std::chrono::seconds(2));
    return make_error("probe from a: no answer within 2s");
  };
  auto cases = e.run_all();
  ASSERT_EQ(cases.size(), 1u);
  EXPECT_EQ(e.testbed.probes.at(0).timeout, Duration(2000));
  EXPECT_EQ(cases[0].status, CaseStatus::errored);
  EXPECT_EQ(cases[0].message, "the step's timeout (2s) ran out: probe from a: no answer within 2s");
}

TEST(StepEngine, ListenersGetNoMoreThanTheStepTimeout) {
  Engine e(with("  - {name: r, timeout: 3s, reach: {from: b, to: a, port: 8080, proto: tcp, expect: allow}}\n"));
  auto cases = e.run_all();
  ASSERT_EQ(e.testbed.listens.size(), 1u);
  EXPECT_EQ(e.testbed.listens[0].timeout, Duration(3000));
}

// retries: on push, pull and link as on run: attempts recorded, flaky marked.
TEST(StepEngine, TransfersAndLinksAreRetried) {
  Engine e(with("  - {name: up, retries: 2, push: {vm: a, src: files/app.conf, dst: /etc/app.conf}}\n"
                "  - {name: down, retries: 1, pull: {vm: a, src: /var/log/messages, dst: logs/}}\n"
                "  - {name: cut, retries: 2, link: {vm: a, network: 0, state: down}}\n"));
  int transfers = 0, links = 0;
  e.testbed.on_transfer = [&](const std::string& what) {
    if (++transfers == 1) return Transfer{make_error("sftp on a: the session broke"), true};
    return Transfer{what, false};
  };
  e.testbed.on_link = [&]() -> Status {
    if (++links < 3) return make_error("a: QMP set_link timed out");
    return {};
  };
  auto cases = e.run_all();
  ASSERT_EQ(cases.size(), 3u);
  EXPECT_EQ(cases[0].status, CaseStatus::passed) << cases[0].message;
  EXPECT_TRUE(cases[0].flaky);
  ASSERT_EQ(cases[0].attempts.size(), 2u);
  EXPECT_EQ(cases[0].attempts[0].status, CaseStatus::errored);
  EXPECT_EQ(cases[0].attempts[0].message, "push files/app.conf to a:/etc/app.conf: sftp on a: the session broke");
  EXPECT_EQ(cases[1].status, CaseStatus::passed);
  EXPECT_FALSE(cases[1].flaky);
  EXPECT_EQ(cases[1].attachments, (std::vector<std::string>{"steps/logs/messages"}));
  EXPECT_EQ(cases[2].status, CaseStatus::passed);
  EXPECT_TRUE(cases[2].flaky);
  EXPECT_EQ(cases[2].attempts.size(), 3u);
  EXPECT_EQ(cases[2].retries, 2);
}

TEST(StepEngine, ALinkThatCannotBeSetErrorsAfterItsRetries) {
  Engine e(with("  - {name: cut, retries: 1, link: {vm: a, network: 0, state: down}}\n"));
  e.testbed.on_link = []() -> Status { return make_error("a: no QMP socket"); };
  auto cases = e.run_all();
  EXPECT_EQ(cases[0].status, CaseStatus::errored);
  EXPECT_EQ(cases[0].message, "a: no QMP socket");
  EXPECT_EQ(cases[0].attempts.size(), 2u);
}

// A literal address of a scenario VM gets that VM's listener.
TEST(StepEngine, ALiteralAddressOfAVmGetsItsListener) {
  Engine e(with("  - {name: r, reach: {from: b, to: 10.0.10.2, port: 8080, proto: tcp, expect: allow}}\n"));
  auto cases = e.run_all();
  EXPECT_EQ(cases[0].status, CaseStatus::passed) << cases[0].message;
  ASSERT_EQ(e.testbed.listens.size(), 1u);
  EXPECT_EQ(e.testbed.listens[0].target, "a");
}

TEST(StepEngine, MatrixIsBatchedOneCallASource) {
  Engine e(with("  - name: m\n    matrix:\n      - [a, b, 80/tcp, allow]\n      - [a, b, 22/tcp, drop]\n"
                "      - [b, a, 80/tcp, allow]\n      - [host, a, 80/tcp, allow]\n      - [a, host, 80/tcp, allow]\n"));
  auto cases = e.run_all();
  ASSERT_EQ(cases.size(), 5u);
  std::map<std::string, std::size_t> batch_sizes;
  for (const auto& call : e.testbed.probes) batch_sizes[call.source] += call.requests.size();
  EXPECT_EQ(e.testbed.probes.size(), 3u);
  EXPECT_EQ(batch_sizes, (std::map<std::string, std::size_t>{{"", 1}, {"a", 3}, {"b", 1}}));
}

TEST(StepEngine, ListenersStartOnceAndNeverForServices) {
  Engine e(with("  - {name: one, reach: {from: b, to: a, port: 8080, proto: tcp, expect: allow}}\n"
                "  - {name: two, reach: {from: b, to: a, port: 8080, proto: tcp, expect: allow}}\n"
                "  - {name: served, reach: {from: a, to: b, port: 80, proto: tcp, expect: allow}}\n"
                "  - {name: host, reach: {from: a, to: host, port: 53, proto: udp, expect: allow}}\n"
                "  - {name: ping, reach: {from: a, to: b, proto: icmp, expect: allow}}\n"));
  auto cases = e.run_all();
  ASSERT_EQ(cases.size(), 5u);
  for (const auto& c : cases) EXPECT_EQ(c.status, CaseStatus::passed) << c.name << ": " << c.message;
  ASSERT_EQ(e.testbed.listens.size(), 2u);
  EXPECT_EQ(e.testbed.listens[0].target, "a");
  EXPECT_EQ(e.testbed.listens[0].ports, (std::vector<PortProto>{{8080, Proto::tcp}}));
  EXPECT_EQ(e.testbed.listens[1].target, "");
  EXPECT_EQ(e.testbed.listens[1].ports, (std::vector<PortProto>{{53, Proto::udp}}));
}

TEST(StepEngine, AListenerThatCannotStartErrorsItsRows) {
  Engine e(with("  - name: m\n    matrix:\n      - [b, a, 8080/tcp, allow]\n      - [a, b, 80/tcp, allow]\n"));
  e.testbed.on_listen = [](const test::ListenCall&) -> Status { return make_error("cannot start listeners on a: no agent"); };
  auto cases = e.run_all();
  EXPECT_EQ(cases[0].status, CaseStatus::errored);
  EXPECT_EQ(cases[0].message, "cannot start listeners on a: no agent");
  EXPECT_EQ(cases[1].status, CaseStatus::passed);  // b serves 80 itself
}

TEST(StepEngine, AssertionsFailAndHarnessTroubleErrors) {
  Engine e(with("  - {name: assertion, vm: a, run: 'echo no', expect: {stdout: yes}}\n"
                "  - {name: ssh broke, vm: a, run: 'true'}\n"
                "  - {name: verdict, reach: {from: a, to: b, port: 80, proto: tcp, expect: drop}}\n"
                "  - {name: agent broke, reach: {from: a, to: b, port: 81, proto: tcp, expect: drop}}\n"
                "  - {name: push sftp broke, push: {vm: a, src: files/app.conf, dst: /etc/app.conf}}\n"
                "  - {name: pull missing, pull: {vm: a, src: /nope, dst: logs/}}\n"
                "  - {name: vm died, vm: b, run: 'true'}\n"));
  int runs = 0;
  e.testbed.on_run = [&](const test::RunCall&) -> Result<CommandResult> {
    if (++runs == 2) return make_error("ssh to 100.127.0.2: the session is gone");
    return exited(0, "no\n");
  };
  e.testbed.on_probe = [](const std::string&, const guest::ProbeRequest& r) -> Result<guest::ProbeOutcome> {
    if (r.port == 81) return make_error("probe from a failed: agent exit 1");
    return guest::ProbeOutcome{guest::Observed::open, std::chrono::microseconds(800), "tcp syn-ack"};
  };
  e.testbed.on_transfer = [](const std::string& what) {
    if (what.starts_with("push")) return Transfer{make_error("sftp on a: cannot make an SFTP session"), true};
    return Transfer{make_error("/nope: no such file"), false};
  };
  e.testbed.stopped["b"] = true;
  auto cases = e.run_all();
  ASSERT_EQ(cases.size(), 7u);
  EXPECT_EQ(cases[0].status, CaseStatus::failed);
  EXPECT_EQ(cases[1].status, CaseStatus::errored);
  EXPECT_EQ(cases[1].message, "ssh to 100.127.0.2: the session is gone");
  EXPECT_EQ(cases[2].status, CaseStatus::failed);
  EXPECT_EQ(cases[2].observed, "open in under 1 ms");
  EXPECT_EQ(cases[3].status, CaseStatus::errored);
  EXPECT_EQ(cases[4].status, CaseStatus::errored);
  EXPECT_EQ(cases[4].message, "push files/app.conf to a:/etc/app.conf: sftp on a: cannot make an SFTP session");
  EXPECT_EQ(cases[5].status, CaseStatus::failed);
  EXPECT_EQ(cases[6].status, CaseStatus::errored);
  EXPECT_EQ(cases[6].message, "VM b is not running (its QEMU exited earlier)");
}

TEST(StepEngine, EachRowShowsItsOwnTime) {
  Engine e(with("  - name: m\n    matrix:\n      - [a, b, 80/tcp, allow]\n      - [a, b, 22/tcp, drop]\n"));
  e.testbed.on_probe = [](const std::string&, const guest::ProbeRequest& r) -> Result<guest::ProbeOutcome> {
    if (r.port == 80) return guest::ProbeOutcome{guest::Observed::open, std::chrono::microseconds(5'000), ""};
    return guest::ProbeOutcome{guest::Observed::timeout, std::chrono::microseconds(1'000'000), ""};
  };
  auto cases = e.run_all();
  ASSERT_EQ(cases.size(), 2u);
  EXPECT_DOUBLE_EQ(cases[0].time, 0.005);
  EXPECT_DOUBLE_EQ(cases[1].time, 1.0);
}

TEST(StepEngine, PulledFilesBecomeAttachments) {
  Engine e(with("  - {name: logs, pull: {vm: a, src: /var/log/messages, dst: logs/}}\n"));
  auto cases = e.run_all();
  ASSERT_EQ(cases.size(), 1u);
  EXPECT_EQ(cases[0].status, CaseStatus::passed) << cases[0].message;
  EXPECT_EQ(cases[0].attachments, (std::vector<std::string>{"steps/logs/messages"}));
}

// max_bytes: reaches the copy (default 1 GiB); a copy the guest made too
// big or too slow is the step's failure, not the harness's error.
TEST(StepEngine, MaxBytesReachesTheCopyAndAStoppedPullFails) {
  Engine e(with("  - {name: capped, pull: {vm: a, src: /big, dst: logs/, max_bytes: 64K}}\n"
                "  - {name: default, pull: {vm: a, src: /small, dst: logs/}}\n"));
  std::vector<std::uint64_t> caps;
  e.testbed.on_transfer = [&](const std::string& what) -> Transfer {
    caps.push_back(e.testbed.last_max_bytes);
    Transfer t;
    if (what.ends_with("big")) t.copied = make_error("pull stopped at 65536 bytes: the max_bytes limit of 65536 bytes is reached");
    else t.copied = what;
    return t;
  };
  auto cases = e.run_all();
  ASSERT_EQ(cases.size(), 2u);
  EXPECT_EQ(caps, (std::vector<std::uint64_t>{64 * 1024, 1ull << 30}));
  EXPECT_EQ(cases[0].status, CaseStatus::failed);
  EXPECT_EQ(cases[0].message, "pull a:/big: pull stopped at 65536 bytes: the max_bytes limit of 65536 bytes is reached");
  EXPECT_EQ(cases[1].status, CaseStatus::passed) << cases[1].message;
}

TEST(StepEngine, AStopRequestSkipsWhatIsLeft) {
  Engine e(with("  - {name: first, vm: a, run: 'true'}\n  - {name: second, vm: a, run: 'true'}\n"));
  std::atomic<int> stop{0};
  e.testbed.on_run = [&](const test::RunCall&) -> Result<CommandResult> {
    stop = 15;  // SIGTERM arrives while the first step runs
    return make_error("ssh to a: interrupted by signal 15");
  };
  auto cases = e.run_all(&stop);
  ASSERT_EQ(cases.size(), 2u);
  EXPECT_EQ(cases[0].status, CaseStatus::skipped);
  EXPECT_EQ(cases[0].message, "interrupted (SIGTERM) while running");
  EXPECT_EQ(cases[1].status, CaseStatus::skipped);
  EXPECT_EQ(cases[1].message, "not run: interrupted (SIGTERM)");
}

TEST(StepEngine, RulesNoCheckHitAreReported) {
  Engine e(with("  - {name: r, reach: {from: a, to: host, port: 80, proto: tcp, expect: allow}}\n"));
  e.testbed.counters = {{"input", 1, "lan: allowed", 0, 0}, {"input", 2, "lan: drop", 0, 0}};
  StepEngine engine(e.testbed, e.planned->plan, e.testbed.clock().now() + std::chrono::seconds(10));
  // The probe "hits" rule 1: the counters move between the snapshots.
  e.testbed.on_probe = [&](const std::string&, const guest::ProbeRequest&) -> Result<guest::ProbeOutcome> {
    e.testbed.counters[0].packets = 3;
    return guest::ProbeOutcome{guest::Observed::open, std::chrono::microseconds(100), ""};
  };
  auto cases = engine.run_all();
  ASSERT_EQ(cases.size(), 1u);
  EXPECT_EQ(cases[0].extra["nft_rules_hit"].size(), 1u);
  EXPECT_EQ(engine.rules_not_covered(), std::optional<std::string>("  input: lan: drop\n"));
}

}  // namespace
}  // namespace meros
