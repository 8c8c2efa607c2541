// The plan stage: a pure function from a validated scenario, its resolved
// fixtures and its planned network to everything the later stages need,
// typed and complete (machine specs, SSH targets, probe routes, listener
// sets, the run-state record). Nothing is started here, so all of it is
// unit-tested without root; the Constellation only carries it out.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "fixture/resolution.h"
#include "manifest/model.h"
#include "net/topology.h"
#include "plan/settings.h"
#include "runner/run_state.h"
#include "runner/selection.h"
#include "vm/qemu_command.h"

namespace meros {

namespace fs = std::filesystem;

// How the harness reaches a VM's SSH server: over its management link,
// inside the scenario's namespace, its host key pinned.
struct SshRoute {
  Ipv4 address;
  std::string user = "root";
  std::string host_key;   // the image's, from its fixture
  fs::path private_key;   // the cache's client key
};

struct VmPlan {
  const VirtualMachine* config = nullptr;
  vm::MachineSpec machine;       // disk is the overlay's path
  fs::path base_image;           // what the overlay is backed by
  std::uint64_t disk_size = 0;   // bytes; 0 = the image's size
  SshRoute ssh;
  fs::path transcript;           // commands and transfers, in the artifacts
  std::vector<std::string> bridge_addresses;  // where the agent's listeners bind (never mgmt0)

  const std::string& name() const { return config->name; }
};

// Who probes and what it aims at, for one reach check (scenario-format.md,
// "Reachability semantics").
struct ProbeRoute {
  bool from_host = false;   // the harness probes from inside the namespace
  std::string source_vm;    // when !from_host
  std::string target_vm;    // empty when the target is the host or an address
  Ipv4 target_address;
  bool target_is_host = false;
};

// One row of a reach or matrix step.
struct RowPlan {
  const ReachCheck* check = nullptr;
  std::string name;  // the report's testcase name
  Result<ProbeRoute> route = make_error("not planned");
};

// Ports a step needs someone to listen on: the agent on a VM, or the
// harness in the namespace for `host` targets. Ports a VM's `services:`
// already serve are left out.
struct ListenerPlan {
  std::string target;  // VM name; empty = the host
  std::vector<PortProto> ports;  // sorted, unique, tcp/udp only
};

struct StepPlan {
  const TestStep* step = nullptr;
  bool selected = true;              // -k kept it
  std::vector<RowPlan> rows;         // reach: one, matrix: one a check
  std::vector<ListenerPlan> listeners;
};

struct Plan {
  const Scenario* scenario = nullptr;
  std::string state_id;  // <run id>-<scenario>: the run-state file and lifecycle commands' name for it
  fs::path artifacts;    // this scenario's artifacts directory
  fs::path work;         // overlays
  fs::path sockets;      // QMP sockets: <socket root>/<state id>, mode 0700
  net::Topology topology;
  std::vector<VmPlan> vms;  // manifest order
  std::vector<StepPlan> steps;
  Timeouts timeouts;
  Duration scenario_timeout{0};  // multiplied
  CaptureMode capture = CaptureMode::off;  // the scenario's capture:, or --capture
  // The record written before any host resource exists, so `gc` can
  // always find what a killed run left.
  RunState state;

  const VmPlan* find_vm(std::string_view name) const;
  // Where the capture of a bridge goes: <artifacts>/capture/<ifname>.pcapng.
  fs::path capture_dir() const { return artifacts / "capture"; }
};

// Resolves the two ends of a reach check against the network plan.
Result<ProbeRoute> route_check(const ReachCheck& check, const net::Topology& topology);

// The testcase name of a check: the step's for reach, with the row for a matrix.
std::string row_name(const TestStep& step, const ReachCheck& check);

// The testcase names a step reports, run or not: one a matrix row, else the
// step's own. A step that is skipped keeps the same names, so a report's set
// of testcases does not depend on how far a run got.
std::vector<std::string> case_names(const TestStep& step);

Result<Plan> plan_scenario(const SelectedScenario& selected, const ScenarioFixtures& fixtures, net::Topology topology,
                           const RunSettings& settings);

}  // namespace meros
