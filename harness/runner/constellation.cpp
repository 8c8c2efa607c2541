#include "runner/constellation.h"

#include <sys/stat.h>

#include <cerrno>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include "check/link_ready.h"
#include "check/transfer.h"
#include "guest/format.h"
#include "guest/listen.h"
#include "net/netns.h"
#include "net/scenario_network.h"
#include "report/result.h"
#include "runner/policy_trace.h"
#include "util/bounded_output.h"
#include "util/cleanup.h"
#include "util/debug_log.h"
#include "util/path_join.h"
#include "util/signals.h"
#include "util/text.h"
#include "vm/boot_watch.h"
#include "vm/machine.h"
#include "vm/overlay.h"

namespace meros {
namespace {

constexpr const char* kAgent = guest::kAgentPath;

// Listeners the harness serves inside the namespace, for checks whose
// target is `host`; stopped and joined on destruction.
struct HostListeners {
  guest::ListenerSet listeners;
  std::thread server;
  explicit HostListeners(guest::ListenerSet set) : listeners(std::move(set)) {
    server = std::thread([this] { (void)listeners.serve(); });
  }
  ~HostListeners() {
    listeners.stop();
    if (server.joinable()) server.join();
  }
};

// One VM while it runs.
struct RunningVm {
  const VmPlan* plan = nullptr;
  std::optional<vm::Overlay> overlay;
  std::optional<vm::Machine> machine;
  std::unique_ptr<SshClient> ssh;
  std::mutex transcript_mutex;
  // Head and tail of every command's output: a step may print 32 MiB.
  std::optional<CappedLogFile> transcript;
};


}  // namespace

// The constellation's resources and the real Testbed over them. Held by
// pointer so that the releases on the cleanup stack may point into it.
class Constellation::Parts : public Testbed {
 public:
  Parts(const Plan& plan, ProcessRunner& runner, ConstellationLog log) : plan_(plan), runner_(runner), log_(std::move(log)) {
    state_ = plan.state;
    for (const auto& vm : plan.vms) {
      vms_.push_back(std::make_unique<RunningVm>());
      vms_.back()->plan = &vm;
    }
  }

  ~Parts() override {
    for (const auto& failure : cleanup_.unwind()) log_.failure(failure);
  }

  Status bring_up() {
    if (auto s = write_state(); !s) return s;
    if (auto s = start_network(); !s) return s;
    if (auto s = start_machines(); !s) return s;
    if (auto s = connect_ssh(); !s) return s;
    start_tracer();
    return {};
  }

  CaptureReport stop_capture() {
    if (capture_running_) {
      capture_.files = capture_running_->stop();
      capture_running_.reset();
    }
    return capture_;
  }

  Status record(const std::string& mode, bool kept) {
    state_.mode = mode;
    state_.kept_for_inspection = kept;
    return save_run_state(run_state_dir(), state_);
  }

  // Every VM's firewall is tried, so one run reports all that fail.
  Status load_guest_firewalls() {
    std::vector<std::string> failures;
    for (auto& running : vms_) {
      if (!running->plan->config->firewall) continue;
      if (auto loaded = load_guest_firewall(*running); !loaded) failures.push_back(loaded.error().message);
    }
    if (failures.empty()) return {};
    std::string message = failures.size() == 1 ? "" : std::to_string(failures.size()) + " guest firewalls failed to load\n";
    for (const auto& failure : failures) message += failure + "\n";
    message.pop_back();
    return make_error(message);
  }

