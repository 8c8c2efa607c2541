// Event hooks (scenario-format.md, "Event hooks"): the host's on_up,
// before_down and on_failure, and each VM's on_boot and before_shutdown.
// HookRunner runs them for one constellation: host hooks as argv through
// the ProcessRunner (own process group, timeout, killed with the run),
// guest hooks copied into the VM over its management session and run
// there. It keeps every hook's outcome for the report and writes each
// hook's output into the artifacts.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "manifest/model.h"
#include "plan/plan.h"
#include "runner/testbed.h"
#include "util/process.h"
#include "util/result.h"
#include "vm/clock.h"

namespace meros {

// What one hook did, for the report.
struct HookOutcome {
  std::string event;  // on_up, before_down, on_failure, on_boot, before_shutdown
  std::string vm;     // guest hooks: the VM; host hooks: empty
  std::string hook;   // the path as written
  bool ok = false;
  std::string message;  // why it failed, empty when ok
  std::string output;   // the tail of its output
  std::filesystem::path log;  // its whole output, in the artifacts
};

// MEROS_VM_<NAME>_*: the name upper-cased, every other character than A-Z
// and 0-9 turned into '_'.
std::string hook_env_name(const std::string& vm);

// The environment of a host hook (the spec's list), for one event.
std::map<std::string, std::string> host_hook_environment(const Plan& plan, const std::string& run_id, const std::string& event,
                                                         const std::filesystem::path& known_hosts);

// known_hosts lines, one a VM: its management address and pinned host key.
std::string known_hosts_text(const Plan& plan);

class HookRunner {
 public:
  HookRunner(const Plan& plan, std::string run_id, ProcessRunner& runner, Duration timeout);

  // Runs the event's host hooks in order. stop_at_failure: on_up (a failure
  // errors the setup, the hooks after it are not run).
  Status run_host(const std::string& event, const std::vector<Hook>& hooks, bool stop_at_failure);
  // Runs each VM's guest hooks of the event, VM by VM in manifest order.
  Status run_guest(const std::string& event, Testbed& testbed, bool stop_at_failure);

  // The setup hooks (on_boot, on_up) count against the scenario's timeout:
  // each gets the smaller of its own timeout and what is left until the
  // deadline, and none starts after it. Teardown hooks always get their own
  // timeout, so that they run after a scenario timed out too.
  void count_setup_against(vm::Clock::time_point deadline, std::string scenario_timeout_text);

  const std::vector<HookOutcome>& outcomes() const { return outcomes_; }

 private:
  // The time a hook of the event may take; 0 when the deadline is past.
  Duration budget(const std::string& event) const;
  // Why a hook that ran out of its budget was stopped.
  std::string timed_out_message(const std::string& event, Duration given) const;
  std::string not_started_message() const;
  Status record(HookOutcome outcome, const std::string& full_output);
  Status write_known_hosts();

  const Plan& plan_;
  std::string run_id_;
  ProcessRunner& runner_;
  Duration timeout_;
  std::optional<vm::Clock::time_point> deadline_;
  std::string scenario_timeout_text_;
  std::filesystem::path dir_;  // <artifacts>/hooks
  std::filesystem::path known_hosts_;
  std::vector<HookOutcome> outcomes_;
  int count_ = 0;
};

}  // namespace meros
