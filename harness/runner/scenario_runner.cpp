#include "runner/scenario_runner.h"

#include <thread>

#include "manifest/values.h"
#include "plan/plan.h"
#include "runner/case_facts.h"
#include "runner/constellation.h"
#include "runner/hooks.h"
#include "runner/run_state.h"
#include "runner/steps.h"
#include "util/signals.h"
#include "vm/boot_watch.h"

namespace meros {
namespace {

// Everything between "scenario selected" and "suite result".
class ScenarioRun {
 public:
  ScenarioRun(const SelectedScenario& selected, const RunSettings& settings, RunServices& services)
      : selected_(selected), settings_(settings), services_(services) {
    suite_.name = selected.scenario.name;
    suite_.path = selected.scenario.display_path;
    suite_.topology = describe_topology(selected.scenario);
    // JUnit <properties> and the JSON report both carry it.
    if (!selected.scenario.description.empty()) suite_.properties.push_back({"description", selected.scenario.description});
    suite_.timestamp = format_iso8601(std::chrono::system_clock::now());
  }

  SuiteResult run(const Result<ScenarioFixtures>& fixtures) {
    services_.printer.scenario_started(suite_.name);
    try {
      if (int signal = stopping()) skip_all("not run: interrupted (" + signal_name(signal) + ")");
      else if (auto plan = make_plan(fixtures); !plan) record_setup_failure(plan.error().message, nullptr);
      else run_planned(*plan);
    } catch (const std::exception& e) {
      // The constellation is gone by now: its destructor ran while unwinding.
      add_case(errored_case("scenario", std::string("internal error: ") + e.what()));
    }
    suite_.time = since_start(Clock::now());
    return suite_;
  }

  Status hold(const Result<ScenarioFixtures>& fixtures, const std::function<void(const std::string&)>& while_up) {
    auto plan = make_plan(fixtures);
    if (!plan) return plan.error();
    auto constellation = Constellation::bring_up(*plan, services_.runner, log());
    if (!constellation) return constellation.error();
    if (Status firewalls = constellation->load_guest_firewalls(); !firewalls) return firewalls.error();
    // `up` sets the constellation up as a run does, hooks included, and
    // `down` tears it down as a run does.
    HookRunner hooks(*plan, settings_.run_id, services_.runner, settings_.timeouts.scaled(kHookTimeout));
    Status up = run_up_hooks(hooks, *constellation);
    if (up) {
      (void)constellation->record("up", false);
      while_up(plan->state_id);
    }
    run_teardown_hooks(hooks, *constellation, *plan);
    print_hooks(hooks);
    // No verdict: on-failure's capture is not kept, always's is.
    finish_capture(constellation->stop_capture(), *plan);
    return up;
  }

 private:
  Result<Plan> make_plan(const Result<ScenarioFixtures>& fixtures) {
    if (!fixtures) return fixtures.error();
    auto topology = net::plan_topology(selected_.scenario, settings_.run_id);
    if (!topology) return make_error("network: " + topology.error().message);
    return plan_scenario(selected_, *fixtures, std::move(*topology), settings_);
  }

