#include "runner/steps.h"

#include <future>
#include <sstream>

#include "check/transfer.h"
#include "check/verdict.h"
#include "net/capture.h"
#include "util/bounded_output.h"
#include "util/path_join.h"
#include "util/process.h"
#include "util/signals.h"
#include "util/text.h"

namespace meros {
namespace {

double seconds(std::chrono::nanoseconds d) { return std::chrono::duration<double>(d).count(); }

// The last lines of a command's stream, for a failure's detail (the whole
// stream is in the testcase's system-out/system-err).
std::string output_evidence(const std::string& stream, const std::string& text) {
  if (text.empty()) return "";
  constexpr std::size_t kLines = 10;
  // Of the last 4 KiB at most: a flood may have no newline in 16 MiB.
  constexpr std::size_t kBytes = 4096;
  std::string_view end = std::string_view(text).substr(text.size() > kBytes ? text.size() - kBytes : 0);
  std::string tail = tail_lines(end, kLines);
  if (!tail.ends_with('\n')) tail += '\n';
  return "--- " + stream + " (last " + std::to_string(kLines) + " lines) ---\n" + tail;
}

std::string transcript_entry(const std::string& command, const CommandResult& result) {
  std::string out;
  out.reserve(command.size() + result.stdout_text.size() + result.stderr_text.size() + 128);
  out += "$ " + command + "\n";
  out += result.stdout_text;
  if (!result.stderr_text.empty()) {
    out += "[stderr]\n";
    out += result.stderr_text;
  }
  std::string cut = describe_not_kept(result.stdout_dropped, result.stderr_dropped);
  out += "[exit " + std::to_string(result.exit_code) + (result.timed_out ? ", timed out" : "") + ", " +
         std::to_string(result.elapsed.count() / 1000) + " ms" + (cut.empty() ? "" : ", " + cut) + "]\n\n";
  return out;
}

std::string transfer_entry(const std::string& what, const Transfer& transfer, double time) {
  return "# sftp " + what + "\n[" + (transfer.copied ? std::string("done") : "failed: " + transfer.copied.error().message) + ", " +
         std::to_string(static_cast<long>(time * 1000)) + " ms]\n\n";
}

// Says how much of the output the step left out, when it did.
std::string output_limits(const CaseResult& c) {
  std::string cut = describe_not_kept(c.stdout_dropped, c.stderr_dropped);
  if (cut.empty()) return "";
  return "output: " + cut + " (a step keeps the first and last " + std::to_string(kStepOutputLimit / 2 >> 20) +
         " MiB of each stream)\n";
}

guest::ProbeRequest probe_request(const ReachCheck& check, const ProbeRoute& route, Duration timeout) {
  guest::ProbeRequest request;
  request.proto = check.target.proto;
  request.address = route.target_address.str();
  request.port = check.target.port;
  request.timeout = timeout;
  return request;
}

}  // namespace

// One row of a reach or matrix step while it runs.
struct StepEngine::Row {
  const RowPlan* plan = nullptr;
  std::string listen_error;  // the listener its target needed did not start
  std::optional<guest::ProbeOutcome> outcome;
  std::optional<net::Attribution> attribution;  // of the outcome, when its batch was traced
  std::string error;
  double round_time = 0;  // seconds of the round that probed it last
  std::vector<Attempt> attempts;

