// Golden tests of the QEMU argument vector: one expected vector per case,
// written out in full so a change to the command line shows in review.
#include "vm/qemu_command.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace meros::vm {
namespace {

using Argv = std::vector<std::string>;

Mac mac(std::uint8_t last) { return Mac{{0x52, 0x54, 0x00, 0x12, 0x34, last}}; }

NicSpec nic(std::string tap, std::uint8_t mac_last, std::string ifname, std::uint32_t address, int prefix) {
  NicSpec out;
  out.tap = std::move(tap);
  out.mac = mac(mac_last);
  out.guest_ifname = std::move(ifname);
  out.address = Ipv4{address};
  out.prefix = prefix;
  return out;
}

// web: one LAN NIC and the management link, booted directly on microvm.
MachineSpec web() {
  MachineSpec spec;
  spec.name = "web";
  spec.kernel = "/cache/kernels/abc/bzImage";
  spec.disk = "/run/meros/r1/web.qcow2";
  spec.console_log = "/run/meros/r1/web.console.log";
  spec.qmp_socket = "/run/meros/r1/web.qmp";
  spec.networks = {nic("web-0", 0x01, "eth0", 0x0a000a15, 24)};       // 10.0.10.21/24
  spec.management = nic("web-m", 0x02, "mgmt0", 0x647f0002, 30);     // 100.127.0.2/30
  spec.gateway = Ipv4{0x0a000a01};                                    // 10.0.10.1
  return spec;
}

const Argv kCommon = {
    "-nodefaults", "-no-user-config", "-nographic", "-no-reboot",
    "-chardev", "file,id=console,path=/run/meros/r1/web.console.log",
    "-serial", "chardev:console",
    "-chardev", "socket,id=qmp,path=/run/meros/r1/web.qmp,server=on,wait=off",
    "-mon", "chardev=qmp,mode=control",
};

Argv concat(std::initializer_list<Argv> parts) {
  Argv out;
  for (const Argv& part : parts) out.insert(out.end(), part.begin(), part.end());
  return out;
}

TEST(QemuCommand, MicrovmDirectBoot) {
  auto argv = qemu_command(web());
  ASSERT_TRUE(argv) << argv.error().message;
  Argv expected = concat({
      {"qemu-system-x86_64", "-name", "web", "-machine", "microvm,acpi=off", "-accel", "tcg", "-cpu", "max",
       "-smp", "1", "-m", "256"},
      kCommon,
      {"-kernel", "/cache/kernels/abc/bzImage",
       "-append", "console=ttyS0 root=/dev/vda rw init=/opt/meros/init quiet panic=-1 reboot=t no_timer_check meros.hostname=web "
                  "meros.if=52:54:00:12:34:01,eth0,10.0.10.21/24 meros.if=52:54:00:12:34:02,mgmt0,100.127.0.2/30 "
                  "meros.gw=10.0.10.1",
       "-drive", "id=root,if=none,format=qcow2,cache=unsafe,file=/run/meros/r1/web.qcow2",
       "-device", "virtio-blk-device,drive=root",
       "-device", "virtio-rng-device",
       "-netdev", "tap,id=n0,ifname=web-0,script=no,downscript=no",
       "-device", "virtio-net-device,netdev=n0,mac=52:54:00:12:34:01,id=net0",
       "-netdev", "tap,id=nmgmt,ifname=web-m,script=no,downscript=no",
       "-device", "virtio-net-device,netdev=nmgmt,mac=52:54:00:12:34:02,id=mgmt"},
  });
  EXPECT_EQ(*argv, expected);
}

// A disk larger than the image: the guest init is told to grow the root
// filesystem (meros.grow=1, beside the other meros.* settings).
TEST(QemuCommand, GrownDiskAsksTheGuestToGrowItsRoot) {
  MachineSpec spec = web();
  spec.grow_root = true;
  EXPECT_NE(kernel_cmdline(spec).find(" meros.grow=1"), std::string::npos) << kernel_cmdline(spec);
  spec.grow_root = false;
  EXPECT_EQ(kernel_cmdline(spec).find("meros.grow"), std::string::npos);
}

TEST(QemuCommand, Q35WithKvmSeveralNicsAndModels) {
  MachineSpec spec = web();
  spec.machine = "q35";
  spec.accel = Accel::kvm;
  spec.cpus = 2;
  spec.memory_mib = 1024;
  spec.networks.push_back(nic("web-1", 0x03, "eth1", 0x0a001405, 24));  // 10.0.20.5/24
  spec.networks.back().model = "e1000";
  spec.root_device = "/dev/vda1";
  spec.cmdline = "loglevel=7 quiet=0";
  auto argv = qemu_command(spec);
  ASSERT_TRUE(argv) << argv.error().message;
  Argv expected = concat({
      {"qemu-system-x86_64", "-name", "web", "-machine", "q35", "-accel", "kvm", "-cpu", "host",
       "-smp", "2,sockets=2,cores=1,threads=1", "-m", "1024"},
      kCommon,
      {"-kernel", "/cache/kernels/abc/bzImage",
       "-append", "console=ttyS0 root=/dev/vda1 rw init=/opt/meros/init quiet panic=-1 reboot=t no_timer_check meros.hostname=web "
                  "meros.if=52:54:00:12:34:01,eth0,10.0.10.21/24 meros.if=52:54:00:12:34:03,eth1,10.0.20.5/24 "
                  "meros.if=52:54:00:12:34:02,mgmt0,100.127.0.2/30 meros.gw=10.0.10.1 "
                  "loglevel=7 quiet=0",
       "-drive", "id=root,if=none,format=qcow2,cache=unsafe,file=/run/meros/r1/web.qcow2",
       "-device", "virtio-blk-pci,drive=root",
       "-device", "virtio-rng-pci",
       "-netdev", "tap,id=n0,ifname=web-0,script=no,downscript=no",
       "-device", "virtio-net-pci,netdev=n0,mac=52:54:00:12:34:01,id=net0,romfile=",
       "-netdev", "tap,id=n1,ifname=web-1,script=no,downscript=no",
       "-device", "e1000,netdev=n1,mac=52:54:00:12:34:03,id=net1,romfile=",
       "-netdev", "tap,id=nmgmt,ifname=web-m,script=no,downscript=no",
       "-device", "virtio-net-pci,netdev=nmgmt,mac=52:54:00:12:34:02,id=mgmt,romfile="},
  });
  EXPECT_EQ(*argv, expected);
}

TEST(QemuCommand, DiskBootPassesSettingsThroughFwCfg) {
  MachineSpec spec = web();
  spec.machine = "pc";
  spec.boot = BootMode::disk;
  spec.management.reset();
  auto argv = qemu_command(spec);
  ASSERT_TRUE(argv) << argv.error().message;
  Argv expected = concat({
      {"qemu-system-x86_64", "-name", "web", "-machine", "pc", "-accel", "tcg", "-cpu", "max", "-smp", "1", "-m", "256"},
      kCommon,
      {"-fw_cfg", "name=opt/meros/cmdline,string=meros.hostname=web meros.if=52:54:00:12:34:01,,eth0,,10.0.10.21/24 "
                  "meros.gw=10.0.10.1",
       "-drive", "id=root,if=none,format=qcow2,cache=unsafe,file=/run/meros/r1/web.qcow2",
       "-device", "virtio-blk-pci,drive=root,bootindex=0",
       "-device", "virtio-rng-pci",
       "-netdev", "tap,id=n0,ifname=web-0,script=no,downscript=no",
       "-device", "virtio-net-pci,netdev=n0,mac=52:54:00:12:34:01,id=net0,romfile="},
  });
  EXPECT_EQ(*argv, expected);
}

// One settings format for both boot paths: fw_cfg opt/meros/cmdline
// carries exactly the meros.* words that direct boot appends to the kernel
// command line (grow included), which the one boot script parses.
TEST(QemuCommand, FwCfgSettingsAreTheDirectBootSettings) {
  MachineSpec spec = web();
  spec.grow_root = true;
  std::string direct = kernel_cmdline(spec);
  spec.machine = "q35";
  spec.boot = BootMode::disk;
  auto argv = qemu_command(spec);
  ASSERT_TRUE(argv) << argv.error().message;
  auto at = std::find(argv->begin(), argv->end(), "-fw_cfg");
  ASSERT_NE(at, argv->end());
  ASSERT_NE(at + 1, argv->end());
  const std::string prefix = "name=opt/meros/cmdline,string=";
  ASSERT_TRUE(at[1].starts_with(prefix)) << at[1];
  std::string settings;  // QEMU's doubled commas undone
  for (std::size_t i = prefix.size(); i < at[1].size(); ++i) {
    settings += at[1][i];
    if (at[1][i] == ',') ++i;
  }
  EXPECT_TRUE(settings.starts_with("meros.hostname=web ")) << settings;
  EXPECT_NE(settings.find(" meros.grow=1"), std::string::npos) << settings;
  EXPECT_NE(direct.find(" " + settings), std::string::npos) << "direct: " << direct << "\nfw_cfg: " << settings;
  EXPECT_EQ(std::find(argv->begin(), argv->end(), "-kernel"), argv->end());
  EXPECT_EQ(std::find(argv->begin(), argv->end(), "-append"), argv->end());
}

TEST(QemuCommand, UserQemuArgsComeLastAndVerbatim) {
  MachineSpec spec = web();
  spec.qemu_args = {"-device", "virtio-balloon-device", "-append", "x; rm -rf /"};
  auto argv = qemu_command(spec);
  ASSERT_TRUE(argv) << argv.error().message;
  Argv tail(argv->end() - 4, argv->end());
  EXPECT_EQ(tail, spec.qemu_args);
}

TEST(QemuCommand, Aarch64UsesVirtAndTheArmConsole) {
  MachineSpec spec = web();
  spec.arch = Arch::aarch64;
  spec.networks.clear();
  spec.management.reset();
  spec.gateway.reset();
  auto argv = qemu_command(spec);
  ASSERT_TRUE(argv) << argv.error().message;
  Argv expected = concat({
      {"qemu-system-aarch64", "-name", "web", "-machine", "virt", "-accel", "tcg", "-cpu", "max,pauth-impdef=on",
       "-smp", "1", "-m", "256"},
      kCommon,
      {"-kernel", "/cache/kernels/abc/bzImage",
       "-append", "console=ttyAMA0 root=/dev/vda rw init=/opt/meros/init quiet panic=-1 meros.hostname=web",
       "-drive", "id=root,if=none,format=qcow2,cache=unsafe,file=/run/meros/r1/web.qcow2",
       "-device", "virtio-blk-pci,drive=root",
       "-device", "virtio-rng-pci"},
  });
  EXPECT_EQ(*argv, expected);
}

TEST(QemuCommand, DoublesCommasInsideOptionValues) {
  MachineSpec spec = web();
  spec.disk = "/tmp/a,b/web.qcow2";
  auto argv = qemu_command(spec);
  ASSERT_TRUE(argv);
  EXPECT_NE(std::find(argv->begin(), argv->end(), "id=root,if=none,format=qcow2,cache=unsafe,file=/tmp/a,,b/web.qcow2"),
            argv->end());
}

TEST(QemuCommand, RejectsWhatCannotWork) {
  MachineSpec disk_on_microvm = web();
  disk_on_microvm.boot = BootMode::disk;
  EXPECT_EQ(qemu_command(disk_on_microvm).error().message,
            "boot: disk needs firmware, which microvm lacks: use machine q35 or pc, or boot: direct");

  MachineSpec pci_nic_on_microvm = web();
  pci_nic_on_microvm.networks[0].model = "rtl8139";
  EXPECT_EQ(qemu_command(pci_nic_on_microvm).error().message,
            "NIC model rtl8139 needs PCI: use machine q35 or pc, not microvm");

  MachineSpec unknown_model = web();
  unknown_model.machine = "q35";
  unknown_model.networks[0].model = "ne2k";
  EXPECT_EQ(qemu_command(unknown_model).error().message,
            "NIC model 'ne2k' unknown (virtio-net, e1000, e1000e or rtl8139)");

  MachineSpec wrong_arch = web();
  wrong_arch.machine = "virt";
  EXPECT_EQ(qemu_command(wrong_arch).error().message,
            "machine 'virt' does not exist for x86_64 (use microvm, q35 or pc)");
}

TEST(QemuCommand, NamesBinariesAndDevices) {
  EXPECT_EQ(qemu_binary(Arch::x86_64), "qemu-system-x86_64");
  EXPECT_EQ(qemu_binary(Arch::aarch64), "qemu-system-aarch64");
  EXPECT_EQ(default_machine(Arch::x86_64), "microvm");
  EXPECT_EQ(default_machine(Arch::aarch64), "virt");
  EXPECT_EQ(network_device_id(2), "net2");
  EXPECT_STREQ(kManagementDeviceId, "mgmt");
}

TEST(QemuCommand, MissingBinaryIsAnEnvironmentErrorNamingThePackage) {
  const char* saved = std::getenv("PATH");
  std::string old = saved ? saved : "";
  ::setenv("PATH", "/nonexistent", 1);
  auto found = find_qemu(Arch::aarch64);
  ::setenv("PATH", old.c_str(), 1);
  if (found) GTEST_SKIP() << "qemu-system-aarch64 found in a system directory: " << found->string();
  EXPECT_EQ(found.error().message,
            "qemu-system-aarch64 not found on PATH: install the Debian package 'qemu-system-arm'");
}

}  // namespace
}  // namespace meros::vm