  void run_planned(const Plan& plan) {
    // The scenario's timeout counts from the start of its setup.
    auto deadline = vm::steady_clock().now() + plan.scenario_timeout;
    auto began = Clock::now();
    auto constellation = Constellation::bring_up(plan, services_.runner, log());
    timeline("network, boot, ssh", began, constellation.ok());
    if (!constellation) return record_setup_failure(constellation.error().message, &plan);
    began = Clock::now();
    Status firewalls = constellation->load_guest_firewalls();
    timeline("guest firewalls", began, firewalls.ok());
    HookRunner hooks(plan, settings_.run_id, services_.runner, settings_.timeouts.scaled(kHookTimeout));
    hooks.count_setup_against(deadline, format_duration(plan.scenario->timeout));
    Status up = firewalls ? run_up_hooks(hooks, *constellation) : Status{};
    if (!firewalls) {
      record_setup_failure(firewalls.error().message, &plan);
    } else if (!up) {
      record_setup_failure(up.error().message, &plan);
    } else {
      StepEngine engine(constellation->testbed(), plan, deadline, settings_.interrupted);
      engine.run_all([this, &plan](const TestStep& step, std::vector<CaseResult>& cases, Clock::time_point started) {
        add_step_facts(cases, step, since_start(started));
        for (auto& c : cases) {
          attach_evidence(c, step_vms(step), plan.artifacts, suite_.name);
          if (plan.capture != CaptureMode::off) point_at_capture(c, plan);
          add_case(c);
        }
      });
      record_coverage(engine);
      if (!all_passed(count_cases(suite_))) teardown_hook("on_failure", hooks.run_host("on_failure", plan.scenario->host_hooks.on_failure, false));
    }
    if (settings_.keep_on_failure && !all_passed(count_cases(suite_))) hold_for_inspection(*constellation, plan.state_id);
    run_teardown_hooks(hooks, *constellation, plan);
    report_hooks(hooks);
    finish_capture(constellation->stop_capture(), plan);
  }

  // A failed probe's detail names the bridge captures and a display filter
  // for its packets; the captures are among its attachments.
  void point_at_capture(CaseResult& c, const Plan& plan) {
    if (c.status != CaseStatus::failed || !c.extra.contains("probe")) return;
    std::string files;
    for (const auto& bridge : plan.topology.bridges) {
      std::error_code ec;
      if (!fs::exists(plan.capture_dir() / (bridge.ifname + ".pcapng"), ec)) continue;  // the capture did not start
      std::string file = suite_.name + "/capture/" + bridge.ifname + ".pcapng";
      c.attachments.push_back(file);
      files += (files.empty() ? "" : ", ") + file;
    }
    if (files.empty()) return;
    c.detail += "packet capture (in the artifacts): " + files + "\ndisplay filter: " + c.extra["probe"].value("display_filter", "") + "\n";
  }

  // capture: on-failure keeps the files of a scenario that did not pass;
  // always keeps them. Either way the report says what they hold.
  void finish_capture(const CaptureReport& capture, const Plan& plan) {
    if (plan.capture == CaptureMode::off) return;
    if (!capture.error.empty()) suite_.system_err += capture.error + "\n";
    bool keep = plan.capture == CaptureMode::always || !all_passed(count_cases(suite_));
    if (!keep) {
      std::error_code ec;
      fs::remove_all(plan.capture_dir(), ec);
      return;
    }
    for (const auto& file : capture.files) {
      std::string line = "packet capture of bridge " + file.bridge + ": " + file.file.string() + " (" + std::to_string(file.packets) + " packets";
      if (file.left_out) line += ", " + std::to_string(file.left_out) + " left out at the file's size bound";
      if (file.kernel_drops) line += ", " + std::to_string(file.kernel_drops) + " dropped by the kernel";
      line += ")" + (file.error.empty() ? "" : ", stopped early: " + file.error);
      suite_.system_out += line + "\n";
      suite_.properties.push_back({"capture." + file.bridge, suite_.name + "/capture/" + file.file.filename().string()});
    }
    if (!capture.files.empty())
      services_.printer.line(suite_.name, "packet capture: " + plan.capture_dir().string(), plan.capture == CaptureMode::on_failure);
  }

  // Teardown hooks run whatever happened before: failed tests, a failed
  // setup stage after the VMs were up, an interrupt.
  void run_teardown_hooks(HookRunner& hooks, Constellation& constellation, const Plan& plan) {
    teardown_hook("before_shutdown", hooks.run_guest("before_shutdown", constellation.testbed(), false));
    teardown_hook("before_down", hooks.run_host("before_down", plan.scenario->host_hooks.before_down, false));
  }

