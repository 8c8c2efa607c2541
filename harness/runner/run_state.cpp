#include "runner/run_state.h"

#include "report/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>

namespace meros {

std::optional<unsigned long long> process_start_time(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  if (!std::getline(in, text)) return std::nullopt;
  // The command name may hold spaces and parentheses: fields start after the last ')'.
  auto close = text.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(text.substr(close + 2));
  std::string field;
  for (int index = 3; fields >> field; ++index)
    if (index == 22) return std::stoull(field);
  return std::nullopt;
}

ProcessIdentity current_process() {
  int pid = static_cast<int>(::getpid());
  return {pid, process_start_time(pid).value_or(0)};
}

bool is_alive(const ProcessIdentity& process) {
  if (process.pid <= 0) return false;
  auto start = process_start_time(process.pid);
  return start && *start == process.start_time;
}

namespace {

nlohmann::json identity_json(const ProcessIdentity& p) { return {{"pid", p.pid}, {"start_time", p.start_time}}; }

ProcessIdentity identity_from(const nlohmann::json& j) {
  return {j.value("pid", 0), j.value("start_time", 0ull)};
}

nlohmann::json vm_json(const VmRecord& vm) {
  return {{"name", vm.name}, {"mgmt", vm.management_address}, {"addresses", vm.addresses}, {"user", vm.user}, {"host_key", vm.host_key}};
}

VmRecord vm_from(const nlohmann::json& j) {
  return {j.at("name").get<std::string>(), j.at("mgmt").get<std::string>(), j.value("addresses", ""), j.value("user", "root"),
          j.value("host_key", "")};
}

}  // namespace

const VmRecord* RunState::find_vm(const std::string& name) const {
  for (const auto& vm : vms)
    if (vm.name == name) return &vm;
  return nullptr;
}

nlohmann::json RunState::to_json() const {
  nlohmann::json processes_json = nlohmann::json::array(), vms_json = nlohmann::json::array();
  for (const auto& p : processes) processes_json.push_back(identity_json(p));
  for (const auto& vm : vms) vms_json.push_back(vm_json(vm));
  return {{"run_id", run_id}, {"scenario", scenario}, {"scenario_path", scenario_path}, {"mode", mode},
          {"kept_for_inspection", kept_for_inspection}, {"owner", identity_json(owner)}, {"created_at", created_at},
          {"netns", netns}, {"processes", processes_json}, {"paths", paths}, {"client_key", client_key}, {"vms", vms_json}};
}

Result<RunState> RunState::from_json(const nlohmann::json& json) {
  try {
    RunState state;
    state.run_id = json.at("run_id").get<std::string>();
    state.scenario = json.value("scenario", "");
    state.scenario_path = json.value("scenario_path", "");
    state.mode = json.value("mode", "test");
    state.kept_for_inspection = json.value("kept_for_inspection", false);
    state.owner = identity_from(json.at("owner"));
    state.created_at = json.value("created_at", "");
    state.netns = json.value("netns", "");
    for (const auto& p : json.value("processes", nlohmann::json::array())) state.processes.push_back(identity_from(p));
    state.paths = json.value("paths", std::vector<std::string>{});
    state.client_key = json.value("client_key", "");
    for (const auto& vm : json.value("vms", nlohmann::json::array())) state.vms.push_back(vm_from(vm));
    return state;
  } catch (const std::exception& e) {
    return make_error(std::string("damaged run-state file: ") + e.what());
  }
}

fs::path run_state_dir() {
  if (const char* env = std::getenv("MEROS_TEST_RUN_DIR"); env && *env) return env;
  return "/run/meros-test";
}

std::string new_run_id() {
  std::random_device random;
  static const char* digits = "0123456789abcdef";
  std::string id;
  for (int i = 0; i < 6; ++i) id += digits[random() % 16];
  return id;
}

Status save_run_state(const fs::path& dir, const RunState& state) {
  // Atomic: gc and status read these files while runs write them.
  return write_file_atomically(dir / (state.run_id + ".json"), state.to_json().dump(2) + "\n");
}

bool is_run_path(const fs::path& path, const std::string& run_id) {
  // A scenario's state id is <run>-<scenario>; its directories carry <run>.
  std::string run = run_id.substr(0, run_id.find('-'));
  bool plain_run = !run.empty() && run.find_first_not_of("0123456789abcdef") == std::string::npos;
  if (!plain_run || !path.is_absolute() || path.filename().empty()) return false;
  bool has_run = false;
  for (const auto& part : path) {
    if (part == "." || part == "..") return false;
    if (part == run || part == run_id) has_run = true;
  }
  return has_run;
}

Status remove_run_state(const fs::path& dir, const std::string& run_id) {
  std::error_code ec;
  fs::remove(dir / (run_id + ".json"), ec);
  if (ec) return make_error("cannot remove the run state of " + run_id + ": " + ec.message());
  fs::remove(dir / (run_id + ".release"), ec);  // a release nobody took
  return {};
}

Status request_release(const fs::path& dir, const std::string& id) {
  std::ofstream out(dir / (id + ".release"));
  if (!out) return make_error("cannot write " + (dir / (id + ".release")).string());
  return {};
}

bool take_release(const fs::path& dir, const std::string& id) {
  std::error_code ec;
  return fs::remove(dir / (id + ".release"), ec);
}

std::vector<RunState> load_run_states(const fs::path& dir) {
  std::vector<RunState> states;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.path().extension() != ".json" || entry.path().filename().string().starts_with(".")) continue;
    std::ifstream in(entry.path());
    try {
      if (auto state = RunState::from_json(nlohmann::json::parse(in))) states.push_back(*state);
    } catch (const std::exception&) {
      // an unreadable file is left for a human; gc reports nothing for it
    }
  }
  std::sort(states.begin(), states.end(), [](const RunState& a, const RunState& b) { return a.created_at < b.created_at; });
  return states;
}

}  // namespace meros
