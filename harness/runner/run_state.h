// The run-state file of a scenario run: run id, owner (pid and its start
// time, so a recycled pid is not mistaken for the owner) and every host
// resource the run created. `meros-test gc` reads these files to remove
// what a killed run left behind, and never touches a live run.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/result.h"

namespace meros {

namespace fs = std::filesystem;

// A process identified beyond its pid.
struct ProcessIdentity {
  int pid = 0;
  unsigned long long start_time = 0;  // field 22 of /proc/<pid>/stat
};

std::optional<unsigned long long> process_start_time(int pid);
ProcessIdentity current_process();
bool is_alive(const ProcessIdentity& process);

// One VM of a running scenario, as the lifecycle commands reach it.
struct VmRecord {
  std::string name;
  std::string management_address;  // the guest's end of its management link, inside netns
  std::string addresses;           // "bridge=address ..." for status
  std::string user = "root";
  std::string host_key;            // pinned by exec, connect, push and pull
};

struct RunState {
  std::string run_id;
  std::string scenario;        // its name
  std::string scenario_path;   // manifest, absolute
  std::string mode = "test";   // "test" (a run) or "up" (a constellation left running)
  bool kept_for_inspection = false;  // a failed run held by --keep-on-failure until `down`
  ProcessIdentity owner;
  std::string created_at;      // ISO 8601
  std::string netns;           // the scenario's namespace
  std::vector<ProcessIdentity> processes;  // QEMU and helpers, killed by process group
  std::vector<std::string> paths;          // overlay and temp directories to remove
  std::string client_key;                  // the private key every VM trusts
  std::vector<VmRecord> vms;

  const VmRecord* find_vm(const std::string& name) const;
  nlohmann::json to_json() const;
  static Result<RunState> from_json(const nlohmann::json& json);
};

// /run/meros-test, or $MEROS_TEST_RUN_DIR.
fs::path run_state_dir();
std::string new_run_id();

// Writes state atomically as <dir>/<run id>.json.
Status save_run_state(const fs::path& dir, const RunState& state);
Status remove_run_state(const fs::path& dir, const std::string& run_id);
std::vector<RunState> load_run_states(const fs::path& dir);

// Whether gc, running as root, may remove a path a state file records: an
// absolute, plain path with the run id as one of its parts (runs/<id>/… in
// the store, the run's socket directory). A state file naming anything else
// (a bug, or a tampered file) cannot make gc delete it.
bool is_run_path(const fs::path& path, const std::string& run_id);

// A run that keeps a failed scenario up (--keep-on-failure) holds it until
// `down` asks for it back with <dir>/<id>.release; the run then tears that
// scenario down and goes on, not interrupted.
Status request_release(const fs::path& dir, const std::string& id);
// True once, when a release was requested (the request is consumed).
bool take_release(const fs::path& dir, const std::string& id);

}  // namespace meros
