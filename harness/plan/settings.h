// The settings of one `meros-test run` (or `up`) that every scenario of it
// shares: run id, where artifacts and work files go, the accelerator, and
// every timeout the harness itself applies, with the multiplier.
#pragma once

#include <atomic>
#include <filesystem>
#include <optional>
#include <string>

#include "manifest/model.h"
#include "util/duration.h"
#include "vm/accel.h"

namespace meros {

// The harness's own waits. A scenario's step timeouts come from its
// manifest; these are the defaults around them. All are multiplied.
struct Timeouts {
  double multiplier = 1;              // --timeout-multiplier (x3 under TCG by default)
  Duration boot{60'000};              // QEMU started to MEROS-READY and port 22 open
  Duration boot_poll{300};            // one try to reach port 22 while booting
  Duration ssh_connect{5000};         // the TCP connect of an SSH session
  Duration guest_firewall{30'000};    // loading a VM's firewall: over SSH
  Duration listen{20'000};            // starting the agent's listeners
  Duration probe_batch{30'000};       // one agent call's overhead beyond the probe timeout
  Duration ruleset_listing{10'000};   // `nft list ruleset` of a guest at teardown
  Duration powerdown{2000};           // ACPI powerdown before quit
  Duration quit{3000};                // QMP quit before SIGKILL
  Duration retry_pause{1000};         // between attempts of a step (a reach or matrix: of its rows)

  // d times the multiplier.
  Duration scaled(Duration d) const;
};

struct RunSettings {
  std::string run_id;
  std::filesystem::path artifacts_root;  // reports/<run id>/ or --artifacts
  std::filesystem::path work_root;       // overlays of this run
  // Unix sockets (QMP): a scenario's go in <socket_root>/<state id>/, on a
  // local filesystem even when the store is not (run_state_dir()).
  std::filesystem::path socket_root;
  vm::AccelChoice accel;
  Timeouts timeouts;
  const std::atomic<int>* interrupted = nullptr;  // the signal that asked to stop, 0 = none
  bool keep_on_failure = false;  // hold a failed scenario until `meros-test down` or a signal
  std::optional<CaptureMode> capture;  // --capture: overrides every scenario's capture:
};

}  // namespace meros