  Status load_guest_firewall(RunningVm& running) {
    const VmPlan& vm = *running.plan;
    std::string file = vm.config->firewall->filename().string();
    std::ifstream in(*vm.config->firewall);
    std::string rules((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto result = running.ssh->run(
        "command -v nft >/dev/null || exit 127; mkdir -p /etc/meros && cat > /etc/meros/firewall.nft && nft -f /etc/meros/firewall.nft",
        plan_.timeouts.scaled(plan_.timeouts.guest_firewall), rules);
    if (!result) return make_error(vm.name() + ": firewall " + file + ": " + result.error().message);
    if (result->exit_code == 127)
      return make_error(vm.name() + ": cannot load the firewall " + file + ": its image has no nft (add nftables to the image's packages)");
    if (result->exit_code != 0) {
      // nft names the copy in the guest; the user knows the file by its name.
      std::string output = replaced_all(result->stderr_text + result->stdout_text, "/etc/meros/firewall.nft", file);
      while (!output.empty() && output.back() == '\n') output.pop_back();
      return make_error(vm.name() + ": nft -f " + file + " failed: " + output.substr(0, output.find('\n')) + "\n" + output);
    }
    log_.progress(vm.name() + ": firewall " + file + " loaded");
    return {};
  }

  // --- Testbed -----------------------------------------------------------------
  Result<CommandResult> run(const std::string& vm, const std::string& command, Duration timeout,
                            const std::string& stdin_data) override {
    RunningVm* running = find(vm);
    if (!running || !running->ssh) return make_error("VM " + vm + " has no SSH session");
    return running->ssh->run(command, timeout, stdin_data);
  }

  Transfer push(const std::string& vm, const fs::path& local, const std::string& guest_path, Duration timeout,
                std::uint64_t max_bytes) override {
    return transfer(vm, [&](RemoteFiles& files) { return push_path(files, local, guest_path, {timeout, max_bytes}); });
  }

  Transfer pull(const std::string& vm, const std::string& guest_path, const fs::path& local_root, const fs::path& relative_dir,
                Duration timeout, std::uint64_t max_bytes) override {
    return transfer(vm, [&](RemoteFiles& files) -> Result<std::string> {
      TransferLimits limits{timeout, max_bytes};
      auto pulled = guest_path.empty() ? pull_mos_shared(files, vm, local_root, relative_dir, limits)
                                       : pull_path(files, guest_path, local_root, relative_dir, limits);
      if (!pulled) return pulled.error();
      return pulled->string();
    });
  }

  std::vector<Result<guest::ProbeOutcome>> probe(const std::string& source, const std::vector<guest::ProbeRequest>& requests,
                                                 Duration timeout) override {
    if (source.empty()) return probe_from_host(requests);
    return probe_from_vm(source, requests, timeout);
  }

  Status listen(const std::string& target, const std::vector<PortProto>& ports, Duration timeout) override {
    if (target.empty()) return listen_on_host(ports);
    RunningVm* running = find(target);
    if (!running || !running->ssh) return make_error("cannot start listeners on " + target + ": it has no SSH session");
    // On the bridge addresses only: the management address keeps the SSH server's port 22.
    std::string command = std::string(kAgent) + " listen --daemon";
    for (const auto& address : running->plan->bridge_addresses) command += " --bind " + address;
    for (const auto& port : ports) command += " " + std::string(to_string(port.proto)) + " " + std::to_string(port.port);
    auto result = running->ssh->run(command, timeout);
    if (!result) return make_error("cannot start listeners on " + target + ": " + result.error().message);
    if (result->exit_code != 0) return make_error("cannot start listeners on " + target + ": " + result->stdout_text + result->stderr_text);
    return {};
  }

  Status set_link(const std::string& vm, int network_index, bool up, Duration timeout) override {
    RunningVm* running = find(vm);
    if (!running || !running->machine) return make_error("VM " + vm + " is not running");
    auto index = static_cast<std::size_t>(network_index);
    Status status = running->machine->set_link(index, up);
    // `state: up` is done when the guest can use the link again, not when QEMU flipped it.
    if (status && up && running->ssh) {
      const vm::NicSpec& nic = running->machine->spec().networks.at(index);
      status = wait_guest_link_ready(*running->ssh, nic.guest_ifname, nic.address.str(), timeout);
    }
    return status;
  }

  void start_trace(Duration timeout) override {
    if (tracer_) tracer_->start(timeout);
  }

  std::vector<net::TraceSource> stop_trace(Duration timeout) override {
    if (!tracer_) return {};
    auto sources = tracer_->stop(timeout);
    for (const auto& problem : tracer_->problems()) debug_log::write("trace", problem);
    return sources;
  }

  Result<std::vector<net::RuleCounter>> read_counters() override {
    if (!network_) return make_error("the scenario network is not up");
    return net::read_rule_counters(network_->nftables());
  }

  bool is_running(const std::string& vm) override {
    RunningVm* running = find(vm);
    return running && running->machine && running->machine->is_running();
  }

  std::string console_tail(const std::string& vm, std::size_t lines) override {
    const VmPlan* planned = plan_.find_vm(vm);
    return planned ? vm::log_tail(planned->machine.console_log, lines) : "";
  }

  void note(const std::string& vm, const std::string& text) override {
    RunningVm* running = find(vm);
    if (!running) return;
    std::lock_guard<std::mutex> lock(running->transcript_mutex);
    if (!running->transcript) {
      running->transcript.emplace(running->plan->transcript);
      if (Status opened = running->transcript->open(); !opened) {
        log_.failure(opened.error().message);
        return;
      }
    }
    (void)running->transcript->append(text);
  }

  vm::Clock& clock() override { return vm::steady_clock(); }

 private:
  RunningVm* find(const std::string& name) {
    for (auto& vm : vms_)
      if (vm->plan->name() == name) return vm.get();
    return nullptr;
  }

  // --- bring-up, in pipeline order ------------------------------------------------

  // First, before anything exists on the host: gc can then always find it.
  Status write_state() {
    state_.owner = current_process();
    state_.created_at = format_iso8601(std::chrono::system_clock::now());
    if (auto saved = save_run_state(run_state_dir(), state_); !saved) return saved;
    cleanup_.push("run state", [this] { return remove_run_state(run_state_dir(), state_.run_id); });
    std::error_code ec;
    fs::create_directories(plan_.artifacts, ec);
    fs::create_directories(plan_.work, ec);
    if (ec) return make_error("cannot create " + plan_.work.string() + ": " + ec.message());
    cleanup_.push("work directory", [this]() -> Status {
      std::error_code error;
      fs::remove_all(plan_.work, error);
      fs::remove(plan_.work.parent_path(), error);  // the run's directory, once empty
      return {};
    });
    return make_socket_directory();
  }

  // Root-only: whoever can connect to a QMP socket controls that VM.
  Status make_socket_directory() {
    // A fresh run id: an existing entry is not ours (nor followed).
    if (::mkdir(plan_.sockets.c_str(), 0700) != 0)
      return make_error("cannot create the socket directory " + plan_.sockets.string() + ": " + errno_text());
    cleanup_.push("socket directory", [this]() -> Status {
      std::error_code error;
      fs::remove_all(plan_.sockets, error);
      if (error) return make_error("cannot remove " + plan_.sockets.string() + ": " + error.message());
      return {};
    });
    return {};
  }

  Status start_network() {
    auto network = net::ScenarioNetwork::start(*plan_.scenario, plan_.topology);
    if (!network) return make_error("network: " + network.error().message);
    network_.emplace(std::move(*network));
    cleanup_.push("network", [this]() -> Status {
      Status stopped = network_->stop();
      network_.reset();
      return stopped;
    });
    log_.progress("network: namespace " + plan_.topology.namespace_name + " with " + std::to_string(plan_.topology.bridges.size()) +
                  " bridge(s) and policies");
    (void)network_->write_artifacts(plan_.artifacts / "setup");
    // Unwound once the VMs are gone: the counters of the whole run.
    cleanup_.push("network artifacts", [this] { return network_->write_artifacts(plan_.artifacts / "teardown"); });
    if (plan_.capture != CaptureMode::off) start_capture();
    return {};
  }

  // From the moment the bridges exist, so a capture has the VMs' boot too.
  // A capture that cannot start is reported, not a reason to fail the run.
  void start_capture() {
    std::vector<net::CaptureTarget> targets;
    for (const auto& bridge : plan_.topology.bridges) targets.push_back({bridge.name, bridge.ifname});
    auto capture = net::BridgeCapture::start(network_->ns().fd(), targets, plan_.capture_dir());
    if (!capture) {
      capture_.error = "packet capture not recorded: " + capture.error().message;
      log_.progress(capture_.error);
      return;
    }
    capture_running_ = std::move(*capture);
    cleanup_.push("packet capture", [this]() -> Status {
      stop_capture();
      return {};
    });
  }

  Status start_machines() {
    for (auto& running : vms_) {
      const VmPlan& vm = *running->plan;
      auto overlay = vm::Overlay::create(runner_, vm.base_image, vm.machine.disk, vm.disk_size);
      if (!overlay) return make_error(vm.name() + ": overlay: " + overlay.error().message);
      running->overlay.emplace(std::move(*overlay));
      cleanup_.push(vm.name() + " overlay", [&running] { return running->overlay->remove(); });
      // Only the overlay knows whether it is larger than its base image.
      vm::MachineSpec spec = vm.machine;
      spec.grow_root = running->overlay->grown();
      vm::MachineOptions options;
      options.netns_fd = network_->ns().fd();
      auto machine = vm::Machine::start(spec, options);
      if (!machine) return machine.error();  // it names the VM
      running->machine.emplace(std::move(*machine));
      cleanup_.push(vm.name(), [this, &running]() -> Status {
        // A stopping run cannot wait for guests to power down: they are thrown away.
        bool stopping = stop_signal().load() != 0;
        auto stopped = running->machine->shutdown(stopping ? Duration(0) : plan_.timeouts.scaled(plan_.timeouts.powerdown),
                                                  stopping ? Duration(1000) : plan_.timeouts.scaled(plan_.timeouts.quit));
        running->machine.reset();
        if (!stopped) return stopped.error();
        return {};
      });
      state_.processes.push_back({running->machine->pid(), process_start_time(running->machine->pid()).value_or(0)});
    }
    (void)save_run_state(run_state_dir(), state_);
    return wait_until_ready();
  }

  Status wait_until_ready() {
    Duration boot = plan_.timeouts.scaled(plan_.timeouts.boot);
    for (auto& running : vms_) {
      const VmPlan& vm = *running->plan;
      int ns = network_->ns().fd();
      std::string address = vm.ssh.address.str();
      Duration poll = plan_.timeouts.boot_poll;
      auto port_open = [ns, address, poll] { return net::connect_tcp_inside(ns, address, 22, poll).ok(); };
      auto ready = running->machine->wait_ready(port_open, boot);
      if (!ready) return ready.error();
      log_.progress(vm.name() + ": ready in " + std::to_string(ready->count()) + " ms");
      if (log_.ready) log_.ready(vm.name(), std::chrono::duration_cast<std::chrono::milliseconds>(*ready));
    }
    return {};
  }

  Status connect_ssh() {
    for (auto& running : vms_) {
      const VmPlan& vm = *running->plan;
      SshTarget target;
      target.host = vm.ssh.address.str();
      target.user = vm.ssh.user;
      target.private_key_file = vm.ssh.private_key.string();
      target.pinned_host_key = vm.ssh.host_key;
      int ns = network_->ns().fd();
      Duration timeout = plan_.timeouts.scaled(plan_.timeouts.ssh_connect);
      std::string address = target.host;
      target.connect_socket = [ns, address, timeout]() -> Result<int> {
        auto socket = net::connect_tcp_inside(ns, address, 22, timeout);
        if (!socket) return socket.error();
        return socket->release();
      };
      auto client = LibsshClient::connect(target);
      if (!client) return make_error(vm.name() + ": " + client.error().message);
      running->ssh = std::move(*client);
      cleanup_.push(vm.name() + " ssh", [&running]() -> Status {
        running->ssh.reset();
        return {};
      });
      cleanup_.push(vm.name() + " ruleset", [this, &running] { return save_guest_ruleset(*running); });
    }
    return {};
  }

  // Attribution (runner/policy_trace.h) over the host's rules and those of
  // every VM with a firewall. Without it checks still run, unexplained.
  void start_tracer() {
    auto listener = net::TraceListener::open(network_->ns());
    if (!listener) {
      log_.progress("checks will not say which rule decided them: " + listener.error().message);
      return;
    }
    auto shown = [this](const fs::path& file) {
      fs::path relative = file.lexically_relative(plan_.scenario->dir);
      return relative.empty() || *relative.begin() == ".." ? file.string() : relative.string();
    };
    TracedPlace host{"host", nullptr, plan_.scenario->host_firewall, ""};
    if (host.source_file) host.source_name = shown(*host.source_file);
    std::vector<TracedPlace> vms;
    for (auto& running : vms_) {
      const auto& firewall = running->plan->config->firewall;
      if (firewall && running->ssh) vms.push_back({running->plan->name(), running->ssh.get(), firewall, shown(*firewall)});
    }
    tracer_ = std::make_unique<PolicyTracer>(network_->nftables(), std::move(*listener), plan_.topology.management_ifnames(),
                                             std::move(host), std::move(vms));
    cleanup_.push("policy tracer", [this]() -> Status {
      tracer_.reset();
      return {};
    });
  }

  // The guest's own ruleset at the end, for the artifacts.
  Status save_guest_ruleset(RunningVm& running) {
    if (!running.ssh || stop_signal().load()) return {};
    auto listing = running.ssh->run("command -v nft >/dev/null && nft list ruleset", plan_.timeouts.ruleset_listing);
    auto file = child_path(plan_.artifacts, running.plan->name() + ".nft-ruleset.txt", "VM name");
    if (file && listing && listing->exit_code == 0) std::ofstream(*file) << listing->stdout_text;
    return {};
  }

  // --- steps' helpers -------------------------------------------------------------

  Transfer transfer(const std::string& vm, const std::function<Result<std::string>(RemoteFiles&)>& copy) {
    Transfer out;
    RunningVm* running = find(vm);
    if (!running || !running->ssh) {
      out.copied = make_error("VM " + vm + " has no SSH session");
      out.harness_fault = true;
      return out;
    }
    auto files = running->ssh->open_files();
    if (!files) {
      out.copied = files.error();
      out.harness_fault = true;
      return out;
    }
    out.copied = copy(**files);
    return out;
  }

  std::vector<Result<guest::ProbeOutcome>> probe_from_vm(const std::string& vm, const std::vector<guest::ProbeRequest>& requests,
                                                         Duration timeout) {
    std::string batch;
    for (const auto& request : requests) batch += guest::batch_line(request) + "\n";
    auto result = run(vm, std::string(kAgent) + " probe --batch", timeout, batch);
    std::vector<Result<guest::ProbeOutcome>> outcomes;
    if (!result || result->exit_code != 0) {
      std::string why = result ? "agent exit " + std::to_string(result->exit_code) + ": " + result->stderr_text : result.error().message;
      for (std::size_t i = 0; i < requests.size(); ++i) outcomes.push_back(make_error("probe from " + vm + " failed: " + why));
      return outcomes;
    }
    std::istringstream lines(result->stdout_text);
    for (std::size_t i = 0; i < requests.size(); ++i) {
      std::string line;
      if (!std::getline(lines, line)) {
        outcomes.push_back(make_error("the agent on " + vm + " answered fewer lines than it was asked"));
        continue;
      }
      auto parsed = guest::parse_probe_json_line(line);
      if (!parsed) outcomes.push_back(make_error("unreadable agent answer: " + line));
      else if (!parsed->outcome) outcomes.push_back(make_error("probe could not be made: " + parsed->error));
      else outcomes.push_back(*parsed->outcome);
    }
    return outcomes;
  }

  std::vector<Result<guest::ProbeOutcome>> probe_from_host(const std::vector<guest::ProbeRequest>& requests) {
    std::vector<Result<guest::ProbeOutcome>> outcomes;
    Status inside = network_->ns().run_inside([&] { outcomes = guest::probe_all(requests); });
    if (!inside) {
      outcomes.clear();
      for (std::size_t i = 0; i < requests.size(); ++i)
        outcomes.push_back(make_error("cannot probe from the scenario host: " + inside.error().message));
      return outcomes;
    }
    for (auto& outcome : outcomes)
      if (!outcome) outcome = make_error("probe could not be made: " + outcome.error().message);
    return outcomes;
  }

  Status listen_on_host(const std::vector<PortProto>& ports) {
    std::vector<guest::ListenSpec> specs;
    for (const auto& port : ports) specs.push_back({port.proto, port.port, ""});
    auto listeners = network_->ns().call_inside([&] { return guest::ListenerSet::open(specs); });
    if (!listeners) return make_error("cannot listen on the scenario host: " + listeners.error().message);
    std::lock_guard<std::mutex> lock(listeners_mutex_);
    if (host_listeners_.empty())
      cleanup_.push("host listeners", [this]() -> Status {
        std::lock_guard<std::mutex> held(listeners_mutex_);
        host_listeners_.clear();
        return {};
      });
    host_listeners_.push_back(std::make_unique<HostListeners>(std::move(*listeners)));
    return {};
  }

  const Plan& plan_;
  ProcessRunner& runner_;
  ConstellationLog log_;
  RunState state_;
  std::optional<net::ScenarioNetwork> network_;
  std::unique_ptr<net::BridgeCapture> capture_running_;
  CaptureReport capture_;
  std::vector<std::unique_ptr<RunningVm>> vms_;
  std::mutex listeners_mutex_;
  std::vector<std::unique_ptr<HostListeners>> host_listeners_;
  std::unique_ptr<PolicyTracer> tracer_;
  // Last member: unwound first, while everything it points at still exists.
  CleanupStack cleanup_;
};

Result<Constellation> Constellation::bring_up(const Plan& plan, ProcessRunner& runner, ConstellationLog log) {
  auto parts = std::make_unique<Parts>(plan, runner, std::move(log));
  if (Status up = parts->bring_up(); !up) return up.error();  // parts' destructor tears down what came up
  return Constellation(std::move(parts));
}

Constellation::Constellation(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}
Constellation::Constellation(Constellation&&) noexcept = default;
Constellation::~Constellation() = default;

Status Constellation::load_guest_firewalls() { return parts_->load_guest_firewalls(); }

Testbed& Constellation::testbed() { return *parts_; }

CaptureReport Constellation::stop_capture() { return parts_->stop_capture(); }

Status Constellation::record(const std::string& mode, bool kept_for_inspection) { return parts_->record(mode, kept_for_inspection); }

}  // namespace meros
