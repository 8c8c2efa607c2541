#include "runner/hooks.h"

#include <algorithm>
#include <fstream>

#include "check/ssh.h"

namespace meros {
namespace {

constexpr std::size_t kTailLines = 20;

std::string bridge_addresses(const VmPlan& vm) {
  std::string out;
  for (const auto& net : vm.config->networks) {
    if (!net.ip) continue;
    if (!out.empty()) out += ' ';
    out += net.bridge + "=" + net.ip->str();
  }
  return out;
}

// A file name for the artifacts: the hook's base name, made safe.
std::string log_name(int index, const HookOutcome& o) {
  std::string base = std::filesystem::path(o.hook).filename().string();
  for (char& c : base)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '_') c = '_';
  return std::to_string(index) + "-" + o.event + (o.vm.empty() ? "" : "-" + o.vm) + "-" + base + ".log";
}

}  // namespace

std::string hook_env_name(const std::string& vm) {
  std::string out;
  for (char c : vm) {
    char u = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    out += (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') ? u : '_';
  }
  return out;
}

std::map<std::string, std::string> host_hook_environment(const Plan& plan, const std::string& run_id, const std::string& event,
                                                         const std::filesystem::path& known_hosts) {
  std::map<std::string, std::string> env = {
      {"MEROS_EVENT", event},
      {"MEROS_RUN_ID", run_id},
      {"MEROS_SCENARIO", plan.scenario->name},
      {"MEROS_SCENARIO_DIR", plan.scenario->dir.string()},
      {"MEROS_NETNS", plan.topology.namespace_name},
      {"MEROS_ARTIFACTS", plan.artifacts.string()},
      {"MEROS_KNOWN_HOSTS", known_hosts.string()},
  };
  if (!plan.vms.empty()) env["MEROS_SSH_KEY"] = plan.vms.front().ssh.private_key.string();
  for (const auto& vm : plan.vms) {
    std::string name = hook_env_name(vm.name());
    env["MEROS_VM_" + name + "_MGMT"] = vm.ssh.address.str();
    env["MEROS_VM_" + name + "_ADDRS"] = bridge_addresses(vm);
  }
  return env;
}

std::string known_hosts_text(const Plan& plan) {
  std::string out;
  for (const auto& vm : plan.vms) {
    // "type base64 [comment]": OpenSSH wants the type and key only.
    std::string key = vm.ssh.host_key;
    if (auto first = key.find(' '); first != std::string::npos)
      if (auto second = key.find(' ', first + 1); second != std::string::npos) key.resize(second);
    out += vm.ssh.address.str() + " " + key + "\n";
  }
  return out;
}

HookRunner::HookRunner(const Plan& plan, std::string run_id, ProcessRunner& runner, Duration timeout)
    : plan_(plan), run_id_(std::move(run_id)), runner_(runner), timeout_(timeout), dir_(plan.artifacts / "hooks"),
      known_hosts_(plan.work / "known_hosts") {}

void HookRunner::count_setup_against(vm::Clock::time_point deadline, std::string scenario_timeout_text) {
  deadline_ = deadline;
  scenario_timeout_text_ = std::move(scenario_timeout_text);
}

Duration HookRunner::budget(const std::string& event) const {
  bool setup = event == "on_up" || event == "on_boot";
  if (!setup || !deadline_) return timeout_;
  auto left = std::chrono::duration_cast<Duration>(*deadline_ - vm::steady_clock().now());
  return std::clamp(left, Duration{0}, timeout_);
}

std::string HookRunner::timed_out_message(const std::string& event, Duration given) const {
  if (given < timeout_ && budget(event) == Duration{0})
    return "was stopped after " + std::to_string(given.count()) + " ms: the scenario's timeout (" + scenario_timeout_text_ + ") ran out";
  return "timed out after " + std::to_string(given.count() / 1000) + "s";
}

std::string HookRunner::not_started_message() const {
  return "was not started: the scenario's timeout (" + scenario_timeout_text_ + ") had run out";
}

Status HookRunner::write_known_hosts() {
  std::error_code ec;
  std::filesystem::create_directories(known_hosts_.parent_path(), ec);
  std::ofstream out(known_hosts_, std::ios::trunc);
  out << known_hosts_text(plan_);
  out.close();
  if (!out) return make_error("cannot write " + known_hosts_.string());
  return {};
}

Status HookRunner::record(HookOutcome outcome, const std::string& full_output) {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  outcome.log = dir_ / log_name(++count_, outcome);
  std::ofstream(outcome.log, std::ios::trunc) << full_output;
  outcome.output = tail_lines(full_output, kTailLines);
  Status status;
  if (!outcome.ok) {
    std::string where = outcome.vm.empty() ? "host" : "VM " + outcome.vm;
    status = make_error(outcome.event + " hook " + outcome.hook + " (" + where + ") " + outcome.message +
                        (outcome.output.empty() ? "" : "; the end of its output:\n" + outcome.output));
  }
  outcomes_.push_back(std::move(outcome));
  return status;
}

Status HookRunner::run_host(const std::string& event, const std::vector<Hook>& hooks, bool stop_at_failure) {
  if (hooks.empty()) return {};
  if (Status written = write_known_hosts(); !written) return written;
  Status first_failure;
  for (const auto& hook : hooks) {
    ProcessSpec spec;
    spec.argv = {hook.path.string()};
    spec.cwd = plan_.scenario->dir;
    spec.environment = host_hook_environment(plan_, run_id_, event, known_hosts_);
    spec.timeout = budget(event);
    spec.runs_after_stop = event == "before_down";
    HookOutcome o{event, "", hook.text};
    std::string output;
    if (spec.timeout == Duration{0}) {
      o.message = not_started_message();
    } else {
      auto result = runner_.run(spec);
      if (!result) o.message = result.error().message;
      else if (result->timed_out) o.message = timed_out_message(event, spec.timeout);
      else if (result->exit_code != 0) o.message = "exited with status " + std::to_string(result->exit_code);
      if (result) output = result->output;
    }
    o.ok = o.message.empty();
    Status status = record(std::move(o), output);
    if (!status && first_failure) first_failure = status;
    if (!status && stop_at_failure) return status;
  }
  return first_failure;
}

Status HookRunner::run_guest(const std::string& event, Testbed& testbed, bool stop_at_failure) {
  Status first_failure;
  for (const auto& vm : plan_.vms) {
    const auto& hooks = event == "on_boot" ? vm.config->guest_hooks.on_boot : vm.config->guest_hooks.before_shutdown;
    for (const auto& hook : hooks) {
      HookOutcome o{event, vm.name(), hook.text};
      // The guest path is the harness's own, so the command line carries no
      // manifest data; the hook itself runs as its own argv[0].
      std::string guest_path = "/tmp/meros-hook-" + std::to_string(count_ + 1);
      std::string output;
      Duration given = budget(event);
      Transfer copied = given == Duration{0} ? Transfer{} : testbed.push(vm.name(), hook.path, guest_path, given, 64ull << 20);
      if (given == Duration{0}) {
        o.message = not_started_message();
      } else if (!copied.copied) {
        o.message = "could not be copied into the guest: " + copied.copied.error().message;
      } else {
        std::string command = "chmod 0755 " + guest_path + " && MEROS_EVENT=" + event + " MEROS_VM=" + shell_quote(vm.name()) +
                              " " + guest_path + " 2>&1";
        testbed.note(vm.name(), "# " + event + " hook " + hook.text);
        given = budget(event);  // the copy took some of it
        auto ran = testbed.run(vm.name(), command, std::max(given, Duration{1}));
        if (!ran) o.message = ran.error().message;
        else {
          output = ran->stdout_text + ran->stderr_text;
          if (ran->timed_out) o.message = timed_out_message(event, given);
          else if (ran->exit_code != 0) o.message = "exited with status " + std::to_string(ran->exit_code);
        }
      }
      o.ok = o.message.empty();
      Status status = record(std::move(o), output);
      if (!status && first_failure) first_failure = status;
      if (!status && stop_at_failure) return status;
    }
  }
  return first_failure;
}

}  // namespace meros
