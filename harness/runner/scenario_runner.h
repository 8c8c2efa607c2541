// Runs one scenario through the pipeline: fixtures, network, machines,
// checks, report; teardown whatever happened. A setup failure becomes an
// errored testcase, never a crash or a missing report.
#pragma once

#include <atomic>
#include <filesystem>
#include <functional>
#include <string>

#include "fixture/builder.h"
#include "report/result.h"
#include "runner/selection.h"
#include "vm/accel.h"

namespace meros {

// Live output of a run: a line a step, from any scenario's thread.
class StepPrinter {
 public:
  virtual ~StepPrinter() = default;
  virtual void scenario_started(const std::string& scenario) = 0;
  // important: shown even without -v
  virtual void line(const std::string& scenario, const std::string& text, bool important) = 0;
  virtual void step_finished(const std::string& scenario, const CaseResult& result) = 0;
};

struct RunSettings {
  std::string run_id;
  std::filesystem::path artifacts_root;  // reports/<run id>/ or --artifacts
  std::filesystem::path work_root;       // overlays and sockets of this run
  vm::AccelChoice accel;
  double timeout_multiplier = 1;
  const std::atomic<int>* interrupted = nullptr;  // the signal that asked to stop, 0 = none
  bool keep_on_failure = false;  // hold a failed scenario until `meros-test down` or a signal
};

struct RunServices {
  FixtureStore& store;
  ProcessRunner& runner;
  FileHashCache& hashes;
  BuildReporter& reporter;
  StepPrinter& printer;
};

SuiteResult run_scenario(const SelectedScenario& selected, const RunSettings& settings, RunServices& services);

// `meros-test up`: sets the scenario up, records it as a running
// constellation (mode "up") and calls while_up, which blocks until the
// constellation should go; then tears it down. An Error when setup failed
// (after teardown).
Status hold_scenario(const SelectedScenario& selected, const RunSettings& settings, RunServices& services,
                     const std::function<void(const std::string& state_id)>& while_up);

}  // namespace meros
