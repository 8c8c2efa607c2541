// meros-test run: the pipeline for every selected scenario, the reports,
// the exit code. Signals stop the run after teardown (128 + signal).
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <iostream>
#include <mutex>
#include <thread>

#include "cli/commands.h"
#include "cli/console_reporter.h"
#include "fixture/ssh_keys.h"
#include "report/github.h"
#include "report/write_reports.h"
#include "runner/run_state.h"
#include "runner/scenario_runner.h"
#include "util/exit_codes.h"
#include "util/signals.h"
#include "vm/accel.h"

#ifndef MEROS_VERSION
#define MEROS_VERSION "0.0.0"
#endif

namespace meros {
namespace {

// How much the run prints: -q only failures and the summary, -v also the
// progress lines of each scenario (boot, firewalls, listeners).
struct Verbosity {
  bool quiet = false;
  int level = 0;
  bool colors = false;
};

Verbosity verbosity_of(const Options& options) {
  return {options.quiet, options.verbosity, colors_enabled(options.color, STDOUT_FILENO)};
}

// One line a step; failures with their message and evidence.
class ConsoleStepPrinter : public StepPrinter {
 public:
  explicit ConsoleStepPrinter(Verbosity verbosity) : verbosity_(verbosity) {}
  void scenario_started(const std::string& scenario) override {
    if (!verbosity_.quiet) print(paint("== " + scenario, Paint::bold, verbosity_.colors));
  }
  void line(const std::string& scenario, const std::string& text, bool important) override {
    if ((important && !verbosity_.quiet) || verbosity_.level > 0) print("   [" + scenario + "] " + text);
  }
  void step_finished(const std::string& scenario, const CaseResult& c) override {
    bool bad = c.status == CaseStatus::failed || c.status == CaseStatus::errored;
    if (verbosity_.quiet && !bad) return;
    std::string text = "   [" + scenario + "] " + label(c.status) + " " + c.name + "  (" +
                       std::to_string(static_cast<long long>(c.time * 1000)) + " ms)";
    if (c.flaky) text += "  flaky: passed on attempt " + std::to_string(c.attempts.size());
    if (!c.message.empty() && c.status != CaseStatus::passed) text += "\n         " + c.message;
    if (!c.detail.empty() && c.status != CaseStatus::passed && c.status != CaseStatus::skipped) text += "\n" + indent(c.detail);
    print(text);
  }

