#include "runner/scenario_runner.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fcntl.h>

#include <fstream>
#include <regex>

#include "fixture/image_builder.h"
#include "fixture/kernel_builder.h"
#include "fixture/ssh_keys.h"
#include "net/netns.h"
#include "runner/case_facts.h"
#include "runner/run_state.h"
#include "runner/session.h"
#include "runner/steps.h"
#include "util/path_join.h"
#include "util/text.h"
#include "vm/qemu_command.h"

namespace meros {
namespace {

using Clock = std::chrono::steady_clock;

// A TCP connection from inside the namespace, or an Error after timeout.
Result<int> connect_inside(const net::NetworkNamespace& ns, Ipv4 address, int port, std::chrono::milliseconds timeout) {
  auto socket = ns.open_socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (!socket) return socket.error();
  sockaddr_in target{};
  target.sin_family = AF_INET;
  target.sin_port = htons(static_cast<uint16_t>(port));
  target.sin_addr.s_addr = htonl(address.value);
  int fd = socket->get();
  if (::connect(fd, reinterpret_cast<sockaddr*>(&target), sizeof target) != 0 && errno != EINPROGRESS)
    return make_error("connect to " + address.str() + ":" + std::to_string(port) + ": " + std::strerror(errno));
  pollfd pfd{fd, POLLOUT, 0};
  int error = 0;
  socklen_t length = sizeof error;
  if (::poll(&pfd, 1, static_cast<int>(timeout.count())) != 1 || ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0 || error != 0)
    return make_error("no answer from " + address.str() + ":" + std::to_string(port));
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  return socket->release();
}

// Everything between "scenario selected" and "report written".
class ScenarioRun {
 public:
  ScenarioRun(const SelectedScenario& selected, const RunSettings& settings, RunServices& services)
      : selected_(selected), settings_(settings), services_(services) {
    const Scenario& scenario = selected.scenario;
    session_.scenario = &scenario;
    session_.run_id = settings.run_id;
    // Validated as identifiers; checked again because teardown removes the work directory.
    session_.artifacts = checked_child_path(settings.artifacts_root, scenario.name, "scenario name");
    session_.work = checked_child_path(settings.work_root, scenario.name, "scenario name");
    session_.timeout_multiplier = settings.timeout_multiplier;
    suite_.name = scenario.name;
    suite_.path = scenario.display_path;
    suite_.topology = describe_topology(scenario);
    suite_.timestamp = format_iso8601(std::chrono::system_clock::now());
    session_.deadline = Clock::now() + std::chrono::milliseconds(static_cast<long long>(
                                           static_cast<double>(scenario.timeout.count()) * settings.timeout_multiplier));
  }

  Status hold(const std::function<void(const std::string&)>& while_up) {
    std::error_code ec;
    fs::create_directories(session_.artifacts, ec);
    fs::create_directories(session_.work, ec);
    mode_ = "up";
    Status setup = set_up();
    if (setup) {
      (void)save_state();
      while_up(state_id());
    }
    tear_down();
    return setup;
  }

  SuiteResult run() {
    services_.printer.scenario_started(suite_.name);
    std::error_code ec;
    fs::create_directories(session_.artifacts, ec);
    fs::create_directories(session_.work, ec);
    Status setup = set_up();
    if (setup) run_tests();
    else record_setup_failure(setup.error().message);
    if (settings_.keep_on_failure && !all_passed(count_cases(suite_)) && session_.network) hold_for_inspection();
    tear_down();
    suite_.time = since_start(Clock::now());
    return suite_;
  }

 private:
  void log(const std::string& text) {
    services_.printer.line(suite_.name, text, false);
    suite_.system_out += text + "\n";
  }

  double since_start(Clock::time_point when) const { return std::chrono::duration<double>(when - started_).count(); }

  // A set-up stage on the report's timeline.
  Status timed(const std::string& name, Status (ScenarioRun::*stage)()) {
    auto began = Clock::now();
    Status status = (this->*stage)();
    suite_.timeline.push_back({name, since_start(began), since_start(Clock::now()) - since_start(began), status.ok()});
    return status;
  }

