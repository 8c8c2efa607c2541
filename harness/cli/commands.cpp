#include "cli/commands.h"

#include <iostream>

#include <nlohmann/json.hpp>

#include "manifest/loading.h"
#include "report/text.h"
#include "runner/selection.h"
#include "util/exit_codes.h"

namespace meros {
namespace {

void print_diagnostics(const Diagnostics& diagnostics) {
  for (const auto& d : diagnostics.sorted()) std::cerr << d.str() << "\n";
}

nlohmann::json diagnostics_json(const Diagnostics& diagnostics) {
  nlohmann::json errors = nlohmann::json::array();
  for (const auto& d : diagnostics.sorted())
    errors.push_back({{"file", d.mark.file}, {"line", d.mark.line}, {"column", d.mark.column}, {"message", d.message}});
  return errors;
}

// --format json: one document on stdout, the same facts as the text.
void print_json(const nlohmann::json& document) { std::cout << document.dump(2) << "\n"; }

// Loads the scenarios named by options, or prints why it cannot.
bool load_all(const Options& options, std::vector<Scenario>& scenarios) {
  if (options.arguments.empty()) {
    std::cerr << "meros-test " << options.command << ": give at least one scenario directory or .yml file, e.g. scenarios/\n";
    return false;
  }
  Diagnostics diagnostics;
  scenarios = load_scenarios(options.arguments, diagnostics);
  if (diagnostics.empty()) return true;
  print_diagnostics(diagnostics);
  std::cerr << diagnostics.sorted().size() << " error(s); nothing was started\n";
  return false;
}

std::string step_summary(const TestStep& step) {
  std::string kind(to_string(step.kind));
  if (step.kind == StepKind::matrix) kind += ", " + std::to_string(step.checks.size()) + " rows";
  return kind;
}

// Every event hook of a scenario, "event: path" (guest hooks "vm.event: path").
std::vector<std::string> hook_lines(const Scenario& scenario) {
  std::vector<std::string> out;
  auto add = [&out](const std::string& event, const std::vector<Hook>& hooks) {
    for (const auto& h : hooks) out.push_back(event + ": " + h.text);
  };
  add("on_up", scenario.host_hooks.on_up);
  add("before_down", scenario.host_hooks.before_down);
  add("on_failure", scenario.host_hooks.on_failure);
  for (const auto& vm : scenario.vms) {
    add(vm.name + ".on_boot", vm.guest_hooks.on_boot);
    add(vm.name + ".before_shutdown", vm.guest_hooks.before_shutdown);
  }
  return out;
}

// Every static application of the images a scenario's VMs use, by image
// then application name.
nlohmann::json applications_json(const Scenario& scenario) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [image, recipe] : scenario.images)
    for (const auto& app : recipe.applications)
      out.push_back({{"image", image}, {"name", app.name}, {"install", app.install},
                     {"source", app.url.empty() ? app.source.lexically_relative(scenario.dir).string() : app.url}});
  return out;
}

// Every VM's shared folders: vm, host directory (relative to the scenario), mount point, mode.
nlohmann::json shared_json(const Scenario& scenario) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& vm : scenario.vms)
    for (const auto& folder : vm.shared)
      out.push_back({{"vm", vm.name}, {"host", folder.host_dir.lexically_relative(scenario.dir).string()},
                     {"guest", folder.guest_path}, {"mode", folder.writable ? "rw" : "ro"}});
  return out;
}

nlohmann::json list_json(const std::vector<SelectedScenario>& selected) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [scenario, run_test] : selected) {
    nlohmann::json tests = nlohmann::json::array();
    for (std::size_t i = 0; i < scenario.tests.size(); ++i) {
      if (!run_test[i]) continue;
      const TestStep& step = scenario.tests[i];
      nlohmann::json test = {{"name", step.name}, {"kind", std::string(to_string(step.kind))}};
      if (step.kind == StepKind::matrix) test["rows"] = step.checks.size();
      tests.push_back(test);
    }
    out.push_back({{"name", scenario.name}, {"path", scenario.display_path}, {"tags", scenario.tags}, {"hooks", hook_lines(scenario)},
                   {"applications", applications_json(scenario)}, {"shared", shared_json(scenario)}, {"tests", tests}});
  }
  return out;
}

}  // namespace

Selection selection_of(const Options& options) { return {options.patterns, options.tags, options.shard}; }

int command_validate(const Options& options) {
  if (options.arguments.empty()) {
    std::cerr << "meros-test validate: give at least one scenario directory or .yml file, e.g. scenarios/\n";
    return exit_code::usage;
  }
  Diagnostics diagnostics;
  std::vector<Scenario> scenarios = load_scenarios(options.arguments, diagnostics);
  if (options.format == OutputFormat::json) {
    nlohmann::json valid = nlohmann::json::array();
    for (const auto& s : scenarios)
      valid.push_back({{"name", s.name}, {"path", s.display_path}, {"vms", s.vms.size()}, {"bridges", s.bridges.size()},
                       {"tests", s.tests.size()}});
    print_json({{"valid", diagnostics.empty()}, {"scenarios", valid}, {"errors", diagnostics_json(diagnostics)}});
    return diagnostics.empty() ? exit_code::passed : exit_code::usage;
  }
  for (const auto& s : scenarios)
    std::cout << s.display_path << ": ok (" << s.vms.size() << " VMs, " << s.bridges.size() << " bridges, "
              << s.tests.size() << " tests)\n";
  if (diagnostics.empty()) return exit_code::passed;
  print_diagnostics(diagnostics);
  std::cerr << diagnostics.sorted().size() << " error(s)\n";
  return exit_code::usage;
}

int command_list(const Options& options) {
  std::vector<Scenario> scenarios;
  if (!load_all(options, scenarios)) return exit_code::usage;
  auto selected = select_scenarios(std::move(scenarios), selection_of(options));
  if (options.format == OutputFormat::json) {
    print_json({{"scenarios", list_json(selected)}});
    return exit_code::passed;
  }
  for (const auto& [scenario, run_test] : selected) {
    std::cout << scenario.name << "  (" << scenario.display_path << ")";
    if (!scenario.tags.empty()) {
      std::cout << "  [";
      for (std::size_t i = 0; i < scenario.tags.size(); ++i) std::cout << (i ? ", " : "") << scenario.tags[i];
      std::cout << "]";
    }
    std::cout << "\n";
    if (!scenario.description.empty()) std::cout << "  " << one_line(scenario.description) << "\n";
    for (const auto& hook : hook_lines(scenario)) std::cout << "  hook " << hook << "\n";
    for (const auto& app : applications_json(scenario))
      std::cout << "  application " << app["image"].get<std::string>() << "." << app["name"].get<std::string>() << ": "
                << app["source"].get<std::string>() << " -> " << app["install"].get<std::string>() << "\n";
    for (const auto& share : shared_json(scenario))
      std::cout << "  shared " << share["vm"].get<std::string>() << ":" << share["guest"].get<std::string>() << " <- "
                << share["host"].get<std::string>() << " (" << share["mode"].get<std::string>() << ")\n";
    for (std::size_t i = 0; i < scenario.tests.size(); ++i)
      if (run_test[i]) std::cout << "  - " << scenario.tests[i].name << "  (" << step_summary(scenario.tests[i]) << ")\n";
  }
  std::cout << selected.size() << " scenario(s)\n";
  return exit_code::passed;
}

}  // namespace meros
