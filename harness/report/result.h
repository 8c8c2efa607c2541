// The result model of one meros-test run: what the report writers (JUnit,
// JSON, the console summary) read. Plain values: the runner owns a RunReport
// and fills it in as steps finish; the writers only read it, so rendering
// the same report twice gives the same bytes.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace meros {

// How one test step ended. `failed` means the user's assertion did not
// hold; `errored` means the harness could not carry the step out (boot
// failure, SSH down, a setup timeout): JUnit <failure> vs <error>.
enum class CaseStatus { passed, failed, errored, skipped };

std::string_view to_string(CaseStatus status);

// One name/value pair of a report's ordered property list.
struct Property {
  std::string name;
  std::string value;
};

// One run of a step; a step with `retries` may have several.
struct Attempt {
  CaseStatus status = CaseStatus::passed;
  double time = 0;      // seconds
  std::string message;  // one line; empty when the attempt passed
};

// One test step, or one row of a matrix: a JUnit testcase.
struct CaseResult {
  std::string name;
  std::string classname;  // the scenario name
  CaseStatus status = CaseStatus::passed;
  double time = 0;          // seconds, all attempts together
  std::string message;      // one line: "expected drop, observed open in 3 ms"
  std::string detail;       // the command, the verdict, the console tail
  std::string stdout_text;  // the step's standard output
  std::string stderr_text;  // the step's standard error
  // Bytes of each stream the step printed but did not keep (a step keeps
  // kStepOutputLimit of each, util/bounded_output.h).
  std::uint64_t stdout_dropped = 0, stderr_dropped = 0;
  std::string expected;     // e.g. "drop", "exit 0"
  std::string observed;     // e.g. "open in 3 ms", "exit 1"
  int retries = 0;          // reruns the manifest allowed (attempts <= retries + 1)
  std::vector<Attempt> attempts;         // every run, in order; may be empty for a single run
  bool flaky = false;                    // passed, but only after a failed attempt
  std::vector<std::string> attachments;  // paths relative to the artifacts directory
  nlohmann::json extra = nlohmann::json::object();  // free-form data, e.g. nft counters hit
  // Where the case comes from, for annotations and the HTML report.
  std::string kind;     // the step kind (run, reach, matrix, push, pull, link) or "setup"
  std::string step;     // the step's name; for a matrix row, the matrix's
  int line = 0;         // the step's manifest line; for a matrix row, the row's; 0 = unknown
  double started = 0;   // seconds from the suite's start to the step's start
};

// One stage of a scenario's set-up (fixtures, network, each VM's boot, SSH,
// guest firewalls), for the report's timeline.
struct TimelineEvent {
  std::string name;
  double started = 0;  // seconds from the suite's start
  double time = 0;     // seconds
  bool ok = true;
};

// What a scenario's network looks like, for the report's topology drawing:
// bridges with their policies and the VMs' addresses on them (management
// links are left out on purpose: no policy test sees them).
struct TopologyBridge {
  std::string name;
  std::string subnet;  // "10.0.10.0/24"
  std::string gateway;
  std::string policy;  // host-access | isolated
  std::string allowed_ports;  // "22, 80" or "all"
  std::string allowed_ips;    // "10.0.10.0/28" or "all"
  bool allow_icmp = true;
};

struct TopologyAddress {
  std::string bridge;
  std::string address;
};

struct TopologyVm {
  std::string name;
  std::string image;
  std::vector<TopologyAddress> addresses;  // in interface order (eth0, eth1, ...)
};

struct Topology {
  std::vector<TopologyBridge> bridges;
  std::vector<TopologyVm> vms;
};

// One scenario: a JUnit testsuite.
// One event hook that ran (runner/hooks.h), for the report.
struct HookResult {
  std::string event;   // on_up, before_down, on_failure, on_boot, before_shutdown
  std::string vm;      // guest hooks; empty for host hooks
  std::string hook;    // as written in the manifest
  bool ok = false;
  std::string message; // why it failed
  std::string output;  // the tail of its output
  std::string log;     // its whole output, in the artifacts
};

struct SuiteResult {
  std::string name;
  std::string path;                 // the scenario manifest, as given
  std::vector<Property> properties; // scenario-specific (tags, ...)
  double time = 0;                  // seconds, boot to teardown
  std::string timestamp;           // ISO 8601 start, see format_iso8601()
  std::vector<CaseResult> cases;
  std::string system_out;  // harness log for the scenario as a whole
  std::string system_err;
  std::vector<TimelineEvent> timeline;  // set-up stages in order; the steps are in `cases`
  Topology topology;
  std::vector<HookResult> hooks;  // in the order they ran
};

// One invocation of meros-test: the JUnit testsuites root.
struct RunReport {
  std::string run_id;
  std::string started;  // ISO 8601 wall clock, see format_iso8601()
  std::string hostname;
  std::string artifacts_dir;         // where attachment paths are rooted, as given by --artifacts
  std::string working_dir;           // the run's working directory: JUnit attachment paths are relative to it
  std::vector<Property> properties;  // accel, meros-test version, timeout multiplier, ...
  std::vector<SuiteResult> suites;
};

// Case counts in JUnit terms: a flaky case counts as passed (and in `flaky`).
struct Counts {
  int tests = 0;
  int failures = 0;
  int errors = 0;
  int skipped = 0;
  int flaky = 0;

  int passed() const { return tests - failures - errors - skipped; }
  Counts& operator+=(const Counts& other);
};

Counts count_cases(const SuiteResult& suite);
Counts count_cases(const RunReport& report);

// True when nothing failed or errored (skips do not count against a run).
bool all_passed(const Counts& counts);

// Sum of the suite times, in seconds.
double total_time(const RunReport& report);

// An attachment's path (relative to the artifacts directory) as seen from
// the run's working directory, as GitLab and Jenkins resolve it.
std::string attachment_path(const RunReport& report, const std::string& attachment);

// "2024-05-01T12:00:00Z": UTC, second precision.
std::string format_iso8601(std::chrono::system_clock::time_point when);

// The machine's host name, or "localhost" when it cannot be read.
std::string current_hostname();

}  // namespace meros
