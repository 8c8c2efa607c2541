// The QEMU command line of one VM, as a pure function of a MachineSpec in
// which every path, tap, MAC and address is already resolved, so it can be
// golden-tested. The result is an argument vector, never a shell string.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "manifest/model.h"
#include "util/result.h"
#include "vm/accel.h"

namespace meros::vm {

// One guest NIC and the host tap that backs it.
struct NicSpec {
  std::string tap;                   // host interface name (in the scenario's namespace)
  Mac mac;                           // the guest's
  std::string model = "virtio-net";  // virtio-net | e1000 | e1000e | rtl8139
  std::string guest_ifname;          // "eth0", "mgmt0": named by the guest init from the MAC
  Ipv4 address;                      // the guest's
  int prefix = 24;
};

// One host directory QEMU's own 9p server exports to the guest; the guest
// init mounts it by tag (meros.share=TAG,MODE,PATH).
struct ShareSpec {
  std::filesystem::path host_dir;  // absolute
  std::string guest_path;          // validated by the manifest parser: one plain word
  bool writable = false;
};

// The 9p mount tag of a VM's index-th shared folder.
std::string share_tag(std::size_t index);  // "meros-share0", ...

// Everything QEMU needs for one VM, resolved.
struct MachineSpec {
  std::string name;  // the VM's name: -name and meros.hostname
  Arch arch = Arch::x86_64;
  std::string machine;  // microvm | q35 | pc | virt; empty = the arch's default
  BootMode boot = BootMode::direct;
  Accel accel = Accel::tcg;
  int cpus = 1;
  std::uint64_t memory_mib = 256;
  std::filesystem::path kernel;  // direct boot only
  std::filesystem::path initrd;  // direct boot with a package kernel: its module initramfs
  std::string root_device = "/dev/vda";
  std::filesystem::path disk;    // the VM's qcow2 overlay
  bool grow_root = false;        // meros.grow: the overlay is larger than the image (disk_size)
  std::vector<NicSpec> networks;         // eth0, eth1, ...: QEMU devices net0, net1, ...
  std::optional<NicSpec> management;     // mgmt0: QEMU device "mgmt"
  std::optional<Ipv4> gateway;           // meros.gw
  std::vector<ShareSpec> shares;         // virtio-9p devices, mounted by the guest init
  std::string cmdline;                   // the user's, appended last
  std::vector<std::string> qemu_args;    // the user's, appended last
  std::filesystem::path console_log;     // the serial console
  // Where QEMU writes the console instead, when set: the base name of two
  // FIFOs (.in, .out) the harness copies into console_log, bounded
  // (vm/console_capture.h). Machine::start sets it; empty: a plain file.
  std::filesystem::path console_pipe;
  std::filesystem::path qmp_socket;
};

// QEMU device ids, for set_link.
std::string network_device_id(std::size_t index);  // "net0", "net1", ...
inline constexpr const char* kManagementDeviceId = "mgmt";

std::string default_machine(Arch arch);   // microvm on x86_64, virt on aarch64
// spec.machine, or the arch's default when empty.
std::string machine_type(const MachineSpec& spec);
std::string qemu_binary(Arch arch);       // qemu-system-x86_64 / qemu-system-aarch64
// The binary on PATH; the Error names the Debian package to install.
Result<std::filesystem::path> find_qemu(Arch arch);

// The guest kernel command line for direct boot: console, root, init,
// the meros.* settings the guest init reads, then the user's cmdline.
std::string kernel_cmdline(const MachineSpec& spec);

// The argument vector, argv[0] being qemu_binary(arch). An Error for
// combinations that cannot work (disk boot on microvm, a PCI NIC model on
// microvm, a machine type of another arch).
Result<std::vector<std::string>> qemu_command(const MachineSpec& spec);

}  // namespace meros::vm
