// The step engine: carries out a scenario's planned test steps (run,
// reach, matrix, push, pull, link) against a Testbed and turns each into
// report cases (a matrix: one a row). It owns what outlives one step: the
// scenario's deadline, the listeners already started, the generated rules'
// hit counts. Never throws; what the harness could not do is an errored case.
//
// A new step type: a StepKind and its fields in the parser, one function
// here (run_<kind>) and its case in StepEngine::run; anything it must do
// to the constellation goes through the Testbed.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "plan/plan.h"
#include "report/result.h"
#include "runner/testbed.h"

namespace meros {

class StepEngine {
 public:
  // deadline: when the scenario's timeout runs out, on testbed.clock().
  // stop: a signal asked the run to stop (0 = no); may be null.
  StepEngine(Testbed& testbed, const Plan& plan, vm::Clock::time_point deadline, const std::atomic<int>* stop = nullptr);

  // Sees a step's cases before they are added, with when the step started.
  using StepHook = std::function<void(const TestStep&, std::vector<CaseResult>&, vm::Clock::time_point started)>;

  // Every selected step in order; a step the deadline or a signal keeps
  // from starting is skipped with the reason. on_step sees each step's
  // cases as they are made.
  std::vector<CaseResult> run_all(const StepHook& on_step = {});

  // The cases of one step (a matrix: one a row).
  std::vector<CaseResult> run(const StepPlan& step);

  // Generated rules no check ever hit, one "  chain: comment" line each;
  // nullopt when the scenario has no generated rules.
  std::optional<std::string> rules_not_covered() const;

  // Why no further step may start ("" = none may be refused).
  std::string stop_reason() const;

  // The last lines of each named VM's console, for failure evidence.
  std::string console_evidence(const std::vector<std::string>& vms, std::size_t lines = 50);

 private:
  struct Row;

  CaseResult run_command(const TestStep& step);
  Attempt run_attempt(const TestStep& step, CaseResult& c);
  std::vector<CaseResult> run_checks(const StepPlan& step);
  CaseResult push_files(const TestStep& step);
  CaseResult pull_files(const TestStep& step);
  CaseResult set_link(const TestStep& step);
  // Attempts until one passes, the step's retries run out, or the
  // scenario's time or a signal stops it; the case takes the last verdict.
  void retry(const TestStep& step, CaseResult& c, const std::function<Attempt()>& attempt);

  // step_end: when the reach or matrix step's own timeout runs out.
  std::map<std::string, std::string> start_listeners(const StepPlan& step, vm::Clock::time_point step_end);
  void probe_rows(const std::vector<Row*>& pending, vm::Clock::time_point step_end);
  net::ProbeTuple probe_tuple(const Row& row) const;
  std::map<std::uint64_t, std::uint64_t> counter_snapshot();
  nlohmann::json rules_hit(const std::map<std::uint64_t, std::uint64_t>& before, const std::map<std::uint64_t, std::uint64_t>& after);
  CaseResult row_case(const Row& row, const nlohmann::json& hit);
  std::string display_filter(const ProbeRoute& route, const std::string& source, PortProto target) const;

  CaseResult new_case(const std::string& name) const;
  CaseResult errored_case(const std::string& name, const std::string& message) const;
  // A step's timeout times the multiplier, cut to what is left of the scenario's.
  Duration scaled(Duration d) const;
  // What is left until `end`, at least 1 ms.
  Duration until(vm::Clock::time_point end) const;
  bool past_deadline() const { return testbed_.clock().now() >= deadline_; }
  bool stopping() const { return stop_ && stop_->load(); }

  Testbed& testbed_;
  const Plan& plan_;
  vm::Clock::time_point deadline_;
  const std::atomic<int>* stop_;
  std::set<std::pair<std::string, PortProto>> listening_;  // (target, port); target "" = the host
  std::map<std::uint64_t, std::uint64_t> rule_hits_;        // by handle, over all checks
  std::map<std::uint64_t, std::string> rule_comments_;      // "chain: comment"
};

}  // namespace meros
