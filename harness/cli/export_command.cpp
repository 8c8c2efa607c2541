// meros-test export libvirt SCENARIO [-o DIR]: resolves the scenario's
// fixtures (building what is missing, as build does), plans it as a run
// would, and writes what harness/export/ makes of the plan.
#include <unistd.h>

#include <iostream>
#include <thread>

#include "cli/commands.h"
#include "cli/console_reporter.h"
#include "export/libvirt.h"
#include "fixture/resolution.h"
#include "fixture/ssh_keys.h"
#include "plan/plan.h"
#include "report/atomic_file.h"
#include "util/exit_codes.h"
#include "util/path_join.h"
#include "util/text.h"
#include "util/whole_file.h"

namespace meros {
namespace {

constexpr const char* kWho = "meros-test export: ";

// The one scenario named, or exit 2 with why not.
std::optional<Scenario> load_one(const Options& options) {
  if (!options.arguments.empty() && options.arguments[0] != "libvirt") {
    std::cerr << kWho << "unknown format " << quote(options.arguments[0]) << ": libvirt is the one format (export libvirt SCENARIO)\n";
    return std::nullopt;
  }
  if (options.arguments.size() != 2) {
    std::cerr << kWho << "give one scenario: export libvirt SCENARIO [-o DIR]\n";
    return std::nullopt;
  }
  Diagnostics diagnostics;
  auto scenarios = load_scenarios({options.arguments[1]}, diagnostics);
  for (const auto& d : diagnostics.sorted()) std::cerr << d.str() << "\n";
  if (!diagnostics.empty()) return std::nullopt;
  if (scenarios.size() != 1) {
    std::cerr << kWho << options.arguments[1] << " holds " << scenarios.size() << " scenarios; name one\n";
    return std::nullopt;
  }
  return std::move(scenarios[0]);
}

// DIR, or why it cannot be one: checked before anything is resolved,
// created only when there is something to write.
Result<fs::path> output_dir(const Options& options, const Scenario& scenario) {
  fs::path dir = options.output_dir.value_or(fs::path(scenario.name + "-libvirt"));
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_directory(dir, ec))
    return make_error("-o " + dir.string() + ": not a directory; give a directory (it is created when missing)");
  return dir;
}

Status create_dir(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return make_error("-o " + dir.string() + ": cannot create it: " + ec.message());
  return {};
}

Result<ScenarioFixtures> resolve_fixtures(const Scenario& scenario, FixtureStore& store, int verbosity) {
  SystemProcessRunner runner;
  FileHashCache hashes(store.file_hash_cache());
  ConsoleReporter reporter(verbosity);
  BuildContext context{store, runner, hashes, reporter, static_cast<int>(std::max(1u, std::thread::hardware_concurrency()))};
  auto key = ensure_client_key(store.keys_dir());
  if (!key) return make_error("client key: " + key.error().message);
  ResolvedRecipes resolved = resolve_recipes(recipes_used({&scenario}), context);
  return fixtures_of(scenario, resolved, key->private_key);
}

// The plan of a run with the export's fixed run id; its work paths are
// never used.
Result<Plan> export_plan(const SelectedScenario& selected, const ScenarioFixtures& fixtures, const FixtureStore& store) {
  auto topology = net::plan_topology(selected.scenario, libvirt::kExportRunId);
  if (!topology) return topology.error();
  RunSettings settings;
  settings.run_id = libvirt::kExportRunId;
  settings.artifacts_root = store.root() / "tmp";
  settings.work_root = store.root() / "tmp";
  settings.socket_root = store.root() / "tmp";
  return plan_scenario(selected, fixtures, std::move(*topology), settings);
}

Status write_all(const std::vector<libvirt::ExportFile>& files, const fs::path& dir) {
  for (const auto& file : files) {
    auto target = child_path(dir, file.name, "export file");
    if (!target) return target.error();
    std::string content = file.content;
    if (!file.source.empty()) {
      auto text = read_whole_file(file.source);
      if (!text) return text.error();
      content = *text;
    }
    if (Status written = write_file_atomically(*target, content); !written) return written;
    std::cout << target->string() << "\n";
  }
  return {};
}

}  // namespace

int command_export(const Options& options) {
  auto scenario = load_one(options);
  if (!scenario) return exit_code::usage;
  auto dir = output_dir(options, *scenario);
  if (!dir) {
    std::cerr << kWho << dir.error().message << "\n";
    return exit_code::usage;
  }
  FixtureStore store(FixtureStore::default_root(options.cache_dir));
  if (Status safe = check_store_safety(store.root()); !safe) {
    std::cerr << kWho << safe.error().message << "\n";
    return exit_code::environment;
  }
  if (::geteuid() != 0) {
    std::cerr << kWho << "resolving fixtures needs root, as build does (chroot for hooks, file ownership in the image)\n";
    return exit_code::environment;
  }
  SelectedScenario selected{*scenario, std::vector<bool>(scenario->tests.size(), false)};
  auto fixtures = resolve_fixtures(selected.scenario, store, options.verbosity);
  if (!fixtures) {
    std::cerr << kWho << fixtures.error().message << "\n";
    return exit_code::test_failed;
  }
  auto plan = export_plan(selected, *fixtures, store);
  if (!plan) {
    std::cerr << kWho << plan.error().message << "\n";
    return exit_code::usage;
  }
  auto files = libvirt::export_files(*plan, fixtures->client_key);
  if (!files) {
    std::cerr << kWho << files.error().message << "\n";
    return exit_code::usage;
  }
  if (Status created = create_dir(*dir); !created) {
    std::cerr << kWho << created.error().message << "\n";
    return exit_code::usage;
  }
  if (Status written = write_all(*files, *dir); !written) {
    std::cerr << kWho << written.error().message << "\n";
    return exit_code::environment;
  }
  return exit_code::passed;
}

}  // namespace meros
