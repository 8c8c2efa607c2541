// meros-test build: builds (or finds cached) every kernel and image the
// selected scenarios name; --list and --prune manage the store.
#include <unistd.h>

#include <iomanip>
#include <iostream>
#include <set>
#include <thread>

#include "cli/commands.h"
#include "cli/console_reporter.h"
#include "fixture/cache_key.h"
#include "fixture/resolution.h"
#include "util/exit_codes.h"

namespace meros {
namespace {

std::string human_size(std::uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024 && unit < 3) {
    value /= 1024;
    ++unit;
  }
  std::ostringstream out;
  out << std::fixed << std::setprecision(unit ? 1 : 0) << value << " " << units[unit];
  return out.str();
}

// Fixtures built before keys held the architecture were x86_64 ones.
std::string fixture_arch(const CachedFixture& fixture) {
  if (fixture.manifest.contains("arch")) return fixture.manifest.value("arch", "x86_64");
  return fixture.manifest.contains("inputs") ? fixture.manifest["inputs"].value("arch", "x86_64") : "x86_64";
}

int list_store_json(const FixtureStore& store) {
  nlohmann::json fixtures = nlohmann::json::array();
  std::uint64_t total = 0;
  for (const auto& f : store.list()) {
    std::uint64_t size = f.size_bytes();
    total += size;
    fixtures.push_back({{"kind", std::string(to_string(f.kind))}, {"name", f.manifest.value("name", "")}, {"arch", fixture_arch(f)}, {"key", f.key},
                        {"size_bytes", size}, {"path", store.entry_dir(f.kind, f.key).string()}});
  }
  nlohmann::json document = {{"store", store.root().string()}, {"fixtures", fixtures}, {"total_bytes", total}};
  std::cout << document.dump(2) << "\n";
  return exit_code::passed;
}

int list_store(const FixtureStore& store, OutputFormat format) {
  if (format == OutputFormat::json) return list_store_json(store);
  auto fixtures = store.list();
  std::uint64_t total = 0;
  for (const auto& f : fixtures) {
    std::uint64_t size = f.size_bytes();
    total += size;
    std::cout << std::left << std::setw(11) << to_string(f.kind) << " " << std::setw(16) << f.manifest.value("name", "?")
              << " " << std::setw(8) << fixture_arch(f) << f.key.substr(0, 12) << "  " << std::right << std::setw(10) << human_size(size) << "\n";
  }
  std::cout << fixtures.size() << " fixture(s), " << human_size(total) << " in " << store.root().string() << "\n";
  return exit_code::passed;
}

// One line for CI caches; builds nothing and needs no root. The file-hash
// memo goes to a scratch directory: the store may not exist yet (the CI
// cache is restored under this key).
int print_cache_key(const std::vector<Scenario>& scenarios, FixtureStore& store, const Options& options) {
  std::error_code ec;
  fs::path scratch = fs::temp_directory_path(ec) / ("meros-cache-key." + std::to_string(::getpid()));
  fs::create_directories(scratch, ec);
  int code = exit_code::passed;
  {
    SystemProcessRunner runner;
    FileHashCache hashes(scratch / "file-hashes.json");
    ConsoleReporter reporter(options.verbosity);
    BuildContext context{store, runner, hashes, reporter, 1};
    auto key = fixtures_cache_key(scenarios, context);
    if (key) std::cout << *key << "\n";
    else {
      std::cerr << "meros-test build --cache-key: " << key.error().message << "\n";
      code = exit_code::environment;
    }
  }
  fs::remove_all(scratch, ec);
  return code;
}

}  // namespace

int command_build(const Options& options) {
  FixtureStore store(FixtureStore::default_root(options.cache_dir));
  if (Status safe = check_store_safety(store.root()); !safe) {
    std::cerr << "meros-test build: " << safe.error().message << "\n";
    return exit_code::environment;
  }
  if (options.list) return list_store(store, options.format);
  if (options.format == OutputFormat::json) {
    std::cerr << "meros-test build: --format json applies to build --list only\n";
    return exit_code::usage;
  }
  std::vector<std::string> paths = options.arguments;
  if (paths.empty()) paths.push_back("scenarios");
  Diagnostics diagnostics;
  std::vector<Scenario> scenarios = load_scenarios(paths, diagnostics);
  if (!diagnostics.empty()) {
    for (const auto& d : diagnostics.sorted()) std::cerr << d.str() << "\n";
    return exit_code::usage;
  }
  if (options.cache_key) return print_cache_key(scenarios, store, options);
  if (::geteuid() != 0) {
    std::cerr << "meros-test build: building images needs root (chroot for hooks, file ownership in the image)\n";
    return exit_code::environment;
  }
  SystemProcessRunner runner;
  FileHashCache hashes(store.file_hash_cache());
  ConsoleReporter reporter(options.verbosity);
  BuildContext context{store, runner, hashes, reporter, static_cast<int>(std::max(1u, std::thread::hardware_concurrency()))};
  std::vector<const Scenario*> chosen;
  for (const auto& scenario : scenarios) chosen.push_back(&scenario);
  ResolvedRecipes resolved = resolve_recipes(recipes_used(chosen, options.kernels, options.images), context);
  std::set<std::string> referenced;
  int failures = 0;
  for (const auto* fixtures : {&resolved.kernels, &resolved.images})
    for (const auto& [identity, built] : *fixtures) {
      if (built) {
        referenced.insert(built->key);
        // An image's applications are fixtures of their own, kept with it.
        for (const auto& app : built->manifest.value("applications", nlohmann::json::array()))
          if (app.is_object() && app.contains("key") && app["key"].is_string()) referenced.insert(app["key"].get<std::string>());
      } else {
        ++failures;
        std::cerr << "error: " << built.error().message << "\n";
      }
    }
  if (options.prune && failures == 0) {
    for (const auto& fixture : store.list()) {
      if (referenced.count(fixture.key)) continue;
      std::cout << "pruning " << to_string(fixture.kind) << " " << fixture.manifest.value("name", "?") << " (" << fixture.key.substr(0, 12) << ")\n";
      if (auto removed = store.remove(fixture); !removed) std::cerr << "error: " << removed.error().message << "\n";
    }
  }
  return failures ? exit_code::test_failed : exit_code::passed;
}

}  // namespace meros