namespace meros::vm {
namespace {

TEST(QemuCommand, SharedFoldersAre9pDevicesTheGuestInitMountsByTag) {
  MachineSpec spec = web();
  spec.shares = {{"/srv/scenario/data", "/mnt/data", false}, {"/srv/scenario/out,put", "/mnt/out", true}};
  auto argv = qemu_command(spec);
  ASSERT_TRUE(argv) << argv.error().message;
  auto at = [&](const std::string& value) { return std::find(argv->begin(), argv->end(), value) - argv->begin(); };
  Argv tail(argv->end() - 8, argv->end());
  EXPECT_EQ(tail, (Argv{"-fsdev", "local,id=share0,path=/srv/scenario/data,security_model=mapped-xattr,readonly=on",
                        "-device", "virtio-9p-device,fsdev=share0,mount_tag=meros-share0",
                        "-fsdev", "local,id=share1,path=/srv/scenario/out,,put,security_model=mapped-xattr",
                        "-device", "virtio-9p-device,fsdev=share1,mount_tag=meros-share1"}));
  std::string append = (*argv)[at("-append") + 1];
  EXPECT_NE(append.find(" meros.share=meros-share0,ro,/mnt/data meros.share=meros-share1,rw,/mnt/out"), std::string::npos) << append;
  spec.machine = "q35";
  argv = qemu_command(spec);
  ASSERT_TRUE(argv);
  EXPECT_NE(std::find(argv->begin(), argv->end(), "virtio-9p-pci,fsdev=share0,mount_tag=meros-share0"), argv->end());
}

}  // namespace
}  // namespace meros::vm
