#include "runner/steps.h"

#include <fstream>
#include <future>
#include <thread>
#include <map>
#include <sstream>

#include "check/link_ready.h"
#include "check/transfer.h"
#include "check/verdict.h"
#include "guest/format.h"
#include "net/nftables.h"
#include "runner/endpoints.h"
#include "util/path_join.h"
#include "util/process.h"
#include "util/text.h"

namespace meros {
namespace {

using Clock = std::chrono::steady_clock;
constexpr const char* kAgent = "/opt/meros/bin/meros-guest";

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// A timeout times the multiplier.
std::chrono::milliseconds multiplied(const ScenarioSession& session, Duration d) {
  return std::chrono::milliseconds(static_cast<long long>(static_cast<double>(d.count()) * session.timeout_multiplier));
}

// A step's timeout times the multiplier, cut to what is left of the
// scenario's timeout.
std::chrono::milliseconds scaled(const ScenarioSession& session, Duration d) {
  auto wanted = multiplied(session, d);
  if (session.deadline == Clock::time_point::max()) return wanted;
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(session.deadline - Clock::now());
  return std::max(std::chrono::milliseconds(1), std::min(wanted, left));
}

// Whether the step got less than its own timeout: the scenario's ran out.
bool cut_by_scenario_timeout(const ScenarioSession& session, Duration step_timeout, std::chrono::milliseconds given) {
  return given < multiplied(session, step_timeout);
}

CaseResult new_case(const ScenarioSession& session, const std::string& name) {
  CaseResult c;
  c.name = name;
  c.classname = session.scenario->name;
  return c;
}

CaseResult errored_case(const ScenarioSession& session, const std::string& name, const std::string& message) {
  CaseResult c = new_case(session, name);
  c.status = CaseStatus::errored;
  c.message = message;
  return c;
}

void append_transcript(VmRuntime& vm, const std::string& command, const CommandResult& result) {
  std::ofstream out(vm.transcript, std::ios::app);
  out << "$ " << command << "\n" << result.stdout_text;
  if (!result.stderr_text.empty()) out << "[stderr]\n" << result.stderr_text;
  out << "[exit " << result.exit_code << (result.timed_out ? ", timed out" : "") << ", "
      << result.elapsed.count() / 1000 << " ms]\n\n";
}

// A file transfer in the transcript: what went where, and how it ended.
void append_transfer(VmRuntime& vm, const std::string& what, const Status& outcome, double seconds) {
  std::ofstream out(vm.transcript, std::ios::app);
  out << "# sftp " << what << "\n[" << (outcome ? "done" : "failed: " + outcome.error().message) << ", "
      << static_cast<long>(seconds * 1000) << " ms]\n\n";
}

// --- run ------------------------------------------------------------------

// The last lines of a command's stream, for a failure's detail (the whole
// stream is in the testcase's system-out/system-err).
std::string output_evidence(const std::string& stream, const std::string& text) {
  if (text.empty()) return "";
  constexpr std::size_t kLines = 10;
  std::string tail = tail_lines(text, kLines);
  if (!tail.ends_with('\n')) tail += '\n';
  return "--- " + stream + " (last " + std::to_string(kLines) + " lines) ---\n" + tail;
}

Attempt run_attempt(ScenarioSession& session, VmRuntime& vm, const TestStep& step, CaseResult& c) {
  auto started = Clock::now();
  auto timeout = scaled(session, step.timeout);
  auto result = vm.ssh->run(step.command, timeout);
  Attempt attempt;
  if (!result) {
    attempt.status = CaseStatus::errored;
    attempt.message = result.error().message;
  } else {
    append_transcript(vm, step.command, *result);
    Verdict verdict = judge_run(step.expect, *result, timeout);
    attempt.status = verdict.passed ? CaseStatus::passed : CaseStatus::failed;
    attempt.message = verdict.message;
    if (result->timed_out && cut_by_scenario_timeout(session, step.timeout, timeout))
      attempt.message = "the scenario's timeout ran out during the step (the command was killed)";
    c.expected = verdict.expected;
    c.observed = verdict.observed;
    c.stdout_text = result->stdout_text;
    c.stderr_text = result->stderr_text;
  }
  attempt.time = seconds_since(started);
  return attempt;
}

CaseResult run_command(ScenarioSession& session, const TestStep& step) {
  CaseResult c = new_case(session, step.name);
  c.retries = step.retries;
  VmRuntime* vm = session.vm(step.vm);
  if (!vm || !vm->ssh) return errored_case(session, step.name, "VM " + quote(step.vm) + " has no SSH session");
  if (vm->machine && !vm->machine->is_running())
    return errored_case(session, step.name, "VM " + step.vm + " is not running (its QEMU exited earlier)");
  for (int i = 0; i <= step.retries; ++i) {
    c.attempts.push_back(run_attempt(session, *vm, step, c));
    c.time += c.attempts.back().time;
    if (c.attempts.back().status == CaseStatus::passed || Clock::now() >= session.deadline) break;
  }
  const Attempt& last = c.attempts.back();
  c.status = last.status;
  c.message = last.message;
  if (last.status != CaseStatus::passed && vm->machine && !vm->machine->is_running()) {
    // Not the command's verdict: the machine under it is gone.
    c.status = CaseStatus::errored;
    c.message = "VM " + step.vm + " stopped running (its QEMU exited) during the step";
  }
  c.flaky = last.status == CaseStatus::passed && c.attempts.size() > 1;
  if (c.status != CaseStatus::passed)
    c.detail = "command on " + step.vm + ": " + step.command + "\nexpected: " + c.expected + "\nobserved: " + c.observed +
               "\n" + output_evidence("stdout", c.stdout_text) + output_evidence("stderr", c.stderr_text) + "\n" +
               console_evidence(session, {step.vm});
  return c;
}

// --- reach and matrix -----------------------------------------------------

struct Row {
  const ReachCheck* check = nullptr;
  std::string name;
  Result<ResolvedCheck> resolved = make_error("not resolved");
  std::optional<guest::ProbeOutcome> outcome;
  std::string error;
};

std::string row_name(const TestStep& step, const ReachCheck& check) {
  if (step.kind == StepKind::reach) return step.name;
  return step.name + ": " + check.from.text + " -> " + check.to.text + " " + check.target.str() + " " +
         std::string(to_string(check.expect));
}

guest::ProbeRequest probe_request(const ScenarioSession& session, const Row& row) {
  guest::ProbeRequest request;
  request.proto = row.check->target.proto == Proto::tcp ? guest::Proto::tcp
                  : row.check->target.proto == Proto::udp ? guest::Proto::udp
                                                          : guest::Proto::icmp;
  request.address = row.resolved->target_address.str();
  request.port = row.check->target.port;
  request.timeout = session.scenario->probe_timeout;
  return request;
}

bool vm_serves(const VirtualMachine& vm, const PortProto& target) {
  for (const auto& service : vm.services)
    if (service == target) return true;
  return false;
}

// Starts the agent's listeners on target VMs (on their bridge addresses
// only: the management address keeps the SSH server's port 22), and the
// harness's own in the namespace for `host` targets, for the ports the rows
// name. Returns why listening failed, by target ("" = the host).
std::map<std::string, std::string> start_listeners(ScenarioSession& session, const std::vector<Row>& rows) {
  std::map<std::string, std::string> failures;
  std::map<std::string, std::vector<std::pair<std::string, int>>> wanted;  // vm ("" = host) -> (proto, port)
  for (const auto& row : rows) {
    if (!row.resolved || row.check->target.proto == Proto::icmp) continue;
    std::pair<std::string, int> port{std::string(to_string(row.check->target.proto)), row.check->target.port};
    if (row.resolved->target_is_host) {
      if (!session.host_listening.count(port)) wanted[""].push_back(port);
    } else if (VmRuntime* vm = session.vm(row.resolved->target_vm)) {
      if (!vm_serves(*vm->config, row.check->target) && !vm->listening.count(port)) wanted[vm->config->name].push_back(port);
    }
  }
  for (auto& [vm_name, ports] : wanted) {
    std::sort(ports.begin(), ports.end());
    ports.erase(std::unique(ports.begin(), ports.end()), ports.end());
    if (vm_name.empty()) {
      std::vector<guest::ListenSpec> specs;
      for (const auto& [proto, port] : ports) specs.push_back({proto == "tcp" ? guest::Proto::tcp : guest::Proto::udp, port});
      auto listeners = session.network->ns().call_inside([&] { return guest::ListenerSet::open(specs); });
      if (!listeners) {
        failures[""] = "cannot listen on the scenario host: " + listeners.error().message;
        continue;
      }
      auto holder = std::make_unique<HostListeners>();
      holder->listeners = std::make_unique<guest::ListenerSet>(std::move(*listeners));
      guest::ListenerSet* set = holder->listeners.get();
      holder->server = std::thread([set] { (void)set->serve(); });
      session.extra_host_listeners.push_back(std::move(holder));
      for (const auto& p : ports) session.host_listening.insert(p);
      continue;
    }
    VmRuntime& vm = *session.vm(vm_name);
    std::string command = std::string(kAgent) + " listen --daemon";
    for (const auto& tap : session.network->topology().find_vm(vm_name)->networks) command += " --bind " + tap.address.str();
    for (const auto& [proto, port] : ports) command += " " + proto + " " + std::to_string(port);
    auto result = vm.ssh->run(command, scaled(session, Duration(20'000)));
    if (!result || result->exit_code != 0) {
      failures[vm_name] = "cannot start listeners on " + vm_name + ": " + (result ? result->stdout_text + result->stderr_text : result.error().message);
      continue;
    }
    for (const auto& p : ports) vm.listening.insert(p);
  }
  return failures;
}

// Probes from one VM: one agent call for all its rows.
void probe_from_vm(ScenarioSession& session, const std::string& vm_name, std::vector<Row*>& rows) {
  VmRuntime* vm = session.vm(vm_name);
  std::string batch;
  for (Row* row : rows) batch += guest::batch_line(probe_request(session, *row)) + "\n";
  auto result = vm->ssh->run(std::string(kAgent) + " probe --batch", scaled(session, Duration(30'000)) + session.scenario->probe_timeout, batch);
  if (!result || result->exit_code != 0) {
    std::string why = result ? "agent exit " + std::to_string(result->exit_code) + ": " + result->stderr_text : result.error().message;
    for (Row* row : rows) row->error = "probe from " + vm_name + " failed: " + why;
    return;
  }
  std::istringstream lines(result->stdout_text);
  for (Row* row : rows) {
    std::string line;
    if (!std::getline(lines, line)) {
      row->error = "the agent on " + vm_name + " answered fewer lines than it was asked";
      continue;
    }
    auto parsed = guest::parse_probe_json_line(line);
    if (!parsed) row->error = "unreadable agent answer: " + line;
    else if (!parsed->outcome) row->error = "probe could not be made: " + parsed->error;
    else row->outcome = parsed->outcome;
  }
}

void probe_from_host(ScenarioSession& session, std::vector<Row*>& rows) {
  std::vector<guest::ProbeRequest> requests;
  for (Row* row : rows) requests.push_back(probe_request(session, *row));
  std::vector<Result<guest::ProbeOutcome>> outcomes;
  Status inside = session.network->ns().run_inside([&] { outcomes = guest::probe_all(requests); });
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (!inside) rows[i]->error = "cannot probe from the scenario host: " + inside.error().message;
    else if (!outcomes[i]) rows[i]->error = "probe could not be made: " + outcomes[i].error().message;
    else rows[i]->outcome = *outcomes[i];
  }
}

bool row_passed(const Row& row) {
  return row.resolved && row.outcome && expectation_met(row.check->expect, row.outcome->observed);
}

// Round 0 probes every resolvable row; later rounds (retries) the ones
// that did not pass.
std::vector<Row*> rows_to_probe(std::vector<Row>& rows, int round) {
  std::vector<Row*> pending;
  for (auto& row : rows) {
    if (!row.resolved || (round > 0 && row_passed(row))) continue;
    row.outcome.reset();
    row.error.clear();
    pending.push_back(&row);
  }
  return pending;
}

void record_attempts(const std::vector<Row>& rows, std::vector<std::vector<Attempt>>& attempts, double time) {
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const Row& row = rows[i];
    if (!row.resolved || (!attempts[i].empty() && attempts[i].back().status == CaseStatus::passed)) continue;
    Attempt attempt;
    attempt.time = time;
    if (!row.outcome) {
      attempt.status = CaseStatus::errored;
      attempt.message = row.error;
    } else {
      Verdict v = judge_reach(row.check->expect, row.outcome->observed, row.outcome->elapsed);
      attempt.status = v.passed ? CaseStatus::passed : CaseStatus::failed;
      attempt.message = v.passed ? "" : v.message;
    }
    attempts[i].push_back(attempt);
  }
}

// Probes the given rows, sources concurrently.
void probe_rows(ScenarioSession& session, const std::vector<Row*>& pending) {
  std::map<std::string, std::vector<Row*>> by_source;  // "" = host
  for (Row* row : pending) by_source[row->resolved->from_host ? "" : row->resolved->source_vm].push_back(row);
  std::vector<std::future<void>> running;
  for (auto& [source, list] : by_source) {
    running.push_back(std::async(std::launch::async, [&session, &source, &list] {
      if (source.empty()) probe_from_host(session, list);
      else probe_from_vm(session, source, list);
    }));
  }
  for (auto& f : running) f.wait();
}

std::map<std::uint64_t, std::uint64_t> counter_snapshot(ScenarioSession& session) {
  std::map<std::uint64_t, std::uint64_t> packets;
  auto counters = net::read_rule_counters(session.network->nftables());
  if (!counters) return packets;
  for (const auto& c : *counters) {
    packets[c.handle] = c.packets;
    session.rule_comments[c.handle] = c.chain + ": " + c.comment;
  }
  return packets;
}

nlohmann::json rules_hit(ScenarioSession& session, const std::map<std::uint64_t, std::uint64_t>& before,
                         const std::map<std::uint64_t, std::uint64_t>& after) {
  nlohmann::json hit = nlohmann::json::array();
  for (const auto& [handle, packets] : after) {
    auto it = before.find(handle);
    std::uint64_t delta = packets - (it == before.end() ? 0 : it->second);
    session.rule_hits[handle] += delta;
    if (delta > 0) hit.push_back({{"rule", session.rule_comments[handle]}, {"handle", handle}, {"packets", delta}});
  }
  return hit;
}

CaseResult row_case(ScenarioSession& session, const Row& row, double time, const nlohmann::json& hit) {
  CaseResult c = new_case(session, row.name);
  c.time = time;
  c.expected = std::string(to_string(row.check->expect));
  if (!row.resolved) return errored_case(session, row.name, row.resolved.error().message);
  if (!row.outcome) {
    c.status = CaseStatus::errored;
    c.message = row.error;
    return c;
  }
  Verdict verdict = judge_reach(row.check->expect, row.outcome->observed, row.outcome->elapsed);
  c.status = verdict.passed ? CaseStatus::passed : CaseStatus::failed;
  c.observed = verdict.observed;
  c.message = verdict.passed ? "" : verdict.message;
  c.extra["probe"] = {{"from", row.check->from.text}, {"to", row.check->to.text}, {"address", row.resolved->target_address.str()},
                      {"target", row.check->target.str()}, {"detail", row.outcome->detail}};
  c.extra["nft_rules_hit"] = hit;
  if (!verdict.passed) {
    std::vector<std::string> vms;
    if (!row.resolved->from_host) vms.push_back(row.resolved->source_vm);
    if (!row.resolved->target_vm.empty()) vms.push_back(row.resolved->target_vm);
    c.detail = verdict.message + " (" + row.outcome->detail + ") probing " + row.resolved->target_address.str() + "\n\n" +
               console_evidence(session, vms);
  }
  return c;
}

std::vector<CaseResult> run_checks(ScenarioSession& session, const TestStep& step) {
  auto started = Clock::now();
  std::vector<Row> rows;
  for (const auto& check : step.checks) {
    Row row;
    row.check = &check;
    row.name = row_name(step, check);
    row.resolved = resolve_check(check, *session.scenario, session.network->topology());
    rows.push_back(std::move(row));
  }
  auto listen_failures = start_listeners(session, rows);
  for (auto& row : rows) {
    if (!row.resolved || row.check->target.proto == Proto::icmp) continue;
    std::string target = row.resolved->target_is_host ? "" : row.resolved->target_vm;
    if (auto it = listen_failures.find(target); it != listen_failures.end() && (target != "" || row.resolved->target_is_host))
      row.resolved = make_error(it->second);
  }
  auto before = counter_snapshot(session);
  std::vector<std::vector<Attempt>> attempts(rows.size());
  for (int round = 0; round <= step.retries; ++round) {
    std::vector<Row*> pending = rows_to_probe(rows, round);
    if (pending.empty()) break;
    if (round > 0) std::this_thread::sleep_for(std::chrono::seconds(1));
    auto round_started = Clock::now();
    probe_rows(session, pending);
    record_attempts(rows, attempts, seconds_since(round_started));
  }
  nlohmann::json hit = rules_hit(session, before, counter_snapshot(session));
  double time = seconds_since(started) / static_cast<double>(std::max<std::size_t>(1, rows.size()));
  std::vector<CaseResult> cases;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    CaseResult c = row_case(session, rows[i], time, hit);
    c.retries = step.retries;
    if (attempts[i].size() > 1) {
      c.attempts = attempts[i];
      c.flaky = c.status == CaseStatus::passed;
    }
    cases.push_back(std::move(c));
  }
  return cases;
}

// --- push, pull, link ------------------------------------------------------

CaseResult push_files(ScenarioSession& session, const TestStep& step) {
  auto started = Clock::now();
  VmRuntime* vm = session.vm(step.vm);
  CaseResult c = new_case(session, step.name);
  auto pushed = push_path(*vm->ssh, step.local_path, step.dst, scaled(session, step.timeout));
  c.time = seconds_since(started);
  append_transfer(*vm, "push " + step.src + " -> " + (pushed ? *pushed : step.dst), pushed ? Status{} : Status{pushed.error()}, c.time);
  if (!pushed) {
    c.status = CaseStatus::failed;
    c.message = "push " + step.src + " to " + step.vm + ":" + step.dst + ": " + pushed.error().message;
  }
  return c;
}

CaseResult pull_files(ScenarioSession& session, const TestStep& step) {
  auto started = Clock::now();
  VmRuntime* vm = session.vm(step.vm);
  CaseResult c = new_case(session, step.name);
  auto destination = path_beneath(session.artifacts, step.local_path, "pull destination");
  auto pulled = destination ? pull_path(*vm->ssh, step.src, *destination, scaled(session, step.timeout)) : Result<fs::path>(destination.error());
  c.time = seconds_since(started);
  append_transfer(*vm, "pull " + step.src + " -> " + (session.artifacts / step.local_path).string(),
                  pulled ? Status{} : Status{pulled.error()}, c.time);
  if (!pulled) {
    c.status = CaseStatus::failed;
    c.message = "pull " + step.vm + ":" + step.src + ": " + pulled.error().message;
    return c;
  }
  c.attachments.push_back((fs::path(session.scenario->name) / step.local_path / pulled->filename()).lexically_normal().string());
  return c;
}

CaseResult set_link(ScenarioSession& session, const TestStep& step) {
  auto started = Clock::now();
  VmRuntime* vm = session.vm(step.vm);
  CaseResult c = new_case(session, step.name);
  auto index = static_cast<std::size_t>(step.network_index);
  Status status = vm->machine->set_link(index, step.link_up);
  // `state: up` is done when the guest can use the link again, not when QEMU flipped it.
  if (status && step.link_up) {
    const vm::NicSpec& nic = vm->machine->spec().networks.at(index);
    status = wait_guest_link_ready(*vm->ssh, nic.guest_ifname, nic.address.str(), scaled(session, step.timeout));
  }
  c.time = seconds_since(started);
  if (!status) return errored_case(session, step.name, status.error().message);
  return c;
}

}  // namespace

std::string console_evidence(ScenarioSession& session, const std::vector<std::string>& vms, std::size_t lines) {
  std::string out;
  for (const auto& name : vms) {
    VmRuntime* vm = session.vm(name);
    if (!vm || !vm->machine) continue;
    out += "--- serial console of " + name + " (last " + std::to_string(lines) + " lines) ---\n" + vm->machine->console_tail(lines) + "\n";
  }
  return out;
}

std::vector<CaseResult> run_step(ScenarioSession& session, const TestStep& step) {
  try {
    switch (step.kind) {
      case StepKind::run: return {run_command(session, step)};
      case StepKind::reach:
      case StepKind::matrix: return run_checks(session, step);
      case StepKind::push: return {push_files(session, step)};
      case StepKind::pull: return {pull_files(session, step)};
      case StepKind::link: return {set_link(session, step)};
    }
  } catch (const std::exception& e) {
    return {errored_case(session, step.name, std::string("internal error: ") + e.what())};
  }
  return {};
}

}  // namespace meros
