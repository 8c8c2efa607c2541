// Reports the report tests render: a run with every kind of case, and an
// empty run. Timestamps and host names are fixed so output is byte-stable.
#pragma once

#include "report/result.h"

namespace meros::testing {

inline CaseResult make_case(std::string name, std::string classname, CaseStatus status,
                            double time) {
  CaseResult c;
  c.name = std::move(name);
  c.classname = std::move(classname);
  c.status = status;
  c.time = time;
  return c;
}

inline SuiteResult web_firewall_suite() {
  SuiteResult suite;
  suite.name = "web-firewall";
  suite.path = "scenarios/web-firewall/scenario.yml";
  suite.properties = {{"tags", "firewall, smoke"}};
  suite.time = 42.5;
  suite.timestamp = "2024-05-01T12:00:01Z";
  suite.system_out = "booted web, client in 3.2 s (kvm)\n";

  suite.timeline = {{"fixtures", 0.0, 0.1, true}, {"network", 0.1, 0.2, true}, {"boot", 0.3, 3.2, true},
                    {"web ready", 0.3, 2.9, true}, {"ssh", 3.5, 0.2, true}};
  suite.topology.bridges = {{"lan", "10.0.10.0/24", "10.0.10.1", "host-access", "22, 80", "all", true},
                            {"dmz", "10.0.20.0/24", "10.0.20.1", "isolated", "all", "all", true}};
  suite.topology.vms = {{"web", "router", {{"lan", "10.0.10.21"}, {"dmz", "10.0.20.21"}}},
                        {"client", "busybox", {{"lan", "10.0.10.30"}}}};

  CaseResult passed = make_case("web answers locally", suite.name, CaseStatus::passed, 0.412);
  passed.stdout_text = "hello\n";
  passed.kind = "run";
  passed.step = passed.name;
  passed.line = 31;
  passed.started = 4.0;

  CaseResult failed =
      make_case("lan policy: client -> web 22/tcp", suite.name, CaseStatus::failed, 0.0034);
  failed.expected = "drop";
  failed.observed = "open in 3 ms";
  failed.message = "expected drop, observed open in 3 ms";
  failed.detail =
      "probe: client -> 10.0.10.21:22/tcp (timeout 1s)\n"
      "--- web console, last 2 lines ---\n"
      "[    1.204] sshd[88]: Server listening on 0.0.0.0 port 22.\n"
      "[    1.210] nft: table inet filter loaded";
  failed.attachments = {"web-firewall/web.serial.log", "web-firewall/nft-ruleset.txt"};
  failed.extra = {{"nft_counters", {{{"rule", "lan allowed_ports"}, {"packets", 1}}}},
                  {"check", {{"from", "client"}, {"to", "web"}, {"target", "22/tcp"}, {"expect", "drop"}}}};
  failed.kind = "matrix";
  failed.step = "lan policy";
  failed.line = 42;
  failed.started = 4.5;

  CaseResult flaky = make_case("web comes back after restart", suite.name, CaseStatus::passed, 2.2);
  flaky.stdout_text = "ok";
  flaky.retries = 2;
  flaky.flaky = true;
  flaky.attempts = {{CaseStatus::failed, 1.25, "exit 7, expected exit 0"},
                    {CaseStatus::passed, 0.95, ""}};
  flaky.kind = "run";
  flaky.step = flaky.name;
  flaky.line = 44;
  flaky.started = 4.6;

  CaseResult errored = make_case("collect logs", suite.name, CaseStatus::errored, 30);
  errored.message = "ssh to web failed: connection refused";
  errored.detail = "command: cat /var/log/messages\nssh 10.0.2.15:22: Connection refused";
  errored.stderr_text = "ssh: connect to host 10.0.2.15 port 22: Connection refused\n";
  errored.kind = "pull";
  errored.step = errored.name;
  errored.line = 48;
  errored.started = 6.8;

  CaseResult skipped = make_case("cut the lan link", suite.name, CaseStatus::skipped, 0);
  skipped.message = "not run: an earlier step errored";

  skipped.kind = "link";
  skipped.step = skipped.name;
  skipped.line = 51;
  skipped.started = 36.8;

  suite.cases = {passed, failed, flaky, errored, skipped};
  return suite;
}

// A passing row of the web-firewall suite's matrix, for tests that need both colours.
inline CaseResult passing_matrix_row() {
  CaseResult row_ok = make_case("lan policy: client -> web 80/tcp", "web-firewall", CaseStatus::passed, 0.0021);
  row_ok.expected = "allow";
  row_ok.observed = "open in 2 ms";
  row_ok.extra = {{"check", {{"from", "client"}, {"to", "web"}, {"target", "80/tcp"}, {"expect", "allow"}}}};
  row_ok.kind = "matrix";
  row_ok.step = "lan policy";
  row_ok.line = 41;
  row_ok.started = 4.5;
  return row_ok;
}

inline SuiteResult special_characters_suite() {
  SuiteResult suite;
  suite.name = "quotes \"double\" & 'single' <tags>";
  suite.path = "scenarios/special/scenario.yml";
  suite.time = 3.0;
  suite.timestamp = "2024-05-01T12:00:44Z";
  suite.system_err = "console bell \a rang\r\n";

  CaseResult matrix = make_case("matrix: client -> host 8080/tcp <&\"'>", suite.name,
                                CaseStatus::failed, 1.0009);
  matrix.expected = "reject";
  matrix.observed = "timeout after 1000 ms";
  matrix.detail = "escape \x1b[31mred\x1b[0m, nul-free \x01\x02 controls, tab\tkept, \xC3\xBC ok\n";
  matrix.stdout_text = "invalid utf-8 \xFF\xFE here\n";
  matrix.retries = 1;
  matrix.attempts = {{CaseStatus::failed, 0.5, "timeout\nafter 500 ms"},
                     {CaseStatus::failed, 0.5009, "timeout after 500 ms"}};

  suite.cases = {matrix};
  return suite;
}

inline SuiteResult empty_suite() {
  SuiteResult suite;
  suite.name = "no-tests";
  suite.path = "scenarios/no-tests/scenario.yml";
  suite.time = 0.25;
  suite.timestamp = "2024-05-01T12:00:48Z";
  return suite;
}

inline RunReport sample_report() {
  RunReport report;
  report.run_id = "20240501-120000-ab12";
  report.started = "2024-05-01T12:00:00Z";
  report.hostname = "ci-runner-7";
  report.artifacts_dir = "/work/project/reports/artifacts";
  report.working_dir = "/work/project";
  report.properties = {{"accel", "kvm"},
                       {"meros-test version", "0.1.0"},
                       {"timeout multiplier", "1.5"}};
  report.suites = {web_firewall_suite(), special_characters_suite(), empty_suite()};
  return report;
}

inline RunReport empty_report() {
  RunReport report;
  report.run_id = "20240501-130000-cd34";
  report.started = "2024-05-01T13:00:00Z";
  report.hostname = "ci-runner-7";
  return report;
}

}  // namespace meros::testing