  static constexpr Duration kHookTimeout{60'000};  // the spec's default, before the multiplier

  // Guest on_boot hooks (each VM is ready), then the host's on_up (every VM
  // ready and firewalled): the last stage of setup.
  Status run_up_hooks(HookRunner& hooks, Constellation& constellation) {
    const Scenario& scenario = selected_.scenario;
    bool any_boot = false;
    for (const auto& vm : scenario.vms) any_boot |= !vm.guest_hooks.on_boot.empty();
    if (any_boot) {
      auto began = Clock::now();
      Status boot = hooks.run_guest("on_boot", constellation.testbed(), true);
      timeline("on_boot hooks", began, boot.ok());
      if (!boot) return boot;
    }
    if (scenario.host_hooks.on_up.empty()) return {};
    auto began = Clock::now();
    Status up = hooks.run_host("on_up", scenario.host_hooks.on_up, true);
    timeline("on_up hooks", began, up.ok());
    return up;
  }

  // A failing teardown hook is reported; teardown goes on.
  void teardown_hook(const std::string& event, const Status& status) {
    if (status) return;
    services_.printer.line(suite_.name, "hook failed: " + status.error().message, true);
    suite_.system_err += event + " hook failed: " + status.error().message + "\n";
  }

  void report_hooks(const HookRunner& hooks) {
    for (const auto& o : hooks.outcomes()) {
      std::string where = o.vm.empty() ? "" : " (VM " + o.vm + ")";
      suite_.system_out += "hook " + o.event + " " + o.hook + where + ": " + (o.ok ? "ok" : o.message) + ", output in " + o.log.string() + "\n";
      if (!o.output.empty()) suite_.system_out += o.output + (o.output.back() == '\n' ? "" : "\n");
      suite_.hooks.push_back({o.event, o.vm, o.hook, o.ok, o.message, o.output, o.log.string()});
    }
  }

  // `up` has no report: each hook's outcome goes to its log (up.log).
  void print_hooks(const HookRunner& hooks) {
    for (const auto& o : hooks.outcomes()) {
      std::string where = o.vm.empty() ? "" : " (VM " + o.vm + ")";
      services_.printer.line(suite_.name, "hook " + o.event + " " + o.hook + where + ": " + (o.ok ? "ok" : o.message) + ", output in " + o.log.string(), !o.ok);
    }
  }

  ConstellationLog log() {
    return {[this](const std::string& text) {
              services_.printer.line(suite_.name, text, false);
              suite_.system_out += text + "\n";
            },
            [this](const std::string& text) { suite_.system_err += text + "\n"; },
            [this](const std::string& vm, std::chrono::milliseconds boot) {
              double took = std::chrono::duration<double>(boot).count();
              suite_.timeline.push_back({vm + " ready", since_start(Clock::now()) - took, took, true});
            }};
  }

  using Clock = std::chrono::steady_clock;

  double since_start(Clock::time_point when) const { return std::chrono::duration<double>(when - started_).count(); }

  // A set-up stage on the report's timeline.
  void timeline(const std::string& name, Clock::time_point began, bool ok) {
    suite_.timeline.push_back({name, since_start(began), since_start(Clock::now()) - since_start(began), ok});
  }

  int stopping() const { return settings_.interrupted ? settings_.interrupted->load() : 0; }

  CaseResult errored_case(const std::string& name, const std::string& message) const {
    CaseResult c;
    c.name = name;
    c.classname = suite_.name;
    c.status = CaseStatus::errored;
    c.message = message;
    return c;
  }

  void skip_all(const std::string& why) {
    const auto& tests = selected_.scenario.tests;
    for (std::size_t i = 0; i < tests.size(); ++i) {
      if (!selected_.run_test[i]) continue;
      std::vector<CaseResult> cases;
      for (const auto& name : case_names(tests[i])) {
        CaseResult c;
        c.name = name;
        c.classname = suite_.name;
        c.status = CaseStatus::skipped;
        c.message = why;
        cases.push_back(std::move(c));
      }
      add_step_facts(cases, tests[i], since_start(Clock::now()));
      for (auto& c : cases) add_case(std::move(c));
    }
  }

  void add_case(CaseResult c) {
    services_.printer.step_finished(suite_.name, c);
    suite_.cases.push_back(std::move(c));
  }

  // The serial consoles of the VMs that got as far as booting.
  static std::string console_evidence(const Plan& plan) {
    std::string out;
    for (const auto& vm : plan.vms) {
      std::error_code ec;
      if (!fs::exists(vm.machine.console_log, ec)) continue;
      out += "--- serial console of " + vm.name() + " (last 50 lines) ---\n" + vm::log_tail(vm.machine.console_log, 50) + "\n";
    }
    return out;
  }

  void record_setup_failure(const std::string& failure, const Plan* plan) {
    // A signal also reaches the helpers setup runs (qemu-img, nft…): whatever
    // failed then failed because the user stopped the run, so say that first.
    std::string message = failure;
    if (int signal = stopping(); signal && failure.find("interrupted by") == std::string::npos)
      message = "setup interrupted by " + signal_name(signal) + "\n" + failure;
    std::size_t first_line_end = message.find('\n');
    CaseResult c = errored_case("scenario setup", message.substr(0, first_line_end));
    std::string rest = first_line_end == std::string::npos ? "" : message.substr(first_line_end + 1) + "\n\n";
    c.detail = rest + (plan ? console_evidence(*plan) : "");
    c.kind = "setup";
    c.line = 1;
    c.started = suite_.timeline.empty() ? 0 : suite_.timeline.back().started;
    if (plan) {
      std::vector<std::string> names;
      for (const auto& vm : plan->vms) names.push_back(vm.name());
      attach_evidence(c, names, plan->artifacts, suite_.name);
    }
    add_case(std::move(c));
    if (int signal = stopping()) skip_all("not run: interrupted (" + signal_name(signal) + ")");
    else skip_all("not run: the scenario's setup failed");
  }

  // Generated rules no check ever hit: policy the tests do not cover.
  void record_coverage(const StepEngine& engine) {
    auto uncovered = engine.rules_not_covered();
    if (!uncovered) return;
    suite_.properties.push_back({"nft_rules_not_covered", uncovered->empty() ? "none" : *uncovered});
    if (!uncovered->empty()) suite_.system_out += "generated rules no check hit (not covered):\n" + *uncovered;
  }

  // --keep-on-failure: the failed constellation stays up, reachable with
  // the lifecycle commands, until `meros-test down` (or a signal).
  void hold_for_inspection(Constellation& constellation, const std::string& id) {
    (void)constellation.record("up", true);
    services_.printer.line(suite_.name, "kept running for inspection (--keep-on-failure):", true);
    services_.printer.line(suite_.name, "  meros-test status | exec " + id + " VM -- CMD | connect " + id + " VM", true);
    services_.printer.line(suite_.name, "  meros-test down " + id + "   (or Ctrl-C) tears it down and writes the report", true);
    while (!stopping() && !take_release(run_state_dir(), id)) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }

  const SelectedScenario& selected_;
  const RunSettings& settings_;
  RunServices& services_;
  SuiteResult suite_;
  Clock::time_point started_ = Clock::now();  // the suite's time and timeline count from here
};

}  // namespace

SuiteResult run_scenario(const SelectedScenario& selected, const Result<ScenarioFixtures>& fixtures, const RunSettings& settings,
                         RunServices& services) {
  return ScenarioRun(selected, settings, services).run(fixtures);
}

Status hold_scenario(const SelectedScenario& selected, const Result<ScenarioFixtures>& fixtures, const RunSettings& settings,
                     RunServices& services, const std::function<void(const std::string& state_id)>& while_up) {
  return ScenarioRun(selected, settings, services).hold(fixtures, while_up);
}

}  // namespace meros
