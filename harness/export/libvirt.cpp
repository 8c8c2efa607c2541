#include "export/libvirt.h"

#include <optional>
#include <utility>

#include "net/policy.h"
#include "util/text.h"

namespace meros::libvirt {
namespace {

using Attributes = std::vector<std::pair<std::string, std::string>>;

// Bytes of the UTF-8 sequence at text[i] that XML 1.0 may carry, 0 when it
// is invalid UTF-8 or a character XML forbids.
std::size_t xml_char_length(std::string_view text, std::size_t i) {
  auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  unsigned char lead = byte(i);
  std::size_t length = lead < 0x80 ? 1 : (lead >> 5) == 0x6 ? 2 : (lead >> 4) == 0xe ? 3 : (lead >> 3) == 0x1e ? 4 : 0;
  if (length == 0 || i + length > text.size()) return 0;
  std::uint32_t code = length == 1 ? lead : lead & (0x7f >> length);
  for (std::size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xc0) != 0x80) return 0;
    code = (code << 6) | (byte(i + k) & 0x3f);
  }
  static const std::uint32_t smallest[] = {0, 0, 0x80, 0x800, 0x10000};
  if (code < smallest[length]) return 0;  // overlong
  bool allowed = code == 0x9 || code == 0xa || code == 0xd || (code >= 0x20 && code <= 0xd7ff) ||
                 (code >= 0xe000 && code <= 0xfffd) || (code >= 0x10000 && code <= 0x10ffff);
  return allowed ? length : 0;
}

// Builds one XML document; the first value that cannot be written is the
// document's error, so callers write straight through and check once.
class XmlWriter {
 public:
  void comment(std::string_view text) {
    // "--" may not appear in a comment; the texts are the harness's own.
    line("<!-- " + std::string(text) + " -->");
  }
  void open(std::string_view tag, const Attributes& attributes = {}) {
    line("<" + std::string(tag) + attrs(attributes) + ">");
    open_.emplace_back(tag);
  }
  void empty(std::string_view tag, const Attributes& attributes = {}) {
    line("<" + std::string(tag) + attrs(attributes) + "/>");
  }
  void text(std::string_view tag, std::string_view content, const Attributes& attributes = {}) {
    line("<" + std::string(tag) + attrs(attributes) + ">" + escape(content, tag) + "</" + std::string(tag) + ">");
  }
  void close() {
    std::string tag = open_.back();
    open_.pop_back();
    line("</" + tag + ">");
  }
  Result<std::string> finish() {
    if (error_) return *error_;
    return out_;
  }

 private:
  void line(const std::string& text) { out_ += std::string(2 * open_.size(), ' ') + text + "\n"; }
  std::string escape(std::string_view value, std::string_view what) {
    auto escaped = xml_escape(value, what);
    if (!escaped) {
      if (!error_) error_ = escaped.error();
      return "";
    }
    return *escaped;
  }
  std::string attrs(const Attributes& attributes) {
    std::string out;
    for (const auto& [name, value] : attributes) out += " " + name + "='" + escape(value, name) + "'";
    return out;
  }
  std::string out_;
  std::vector<std::string> open_;
  std::optional<Error> error_;
};

std::string arch_name(Arch arch) { return arch == Arch::aarch64 ? "aarch64" : "x86_64"; }

// KVM for x86_64 guests (a libvirt host of the same architecture), plain
// QEMU (TCG) for aarch64 ones, as meros-test chooses on an x86_64 host.
std::string domain_type(const vm::MachineSpec& machine) { return machine.arch == Arch::x86_64 ? "kvm" : "qemu"; }

void write_os(XmlWriter& xml, const vm::MachineSpec& machine) {
  // aarch64 disk boot goes through UEFI (virt has no BIOS); x86 through SeaBIOS.
  bool efi = machine.boot == BootMode::disk && machine.arch == Arch::aarch64;
  xml.open("os", efi ? Attributes{{"firmware", "efi"}} : Attributes{});
  xml.text("type", "hvm", {{"arch", arch_name(machine.arch)}, {"machine", libvirt_machine(machine)}});
  if (machine.boot == BootMode::direct) {
    xml.text("kernel", machine.kernel.string());
    if (!machine.initrd.empty()) xml.text("initrd", machine.initrd.string());
    xml.text("cmdline", vm::kernel_cmdline(machine));
  } else {
    // The per-VM settings come through fw_cfg (<sysinfo type='fwcfg'>).
    xml.empty("boot", {{"dev", "hd"}});
  }
  xml.close();
}

