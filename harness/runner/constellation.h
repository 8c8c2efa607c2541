// A running scenario: everything its plan asked for on the host, owned in
// one place. bring_up() carries out the plan (run-state record first, then
// the namespace, links and nftables, overlays, QEMU, SSH sessions, guest
// firewalls, see load_guest_firewalls()); each resource registers its release on the constellation's
// cleanup stack as it appears. The destructor unwinds that stack in
// reverse, tries every release even when one fails, and reports each
// failure. Steps reach the VMs only through testbed().
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "net/capture.h"
#include "plan/plan.h"
#include "runner/testbed.h"
#include "util/process.h"
#include "util/result.h"

namespace meros {

// Where a constellation reports: progress lines for the suite's
// system-out, teardown failures for its system-err.
struct ConstellationLog {
  std::function<void(const std::string&)> progress;
  std::function<void(const std::string&)> failure;
  // A VM answered on SSH, `boot` after its QEMU started (the report's timeline).
  std::function<void(const std::string& vm, std::chrono::milliseconds boot)> ready;
};

// What the bridge capture (plan.capture) recorded, once stopped.
struct CaptureReport {
  std::vector<net::CaptureSummary> files;  // one a bridge
  std::string error;                       // why there is no capture at all
};

class Constellation {
 public:
  // On failure, whatever was already up is torn down before returning.
  static Result<Constellation> bring_up(const Plan& plan, ProcessRunner& runner, ConstellationLog log);

  Constellation(Constellation&&) noexcept;
  Constellation& operator=(Constellation&&) = delete;
  Constellation(const Constellation&) = delete;
  ~Constellation();

  // The last stage of setup, apart so that a constellation whose guest
  // firewall failed can still be held for inspection: loads every VM's
  // `firewall:` over SSH; every VM is tried, the Error names all failures.
  Status load_guest_firewalls();

  Testbed& testbed();
  // Stops the capture of the bridges, which starts with the network when
  // the plan asks for one, and says what it recorded. Idempotent.
  CaptureReport stop_capture();
  // Rewrites the run-state record: `up` mode, or kept for inspection.
  Status record(const std::string& mode, bool kept_for_inspection);

 private:
  class Parts;
  explicit Constellation(std::unique_ptr<Parts> parts);
  std::unique_ptr<Parts> parts_;
};

}  // namespace meros
