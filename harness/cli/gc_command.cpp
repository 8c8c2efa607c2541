// meros-test gc and status: what runs left behind, read from their
// run-state files, plus the stale cgroups and staging directories of
// killed builds. gc removes the resources of runs whose owner is gone
// (its pid no longer runs, or runs another program); a live run's are never
// touched, nor anything a run did not record as its own.
#include <signal.h>

#include <iostream>
#include <thread>

#include "cli/commands.h"
#include "fixture/store.h"
#include "net/netns.h"
#include "runner/run_state.h"
#include "util/child_cgroup.h"
#include "util/exit_codes.h"

namespace meros {
namespace {

// SIGKILLs the process group of each recorded process that is still the
// same process (pid and start time), and waits for it to go.
int kill_processes(const RunState& state) {
  int killed = 0;
  for (const auto& process : state.processes) {
    if (!is_alive(process)) continue;
    ::kill(-process.pid, SIGKILL);
    ::kill(process.pid, SIGKILL);
    ++killed;
    for (int i = 0; i < 50 && is_alive(process); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return killed;
}

std::vector<std::string> collect(const RunState& state) {
  std::vector<std::string> problems;
  int killed = kill_processes(state);
  if (killed) std::cout << "  killed " << killed << " process group(s)\n";
  if (!state.netns.empty() && !net::list_netns(state.netns).empty()) {
    if (auto removed = net::remove_netns(state.netns); !removed) problems.push_back(removed.error().message);
    else std::cout << "  removed network namespace " << state.netns << "\n";
  }
  for (const auto& path : state.paths) {
    std::error_code ec;
    if (!fs::exists(fs::symlink_status(path, ec))) continue;
    if (!is_run_path(path, state.run_id)) {
      problems.push_back("left alone " + path + ": not a path of run " + state.run_id);
      continue;
    }
    fs::remove_all(path, ec);
    if (ec) problems.push_back("cannot remove " + path + ": " + ec.message());
    else std::cout << "  removed " << path << "\n";
    fs::remove(fs::path(path).parent_path(), ec);  // the run's directory, once empty
  }
  return problems;
}

// What no run-state file records: cgroups of helpers (a hook's daemon, a
// debootstrap child) and staging directories of builds whose harness died.
int collect_unrecorded(const Options& options) {
  std::vector<std::string> problems;
  for (const auto& line : collect_stale_cgroups(problems)) std::cout << line << "\n";
  FixtureStore store(FixtureStore::default_root(options.cache_dir));
  std::vector<fs::path> staging;
  // Removing under a store someone else controls could be turned against the host.
  if (Status safe = check_store_safety(store.root()); safe) staging = store.remove_stale_staging(problems);
  else std::cout << "gc: staging directories left alone: " << safe.error().message << "\n";
  for (const auto& path : staging) std::cout << "removed staging directory " << path.string() << "\n";
  for (const auto& p : problems) std::cerr << "  error: " << p << "\n";
  if (!staging.empty()) std::cout << "gc: " << staging.size() << " stale staging director" << (staging.size() == 1 ? "y" : "ies") << " removed\n";
  return static_cast<int>(problems.size());
}

}  // namespace

int command_gc(const Options& options) {
  fs::path dir = run_state_dir();
  int collected = 0, live = 0, failed = 0;
  for (const auto& state : load_run_states(dir)) {
    if (is_alive(state.owner)) {
      ++live;
      continue;
    }
    std::cout << "run " << state.run_id << " (" << state.scenario << ", owner pid " << state.owner.pid << " is gone)\n";
    auto problems = collect(state);
    for (const auto& p : problems) std::cerr << "  error: " << p << "\n";
    if (problems.empty()) {
      (void)remove_run_state(dir, state.run_id);
      ++collected;
    } else {
      ++failed;
    }
  }
  std::cout << "gc: " << collected << " run(s) removed, " << live << " live run(s) left alone";
  if (failed) std::cout << ", " << failed << " could not be removed completely";
  std::cout << "\n";
  if (collect_unrecorded(options) > 0) ++failed;
  return failed ? exit_code::test_failed : exit_code::passed;
}

// The facts of status, for --format json (no keys, no process lists).
nlohmann::json status_json(const std::vector<RunState>& states) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& state : states) {
    nlohmann::json vms = nlohmann::json::array();
    for (const auto& vm : state.vms)
      vms.push_back({{"name", vm.name}, {"mgmt", vm.management_address}, {"addresses", vm.addresses}});
    out.push_back({{"run_id", state.run_id}, {"scenario", state.scenario}, {"scenario_path", state.scenario_path},
                   {"mode", state.mode}, {"created_at", state.created_at}, {"owner_pid", state.owner.pid},
                   {"running", is_alive(state.owner)}, {"netns", state.netns}, {"vms", vms}});
  }
  return {{"constellations", out}};
}

int command_status(const Options& options) {
  auto states = load_run_states(run_state_dir());
  if (options.format == OutputFormat::json) {
    std::cout << status_json(states).dump(2) << "\n";
    return exit_code::passed;
  }
  if (states.empty()) {
    std::cout << "no running constellations\n";
    return exit_code::passed;
  }
  for (const auto& state : states) {
    std::cout << state.run_id << "  " << state.scenario << "  " << state.mode << "  since " << state.created_at << "  "
              << (is_alive(state.owner) ? "running" : "owner gone (meros-test gc removes it)") << "\n";
    for (const auto& vm : state.vms) std::cout << "    " << vm.name << "  mgmt " << vm.management_address << "  " << vm.addresses << "\n";
  }
  return exit_code::passed;
}

}  // namespace meros