// The meros.* settings a disk-boot VM reads from fw_cfg opt/meros/cmdline:
// the words kernel_cmdline adds after its fixed prefix, which is exactly
// what meros-test passes with -fw_cfg.
std::string fw_cfg_settings(vm::MachineSpec machine) {
  machine.cmdline.clear();  // the user's cmdline: is for a kernel, not part of the settings
  std::string cmdline = vm::kernel_cmdline(machine);
  auto at = cmdline.find("meros.hostname=");
  return at == std::string::npos ? "" : cmdline.substr(at);
}

void write_cpu(XmlWriter& xml, const vm::MachineSpec& machine) {
  // -cpu max (host under KVM); one CPU a socket on x86_64 because SeaBIOS's
  // MP table lists only a socket's first CPU (vm/qemu_command.cpp).
  xml.open("cpu", {{"mode", "maximum"}, {"check", "none"}});
  if (machine.arch == Arch::x86_64 && machine.cpus > 1)
    xml.empty("topology", {{"sockets", std::to_string(machine.cpus)}, {"dies", "1"}, {"cores", "1"}, {"threads", "1"}});
  xml.close();
}

void write_disk(XmlWriter& xml, const VmPlan& vm) {
  xml.open("disk", {{"type", "file"}, {"device", "disk"}});
  xml.empty("driver", {{"name", "qemu"}, {"type", "qcow2"}});
  xml.empty("source", {{"file", vm.base_image.string()}});
  // vda: the root device direct boot names (root=/dev/vda), virtio-blk as in a run.
  xml.empty("target", {{"dev", "vda"}, {"bus", "virtio"}});
  xml.close();
}

void write_nic(XmlWriter& xml, const Plan& plan, const vm::NicSpec& nic, const std::string& bridge) {
  xml.open("interface", {{"type", "network"}});
  xml.empty("source", {{"network", network_name(*plan.scenario, bridge)}});
  xml.empty("mac", {{"address", nic.mac.str()}});
  xml.empty("model", {{"type", libvirt_nic_model(nic.model)}});
  // No iPXE ROM, as in a run: no VM boots from the network.
  xml.empty("rom", {{"enabled", "no"}});
  xml.close();
}

// A shared folder: QEMU's own 9p server, as in a run (accessmode mapped is
// security_model=mapped-xattr), under the mount tag the guest init mounts.
void write_share(XmlWriter& xml, const vm::ShareSpec& share, std::size_t index) {
  xml.open("filesystem", {{"type", "mount"}, {"accessmode", "mapped"}});
  xml.empty("driver", {{"type", "path"}});
  xml.empty("source", {{"dir", share.host_dir.string()}});
  xml.empty("target", {{"dir", vm::share_tag(index)}});
  if (!share.writable) xml.empty("readonly");
  xml.close();
}

void write_devices(XmlWriter& xml, const Plan& plan, const VmPlan& vm) {
  const net::VmLinks* links = plan.topology.find_vm(vm.name());
  xml.open("devices");
  write_disk(xml, vm);
  for (std::size_t i = 0; i < vm.machine.networks.size() && links && i < links->networks.size(); ++i)
    write_nic(xml, plan, vm.machine.networks[i], links->networks[i].bridge);
  for (std::size_t i = 0; i < vm.machine.shares.size(); ++i) write_share(xml, vm.machine.shares[i], i);
  // The serial console meros-test logs; `virsh console` attaches to it.
  xml.open("serial", {{"type", "pty"}});
  xml.empty("target", {{"port", "0"}});
  xml.close();
  xml.open("console", {{"type", "pty"}});
  xml.empty("target", {{"type", "serial"}, {"port", "0"}});
  xml.close();
  // Entropy, so that sshd in the guest does not wait for it.
  xml.open("rng", {{"model", "virtio"}});
  xml.text("backend", "/dev/urandom", {{"model", "random"}});
  xml.close();
  xml.close();
}

void write_qemu_args(XmlWriter& xml, const vm::MachineSpec& machine) {
  if (machine.qemu_args.empty()) return;
  xml.open("qemu:commandline");
  for (const auto& arg : machine.qemu_args) xml.empty("qemu:arg", {{"value", arg}});
  xml.close();
}

}  // namespace

Result<std::string> xml_escape(std::string_view text, std::string_view what) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    std::size_t length = xml_char_length(text, i);
    if (length == 0)
      return make_error(std::string(what) + " " + quote(std::string(text)) + " holds byte " + std::to_string(static_cast<unsigned char>(text[i])) +
                        " at offset " + std::to_string(i) + ", which XML cannot carry (a control character or invalid UTF-8)");
    switch (text[i]) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      case '\t': out += "&#9;"; break;
      case '\n': out += "&#10;"; break;
      case '\r': out += "&#13;"; break;
      default: out.append(text.substr(i, length));
    }
    i += length;
  }
  return out;
}

