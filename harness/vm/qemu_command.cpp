#include "vm/qemu_command.h"

#include "util/process.h"
#include "util/text.h"

namespace meros::vm {
namespace fs = std::filesystem;

namespace {

// A value inside QEMU's key=value,key=value option syntax: commas double.
std::string option_value(std::string_view value) {
  std::string out;
  for (char c : value) {
    out += c;
    if (c == ',') out += ',';
  }
  return out;
}

bool has_pci(const std::string& machine) { return machine != "microvm"; }

std::string console_device(Arch arch) { return arch == Arch::aarch64 ? "ttyAMA0" : "ttyS0"; }

Status check_machine(Arch arch, const std::string& machine) {
  bool x86 = machine == "microvm" || machine == "q35" || machine == "pc";
  if (arch == Arch::x86_64 && x86) return {};
  if (arch == Arch::aarch64 && machine == "virt") return {};
  return make_error("machine " + quote(machine) + " does not exist for " +
                    (arch == Arch::aarch64 ? "aarch64 (use virt)" : "x86_64 (use microvm, q35 or pc)"));
}

// -machine: microvm without ACPI, so that the kernel finds its virtio-mmio
// devices on the command line QEMU writes for it (our kernels have no
// ACPI); the PIT and PIC stay, TCG guests hang without them.
std::string machine_option(const std::string& machine) {
  if (machine == "microvm") return "microvm,acpi=off";
  return machine;
}

// The meros.* settings the guest init reads (direct boot: the kernel
// command line; disk boot: fw_cfg opt/meros/cmdline).
std::string meros_settings(const MachineSpec& spec) {
  std::string out = "meros.hostname=" + spec.name;
  auto add_interface = [&](const NicSpec& nic) {
    out += " meros.if=" + nic.mac.str() + "," + nic.guest_ifname + "," + nic.address.str() + "/" +
           std::to_string(nic.prefix);
  };
  for (const NicSpec& nic : spec.networks) add_interface(nic);
  if (spec.management) add_interface(*spec.management);
  if (spec.gateway) out += " meros.gw=" + spec.gateway->str();
  for (std::size_t i = 0; i < spec.shares.size(); ++i)
    out += " meros.share=" + share_tag(i) + "," + (spec.shares[i].writable ? "rw" : "ro") + "," + spec.shares[i].guest_path;
  if (spec.grow_root) out += " meros.grow=1";
  return out;
}

// KVM: the host's CPU. TCG: every feature QEMU emulates; on aarch64 with
// QEMU's own pointer-authentication hash, which emulates far faster than
// the architected QARMA (the guest cannot tell).
std::string cpu_model(Arch arch, bool kvm) {
  if (kvm) return "host";
  return arch == Arch::aarch64 ? "max,pauth-impdef=on" : "max";
}

Result<std::string> nic_device(const std::string& model, const std::string& machine) {
  if (model == "virtio-net") return std::string(has_pci(machine) ? "virtio-net-pci" : "virtio-net-device");
  if (model != "e1000" && model != "e1000e" && model != "rtl8139")
    return make_error("NIC model " + quote(model) + " unknown (virtio-net, e1000, e1000e or rtl8139)");
  if (!has_pci(machine)) return make_error("NIC model " + model + " needs PCI: use machine q35 or pc, not microvm");
  return model;
}

Status add_nic(std::vector<std::string>& argv, const NicSpec& nic, const std::string& id, const std::string& netdev,
               const std::string& machine) {
  auto device = nic_device(nic.model, machine);
  if (!device) return device.error();
  // No option ROM: iPXE is only for network boot, which no VM does, and
  // SeaBIOS spends time loading one per NIC.
  std::string rom = has_pci(machine) ? ",romfile=" : "";
  argv.insert(argv.end(), {"-netdev", "tap,id=" + netdev + ",ifname=" + option_value(nic.tap) + ",script=no,downscript=no",
                           "-device", *device + ",netdev=" + netdev + ",mac=" + nic.mac.str() + ",id=" + id + rom});
  return {};
}

// QEMU's own 9p server (no virtiofsd). mapped-xattr: what the guest's
// root creates is stored as a plain file owned by QEMU's user, its guest
// owner and mode in xattrs, so a guest cannot leave a setuid-root file or
// a symlink on the host.
void add_share(std::vector<std::string>& argv, const ShareSpec& share, std::size_t index, const std::string& bus) {
  std::string id = "share" + std::to_string(index);
  argv.insert(argv.end(), {"-fsdev", "local,id=" + id + ",path=" + option_value(share.host_dir.string()) +
                                         ",security_model=mapped-xattr" + (share.writable ? "" : ",readonly=on"),
                           "-device", "virtio-9p-" + bus + ",fsdev=" + id + ",mount_tag=" + share_tag(index)});
}

}  // namespace

std::string share_tag(std::size_t index) { return "meros-share" + std::to_string(index); }

std::string network_device_id(std::size_t index) { return "net" + std::to_string(index); }

std::string default_machine(Arch arch) { return arch == Arch::aarch64 ? "virt" : "microvm"; }

std::string machine_type(const MachineSpec& spec) {
  return spec.machine.empty() ? default_machine(spec.arch) : spec.machine;
}

std::string qemu_binary(Arch arch) {
  return arch == Arch::aarch64 ? "qemu-system-aarch64" : "qemu-system-x86_64";
}

Result<fs::path> find_qemu(Arch arch) {
  std::string binary = qemu_binary(arch);
  if (auto found = find_program(binary)) return *found;
  std::string package = arch == Arch::aarch64 ? "qemu-system-arm" : "qemu-system-x86";
  return make_error(binary + " not found on PATH: install the Debian package '" + package + "'");
}

std::string kernel_cmdline(const MachineSpec& spec) {
  std::string out = "console=" + console_device(spec.arch) + " root=" + spec.root_device +
                    " rw init=/opt/meros/init quiet panic=-1";
  // A triple fault resets at once; with -no-reboot that ends QEMU, so a
  // panicking guest is seen immediately (microvm has no keyboard
  // controller to reset through).
  if (spec.arch == Arch::x86_64) out += " reboot=t";
  // The boot-time IO-APIC timer check counts ticks against a busy-wait; a
  // vCPU starved by a loaded host misses them and the kernel panics ("IO-APIC
  // + timer doesn't work"). QEMU's timer does work, so the check is skipped.
  if (spec.arch == Arch::x86_64) out += " no_timer_check";
  out += " " + meros_settings(spec);
  if (!spec.cmdline.empty()) out += " " + spec.cmdline;
  return out;
}

namespace {

// x86_64: one CPU a socket. QEMU's default topology puts the CPUs in one
// socket as cores, and SeaBIOS (q35, pc) lists only the first CPU of each
// socket in its MP table, which is all an ACPI-less kernel like the default
// one has to find CPUs with: `-smp 2` would boot with one CPU.
std::string smp_option(const MachineSpec& spec) {
  std::string n = std::to_string(spec.cpus);
  if (spec.arch != Arch::x86_64 || spec.cpus < 2) return n;
  return n + ",sockets=" + n + ",cores=1,threads=1";
}

}  // namespace

Result<std::vector<std::string>> qemu_command(const MachineSpec& spec) {
  std::string machine = machine_type(spec);
  if (Status ok = check_machine(spec.arch, machine); !ok) return ok.error();
  if (spec.boot == BootMode::disk && machine == "microvm")
    return make_error("boot: disk needs firmware, which microvm lacks: use machine q35 or pc, or boot: direct");
  bool kvm = spec.accel == Accel::kvm;
  std::vector<std::string> argv = {
      qemu_binary(spec.arch),
      "-name", option_value(spec.name),
      "-machine", machine_option(machine),
      "-accel", std::string(to_string(spec.accel)),
      "-cpu", cpu_model(spec.arch, kvm),
      "-smp", smp_option(spec),
      "-m", std::to_string(spec.memory_mib),
      "-nodefaults", "-no-user-config", "-nographic",
      // A guest reboot or panic ends QEMU, so it is noticed at once.
      "-no-reboot",
      "-chardev", spec.console_pipe.empty() ? "file,id=console,path=" + option_value(spec.console_log.string())
                                            : "pipe,id=console,path=" + option_value(spec.console_pipe.string()),
      "-serial", "chardev:console",
      "-chardev", "socket,id=qmp,path=" + option_value(spec.qmp_socket.string()) + ",server=on,wait=off",
      "-mon", "chardev=qmp,mode=control",
  };
  if (spec.boot == BootMode::direct) {
    argv.insert(argv.end(), {"-kernel", spec.kernel.string(), "-append", kernel_cmdline(spec)});
    if (!spec.initrd.empty()) argv.insert(argv.end(), {"-initrd", spec.initrd.string()});
  } else {
    argv.insert(argv.end(), {"-fw_cfg", "name=opt/meros/cmdline,string=" + option_value(meros_settings(spec))});
  }
  std::string bus = has_pci(machine) ? "pci" : "device";
  // cache=unsafe: the overlay is thrown away, so flushes buy nothing.
  argv.insert(argv.end(), {"-drive", "id=root,if=none,format=qcow2,cache=unsafe,file=" + option_value(spec.disk.string()),
                           "-device", "virtio-blk-" + bus + ",drive=root" +
                                          (spec.boot == BootMode::disk ? ",bootindex=0" : "")});
  // Entropy, so that sshd in the guest does not wait for it.
  argv.insert(argv.end(), {"-device", "virtio-rng-" + bus});
  for (std::size_t i = 0; i < spec.networks.size(); ++i)
    if (Status ok = add_nic(argv, spec.networks[i], network_device_id(i), "n" + std::to_string(i), machine); !ok) return ok.error();
  if (spec.management)
    if (Status ok = add_nic(argv, *spec.management, kManagementDeviceId, "nmgmt", machine); !ok) return ok.error();
  for (std::size_t i = 0; i < spec.shares.size(); ++i) add_share(argv, spec.shares[i], i, bus);
  argv.insert(argv.end(), spec.qemu_args.begin(), spec.qemu_args.end());
  return argv;
}

}  // namespace meros::vm