  // --- set-up ----------------------------------------------------------------
  Status set_up() {
    if (auto s = timed("fixtures", &ScenarioRun::prepare_fixtures); !s) return s;
    if (auto s = timed("network", &ScenarioRun::start_network); !s) return s;
    if (auto s = timed("boot", &ScenarioRun::start_machines); !s) return s;
    if (auto s = timed("ssh", &ScenarioRun::connect_ssh); !s) return s;
    return timed("guest firewalls", &ScenarioRun::load_guest_firewalls);
  }

  Status prepare_fixtures() {
    BuildContext context{services_.store, services_.runner, services_.hashes, services_.reporter,
                         static_cast<int>(std::max(1u, std::thread::hardware_concurrency()))};
    auto key = ensure_client_key(services_.store.keys_dir());
    if (!key) return make_error("client key: " + key.error().message);
    session_.client_key = key->private_key.string();
    const Scenario& scenario = selected_.scenario;
    std::map<std::string, CachedFixture> kernels, images;  // each recipe once
    for (const auto& vm : scenario.vms) {
      VmRuntime runtime;
      runtime.config = &vm;
      if (vm.boot == BootMode::direct && !kernels.count(vm.kernel)) {
        auto kernel = ensure_kernel(scenario.kernels.at(vm.kernel), context);
        if (!kernel) return kernel.error();
        kernels.emplace(vm.kernel, *kernel);
      }
      if (!images.count(vm.image)) {
        auto image = ensure_image(scenario.images.at(vm.image), context);
        if (!image) return image.error();
        images.emplace(vm.image, *image);
      }
      if (vm.boot == BootMode::direct) runtime.kernel = kernels.at(vm.kernel);
      runtime.image = images.at(vm.image);
      auto console_log = child_path(session_.artifacts, vm.name + ".console.log", "VM name");
      auto transcript = child_path(session_.artifacts, vm.name + ".commands.log", "VM name");
      if (!console_log) return console_log.error();
      if (!transcript) return transcript.error();
      runtime.console_log = *console_log;
      runtime.transcript = *transcript;
      session_.vms.emplace(vm.name, std::move(runtime));
    }
    services_.hashes.save();
    return {};
  }

  Status start_network() {
    auto network = net::ScenarioNetwork::start(selected_.scenario, session_.run_id);
    if (!network) return make_error("network: " + network.error().message);
    session_.network.emplace(std::move(*network));
    log("network: namespace " + session_.network->topology().namespace_name + " with " +
        std::to_string(session_.network->topology().bridges.size()) + " bridge(s) and policies");
    (void)session_.network->write_artifacts(session_.artifacts / "setup");
    return save_state();
  }

  std::string state_id() const { return session_.run_id + "-" + suite_.name; }

  Status save_state() {
    RunState state;
    state.run_id = state_id();
    state.mode = mode_;
    state.details["client_key"] = session_.client_key;
    if (kept_) state.details["kept_for_inspection"] = true;
    state.scenario = suite_.name;
    state.scenario_path = selected_.scenario.file.string();
    state.owner = current_process();
    state.created_at = format_iso8601(std::chrono::system_clock::now());
    state.netns = session_.network ? session_.network->topology().namespace_name : "";
    state.paths = {session_.work.string()};
    state.details["vms"] = nlohmann::json::array();
    for (auto& [name, vm] : session_.vms) {
      if (vm.machine) state.processes.push_back({vm.machine->pid(), process_start_time(vm.machine->pid()).value_or(0)});
      const net::VmLinks* links = session_.network ? session_.network->topology().find_vm(name) : nullptr;
      if (!links) continue;
      std::string addresses;
      for (const auto& tap : links->networks) addresses += (addresses.empty() ? "" : " ") + tap.bridge + "=" + tap.address.str();
      state.details["vms"].push_back({{"name", name}, {"mgmt", links->management.guest_address.str()}, {"addresses", addresses},
                                      {"user", vm.config->ssh_user}, {"host_key", vm.image.manifest.value("host_key", "")}});
    }
    return save_run_state(run_state_dir(), state);
  }