std::string domain_name(const Scenario& scenario, const VirtualMachine& vm) { return scenario.name + "-" + vm.name; }
std::string network_name(const Scenario& scenario, const std::string& bridge) { return scenario.name + "-" + bridge; }
std::string domain_file(const VirtualMachine& vm) { return "domain-" + vm.name + ".xml"; }
std::string network_file(const std::string& bridge) { return "network-" + bridge + ".xml"; }

std::string libvirt_machine(const vm::MachineSpec& machine) {
  std::string type = vm::machine_type(machine);
  return type == "microvm" ? "q35" : type;
}

std::string libvirt_nic_model(const std::string& model) { return model == "virtio-net" ? "virtio" : model; }

Result<std::string> domain_xml(const Plan& plan, const VmPlan& vm) {
  // The management link does not carry over: without a mgmt0 in the
  // settings the guest's sshd listens on its bridge addresses.
  vm::MachineSpec machine = vm.machine;
  machine.management.reset();
  XmlWriter xml;
  Attributes root = {{"type", domain_type(machine)}};
  if (!machine.qemu_args.empty()) root.emplace_back("xmlns:qemu", "http://libvirt.org/schemas/domain/qemu/1.0");
  xml.open("domain", root);
  xml.text("name", domain_name(*plan.scenario, *vm.config));
  xml.text("description", "VM " + vm.name() + " of meros-test scenario " + plan.scenario->name + " (" +
                              plan.scenario->display_path + "), exported by meros-test export libvirt; see NOTES.md");
  xml.text("memory", std::to_string(machine.memory_mib), {{"unit", "MiB"}});
  xml.text("vcpu", std::to_string(machine.cpus), {{"placement", "static"}});
  if (machine.boot == BootMode::disk) {
    xml.open("sysinfo", {{"type", "fwcfg"}});
    xml.text("entry", fw_cfg_settings(machine), {{"name", "opt/meros/cmdline"}});
    xml.close();
  }
  write_os(xml, machine);
  // QEMU's defaults on q35 and pc, which meros-test keeps there; virt's
  // ACPI needs UEFI, so aarch64 goes without, as in a run.
  if (machine.arch == Arch::x86_64) {
    xml.open("features");
    xml.empty("acpi");
    xml.empty("apic");
    xml.close();
  }
  write_cpu(xml, machine);
  // -no-reboot: a guest that reboots or panics stops, as in a run.
  xml.text("on_poweroff", "destroy");
  xml.text("on_reboot", "destroy");
  xml.text("on_crash", "destroy");
  write_devices(xml, plan, vm);
  write_qemu_args(xml, machine);
  xml.close();
  return xml.finish();
}

Result<std::string> network_xml(const Plan& plan, const net::BridgeLink& bridge) {
  XmlWriter xml;
  xml.open("network");
  xml.text("name", network_name(*plan.scenario, bridge.name));
  // isolated: libvirt's isolated network (no <forward>); host-access:
  // routed through the host like meros-test's bridges. policy.nft then
  // narrows both to what the scenario's policy allows.
  if (bridge.policy == PolicyType::host_access) xml.empty("forward", {{"mode", "route"}});
  xml.empty("bridge", {{"name", bridge.ifname}, {"stp", "off"}, {"delay", "0"}});
  xml.empty("ip", {{"address", bridge.gateway.str()}, {"prefix", std::to_string(bridge.prefix)}});
  xml.close();
  return xml.finish();
}

}  // namespace meros::libvirt

