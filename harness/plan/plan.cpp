#include "plan/plan.h"

#include <algorithm>
#include <map>

#include "util/path_join.h"
#include "util/text.h"

namespace meros {
namespace {

Cidr bridge_subnet(const net::BridgeLink& bridge) {
  Cidr subnet{bridge.gateway, bridge.prefix};
  subnet.network.value &= subnet.mask();
  return subnet;
}

// The bridges an endpoint is on: one for vm@bridge, all of a VM's otherwise.
std::vector<const net::TapLink*> endpoint_links(const Endpoint& endpoint, const net::Topology& topology) {
  std::vector<const net::TapLink*> links;
  const net::VmLinks* vm = topology.find_vm(endpoint.vm);
  if (!vm) return links;
  for (const auto& tap : vm->networks)
    if (endpoint.bridge.empty() || tap.bridge == endpoint.bridge) links.push_back(&tap);
  return links;
}

// The link of `endpoint` to use against the other end: one on a bridge
// both share, else one whose subnet holds the other's address, else its first.
const net::TapLink* choose_link(const Endpoint& endpoint, const Endpoint& other, const net::Topology& topology) {
  auto mine = endpoint_links(endpoint, topology);
  if (mine.empty()) return nullptr;
  if (other.kind == Endpoint::Kind::vm) {
    auto theirs = endpoint_links(other, topology);
    for (const auto* link : mine)
      for (const auto* their : theirs)
        if (link->bridge == their->bridge) return link;
  }
  if (other.kind == Endpoint::Kind::address)
    for (const auto* link : mine)
      if (const auto* bridge = topology.find_bridge(link->bridge); bridge && bridge_subnet(*bridge).contains(other.address))
        return link;
  return mine.front();
}

// The scenario VM with an interface at `address`, or null.
const net::VmLinks* vm_at(Ipv4 address, const net::Topology& topology) {
  for (const auto& vm : topology.vms)
    for (const auto& tap : vm.networks)
      if (tap.address == address) return &vm;
  return nullptr;
}

bool is_gateway(Ipv4 address, const net::Topology& topology) {
  return std::any_of(topology.bridges.begin(), topology.bridges.end(), [address](const net::BridgeLink& b) { return b.gateway == address; });
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

// Everything but the paths of the VM's files.
vm::MachineSpec machine_spec(const VirtualMachine& vm, const net::VmLinks& links, const ScenarioFixtures& fixtures,
                             const ResolvedImage& image, const RunSettings& settings) {
  vm::MachineSpec spec;
  spec.name = vm.name;
  spec.arch = vm.arch;
  spec.machine = vm.machine;
  spec.boot = vm.boot;
  spec.accel = vm::accel_for(vm.arch, settings.accel);
  spec.cpus = vm.cpus;
  spec.memory_mib = vm.memory_mib;
  if (vm.boot == BootMode::direct) {
    const ResolvedKernel& kernel = fixtures.kernels.at(kernel_ref(vm));
    spec.kernel = kernel.image;
    if (kernel.initrd) spec.initrd = *kernel.initrd;
  }
  spec.root_device = image.facts.root_device;
  for (std::size_t i = 0; i < links.networks.size(); ++i) {
    const auto& tap = links.networks[i];
    spec.networks.push_back(nic(tap.ifname, tap.mac, vm.networks[i].model, "eth" + std::to_string(i), tap.address, tap.prefix));
  }
  const auto& m = links.management;
  spec.management = nic(m.ifname, m.mac, "virtio-net", "mgmt0", m.guest_address, m.prefix);
  spec.gateway = vm.gateway;
  for (const SharedFolder& folder : vm.shared) spec.shares.push_back({folder.host_dir, folder.guest_path, folder.writable});
  spec.cmdline = vm.cmdline;
  spec.qemu_args = vm.qemu_args;
  return spec;
}

Result<VmPlan> plan_vm(const VirtualMachine& vm, const net::Topology& topology, const ScenarioFixtures& fixtures,
                       const Plan& plan, const RunSettings& settings) {
  const net::VmLinks* links = topology.find_vm(vm.name);
  if (!links) return make_error("VM " + quote(vm.name) + " is not in the network plan");
  std::string kernel_name = kernel_ref(vm), image_name = image_ref(*plan.scenario, vm);
  if (vm.boot == BootMode::direct && !fixtures.kernels.count(kernel_name)) return make_error("kernel " + kernel_name + " was not resolved");
  if (!fixtures.images.count(image_name)) return make_error("image " + image_name + " was not resolved");
  const ResolvedImage& image = fixtures.images.at(image_name);
  // VM names are validated identifiers; the joins are checked all the same.
  auto console = child_path(plan.artifacts, vm.name + ".console.log", "VM name");
  auto transcript = child_path(plan.artifacts, vm.name + ".commands.log", "VM name");
  auto disk = child_path(plan.work, vm.name + ".qcow2", "VM name");
  auto qmp = child_path(plan.sockets, vm.name + ".qmp", "VM name");
  for (const auto* joined : {&console, &transcript, &disk, &qmp})
    if (!*joined) return joined->error();
  VmPlan out;
  out.config = &vm;
  out.machine = machine_spec(vm, *links, fixtures, image, settings);
  out.machine.disk = *disk;
  out.machine.console_log = *console;
  out.machine.qmp_socket = *qmp;
  out.base_image = image.disk;
  out.disk_size = vm.disk_size;
  out.ssh = {links->management.guest_address, vm.ssh_user, image.facts.host_key, fixtures.client_key};
  out.transcript = *transcript;
  for (const auto& tap : links->networks) out.bridge_addresses.push_back(tap.address.str());
  return out;
}

bool vm_serves(const VirtualMachine& vm, const PortProto& target) {
  return std::find(vm.services.begin(), vm.services.end(), target) != vm.services.end();
}

std::vector<ListenerPlan> listeners_for(const std::vector<RowPlan>& rows, const Scenario& scenario) {
  std::map<std::string, std::vector<PortProto>> wanted;  // target ("" = host) -> ports
  for (const auto& row : rows) {
    if (!row.route || row.check->target.proto == Proto::icmp) continue;
    if (row.route->target_is_host) {
      wanted[""].push_back(row.check->target);
    } else if (const VirtualMachine* vm = scenario.find_vm(row.route->target_vm); vm && !vm_serves(*vm, row.check->target)) {
      wanted[vm->name].push_back(row.check->target);
    }
  }
  std::vector<ListenerPlan> listeners;
  for (auto& [target, ports] : wanted) {
    std::sort(ports.begin(), ports.end());
    ports.erase(std::unique(ports.begin(), ports.end()), ports.end());
    listeners.push_back({target, ports});
  }
  return listeners;
}

StepPlan plan_step(const TestStep& step, bool selected, const Scenario& scenario, const net::Topology& topology) {
  StepPlan plan;
  plan.step = &step;
  plan.selected = selected;
  for (const auto& check : step.checks) plan.rows.push_back({&check, row_name(step, check), route_check(check, topology)});
  plan.listeners = listeners_for(plan.rows, scenario);
  return plan;
}

RunState initial_state(const Plan& plan) {
  RunState state;
  state.run_id = plan.state_id;
  state.scenario = plan.scenario->name;
  state.scenario_path = plan.scenario->file.string();
  state.netns = plan.topology.namespace_name;
  state.paths = {plan.work.string(), plan.sockets.string()};
  for (const auto& vm : plan.vms) {
    VmRecord record;
    record.name = vm.name();
    record.management_address = vm.ssh.address.str();
    record.user = vm.ssh.user;
    record.host_key = vm.ssh.host_key;
    const net::VmLinks* links = plan.topology.find_vm(vm.name());
    for (const auto& tap : links->networks)
      record.addresses += (record.addresses.empty() ? "" : " ") + tap.bridge + "=" + tap.address.str();
    state.vms.push_back(record);
    state.client_key = vm.ssh.private_key.string();
  }
  return state;
}

}  // namespace

const VmPlan* Plan::find_vm(std::string_view name) const {
  for (const auto& vm : vms)
    if (vm.name() == name) return &vm;
  return nullptr;
}

std::string row_name(const TestStep& step, const ReachCheck& check) {
  if (step.kind == StepKind::reach) return step.name;
  return step.name + ": " + check.from.text + " -> " + check.to.text + " " + check.target.str() + " " +
         std::string(to_string(check.expect));
}

std::vector<std::string> case_names(const TestStep& step) {
  if (step.kind != StepKind::matrix) return {step.name};
  std::vector<std::string> names;
  for (const auto& check : step.checks) names.push_back(row_name(step, check));
  return names;
}

Result<ProbeRoute> route_check(const ReachCheck& check, const net::Topology& topology) {
  ProbeRoute route;
  route.from_host = check.from.kind == Endpoint::Kind::host;
  if (!route.from_host) route.source_vm = check.from.vm;
  switch (check.to.kind) {
    case Endpoint::Kind::address:
      // An address of a scenario VM is that VM's interface (and a bridge's
      // gateway the host's), listeners included.
      route.target_address = check.to.address;
      if (const net::VmLinks* owner = vm_at(check.to.address, topology)) route.target_vm = owner->vm;
      else route.target_is_host = is_gateway(check.to.address, topology);
      return route;
    case Endpoint::Kind::vm: {
      const net::TapLink* link = choose_link(check.to, check.from, topology);
      if (!link) return make_error("VM " + quote(check.to.vm) + " has no interface to probe");
      route.target_vm = check.to.vm;
      route.target_address = link->address;
      return route;
    }
    case Endpoint::Kind::host: {
      // The host's gateway address on the bridge the source is on.
      const net::TapLink* link = choose_link(check.from, check.to, topology);
      if (!link) return make_error("VM " + quote(check.from.vm) + " has no bridge to reach the host over");
      const net::BridgeLink* bridge = topology.find_bridge(link->bridge);
      if (!bridge) return make_error("bridge " + quote(link->bridge) + " is not in the network plan");
      route.target_is_host = true;
      route.target_address = bridge->gateway;
      return route;
    }
  }
  return make_error("unknown endpoint");
}

Result<Plan> plan_scenario(const SelectedScenario& selected, const ScenarioFixtures& fixtures, net::Topology topology,
                           const RunSettings& settings) {
  const Scenario& scenario = selected.scenario;
  Plan plan;
  plan.scenario = &scenario;
  plan.state_id = settings.run_id + "-" + scenario.name;
  // Validated as identifiers; checked again because teardown removes the work directory.
  plan.artifacts = checked_child_path(settings.artifacts_root, scenario.name, "scenario name");
  plan.work = checked_child_path(settings.work_root, scenario.name, "scenario name");
  plan.sockets = checked_child_path(settings.socket_root, plan.state_id, "scenario name");
  plan.topology = std::move(topology);
  plan.timeouts = settings.timeouts;
  plan.scenario_timeout = settings.timeouts.scaled(scenario.timeout);
  plan.capture = settings.capture.value_or(scenario.capture);
  for (const auto& vm : scenario.vms) {
    auto planned = plan_vm(vm, plan.topology, fixtures, plan, settings);
    if (!planned) return planned.error();
    plan.vms.push_back(std::move(*planned));
  }
  for (std::size_t i = 0; i < scenario.tests.size(); ++i)
    plan.steps.push_back(plan_step(scenario.tests[i], i < selected.run_test.size() && selected.run_test[i], scenario, plan.topology));
  plan.state = initial_state(plan);
  return plan;
}

}  // namespace meros
