// Runs one scenario, its fixtures already resolved: plan, bring the
// constellation up, run the steps, hold it for --keep-on-failure, and let
// the constellation tear itself down. Whatever goes wrong (a setup
// failure, an exception) becomes an errored testcase of the suite, never a
// crash or a missing report.
#pragma once

#include <functional>
#include <string>

#include "fixture/resolution.h"
#include "plan/settings.h"
#include "report/result.h"
#include "runner/selection.h"
#include "util/process.h"

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

struct RunServices {
  ProcessRunner& runner;
  StepPrinter& printer;
};

SuiteResult run_scenario(const SelectedScenario& selected, const Result<ScenarioFixtures>& fixtures, const RunSettings& settings,
                         RunServices& services);

// `meros-test up`: brings the scenario up, records it as a running
// constellation (mode "up") and calls while_up, which blocks until the
// constellation should go; then tears it down. An Error when setup failed
// (after teardown).
Status hold_scenario(const SelectedScenario& selected, const Result<ScenarioFixtures>& fixtures, const RunSettings& settings,
                     RunServices& services, const std::function<void(const std::string& state_id)>& while_up);

}  // namespace meros