namespace meros::libvirt {
namespace {

std::string vm_notes(const Plan& plan) {
  std::string out;
  for (const auto& vm : plan.vms) {
    const VirtualMachine& config = *vm.config;
    std::string machine = vm::machine_type(vm.machine);
    out += "- " + domain_file(config) + ": domain " + domain_name(*plan.scenario, config) + ", " +
           (config.boot == BootMode::direct ? "direct boot of " + vm.machine.kernel.string() : "disk boot (firmware)") +
           ", disk " + vm.base_image.string() + "\n";
    if (machine == "microvm")
      out += "  - machine microvm became q35: libvirt cannot describe microvm's virtio-mmio devices on x86_64, so the same "
             "devices sit on virtio-pci (the meros kernels have the PCI drivers)\n";
    if (config.firewall)
      out += "  - its guest firewall is not loaded: copy firewall-" + config.name + ".nft into the guest and run `nft -f` on it\n";
    if (!config.qemu_args.empty()) out += "  - qemu_args are passed through <qemu:commandline> as they are; check they fit libvirt's devices\n";
    for (const auto& share : config.shared)
      out += "  - shared folder " + share.guest_path + ": <filesystem> on " + share.host_dir.string() + " (" +
             (share.writable ? "rw" : "ro") + "), mounted by the guest init at boot\n";
    if (!config.services.empty()) out += "  - services: and the probe agent's listeners are the harness's; nothing listens for you\n";
    if (config.disk_size)
      out += "  - disk_size: a run grows the root filesystem on an overlay of that size; create your overlay with that size "
             "and add meros.grow=1 to the settings to get the same\n";
  }
  return out;
}

}  // namespace

std::string notes(const Plan& plan, const fs::path& client_key) {
  const Scenario& s = *plan.scenario;
  std::string out = "# libvirt export of scenario " + s.name + "\n\nFrom " + s.display_path +
                    " by `meros-test export libvirt` (docs/libvirt.md).\n\n## Use\n\n"
                    "The disks are the fixture store's base images: never boot them directly, put an overlay on each,\n"
                    "`qemu-img create -f qcow2 -F qcow2 -b BASE vm.qcow2`, and point the domain's <source file=.../> at it.\n\n"
                    "```\n";
  for (const auto& bridge : plan.topology.bridges) out += "virsh net-define " + network_file(bridge.name) + " && virsh net-start " + network_name(s, bridge.name) + "\n";
  out += "nft -f policy.nft\n";
  if (s.host_firewall) out += "nft -f host-firewall.nft\n";
  for (const auto& vm : plan.vms) out += "virsh define " + domain_file(*vm.config) + " && virsh start " + domain_name(s, *vm.config) + "\n";
  out += "```\n\nSSH: the guests accept the fixture store's client key, " + client_key.string() +
         ", on their bridge addresses (port 22).\n\n## Files\n\n";
  for (const auto& bridge : plan.topology.bridges)
    out += "- " + network_file(bridge.name) + ": network " + network_name(s, bridge.name) + ", bridge " + bridge.ifname +
           ", gateway " + bridge.gateway.str() + "/" + std::to_string(bridge.prefix) + "\n";
  out += vm_notes(plan);
  out += "- policy.nft: the generated bridge policies (table inet meros), exactly as a run loads them into the scenario's "
         "namespace\n";
  if (s.host_firewall) out += "- host-firewall.nft: host.firewall (" + s.host_firewall->string() + "), loaded after policy.nft\n";
  out += "\n## What does not carry over\n\n"
         "- The scenario's own network namespace: the networks, policy.nft and host-firewall.nft act on this host. "
         "policy.nft's forward chain drops by default what it does not allow: on a host that forwards other traffic, "
         "load it in a dedicated namespace or host\n"
         "- The management link (mgmt0): the domains have only the scenario's NICs\n"
         "- The tests (steps, reach and matrix probes, the probe agent's listeners), snapshots and reports\n"
         "- Guest firewalls (`firewall:`): not loaded at boot\n"
         "- Host and guest event hooks and static application builds: the harness runs them, libvirt has no place for them "
         "(shared folders do carry over, as <filesystem> devices)\n"
         "- microvm: mapped to q35 with virtio-pci devices\n"
         "- The accelerator: x86_64 domains are type kvm (use type qemu without KVM), aarch64 ones type qemu (TCG)\n"
         "- Throw-away overlays and disk_size growth: see above\n";
  return out;
}

Result<std::vector<ExportFile>> export_files(const Plan& plan, const fs::path& client_key) {
  std::vector<ExportFile> files;
  for (const auto& bridge : plan.topology.bridges) {
    auto xml = network_xml(plan, bridge);
    if (!xml) return make_error("bridge " + quote(bridge.name) + ": " + xml.error().message);
    files.push_back({network_file(bridge.name), *xml, {}});
  }
  for (const auto& vm : plan.vms) {
    auto xml = domain_xml(plan, vm);
    if (!xml) return make_error("VM " + quote(vm.name()) + ": " + xml.error().message);
    files.push_back({domain_file(*vm.config), *xml, {}});
    if (vm.config->firewall) files.push_back({"firewall-" + vm.name() + ".nft", "", *vm.config->firewall});
  }
  files.push_back({"policy.nft", net::render_nft(net::plan_policy(*plan.scenario, plan.topology)), {}});
  if (plan.scenario->host_firewall) files.push_back({"host-firewall.nft", "", *plan.scenario->host_firewall});
  files.push_back({"NOTES.md", notes(plan, client_key), {}});
  return files;
}

}  // namespace meros::libvirt