 private:
  std::string label(CaseStatus status) const {
    static const char* labels[] = {"PASS ", "FAIL ", "ERROR", "SKIP "};
    static const Paint colours[] = {Paint::green, Paint::red, Paint::red, Paint::yellow};
    int i = static_cast<int>(status);
    return paint(labels[i], colours[i], verbosity_.colors);
  }
  static std::string indent(const std::string& text) {
    std::string out = "         ";
    for (char ch : text) {
      out += ch;
      if (ch == '\n') out += "         ";
    }
    return out;
  }
  void print(const std::string& text) {
    std::lock_guard<std::mutex> lock(mutex_);
    std::cout << text << std::endl;
  }
  Verbosity verbosity_;
  std::mutex mutex_;
};

// Missing tools or permissions: exit 3 with the reason.
std::string environment_problem() {
  if (::geteuid() != 0) return "running scenarios needs root (network namespaces, taps, nftables inside them)";
  for (const char* tool : {"qemu-system-x86_64", "qemu-img", "mkfs.ext4", "tar"})
    if (!find_program(tool)) return std::string(tool) + " is missing: run ci/install-deps.sh";
  return "";
}

RunReport new_report(const RunSettings& settings, const Options& options) {
  RunReport report;
  report.run_id = settings.run_id;
  report.started = format_iso8601(std::chrono::system_clock::now());
  report.hostname = current_hostname();
  report.artifacts_dir = settings.artifacts_root.string();
  std::error_code ec;
  report.working_dir = fs::current_path(ec).string();
  report.properties = {{"meros_test_version", MEROS_VERSION},
                       {"run_id", settings.run_id},
                       {"accel", std::string(vm::to_string(settings.accel.accel))},
                       {"accel_reason", settings.accel.reason},
                       {"timeout_multiplier", std::to_string(settings.timeouts.multiplier)},
                       {"jobs", std::to_string(options.jobs)}};
  return report;
}

SuiteResult errored_suite(const Scenario& scenario, const std::string& message) {
  SuiteResult suite;
  suite.name = scenario.name;
  suite.path = scenario.display_path;
  CaseResult c;
  c.name = "scenario";
  c.classname = scenario.name;
  c.status = CaseStatus::errored;
  c.message = message;
  suite.cases.push_back(c);
  return suite;
}

// The fixtures stage: every recipe the scenarios use, found or built once,
// serially, before any scenario starts.
std::vector<Result<ScenarioFixtures>> resolve_all(const std::vector<SelectedScenario>& selected, FixtureStore& store,
                                                  ProcessRunner& runner, int verbosity) {
  FileHashCache hashes(store.file_hash_cache());
  ConsoleReporter reporter(verbosity);
  BuildContext context{store, runner, hashes, reporter, static_cast<int>(std::max(1u, std::thread::hardware_concurrency()))};
  std::vector<Result<ScenarioFixtures>> fixtures;
  auto key = ensure_client_key(store.keys_dir());
  if (!key) {
    for (std::size_t i = 0; i < selected.size(); ++i) fixtures.push_back(make_error("client key: " + key.error().message));
    return fixtures;
  }
  std::vector<const Scenario*> scenarios;
  for (const auto& s : selected) scenarios.push_back(&s.scenario);
  ResolvedRecipes resolved = resolve_recipes(recipes_used(scenarios), context);
  for (const auto& s : selected) fixtures.push_back(fixtures_of(s.scenario, resolved, key->private_key));
  return fixtures;
}

// One worker a job; each takes the next scenario. run_scenario turns every
// failure into the suite; the catch is the last line against a harness bug
// reaching std::thread (std::terminate: no teardown, no report).
std::vector<SuiteResult> run_all(const std::vector<SelectedScenario>& selected, const std::vector<Result<ScenarioFixtures>>& fixtures,
                                 const RunSettings& settings, RunServices& services, int jobs) {
  std::vector<SuiteResult> suites(selected.size());
  std::atomic<std::size_t> next{0};
  auto worker = [&] {
    for (std::size_t i; (i = next++) < selected.size();) {
      try {
        suites[i] = run_scenario(selected[i], fixtures[i], settings, services);
      } catch (const std::exception& e) {
        suites[i] = errored_suite(selected[i].scenario, std::string("internal error: ") + e.what());
      } catch (...) {
        suites[i] = errored_suite(selected[i].scenario, "internal error: an unknown exception");
      }
    }
  };
  std::vector<std::thread> workers;
  for (int j = 0; j < std::max(1, std::min<int>(jobs, static_cast<int>(selected.size()))); ++j) workers.emplace_back(worker);
  for (auto& w : workers) w.join();
  return suites;
}

void print_summary(const RunReport& report, const fs::path& junit, const fs::path& html, bool colors) {
  Counts counts = count_cases(report);
  auto count = [&](int n, const char* what, Paint colour) {
    std::string text = std::to_string(n) + " " + what;
    return n > 0 ? paint(text, colour, colors) : text;
  };
  std::cout << "\n" << report.suites.size() << " scenario(s): " << count(counts.passed(), "passed", Paint::green) << ", "
            << count(counts.failures, "failed", Paint::red) << ", " << count(counts.errors, "errored", Paint::red) << ", "
            << count(counts.skipped, "skipped", Paint::yellow);
  if (counts.flaky) std::cout << " (" << counts.flaky << " flaky)";
  std::cout << " in " << static_cast<long long>(total_time(report)) << " s\nreport: " << junit.string()
            << "\nhtml:   " << html.string() << "\n";
}

// The settings every command that boots VMs shares; prints the choice.
Result<RunSettings> prepare_settings(const Options& options, const FixtureStore& store) {
  if (Status safe = check_store_safety(store.root()); !safe) return safe.error();
  auto accel = vm::detect_accel(options.accel, store.root() / "accel-probe.json");
  if (!accel) return accel.error();
  RunSettings settings;
  settings.run_id = new_run_id();
  settings.accel = *accel;
  settings.timeouts.multiplier = options.timeout_multiplier.value_or(accel->accel == vm::Accel::tcg ? 3.0 : 1.0);
  settings.artifacts_root = fs::absolute(options.artifacts.value_or(fs::path("reports") / settings.run_id));
  settings.work_root = store.root() / "runs" / settings.run_id;
  settings.socket_root = run_state_dir();
  settings.interrupted = &stop_signal();
  settings.keep_on_failure = options.keep_on_failure;
  settings.capture = options.capture;
  return settings;
}

// A terminal-less child that owns an `up` constellation until SIGTERM.
[[noreturn]] void run_constellation(const SelectedScenario& selected, const RunSettings& settings, FixtureStore& store, int ready_fd) {
  ::setsid();
  std::error_code ec;
  fs::create_directories(settings.artifacts_root, ec);
  fs::path log = settings.artifacts_root / "up.log";
  std::freopen(log.c_str(), "a", stdout);
  std::freopen(log.c_str(), "a", stderr);
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  sigprocmask(SIG_BLOCK, &stop_signals, nullptr);
  SystemProcessRunner runner;
  ConsoleStepPrinter printer(Verbosity{false, 1, false});
  RunServices services{runner, printer};
  auto fixtures = resolve_all({selected}, store, runner, 1);
  Status held = hold_scenario(selected, fixtures[0], settings, services, [&](const std::string& state_id) {
    std::string line = "ready " + state_id + "\n";
    (void)!::write(ready_fd, line.data(), line.size());
    ::close(ready_fd);
    int signal = 0;
    sigwait(&stop_signals, &signal);
  });
  if (!held) {
    std::string line = "failed " + held.error().message + "\n";
    (void)!::write(ready_fd, line.data(), line.size());
  }
  fs::remove_all(settings.work_root, ec);  // runs/<id>/, empty once the scenario is torn down
  std::fflush(nullptr);
  _exit(held ? 0 : 1);
}

}  // namespace

int command_up(const Options& options) {
  if (options.arguments.size() != 1) {
    std::cerr << "meros-test up: give exactly one scenario\n";
    return exit_code::usage;
  }
  Diagnostics diagnostics;
  auto scenarios = load_scenarios(options.arguments, diagnostics);
  if (!diagnostics.empty() || scenarios.size() != 1) {
    for (const auto& d : diagnostics.sorted()) std::cerr << d.str() << "\n";
    if (diagnostics.empty()) std::cerr << "meros-test up: " << options.arguments[0] << " holds " << scenarios.size() << " scenarios; name one\n";
    return exit_code::usage;
  }
  if (std::string problem = environment_problem(); !problem.empty()) {
    std::cerr << "meros-test up: " << problem << "\n";
    return exit_code::environment;
  }
  FixtureStore store(FixtureStore::default_root(options.cache_dir));
  auto settings = prepare_settings(options, store);
  if (!settings) {
    std::cerr << "meros-test up: " << settings.error().message << "\n";
    return exit_code::environment;
  }
  SelectedScenario selected{scenarios[0], std::vector<bool>(scenarios[0].tests.size(), false)};
  std::cout << "meros-test up " << selected.scenario.name << ": booting (log: " << (settings->artifacts_root / "up.log").string() << ")" << std::endl;
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return exit_code::environment;
  pid_t child = ::fork();
  if (child == 0) {
    ::close(pipe_fds[0]);
    run_constellation(selected, *settings, store, pipe_fds[1]);
  }
  ::close(pipe_fds[1]);
  std::string answer;
  char buffer[512];
  // "ready ID\n", or "failed WHY" up to the child's exit (a failed hook's
  // reason carries the end of its output, over several lines).
  auto answered = [&] { return answer.starts_with("ready ") && answer.find('\n') != std::string::npos; };
  for (ssize_t n; !answered() && answer.size() < 64 * 1024 && (n = ::read(pipe_fds[0], buffer, sizeof buffer)) > 0;)
    answer.append(buffer, static_cast<std::size_t>(n));
  ::close(pipe_fds[0]);
  if (!answer.starts_with("ready ")) {
    std::cerr << "meros-test up: " << (answer.empty() ? "the constellation's process died" : answer.substr(7)) << "\n";
    return exit_code::test_failed;
  }
  std::string id = answer.substr(6, answer.find('\n') - 6);
  std::cout << "constellation " << id << " is up\n"
            << "  meros-test status\n  meros-test exec " << id << " VM -- COMMAND\n  meros-test connect " << id << " VM\n"
            << "  meros-test down " << id << "\n";
  return exit_code::passed;
}

int command_run(const Options& options) {
  std::vector<Scenario> scenarios;
  if (options.arguments.empty()) {
    std::cerr << "meros-test: give at least one scenario directory or .yml file, e.g. scenarios/\n";
    return exit_code::usage;
  }
  Diagnostics diagnostics;
  scenarios = load_scenarios(options.arguments, diagnostics);
  if (!diagnostics.empty()) {
    for (const auto& d : diagnostics.sorted()) std::cerr << d.str() << "\n";
    std::cerr << diagnostics.sorted().size() << " error(s); nothing was started\n";
    return exit_code::usage;
  }
  auto selected = select_scenarios(std::move(scenarios), selection_of(options));
  if (selected.empty()) {
    std::cerr << "meros-test: no scenario matches the selection\n";
    return exit_code::usage;
  }
  if (std::string problem = environment_problem(); !problem.empty()) {
    std::cerr << "meros-test: " << problem << "\n";
    return exit_code::environment;
  }
  FixtureStore store(FixtureStore::default_root(options.cache_dir));
  auto prepared = prepare_settings(options, store);
  if (!prepared) {
    std::cerr << "meros-test: " << prepared.error().message << "\n";
    return exit_code::environment;
  }
  RunSettings settings = *prepared;
  const vm::AccelChoice* accel = &settings.accel;
  if (!options.quiet)
    std::cout << "meros-test run " << settings.run_id << ": " << selected.size() << " scenario(s), accel "
              << vm::to_string(accel->accel) << " (" << accel->reason << "), timeouts x" << settings.timeouts.multiplier << "\n";
  start_signal_thread();
  SystemProcessRunner runner;
  ConsoleStepPrinter printer(verbosity_of(options));
  RunServices services{runner, printer};
  RunReport report = new_report(settings, options);
  // The stages, in order: fixtures for every scenario, then the scenarios.
  auto fixtures = resolve_all(selected, store, runner, options.quiet ? -1 : options.verbosity);
  report.suites = run_all(selected, fixtures, settings, services, options.jobs);
  std::error_code ec;
  fs::remove_all(settings.work_root, ec);
  fs::path junit = options.junit.value_or(settings.artifacts_root / "junit.xml");
  fs::path json = options.json.value_or(settings.artifacts_root / "report.json");
  fs::path html = settings.artifacts_root / "index.html";
  if (auto written = write_reports(report, junit, json, html); !written) std::cerr << "meros-test: " << written.error().message << "\n";
  if (auto published = publish_to_github(report, std::cout); !published) std::cerr << "meros-test: " << published.error().message << "\n";
  print_summary(report, junit, html, verbosity_of(options).colors);
  if (int signal = stop_signal().load()) return interrupted_exit_code(signal);
  return all_passed(count_cases(report)) ? exit_code::passed : exit_code::test_failed;
}

}  // namespace meros