  vm::NicSpec nic(const std::string& tap, const Mac& mac, const std::string& model, const std::string& ifname, Ipv4 address, int prefix) {
    vm::NicSpec spec;
    spec.tap = tap;
    spec.mac = mac;
    spec.model = model;
    spec.guest_ifname = ifname;
    spec.address = address;
    spec.prefix = prefix;
    return spec;
  }

  vm::MachineSpec machine_spec(VmRuntime& runtime) {
    const VirtualMachine& vm = *runtime.config;
    const net::VmLinks* links = session_.network->topology().find_vm(vm.name);
    vm::MachineSpec spec;
    spec.name = vm.name;
    spec.arch = vm.arch;
    spec.machine = vm.machine;
    spec.boot = vm.boot;
    spec.accel = vm::accel_for(vm.arch, settings_.accel);
    spec.cpus = vm.cpus;
    spec.memory_mib = vm.memory_mib;
    if (vm.boot == BootMode::direct) spec.kernel = runtime.kernel.artifact();
    if (vm.boot == BootMode::direct && runtime.kernel.manifest.contains("initrd"))
      spec.initrd = runtime.kernel.file("initrd");
    spec.root_device = runtime.image.manifest.value("root_device", "/dev/vda");
    spec.disk = runtime.overlay->path();
    for (std::size_t i = 0; i < links->networks.size(); ++i) {
      const auto& tap = links->networks[i];
      spec.networks.push_back(nic(tap.ifname, tap.mac, vm.networks[i].model, "eth" + std::to_string(i), tap.address, tap.prefix));
    }
    const auto& m = links->management;
    spec.management = nic(m.ifname, m.mac, "virtio-net", "mgmt0", m.guest_address, m.prefix);
    spec.gateway = vm.gateway;
    spec.cmdline = vm.cmdline;
    spec.qemu_args = vm.qemu_args;
    spec.console_log = runtime.console_log;
    spec.qmp_socket = session_.work / (vm.name + ".qmp");
    return spec;
  }

