// The typed model of a scenario manifest (scenario-format.md, version 1).
// Produced by the parser with every default filled in; read by every later
// stage. Paths are absolute once parsed.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "manifest/expect_regex.h"
#include "manifest/values.h"

namespace meros {

namespace fs = std::filesystem;

// Where something was written: for messages of the form file:line:col.
struct SourceMark {
  std::string file;  // as the user named it
  int line = 0;      // 1-based; 0 when unknown
  int column = 0;    // 1-based
};

// The guest architectures. A recipe is built once for every architecture
// its VMs have: the architecture is part of every fixture's key.
enum class Arch { x86_64, aarch64 };
std::string_view to_string(Arch arch);  // "x86_64" | "aarch64"

enum class KernelKind { build, prebuilt, package };

struct KernelRecipe {
  std::string name;
  KernelKind kind = KernelKind::build;
  // kind == build
  std::string tarball;               // absolute path or https:// URL
  std::optional<std::string> sha256;  // lowercase hex
  std::string base = "tinyconfig";   // tinyconfig | defconfig | absolute config path
  std::vector<fs::path> fragments;
  // arch_fragments: the fragments that replace `fragments` for VMs of one
  // architecture (the built-in default: meros-arm64.config for aarch64).
  std::map<Arch, std::vector<fs::path>> arch_fragments;
  std::vector<std::pair<std::string, std::string>> options;  // CONFIG_ name without prefix -> y/n/m/value
  // kind == prebuilt
  fs::path path;
  // kind == package
  std::string package;
  fs::path defined_in;  // the file that holds the recipe
  SourceMark mark;
  // The architecture it is built for: x86_64 as parsed, set per VM by
  // for_arch() when the fixtures are resolved.
  Arch arch = Arch::x86_64;
  // This recipe as built for VMs of arch: arch set, and fragments the
  // arch's own when arch_fragments has them.
  KernelRecipe for_arch(Arch target) const;
};

enum class ImageKind { busybox, debian, tarball, use };

// A static application (spec v1.1 "Static applications"): built on the host
// from its source in a clean environment, checked (an executable of the
// image's architecture, static unless the image has a C library), cached as
// a fixture of its own and installed into the image at `install`.
struct Application {
  std::string name;
  // The source: a directory or tarball inside the scenario or fixtures
  // directory (source), or an https:// tarball checked against sha256 (url).
  fs::path source;                     // absolute; empty for url
  std::string url;                     // https://; empty for source
  std::string sha256;                  // lowercase hex; url only
  std::vector<std::string> configure;  // argv run first in the source copy; empty = none
  std::vector<std::string> build = {"make"};  // argv run in the source copy
  std::string output;                  // the built file, relative to the source copy
  std::string install;                 // absolute guest path, installed mode 0755
  SourceMark mark;
  bool source_is_directory = false;    // a directory (else a tarball, or the url's download)
};

struct ImageRecipe {
  std::string name;
  ImageKind kind = ImageKind::busybox;
  std::string suite = "bookworm";     // debian
  std::vector<std::string> packages;  // debian
  std::uint64_t size = 0;             // bytes; 0 = the kind's default
  std::optional<fs::path> includes;   // includes.chroot directory
  std::optional<fs::path> hooks;      // hooks directory
  fs::path archive;                   // tarball
  fs::path use;                       // use: existing qcow2
  std::string root = "/dev/vda";      // root device for direct boot
  // A partitioned disk with a bootloader and the distribution's own kernel
  // (debian only), for boot: disk. Implied for a disk-boot VM's image: see
  // image_recipe_for().
  bool bootable = false;
  // Built for the image's architecture and installed into it (busybox,
  // debian and tarball images), in this (name) order.
  std::vector<Application> applications;
  fs::path defined_in;
  SourceMark mark;
  Arch arch = Arch::x86_64;  // as KernelRecipe::arch
  ImageRecipe for_arch(Arch target) const {
    ImageRecipe copy = *this;
    copy.arch = target;
    return copy;
  }
};

enum class PolicyType { host_access, isolated };

struct Bridge {
  std::string name;
  Cidr subnet;
  PolicyType policy = PolicyType::isolated;
  std::optional<std::vector<int>> allowed_ports;  // absent = all
  std::optional<std::vector<Cidr>> allowed_ips;   // absent = all
  bool allow_icmp = true;
  Ipv4 gateway() const { return subnet.first_host(); }
  SourceMark mark;
};

struct NetworkAttachment {
  std::string bridge;
  std::optional<Ipv4> ip;  // absent: assigned in VM order from the subnet
  std::string model = "virtio-net";
  std::optional<Mac> mac;  // absent: derived from run id, vm and index
  SourceMark mark;
};

enum class BootMode { direct, disk };

// An event hook: an executable file inside the scenario directory, run as
// argv (never through a shell) at one event of the constellation's life.
struct Hook {
  fs::path path;     // absolute, resolved inside the scenario directory
  std::string text;  // as written, for messages and reports
  SourceMark mark;
};

// Host hooks (scenario top level), run on the host outside the namespace.
struct HostHooks {
  std::vector<Hook> on_up;        // every VM ready and firewalled, before the first test
  std::vector<Hook> before_down;  // at teardown, before the VMs stop, whatever happened
  std::vector<Hook> on_failure;   // after the tests, when one failed or errored
  bool empty() const { return on_up.empty() && before_down.empty() && on_failure.empty(); }
};

// Guest hooks (per VM), copied into the guest and run there over the
// management session.
struct GuestHooks {
  std::vector<Hook> on_boot;          // after the VM is ready, before the first test
  std::vector<Hook> before_shutdown;  // at teardown, before the VM stops
  bool empty() const { return on_boot.empty() && before_shutdown.empty(); }
};

// A host directory mounted in the guest over virtio-9p by the guest init,
// before the VM is ready (spec v1.1 "Shared folders").
struct SharedFolder {
  std::filesystem::path host_dir;  // resolved: a directory inside the scenario directory
  std::string guest_path;          // absolute, normalised; created in the guest if missing
  bool writable = false;           // mode: rw (the default, ro, mounts it read-only)
  SourceMark mark;
};

struct VirtualMachine {
  std::string name;
  Arch arch = Arch::x86_64;
  std::string machine;  // microvm | q35 | pc | virt
  BootMode boot = BootMode::direct;
  std::string ssh_user = "root";
  std::string kernel = "default";
  std::string image = "busybox";
  std::uint64_t disk_size = 0;  // bytes; 0 = the image's size
  std::uint64_t memory_mib = 256;
  int cpus = 1;
  std::string cmdline;
  std::vector<std::string> qemu_args;
  std::vector<NetworkAttachment> networks;
  std::optional<Ipv4> gateway;
  std::optional<fs::path> firewall;
  std::vector<PortProto> services;
  GuestHooks guest_hooks;
  std::vector<SharedFolder> shared;
  SourceMark mark;
};

enum class Expect { allow, reject, drop, deny };
std::string_view to_string(Expect e);

// One end of a reachability check.
struct Endpoint {
  enum class Kind { vm, host, address } kind = Kind::vm;
  std::string vm;      // kind == vm
  std::string bridge;  // vm@bridge; empty = chosen by the other end
  Ipv4 address;        // kind == address
  std::string text;    // as written
};

struct ReachCheck {
  Endpoint from, to;
  PortProto target;
  Expect expect = Expect::allow;
  SourceMark mark;
};

struct OutputExpectation {
  std::optional<int> exit_code = 0;
  std::optional<std::string> stdout_contains, stdout_matches;
  std::optional<std::string> stderr_contains, stderr_matches;
  // *_matches compiled by the parser; null when made another way (then
  // the verdict compiles the pattern itself).
  ExpectRegex stdout_regex, stderr_regex;
};

enum class StepKind { run, reach, matrix, push, pull, link };
std::string_view to_string(StepKind k);

struct TestStep {
  std::string name;
  StepKind kind = StepKind::run;
  Duration timeout = Duration(60'000);
  int retries = 0;
  // run
  std::string vm;
  std::string command;
  OutputExpectation expect;
  // reach (one row) and matrix (many)
  std::vector<ReachCheck> checks;
  // push / pull
  std::string src, dst;
  fs::path local_path;  // push: absolute source; pull: relative to the artifacts directory
  std::uint64_t max_bytes = 1ull << 30;  // max_bytes: what one push or pull may copy
  // link
  int network_index = 0;
  bool link_up = false;
  SourceMark mark;
};

// When a run records every bridge to pcapng (net/capture.h): off, only kept
// when the scenario failed (the default), or always kept.
enum class CaptureMode { off, on_failure, always };
std::string_view capture_mode_name(CaptureMode mode);  // off, on-failure, always
std::optional<CaptureMode> parse_capture_mode(std::string_view text);

struct Scenario {
  fs::path file;  // scenario.yml, absolute
  fs::path dir;   // its directory, absolute
  std::string display_path;  // as the user named it, for messages
  std::string name;           // an identifier: part of paths and namespace names
  SourceMark name_mark;       // its name: value, or the file's start when defaulted
  std::string description;
  std::vector<std::string> tags;
  Duration timeout = Duration(15 * 60'000);
  Duration probe_timeout = Duration(1000);
  CaptureMode capture = CaptureMode::on_failure;
  // The scenario's own recipes plus those its VMs resolved from fixtures.
  std::map<std::string, KernelRecipe> kernels;
  std::map<std::string, ImageRecipe> images;
  std::vector<Bridge> bridges;
  std::vector<VirtualMachine> vms;
  std::optional<fs::path> host_firewall;
  HostHooks host_hooks;
  std::vector<TestStep> tests;

  const Bridge* find_bridge(std::string_view name) const;
  const VirtualMachine* find_vm(std::string_view name) const;
};

std::string_view image_kind_name(ImageKind kind);  // busybox, debian, tarball, use

// The image recipe a VM boots: its image's, made bootable when the VM boots
// from disk (bootable is implied there). A bootable and a plain build of one
// recipe are different fixtures.
ImageRecipe image_recipe_for(const Scenario& scenario, const VirtualMachine& vm);
// The name a VM's image fixture goes by in ScenarioFixtures: the image's
// name, with " (bootable)" when bootable is implied by boot: disk only.
std::string image_fixture_name(const Scenario& scenario, const VirtualMachine& vm);

}  // namespace meros