  bool routed() const { return plan->route.ok() && listen_error.empty(); }
  bool passed() const { return routed() && outcome && expectation_met(plan->check->expect, outcome->observed); }
};

StepEngine::StepEngine(Testbed& testbed, const Plan& plan, vm::Clock::time_point deadline, const std::atomic<int>* stop)
    : testbed_(testbed), plan_(plan), deadline_(deadline), stop_(stop) {}

CaseResult StepEngine::new_case(const std::string& name) const {
  CaseResult c;
  c.name = name;
  c.classname = plan_.scenario->name;
  return c;
}

CaseResult StepEngine::errored_case(const std::string& name, const std::string& message) const {
  CaseResult c = new_case(name);
  c.status = CaseStatus::errored;
  c.message = message;
  return c;
}

Duration StepEngine::until(vm::Clock::time_point end) const {
  return std::max(Duration(1), std::chrono::duration_cast<Duration>(end - testbed_.clock().now()));
}

Duration StepEngine::scaled(Duration d) const { return std::min(plan_.timeouts.scaled(d), until(deadline_)); }

std::string StepEngine::stop_reason() const {
  if (stop_ && stop_->load()) return "not run: interrupted (" + signal_name(stop_->load()) + ")";
  if (past_deadline()) return "not run: the scenario's timeout (" + format_duration(plan_.scenario->timeout) + ") ran out";
  return "";
}

std::vector<CaseResult> StepEngine::run_all(const StepHook& on_step) {
  std::vector<CaseResult> all;
  for (const auto& step : plan_.steps) {
    if (!step.selected) continue;
    auto started = testbed_.clock().now();
    std::vector<CaseResult> cases;
    if (std::string why = stop_reason(); !why.empty()) {
      for (const auto& name : case_names(*step.step)) {
        CaseResult c = new_case(name);
        c.status = CaseStatus::skipped;
        c.message = why;
        cases.push_back(std::move(c));
      }
    } else {
      cases = run(step);
    }
    for (auto& c : cases) {
      // A signal cut the step short: its verdict says nothing.
      if (stop_ && stop_->load() && c.status != CaseStatus::passed && c.status != CaseStatus::skipped) {
        c.status = CaseStatus::skipped;
        c.message = "interrupted (" + signal_name(stop_->load()) + ") while running";
      }
    }
    if (on_step) on_step(*step.step, cases, started);
    for (auto& c : cases) all.push_back(std::move(c));
  }
  return all;
}

std::vector<CaseResult> StepEngine::run(const StepPlan& step) {
  try {
    switch (step.step->kind) {
      case StepKind::run: return {run_command(*step.step)};
      case StepKind::reach:
      case StepKind::matrix: return run_checks(step);
      case StepKind::push: return {push_files(*step.step)};
      case StepKind::pull: return {pull_files(*step.step)};
      case StepKind::link: return {set_link(*step.step)};
    }
  } catch (const std::exception& e) {
    return {errored_case(step.step->name, std::string("internal error: ") + e.what())};
  }
  return {errored_case(step.step->name, "unknown step kind")};
}

std::string StepEngine::console_evidence(const std::vector<std::string>& vms, std::size_t lines) {
  std::string out;
  for (const auto& name : vms)
    out += "--- serial console of " + name + " (last " + std::to_string(lines) + " lines) ---\n" + testbed_.console_tail(name, lines) + "\n";
  return out;
}

// --- run ---------------------------------------------------------------------

Attempt StepEngine::run_attempt(const TestStep& step, CaseResult& c) {
  auto started = testbed_.clock().now();
  Duration timeout = scaled(step.timeout);
  auto result = testbed_.run(step.vm, step.command, timeout);
  Attempt attempt;
  if (!result) {
    attempt.status = CaseStatus::errored;
    attempt.message = result.error().message;
  } else {
    testbed_.note(step.vm, transcript_entry(step.command, *result));
    Verdict verdict = judge_run(step.expect, *result, timeout);
    attempt.status = verdict.passed ? CaseStatus::passed : CaseStatus::failed;
    attempt.message = verdict.message;
    // The step got less than its own timeout: the scenario's ran out.
    if (result->timed_out && timeout < plan_.timeouts.scaled(step.timeout))
      attempt.message = "the scenario's timeout ran out during the step (the command was killed)";
    c.expected = verdict.expected;
    c.observed = verdict.observed;
    // Moved, not copied: each may be up to kStepOutputLimit.
    c.stdout_text = std::move(result->stdout_text);
    c.stderr_text = std::move(result->stderr_text);
    c.stdout_dropped = result->stdout_dropped;
    c.stderr_dropped = result->stderr_dropped;
  }
  attempt.time = seconds(testbed_.clock().now() - started);
  return attempt;
}

void StepEngine::retry(const TestStep& step, CaseResult& c, const std::function<Attempt()>& attempt) {
  c.retries = step.retries;
  for (int i = 0; i <= step.retries; ++i) {
    if (i > 0) {
      testbed_.clock().sleep_for(plan_.timeouts.retry_pause);
      if (past_deadline() || stopping()) break;
    }
    c.attempts.push_back(attempt());
    c.time += c.attempts.back().time;
    if (c.attempts.back().status == CaseStatus::passed || past_deadline() || stopping()) break;
  }
  const Attempt& last = c.attempts.back();
  c.status = last.status;
  c.message = last.message;
  c.flaky = last.status == CaseStatus::passed && c.attempts.size() > 1;
}

CaseResult StepEngine::run_command(const TestStep& step) {
  CaseResult c = new_case(step.name);
  if (!testbed_.is_running(step.vm)) return errored_case(step.name, "VM " + step.vm + " is not running (its QEMU exited earlier)");
  retry(step, c, [&] { return run_attempt(step, c); });
  if (c.status != CaseStatus::passed && !testbed_.is_running(step.vm)) {
    // Not the command's verdict: the machine under it is gone.
    c.status = CaseStatus::errored;
    c.message = "VM " + step.vm + " stopped running (its QEMU exited) during the step";
  }
  if (c.status != CaseStatus::passed)
    c.detail = "command on " + step.vm + ": " + step.command + "\nexpected: " + c.expected + "\nobserved: " + c.observed + "\n" +
               output_limits(c) + output_evidence("stdout", c.stdout_text) + output_evidence("stderr", c.stderr_text) + "\n" +
               console_evidence({step.vm});
  return c;
}

// --- reach and matrix ----------------------------------------------------------

// Starts the listeners the step's rows need and no earlier step started.
// Returns why listening failed, by target ("" = the host).
std::map<std::string, std::string> StepEngine::start_listeners(const StepPlan& step, vm::Clock::time_point step_end) {
  std::map<std::string, std::string> failures;
  for (const auto& listener : step.listeners) {
    std::vector<PortProto> ports;
    for (const auto& port : listener.ports)
      if (!listening_.count({listener.target, port})) ports.push_back(port);
    if (ports.empty()) continue;
    Status started = testbed_.listen(listener.target, ports, std::min(scaled(plan_.timeouts.listen), until(step_end)));
    if (!started) {
      failures[listener.target] = started.error().message;
      continue;
    }
    for (const auto& port : ports) listening_.insert({listener.target, port});
  }
  return failures;
}

// Probes the given rows, one batch a source, the sources concurrently.
void StepEngine::probe_rows(const std::vector<Row*>& pending, vm::Clock::time_point step_end) {
  std::map<std::string, std::vector<Row*>> by_source;  // "" = the host
  for (Row* row : pending) by_source[row->plan->route->from_host ? "" : row->plan->route->source_vm].push_back(row);
  Duration probe_timeout = plan_.scenario->probe_timeout;
  // The sources probe at once, so each batch may take what is left of the step.
  Duration batch_timeout = std::min(scaled(plan_.timeouts.probe_batch) + probe_timeout, until(step_end));
  // Every source's probes in one trace, told apart by their 5-tuples.
  testbed_.start_trace(scaled(plan_.timeouts.listen));
  std::vector<std::future<void>> running;
  for (auto& [source, rows] : by_source) {
    running.push_back(std::async(std::launch::async, [this, &source, &rows, probe_timeout, batch_timeout] {
      std::vector<guest::ProbeRequest> requests;
      for (Row* row : rows) requests.push_back(probe_request(*row->plan->check, *row->plan->route, probe_timeout));
      auto started = testbed_.clock().now();
      auto outcomes = testbed_.probe(source, requests, batch_timeout);
      double time = seconds(testbed_.clock().now() - started);
      for (std::size_t i = 0; i < rows.size(); ++i) {
        rows[i]->round_time = time;
        if (i >= outcomes.size()) rows[i]->error = "no answer for this probe";
        else if (!outcomes[i]) rows[i]->error = outcomes[i].error().message;
        else rows[i]->outcome = *outcomes[i];
      }
    }));
  }
  for (auto& f : running) f.get();
  std::vector<net::TraceSource> traces = testbed_.stop_trace(scaled(plan_.timeouts.listen));
  for (Row* row : pending) {
    row->attribution.reset();
    if (row->outcome && !traces.empty()) row->attribution = net::attribute(traces, probe_tuple(*row));
  }
}

// The probe's first packet as the trace shows it: its exact 5-tuple when
// the prober said which address and port it used.
net::ProbeTuple StepEngine::probe_tuple(const Row& row) const {
  const ProbeRoute& route = *row.plan->route;
  net::ProbeTuple tuple;
  tuple.proto = row.plan->check->target.proto;
  tuple.target_address = route.target_address.str();
  tuple.target_port = row.plan->check->target.port;
  if (auto exact = net::split_endpoint(row.outcome->source)) {
    tuple.source_addresses = {exact->first};
    tuple.source_port = exact->second;
  } else if (const net::VmLinks* links = route.from_host ? nullptr : plan_.topology.find_vm(route.source_vm)) {
    for (const auto& network : links->networks) tuple.source_addresses.push_back(network.address.str());
  }
  return tuple;
}

std::map<std::uint64_t, std::uint64_t> StepEngine::counter_snapshot() {
  std::map<std::uint64_t, std::uint64_t> packets;
  auto counters = testbed_.read_counters();
  if (!counters) return packets;
  for (const auto& c : *counters) {
    packets[c.handle] = c.packets;
    rule_comments_[c.handle] = c.chain + ": " + c.comment;
  }
  return packets;
}

nlohmann::json StepEngine::rules_hit(const std::map<std::uint64_t, std::uint64_t>& before,
                                     const std::map<std::uint64_t, std::uint64_t>& after) {
  nlohmann::json hit = nlohmann::json::array();
  for (const auto& [handle, packets] : after) {
    auto it = before.find(handle);
    std::uint64_t delta = packets - (it == before.end() ? 0 : it->second);
    rule_hits_[handle] += delta;
    if (delta > 0) hit.push_back({{"rule", rule_comments_[handle]}, {"handle", handle}, {"packets", delta}});
  }
  return hit;
}

// The row's packets in a bridge capture: its 5-tuple when the prober said
// which address and port it probed from, else the target and the source
// VM's bridge addresses (the guest picks one by its routes).
std::string StepEngine::display_filter(const ProbeRoute& route, const std::string& source, PortProto target) const {
  std::vector<std::string> sources;
  if (const net::VmLinks* links = route.from_host ? nullptr : plan_.topology.find_vm(route.source_vm))
    for (const auto& network : links->networks) sources.push_back(network.address.str());
  return net::capture_display_filter(sources, source, route.target_address.str(), target);
}

CaseResult StepEngine::row_case(const Row& row, const nlohmann::json& hit) {
  const RowPlan& plan = *row.plan;
  if (!plan.route) return errored_case(plan.name, plan.route.error().message);
  if (!row.listen_error.empty()) return errored_case(plan.name, row.listen_error);
  CaseResult c = new_case(plan.name);
  c.expected = std::string(to_string(plan.check->expect));
  for (const auto& attempt : row.attempts) c.time += attempt.time;
  if (!row.outcome) {
    c.status = CaseStatus::errored;
    c.message = row.error;
    return c;
  }
  Verdict verdict = judge_reach(plan.check->expect, row.outcome->observed, row.outcome->elapsed);
  c.status = verdict.passed ? CaseStatus::passed : CaseStatus::failed;
  c.observed = verdict.observed;
  c.message = verdict.passed ? "" : verdict.message;
  c.extra["probe"] = {{"from", plan.check->from.text}, {"to", plan.check->to.text}, {"address", plan.route->target_address.str()},
                      {"target", plan.check->target.str()}, {"detail", row.outcome->detail},
                      {"source", row.outcome->source},
                      {"display_filter", display_filter(*plan.route, row.outcome->source, plan.check->target)}};
  c.extra["nft_rules_hit"] = hit;
  std::string decided;
  if (row.attribution) {
    nlohmann::json rules = nlohmann::json::array();
    for (const auto& rule : row.attribution->rules_hit) rules.push_back(rule.to_json());
    c.extra["nft_rules_hit"] = rules;  // this check's own, from its trace
    if (row.attribution->decided_by) {
      c.extra["decided_by"] = row.attribution->decided_by->to_json();
      decided = row.attribution->decided_by->explain();
    }
  }
  if (!verdict.passed && !decided.empty()) c.message += ": " + decided;
  if (!verdict.passed) {
    std::vector<std::string> vms;
    if (!plan.route->from_host) vms.push_back(plan.route->source_vm);
    if (!plan.route->target_vm.empty()) vms.push_back(plan.route->target_vm);
    c.detail = verdict.message + " (" + row.outcome->detail + ") probing " + plan.route->target_address.str() + "\n" +
               (decided.empty() ? "" : decided + "\n") + "\n" + console_evidence(vms);
  }
  return c;
}

std::vector<CaseResult> StepEngine::run_checks(const StepPlan& step) {
  // The step's timeout bounds all of it: its listeners, every row's probes
  // (a matrix's rows share it) and every retry round.
  auto step_end = testbed_.clock().now() + scaled(step.step->timeout);
  auto out_of_time = [&] { return testbed_.clock().now() >= step_end || past_deadline() || stopping(); };
  std::vector<Row> rows(step.rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i) rows[i].plan = &step.rows[i];
  auto listen_failures = start_listeners(step, step_end);
  for (auto& row : rows) {
    if (!row.plan->route || row.plan->check->target.proto == Proto::icmp) continue;
    const ProbeRoute& route = *row.plan->route;
    if (!route.target_is_host && route.target_vm.empty()) continue;  // a literal address: nobody of ours listens
    if (auto it = listen_failures.find(route.target_is_host ? "" : route.target_vm); it != listen_failures.end())
      row.listen_error = it->second;
  }
  auto before = counter_snapshot();
  for (int round = 0; round <= step.step->retries; ++round) {
    // Round 0 probes every routed row, retries the ones that did not pass.
    std::vector<Row*> pending;
    for (auto& row : rows)
      if (row.routed() && (round == 0 || !row.passed())) pending.push_back(&row);
    if (pending.empty() || (round > 0 && out_of_time())) break;
    if (round > 0) testbed_.clock().sleep_for(plan_.timeouts.retry_pause);
    // A row keeps its last outcome when no round is left to probe it again.
    if (round > 0 && out_of_time()) break;
    for (Row* row : pending) {
      row->outcome.reset();
      row->error.clear();
    }
    probe_rows(pending, step_end);
    if (testbed_.clock().now() >= step_end)
      for (Row* row : pending)
        if (!row->outcome) row->error = "the step's timeout (" + format_duration(step.step->timeout) + ") ran out: " + row->error;
    for (Row* row : pending) {
      Attempt attempt;
      // The row's own probe time; the whole batch's when it got no answer.
      attempt.time = row->outcome ? seconds(row->outcome->elapsed) : row->round_time;
      if (!row->outcome) {
        attempt.status = CaseStatus::errored;
        attempt.message = row->error;
      } else {
        Verdict v = judge_reach(row->plan->check->expect, row->outcome->observed, row->outcome->elapsed);
        attempt.status = v.passed ? CaseStatus::passed : CaseStatus::failed;
        attempt.message = v.passed ? "" : v.message;
      }
      row->attempts.push_back(attempt);
    }
  }
  nlohmann::json hit = rules_hit(before, counter_snapshot());
  std::vector<CaseResult> cases;
  for (const auto& row : rows) {
    CaseResult c = row_case(row, hit);
    c.retries = step.step->retries;
    if (row.attempts.size() > 1) {
      c.attempts = row.attempts;
      c.flaky = c.status == CaseStatus::passed;
    }
    cases.push_back(std::move(c));
  }
  return cases;
}

// --- push, pull, link ------------------------------------------------------------

namespace {

// A push's or pull's attempt: an SFTP failure is the harness's (errored),
// a path the guest refuses the scenario's (failed).
Attempt transfer_attempt(const Transfer& transfer, double time, const std::string& what) {
  Attempt attempt;
  attempt.time = time;
  if (!transfer.copied) {
    attempt.status = transfer.harness_fault ? CaseStatus::errored : CaseStatus::failed;
    attempt.message = what + ": " + transfer.copied.error().message;
  }
  return attempt;
}

}  // namespace

CaseResult StepEngine::push_files(const TestStep& step) {
  CaseResult c = new_case(step.name);
  retry(step, c, [&] {
    auto started = testbed_.clock().now();
    Transfer pushed = testbed_.push(step.vm, step.local_path, step.dst, scaled(step.timeout), step.max_bytes);
    double time = seconds(testbed_.clock().now() - started);
    std::string dst = step.dst.empty() ? "~/" + std::string(kMosShared) + "/" : step.dst;
    testbed_.note(step.vm, transfer_entry("push " + step.src + " -> " + (pushed.copied ? *pushed.copied : dst), pushed, time));
    return transfer_attempt(pushed, time, "push " + step.src + " to " + step.vm + ":" + dst);
  });
  return c;
}

CaseResult StepEngine::pull_files(const TestStep& step) {
  CaseResult c = new_case(step.name);
  // The lexical check here; the copy walks the directories down from the
  // artifacts directory itself, following no symlink a guest left there.
  auto destination = path_beneath(plan_.artifacts, step.local_path, "pull destination");
  if (!destination) return errored_case(step.name, destination.error().message);
  fs::path local_dir = *destination;
  std::string src = step.src.empty() ? "~/" + std::string(kMosShared) + "/" : step.src;
  std::string copied;
  retry(step, c, [&] {
    auto started = testbed_.clock().now();
    Transfer pulled = testbed_.pull(step.vm, step.src, plan_.artifacts, step.local_path, scaled(step.timeout), step.max_bytes);
    double time = seconds(testbed_.clock().now() - started);
    testbed_.note(step.vm, transfer_entry("pull " + src + " -> " + local_dir.string(), pulled, time));
    if (pulled.copied) copied = *pulled.copied;
    return transfer_attempt(pulled, time, "pull " + step.vm + ":" + src);
  });
  // Without a source the copy is mos-shared/<vm> (check/transfer.h).
  fs::path copy = step.src.empty() ? fs::path(kMosShared) / step.vm : fs::path(copied).filename();
  if (c.status == CaseStatus::passed)
    c.attachments.push_back((fs::path(plan_.scenario->name) / step.local_path / copy).lexically_normal().string());
  return c;
}

// A link the harness could not set is its own failure: errored.
CaseResult StepEngine::set_link(const TestStep& step) {
  CaseResult c = new_case(step.name);
  retry(step, c, [&] {
    auto started = testbed_.clock().now();
    Status status = testbed_.set_link(step.vm, step.network_index, step.link_up, scaled(step.timeout));
    Attempt attempt;
    attempt.time = seconds(testbed_.clock().now() - started);
    if (!status) {
      attempt.status = CaseStatus::errored;
      attempt.message = status.error().message;
    }
    return attempt;
  });
  return c;
}

std::optional<std::string> StepEngine::rules_not_covered() const {
  if (rule_comments_.empty()) return std::nullopt;
  std::string uncovered;
  for (const auto& [handle, comment] : rule_comments_) {
    auto it = rule_hits_.find(handle);
    if (it == rule_hits_.end() || it->second == 0) uncovered += "  " + comment + "\n";
  }
  return uncovered;
}

}  // namespace meros