  Status start_machines() {
    for (auto& [name, runtime] : session_.vms) {
      auto overlay_path = child_path(session_.work, name + ".qcow2", "VM name");
      if (!overlay_path) return overlay_path.error();
      auto overlay = vm::Overlay::create(services_.runner, runtime.image.artifact(), *overlay_path, runtime.config->disk_size);
      if (!overlay) return make_error(name + ": overlay: " + overlay.error().message);
      runtime.overlay.emplace(std::move(*overlay));
      vm::MachineOptions options;
      options.netns_fd = session_.network->ns().fd();
      auto machine = vm::Machine::start(machine_spec(runtime), options);
      if (!machine) return machine.error();  // it names the VM
      runtime.machine.emplace(std::move(*machine));
    }
    (void)save_state();
    auto booted = Clock::now();
    auto boot_timeout = std::chrono::milliseconds(static_cast<long long>(60'000 * settings_.timeout_multiplier));
    for (auto& [name, runtime] : session_.vms) {
      Ipv4 address = session_.network->topology().find_vm(name)->management.guest_address;
      const net::NetworkNamespace& ns = session_.network->ns();
      auto port_open = [&ns, address] {
        auto fd = connect_inside(ns, address, 22, std::chrono::milliseconds(300));
        if (fd) ::close(*fd);
        return fd.ok();
      };
      auto ready = runtime.machine->wait_ready(port_open, boot_timeout);
      if (!ready) return ready.error();
      log(name + ": ready in " + std::to_string(ready->count()) + " ms");
      suite_.timeline.push_back({name + " ready", since_start(booted), static_cast<double>(ready->count()) / 1000, true});
    }
    return {};
  }

  Status connect_ssh() {
    for (auto& [name, runtime] : session_.vms) {
      SshTarget target;
      Ipv4 address = session_.network->topology().find_vm(name)->management.guest_address;
      target.host = address.str();
      target.user = runtime.config->ssh_user;
      target.private_key_file = session_.client_key;
      target.pinned_host_key = runtime.image.manifest.value("host_key", "");
      const net::NetworkNamespace& ns = session_.network->ns();
      target.connect_socket = [&ns, address] { return connect_inside(ns, address, 22, std::chrono::seconds(5)); };
      auto client = LibsshClient::connect(target);
      if (!client) return make_error(name + ": " + client.error().message);
      runtime.ssh = std::move(*client);
    }
    return {};
  }

  // Every VM's firewall is tried, so one run reports all that fail.
  Status load_guest_firewalls() {
    std::vector<std::string> failures;
    for (auto& [name, runtime] : session_.vms) {
      if (!runtime.config->firewall) continue;
      if (auto loaded = load_guest_firewall(name, runtime); !loaded) failures.push_back(loaded.error().message);
    }
    if (failures.empty()) return {};
    std::string message = failures.size() == 1 ? "" : std::to_string(failures.size()) + " guest firewalls failed to load\n";
    for (const auto& failure : failures) message += failure + "\n";
    message.pop_back();
    return make_error(message);
  }

  Status load_guest_firewall(const std::string& name, VmRuntime& runtime) {
    std::string file = runtime.config->firewall->filename().string();
    std::ifstream in(*runtime.config->firewall);
    std::string rules((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto timeout = std::chrono::milliseconds(static_cast<long long>(30'000 * settings_.timeout_multiplier));
    auto result = runtime.ssh->run(
        "command -v nft >/dev/null || exit 127; mkdir -p /etc/meros && cat > /etc/meros/firewall.nft && nft -f /etc/meros/firewall.nft",
        timeout, rules);
    if (!result) return make_error(name + ": firewall " + file + ": " + result.error().message);
    if (result->exit_code == 127)
      return make_error(name + ": cannot load the firewall " + file + ": its image has no nft (add nftables to the image's packages)");
    if (result->exit_code != 0) {
      // nft names the copy in the guest; the user knows the file by its name.
      std::string output = std::regex_replace(result->stderr_text + result->stdout_text, std::regex("/etc/meros/firewall\\.nft"), file);
      while (!output.empty() && output.back() == '\n') output.pop_back();
      return make_error(name + ": nft -f " + file + " failed: " + output.substr(0, output.find('\n')) + "\n" + output);
    }
    log(name + ": firewall " + file + " loaded");
    return {};
  }

  // --- tests -------------------------------------------------------------------
  void run_tests() {
    const auto& tests = selected_.scenario.tests;
    for (std::size_t i = 0; i < tests.size(); ++i) {
      if (!selected_.run_test[i]) continue;
      if (std::string why = stop_reason(); !why.empty()) {
        add_case(skipped_case(tests[i], why));
        continue;
      }
      double started = since_start(Clock::now());
      std::vector<CaseResult> cases = run_step(session_, tests[i]);
      add_step_facts(cases, tests[i], started);
      for (auto& c : cases) {
        attach_evidence(c, step_vms(tests[i]), session_.artifacts, suite_.name);
        add_case(std::move(c));
      }
    }
    record_coverage();
  }

  std::string stop_reason() const {
    if (settings_.interrupted && settings_.interrupted->load()) return "not run: interrupted";
    if (Clock::now() > session_.deadline) return "not run: the scenario's timeout (" + format_duration(selected_.scenario.timeout) + ") ran out";
    return "";
  }

  CaseResult skipped_case(const TestStep& step, const std::string& why) {
    std::vector<CaseResult> cases(1);
    CaseResult& c = cases[0];
    c.name = step.name;
    c.classname = suite_.name;
    c.status = CaseStatus::skipped;
    c.message = why;
    add_step_facts(cases, step, since_start(Clock::now()));
    return c;
  }

  void add_case(CaseResult c) {
    services_.printer.step_finished(suite_.name, c);
    suite_.cases.push_back(std::move(c));
  }

  void record_setup_failure(const std::string& message) {
    CaseResult c;
    c.name = "scenario setup";
    c.classname = suite_.name;
    c.status = CaseStatus::errored;
    std::size_t first_line_end = message.find('\n');
    c.message = message.substr(0, first_line_end);
    std::vector<std::string> names;
    for (auto& [name, vm] : session_.vms) names.push_back(name);
    std::string rest = first_line_end == std::string::npos ? "" : message.substr(first_line_end + 1) + "\n\n";
    c.detail = rest + console_evidence(session_, names);
    c.kind = "setup";
    c.line = 1;
    c.started = suite_.timeline.empty() ? 0 : suite_.timeline.back().started;
    attach_evidence(c, names, session_.artifacts, suite_.name);
    add_case(std::move(c));
    const auto& tests = selected_.scenario.tests;
    for (std::size_t i = 0; i < tests.size(); ++i)
      if (selected_.run_test[i]) add_case(skipped_case(tests[i], "not run: the scenario's setup failed"));
  }

  // Generated rules no check ever hit: policy the tests do not cover.
  void record_coverage() {
    if (session_.rule_comments.empty()) return;
    std::string uncovered;
    for (const auto& [handle, comment] : session_.rule_comments)
      if (session_.rule_hits[handle] == 0) uncovered += "  " + comment + "\n";
    suite_.properties.push_back({"nft_rules_not_covered", uncovered.empty() ? "none" : uncovered});
    if (!uncovered.empty()) suite_.system_out += "generated rules no check hit (not covered):\n" + uncovered;
  }

  // --keep-on-failure: the failed constellation stays up, reachable with
  // the lifecycle commands, until `meros-test down` (SIGTERM) or Ctrl-C.
  void hold_for_inspection() {
    mode_ = "up";
    kept_ = true;
    (void)save_state();
    std::string id = state_id();
    services_.printer.line(suite_.name, "kept running for inspection (--keep-on-failure):", true);
    services_.printer.line(suite_.name, "  meros-test status | exec " + id + " VM -- CMD | connect " + id + " VM", true);
    services_.printer.line(suite_.name, "  meros-test down " + id + "   (or Ctrl-C) tears it down and writes the report", true);
    while (!(settings_.interrupted && settings_.interrupted->load()) && !take_release(run_state_dir(), id))
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }

  // --- teardown ----------------------------------------------------------------
  void tear_down() {
    collect_guest_rulesets();
    if (session_.network) (void)session_.network->write_artifacts(session_.artifacts / "teardown");
    session_.extra_host_listeners.clear();
    for (auto& [name, runtime] : session_.vms) {
      runtime.ssh.reset();
      if (runtime.machine) {
        auto stopped = runtime.machine->shutdown(std::chrono::milliseconds(2000), std::chrono::milliseconds(3000));
        if (!stopped) suite_.system_err += name + ": " + stopped.error().message + "\n";
      }
      runtime.machine.reset();
      if (runtime.overlay) (void)runtime.overlay->remove();
    }
    if (session_.network) {
      if (auto stopped = session_.network->stop(); !stopped) suite_.system_err += "network: " + stopped.error().message + "\n";
      session_.network.reset();
    }
    std::error_code ec;
    fs::remove_all(session_.work, ec);
    (void)remove_run_state(run_state_dir(), state_id());
  }

  void collect_guest_rulesets() {
    for (auto& [name, runtime] : session_.vms) {
      if (!runtime.ssh) continue;
      auto listing = runtime.ssh->run("command -v nft >/dev/null && nft list ruleset", std::chrono::seconds(10));
      auto file = child_path(session_.artifacts, name + ".nft-ruleset.txt", "VM name");
      if (file && listing && listing->exit_code == 0) std::ofstream(*file) << listing->stdout_text;
    }
  }

  const SelectedScenario& selected_;
  const RunSettings& settings_;
  RunServices& services_;
  ScenarioSession session_;
  SuiteResult suite_;
  Clock::time_point started_ = Clock::now();  // the suite's time and timeline count from here
  std::string mode_ = "test";
  bool kept_ = false;  // held by --keep-on-failure until `down` releases it
};

}  // namespace

SuiteResult run_scenario(const SelectedScenario& selected, const RunSettings& settings, RunServices& services) {
  return ScenarioRun(selected, settings, services).run();
}

Status hold_scenario(const SelectedScenario& selected, const RunSettings& settings, RunServices& services,
                     const std::function<void(const std::string& state_id)>& while_up) {
  return ScenarioRun(selected, settings, services).hold(while_up);
}

}  // namespace meros
