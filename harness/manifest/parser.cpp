#include "manifest/parser.h"

#include <unistd.h>
#include "util/text.h"

#include "manifest/expect_regex.h"
#include <set>

#include "manifest/recipes.h"
#include "manifest/yaml_loader.h"
#include "manifest/yaml_reader.h"

namespace meros {
namespace {


const std::vector<std::string> kActions = {"run", "reach", "matrix", "push", "pull", "link"};

// More than one host runs comfortably; the limits keep every check linear
// in practice and say so clearly instead of failing late.
constexpr std::size_t kMaxBridges = 256;
constexpr std::size_t kMaxVms = 256;
constexpr std::size_t kMaxSharedFolders = 8;
constexpr std::size_t kMaxSharedGuestPath = 128;
// QEMU's microvm (hw/i386/microvm.h: VIRTIO_NUM_TRANSPORTS).
constexpr std::size_t kMicrovmVirtioSlots = 8;
constexpr std::size_t kMicrovmHarnessDevices = 3;

// True when text holds control characters other than those allowed.
bool has_control_characters(std::string_view text, std::string_view allowed = "") {
  return std::any_of(text.begin(), text.end(), [&](char c) {
    return (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) && allowed.find(c) == std::string_view::npos;
  });
}

// Reports every missing key, not just the first; true when none is.
bool require_all(const MapReader& map, std::initializer_list<const char*> keys) {
  bool all = true;
  for (const char* key : keys) all = map.require(key) && all;
  return all;
}

// "a", "a and b", "a, b and c".
std::string join_and(const std::vector<std::string>& words) {
  std::string out;
  for (std::size_t i = 0; i < words.size(); ++i) {
    if (i) out += i + 1 == words.size() ? " and " : ", ";
    out += words[i];
  }
  return out;
}

// Parses one scenario file; holds what later sections need from earlier ones.
class ScenarioParser {
 public:
  ScenarioParser(const fs::path& file, FixtureCatalog& catalog, Diagnostics& diagnostics)
      : yaml_(display_path(file), diagnostics), catalog_(catalog) {
    scenario_.file = fs::absolute(file).lexically_normal();
    scenario_.dir = scenario_.file.parent_path();
    scenario_.display_path = yaml_.display_name();
    std::vector<fs::path> roots{scenario_.dir};
    std::string description = "the scenario directory";
    if (auto fixtures = nearest_fixtures_dir(scenario_.dir)) {
      roots.push_back(*fixtures);
      description = "the scenario directory or its fixtures directory";
    }
    scope_ = PathScope{scenario_.dir, roots, description};
  }

  std::optional<Scenario> parse(const YAML::Node& root) {
    std::size_t errors_before = yaml_.diagnostics().size();
    if (!root.IsDefined() || root.IsNull()) {
      yaml_.error(SourceMark{yaml_.display_name(), 1, 1},
                  "the manifest is empty: a scenario is a mapping with keys such as name, bridges, virtual_machines and tests");
      return std::nullopt;
    }
    if (!root.IsMap()) {
      SourceMark at = yaml_.mark(root);
      if (at.line == 0) at = SourceMark{yaml_.display_name(), 1, 1};
      yaml_.error(at, "a scenario manifest is a mapping with keys such as name, bridges, virtual_machines and tests; got " +
                          describe_node(root));
      return std::nullopt;
    }
    MapReader top(yaml_, root, "", manifest_keys("top"));
    parse_header(top);
    parse_recipes(top);
    parse_bridges(top);
    parse_vms(top);
    parse_host(top);
    parse_host_hooks(top);
    parse_tests(top);
    check_rootfs_layers();
    if (yaml_.diagnostics().size() != errors_before) return std::nullopt;
    return std::move(scenario_);
  }

 private:
  // --- name, description, tags, timeouts -------------------------------
  void parse_header(const MapReader& top) {
    parse_name(top);
    if (auto description = top.string("description")) {
      if (has_control_characters(*description, "\n\t"))
        yaml_.error(top.value_mark("description"), "description: control characters other than newlines and tabs are not allowed");
      else scenario_.description = *description;
    }
    if (auto tags = top.string_items("tags")) {
      for (const auto& t : *tags) {
        if (!spelled_as(t.text, "A-Za-z0-9_.-", "A-Za-z0-9_.-", 1, 64)) yaml_.error(t.mark, "tags: " + quote(t.text) + " is not a tag: use 1 to 64 letters, digits, '-', '_' and '.'");
        scenario_.tags.push_back(t.text);
      }
    }
    if (auto timeout = top.duration("timeout")) {
      if (timeout->count() < 1000) yaml_.error(top.value_mark("timeout"), "timeout: a scenario needs at least 1s, got " + format_duration(*timeout));
      else scenario_.timeout = *timeout;
    }
    if (auto probe = top.duration("probe_timeout")) {
      if (probe->count() < 10 || probe->count() > 60'000) yaml_.error(top.value_mark("probe_timeout"), "probe_timeout: expected 10ms to 60s, got " + format_duration(*probe));
      else scenario_.probe_timeout = *probe;
    }
    if (auto capture = top.string("capture")) {
      if (auto mode = parse_capture_mode(*capture)) scenario_.capture = *mode;
      else yaml_.error(top.value_mark("capture"), "capture: expected off, on-failure (the default) or always, got " + quote(*capture) +
                                                      did_you_mean(*capture, {"off", "on-failure", "always"}));
    }
  }

  // The name becomes part of paths and namespace names, so it is an
  // identifier (spec v1.1 "Scenario names"), whether written or defaulted.
  void parse_name(const MapReader& top) {
    const std::string rule = "a letter or digit, then letters, digits, '.', '_' or '-', at most 64 characters";
    auto shown = [](const std::string& name) { return name.size() > 64 ? "one of " + std::to_string(name.size()) + " characters" : quote(name); };
    if (top.has("name")) {
      scenario_.name_mark = top.value_mark("name");
      auto name = top.string("name");
      if (!name) return;
      if (!is_identifier(*name))
        return yaml_.error(top.value_mark("name"), "name: a scenario name is an identifier (" + rule + "), got " + shown(*name));
      scenario_.name = *name;
      return;
    }
    bool in_directory = scenario_.file.filename() == "scenario.yml";
    std::string name = in_directory ? scenario_.dir.filename().string() : scenario_.file.stem().string();
    scenario_.name_mark = SourceMark{yaml_.display_name(), 1, 1};
    if (!is_identifier(name))
      return yaml_.error(scenario_.name_mark, std::string("the scenario is named after its ") + (in_directory ? "directory" : "file") +
                                                  ", " + shown(name) + ", which is not a scenario name (" + rule + "): add name: or rename the " +
                                                  (in_directory ? "directory" : "file"));
    scenario_.name = name;
  }

  // --- kernels: and images: --------------------------------------------
  void parse_recipes(const MapReader& top) {
    RecipeSource source{yaml_, scenario_.file, scope_};
    for_each_named(top, "kernels", [&](const std::string& name, const YAML::Node&, const YAML::Node& node) {
      if (auto recipe = parse_kernel_recipe(source, node, name, "kernels." + name)) scenario_.kernels[name] = *recipe;
      own_kernels_.insert(name);
    });
    for_each_named(top, "images", [&](const std::string& name, const YAML::Node&, const YAML::Node& node) {
      if (auto recipe = parse_image_recipe(source, node, name, "images." + name, scenario_.dir / "rootfs" / name))
        scenario_.images[name] = *recipe;
      own_images_.insert(name);
    });
  }

  // Calls fn for each entry of the mapping under key, checking the names.
  template <class Fn>
  void for_each_named(const MapReader& top, const std::string& key, Fn fn) {
    if (!top.has(key)) return;
    YAML::Node node = top.get(key);
    if (!node.IsMap()) {
      yaml_.error(top.value_mark(key), key + ": expected a mapping of names to definitions, got " + describe_node(node));
      return;
    }
    std::set<std::string> seen;
    for (auto it = node.begin(); it != node.end(); ++it) {
      auto name = read_string(yaml_, it->first, key + " name");
      if (!name) continue;
      if (!seen.insert(*name).second) {
        yaml_.error(it->first, key + ": " + quote(*name) + " is defined twice");
        continue;
      }
      if (!is_valid_fixture_name(*name)) {
        yaml_.error(it->first, key + ": " + quote(*name) + " is not a valid name: start with a letter or digit, then letters, digits, '-', '_' or '.' (at most 64)");
        continue;
      }
      fn(*name, it->first, it->second);
    }
  }

  // --- bridges: ----------------------------------------------------------
  void parse_bridges(const MapReader& top) {
    std::size_t count = 0;
    for_each_named(top, "bridges", [&](const std::string& name, const YAML::Node& key, const YAML::Node& node) {
      bridge_names_.insert(name);
      if (!spelled_as(name, "a-z", "a-z0-9_-", 1, 31)) {
        yaml_.error(key, "bridges: " + quote(name) + " is not a valid bridge name: a lowercase letter, then lowercase letters, digits, '-' or '_' (at most 31)");
        return;
      }
      if (++count == kMaxBridges + 1)
        yaml_.error(key, "bridges: a scenario may have at most " + std::to_string(kMaxBridges) + " bridges");
      if (count > kMaxBridges) return;
      parse_bridge(name, node);
    });
  }

  void parse_bridge(const std::string& name, const YAML::Node& node) {
    std::string what = "bridges." + name;
    MapReader map(yaml_, node, what, manifest_keys("bridges.<name>"));
    if (!map.is_map()) return;
    Bridge bridge;
    bridge.name = name;
    bridge.mark = map.mark();
    if (!map.require("subnet")) return;
    auto subnet_text = map.string("subnet");
    if (!subnet_text) return;
    auto subnet = parse_cidr(*subnet_text);
    if (!subnet) return yaml_.error(map.value_mark("subnet"), what + ".subnet: " + subnet.error().message);
    bridge.subnet = *subnet;
    if (!check_subnet(bridge, map)) return;
    if (auto policy = map.string("policy_type")) {
      if (*policy == "host-access") bridge.policy = PolicyType::host_access;
      else if (*policy == "isolated") bridge.policy = PolicyType::isolated;
      else yaml_.error(map.value_mark("policy_type"), what + ".policy_type: expected host-access or isolated, got " + quote(*policy) +
                                                          did_you_mean(*policy, {"host-access", "isolated"}));
    }
    parse_bridge_filters(map, bridge);
    scenario_.bridges.push_back(bridge);
  }

  bool check_subnet(const Bridge& bridge, const MapReader& map) {
    std::string what = "bridges." + bridge.name + ".subnet: ";
    if (bridge.subnet.prefix > 30) {
      yaml_.error(map.value_mark("subnet"), what + bridge.subnet.str() + " is too small: a bridge needs room for the gateway and VMs (/30 or larger)");
      return false;
    }
    static const std::vector<std::pair<Cidr, std::string>> reserved = {
        {*parse_cidr(kManagementRange), "reserved for meros-test's management links"},
        {*parse_cidr("127.0.0.0/8"), "the loopback range"},
        {*parse_cidr("0.0.0.0/8"), "not usable"},
        {*parse_cidr("224.0.0.0/3"), "multicast and reserved addresses"}};
    for (const auto& [range, why] : reserved) {
      if (bridge.subnet.overlaps(range)) {
        yaml_.error(map.value_mark("subnet"), what + bridge.subnet.str() + " overlaps " + range.str() + ", " + why);
        return false;
      }
    }
    for (const auto& other : scenario_.bridges) {
      if (bridge.subnet.overlaps(other.subnet)) {
        yaml_.error(map.value_mark("subnet"), what + bridge.subnet.str() + " overlaps bridge " + quote(other.name) + " (" +
                                                  other.subnet.str() + "); each bridge needs its own subnet");
        return false;
      }
    }
    return true;
  }

  void parse_bridge_filters(const MapReader& map, Bridge& bridge) {
    std::string what = "bridges." + bridge.name;
    if (map.has("allowed_ports")) {
      YAML::Node ports = map.get("allowed_ports");
      if (!ports.IsSequence()) {
        yaml_.error(map.value_mark("allowed_ports"), what + ".allowed_ports: expected a list of ports such as [22, 80], got " + describe_node(ports));
      } else {
        std::vector<int> list;
        for (const auto& port : ports)
          if (auto value = read_integer(yaml_, port, what + ".allowed_ports", 1, 65535)) list.push_back(static_cast<int>(*value));
        bridge.allowed_ports = list;
      }
    }
    if (map.has("allowed_ips")) {
      YAML::Node ips = map.get("allowed_ips");
      if (!ips.IsSequence()) {
        yaml_.error(map.value_mark("allowed_ips"), what + ".allowed_ips: expected a list of addresses or subnets such as [10.0.10.0/28], got " + describe_node(ips));
      } else {
        bridge.allowed_ips = std::vector<Cidr>{};
        for (const auto& ip : ips) parse_allowed_ip(ip, bridge);
      }
    }
    if (auto icmp = map.boolean("allow_icmp")) bridge.allow_icmp = *icmp;
  }

  void parse_allowed_ip(const YAML::Node& node, Bridge& bridge) {
    std::string what = "bridges." + bridge.name + ".allowed_ips";
    auto text = read_string(yaml_, node, what);
    if (!text) return;
    auto cidr = parse_cidr_or_address(*text);
    if (!cidr) return yaml_.error(node, what + ": " + cidr.error().message);
    if (!cidr->overlaps(bridge.subnet))
      return yaml_.error(node, what + ": " + cidr->str() + " lies outside the bridge's subnet " + bridge.subnet.str() +
                                   "; allowed_ips lists which of its VMs may open connections");
    bridge.allowed_ips->push_back(*cidr);
  }

  // --- virtual_machines: ------------------------------------------------
  void parse_vms(const MapReader& top) {
    if (!top.has("virtual_machines")) {
      if (top.given("virtual_machines"))
        yaml_.error(top.key_mark("virtual_machines"), "virtual_machines: a scenario needs at least one VM, got nothing");
      else if (!top.misspelt("virtual_machines"))
        yaml_.error(top.mark(), "missing required key 'virtual_machines' at the top level: a scenario needs at least one VM");
      return;
    }
    std::size_t count = 0;
    for_each_named(top, "virtual_machines", [&](const std::string& name, const YAML::Node& key, const YAML::Node& node) {
      vm_names_.insert(name);  // known even when invalid, so references to it are not reported again
      if (!spelled_as(name, "a-z", "a-z0-9-", 1, 31) || name == "host") {
        std::string why = name == "host" ? "'host' names the scenario host in checks" : "a VM name is a hostname: a lowercase letter, then lowercase letters, digits or '-' (at most 31)";
        yaml_.error(key, "virtual_machines: " + quote(name) + " cannot be used: " + why);
        incomplete_vms_.insert(name);
        return;
      }
      if (++count == kMaxVms + 1)
        yaml_.error(key, "virtual_machines: a scenario may have at most " + std::to_string(kMaxVms) + " VMs");
      if (count > kMaxVms) {
        incomplete_vms_.insert(name);
        return;
      }
      parse_vm(name, node);
    });
    if (vm_names_.empty() && top.get("virtual_machines").IsMap())
      yaml_.error(top.value_mark("virtual_machines"), "virtual_machines: a scenario needs at least one VM");
    assign_addresses();
  }

  void parse_vm(const std::string& name, const YAML::Node& node) {
    std::string what = "virtual_machines." + name;
    MapReader map(yaml_, node, what, manifest_keys("virtual_machines.<name>"));
    if (!map.is_map()) {
      incomplete_vms_.insert(name);
      return;
    }
    VirtualMachine vm;
    vm.name = name;
    vm.mark = map.mark();
    parse_vm_platform(map, vm);
    parse_vm_fixtures(map, vm);
    parse_vm_resources(map, vm);
    // Checks naming this VM's interfaces would only repeat these errors.
    if (!parse_vm_networks(map, vm)) incomplete_vms_.insert(name);
    parse_vm_extras(map, vm);
    parse_guest_hooks(map, vm);
    parse_shared_folders(map, vm);
    check_virtio_slots(map, vm);
    vm_index_[name] = scenario_.vms.size();
    scenario_.vms.push_back(std::move(vm));
  }

  void parse_vm_platform(const MapReader& map, VirtualMachine& vm) {
    const std::string& what = map.what();
    if (auto arch = map.string("arch")) {
      if (*arch == "x86_64") vm.arch = Arch::x86_64;
      else if (*arch == "aarch64") vm.arch = Arch::aarch64;
      else yaml_.error(map.value_mark("arch"), what + ".arch: expected x86_64 or aarch64, got " + quote(*arch));
    }
    vm.machine = vm.arch == Arch::x86_64 ? "microvm" : "virt";
    if (auto machine = map.string("machine")) {
      std::vector<std::string> allowed = vm.arch == Arch::x86_64 ? std::vector<std::string>{"microvm", "q35", "pc"}
                                                                 : std::vector<std::string>{"virt"};
      if (std::find(allowed.begin(), allowed.end(), *machine) == allowed.end())
        yaml_.error(map.value_mark("machine"), what + ".machine: " + quote(*machine) + " is not a machine for " +
                                                   (vm.arch == Arch::x86_64 ? "x86_64: use microvm, q35 or pc" : "aarch64: use virt") +
                                                   did_you_mean(*machine, allowed));
      else vm.machine = *machine;
    }
    if (auto boot = map.string("boot")) {
      if (*boot == "direct") vm.boot = BootMode::direct;
      else if (*boot == "disk") vm.boot = BootMode::disk;
      else yaml_.error(map.value_mark("boot"), what + ".boot: expected direct or disk, got " + quote(*boot));
    }
    if (vm.boot != BootMode::disk) return;
    // SeaBIOS boots the disk; aarch64's virt would need UEFI firmware.
    if (vm.arch != Arch::x86_64)
      yaml_.error(map.value_mark("boot"), what + ".boot: disk boot runs through SeaBIOS on q35 or pc, which exist for x86_64 only: use boot: direct on aarch64");
    else if (!map.has("machine")) vm.machine = "q35";
    else if (vm.machine == "microvm")
      yaml_.error(map.value_mark("boot"), what + ".boot: disk boot needs firmware; microvm has none: set machine: q35 (or pc, or leave machine out)");
  }

  void parse_vm_fixtures(const MapReader& map, VirtualMachine& vm) {
    if (auto user = map.string("ssh_user")) {
      if (!spelled_as(*user, "a-z_", "a-z0-9_-", 1, 32)) yaml_.error(map.value_mark("ssh_user"), map.what() + ".ssh_user: " + quote(*user) + " is not a user name: lowercase letters, digits, '_' and '-', starting with a letter or '_'");
      else vm.ssh_user = *user;
    }
    if (auto kernel = map.string("kernel")) vm.kernel = *kernel;
    if (auto image = map.string("image")) vm.image = *image;
    if (vm.boot == BootMode::disk && map.has("kernel"))
      yaml_.error(map.key_mark("kernel"), map.what() + ".kernel: a VM with boot: disk starts the image's own kernel; remove kernel or use boot: direct");
    if (vm.boot == BootMode::direct) {
      resolve_kernel(vm.kernel, map.has("kernel") ? map.value_mark("kernel") : map.mark(), map.what());
      choose_machine_for_kernel(map, vm);
    }
    resolve_image(vm.image, map.has("image") ? map.value_mark("image") : map.mark(), map.what());
    auto image = scenario_.images.find(vm.image);
    if (vm.arch == Arch::aarch64 && image != scenario_.images.end() && image->second.kind == ImageKind::debian)
      yaml_.error(map.has("image") ? map.value_mark("image") : map.mark(),
                  map.what() + ".image: " + quote(vm.image) + " is a debian image, which meros-test builds for x86_64 only so far; "
                               "an aarch64 VM takes a busybox image (image: busybox) or a tarball/use: image of arm64 files");
    if (vm.boot == BootMode::disk) check_disk_bootable(map, vm);
  }

  // boot: disk makes the VM's image bootable, which needs a distribution
  // kernel to install: only debian images have one.
  void check_disk_bootable(const MapReader& map, const VirtualMachine& vm) {
    auto recipe = scenario_.images.find(vm.image);
    if (recipe == scenario_.images.end() || recipe->second.kind == ImageKind::debian) return;
    yaml_.error(map.has("image") ? map.value_mark("image") : map.value_mark("boot"),
                map.what() + ".image: boot: disk needs a bootable image, and " + quote(vm.image) + " is a " +
                    std::string(image_kind_name(recipe->second.kind)) +
                    " image, which has no kernel of its own: use a debian image (e.g. image: debian) or boot: direct");
  }

  // A distribution's kernel finds virtio devices over PCI (or ACPI) only:
  // Debian's has no VIRTIO_MMIO_CMDLINE_DEVICES, and microvm runs without
  // ACPI. Such a VM needs PCI, so it defaults to q35.
  void choose_machine_for_kernel(const MapReader& map, VirtualMachine& vm) {
    auto recipe = scenario_.kernels.find(vm.kernel);
    if (recipe != scenario_.kernels.end() && recipe->second.kind == KernelKind::package) check_package_arch(map, vm, recipe->second);
    if (recipe == scenario_.kernels.end() || recipe->second.kind != KernelKind::package || vm.arch != Arch::x86_64) return;
    if (!map.has("machine")) vm.machine = "q35";
    else if (vm.machine == "microvm")
      yaml_.error(map.value_mark("machine"), map.what() + ".machine: the package kernel " + quote(vm.kernel) +
                                                 " finds its disk and NICs only over PCI, which microvm lacks: set machine: q35 (or leave machine out)");
  }

  // Debian's kernel packages name their architecture: an amd64 kernel
  // cannot boot an aarch64 VM, nor an arm64 one an x86_64 VM.
  void check_package_arch(const MapReader& map, const VirtualMachine& vm, const KernelRecipe& recipe) {
    bool arm = vm.arch == Arch::aarch64;
    const char* wrong = arm ? "-amd64" : "-arm64";
    if (!recipe.package.ends_with(wrong)) return;
    std::string fixed = recipe.package.substr(0, recipe.package.size() - 6) + (arm ? "-arm64" : "-amd64");
    yaml_.error(map.has("kernel") ? map.value_mark("kernel") : map.mark(),
                map.what() + ".kernel: the package kernel " + quote(vm.kernel) + " (" + recipe.package + ") is for " +
                    (arm ? "amd64" : "arm64") + ", this VM is " + std::string(to_string(vm.arch)) + ": use a kernel with package: " + fixed);
  }

  void resolve_kernel(const std::string& name, const SourceMark& mark, const std::string& what) {
    if (scenario_.kernels.count(name) || own_kernels_.count(name)) return;
    if (auto recipe = catalog_.kernel(scenario_.dir, name, yaml_.diagnostics())) {
      scenario_.kernels[name] = *recipe;
      return;
    }
    if (catalog_.has_kernel_file(scenario_.dir, name)) return;  // its file's errors are reported
    std::vector<std::string> names(own_kernels_.begin(), own_kernels_.end());
    for (const auto& n : catalog_.kernel_names(scenario_.dir)) names.push_back(n);
    yaml_.error(mark, what + ".kernel: unknown kernel " + quote(name) + did_you_mean(name, names) +
                          ": it is neither under this scenario's kernels: nor a fixtures/kernels/" + name + ".yml nor built in");
  }

  void resolve_image(const std::string& name, const SourceMark& mark, const std::string& what) {
    if (scenario_.images.count(name) || own_images_.count(name)) return;
    if (auto recipe = catalog_.image(scenario_.dir, name, yaml_.diagnostics())) {
      scenario_.images[name] = *recipe;
      return;
    }
    if (catalog_.has_image_file(scenario_.dir, name)) return;
    std::vector<std::string> names(own_images_.begin(), own_images_.end());
    for (const auto& n : catalog_.image_names(scenario_.dir)) names.push_back(n);
    yaml_.error(mark, what + ".image: unknown image " + quote(name) + did_you_mean(name, names) +
                          ": it is neither under this scenario's images: nor a fixtures/images/" + name + "/image.yml nor built in");
  }

  void parse_vm_resources(const MapReader& map, VirtualMachine& vm) {
    if (auto disk = map.size("disk_size")) {
      if (*disk < (16ull << 20)) yaml_.error(map.value_mark("disk_size"), map.what() + ".disk_size: a disk needs at least 16M, got " + quote(map.get("disk_size").Scalar()));
      else vm.disk_size = *disk;
    }
    if (auto memory = map.string("memory")) {
      auto mib = parse_memory_mib(*memory);
      if (!mib) yaml_.error(map.value_mark("memory"), map.what() + ".memory: " + mib.error().message);
      else if (*mib < 32 || *mib > 65536) yaml_.error(map.value_mark("memory"), map.what() + ".memory: expected 32M to 64G (a bare number is MiB), got " + quote(*memory));
      else vm.memory_mib = *mib;
    }
    if (auto cpus = map.integer("cpus", 1, 64)) vm.cpus = static_cast<int>(*cpus);
    if (auto cmdline = map.string("cmdline")) {
      if (cmdline->find_first_of("\n\r") != std::string::npos) yaml_.error(map.value_mark("cmdline"), map.what() + ".cmdline: the kernel command line is one line");
      else if (vm.boot == BootMode::disk)  // GRUB boots with the command line written into the image
        yaml_.error(map.key_mark("cmdline"), map.what() + ".cmdline: a VM with boot: disk boots with its image's own kernel command line (GRUB's); remove cmdline or use boot: direct");
      else vm.cmdline = *cmdline;
    }
    if (auto args = map.string_list("qemu_args")) vm.qemu_args = *args;
  }

  // False when an interface could not be read, so the VM lacks one.
  bool parse_vm_networks(const MapReader& map, VirtualMachine& vm) {
    if (!map.has("networks")) return !map.misspelt("networks");
    const YAML::Node list = map.get("networks");
    if (!list.IsSequence()) {
      yaml_.error(map.value_mark("networks"), map.what() + ".networks: expected a list of interfaces such as [{bridge: lan, ip_addr: 10.0.10.21}], got " + describe_node(list));
      return false;
    }
    bool complete = true;
    if (list.size() > 16) {
      yaml_.error(map.value_mark("networks"), map.what() + ".networks: a VM has at most 16 interfaces, got " + std::to_string(list.size()));
      complete = false;
    }
    for (std::size_t i = 0; i < list.size() && i < 16; ++i)
      complete &= parse_network(map.what() + ".networks[" + std::to_string(i) + "]", list[i], vm);
    return complete;
  }

  bool parse_network(const std::string& what, const YAML::Node& node, VirtualMachine& vm) {
    MapReader map(yaml_, node, what, manifest_keys("networks[]"));
    if (!map.is_map() || !map.require("bridge")) return false;
    NetworkAttachment net;
    net.mark = map.mark();
    auto bridge_name = map.string("bridge");
    if (!bridge_name) return false;
    const Bridge* bridge = scenario_.find_bridge(*bridge_name);
    if (!bridge) {
      if (bridge_names_.count(*bridge_name)) return false;  // the bridge's own errors are reported
      std::vector<std::string> names(bridge_names_.begin(), bridge_names_.end());
      yaml_.error(map.value_mark("bridge"), what + ".bridge: unknown bridge " + quote(*bridge_name) + did_you_mean(*bridge_name, names) +
                                                (names.empty() ? ": the scenario defines no bridges:" : ""));
      return false;
    }
    for (std::size_t i = 0; i < vm.networks.size(); ++i) {
      if (vm.networks[i].bridge != *bridge_name) continue;
      yaml_.error(map.value_mark("bridge"), what + ".bridge: VM " + quote(vm.name) + " already has an interface on bridge " +
                                                quote(*bridge_name) + " (networks[" + std::to_string(i) + "]); give each bridge once");
      break;
    }
    net.bridge = *bridge_name;
    if (auto ip = map.string("ip_addr")) net.ip = check_address(*ip, *bridge, map.value_mark("ip_addr"), what);
    parse_network_model(map, vm, net);
    vm.networks.push_back(net);
    return true;
  }

  std::optional<Ipv4> check_address(const std::string& text, const Bridge& bridge, const SourceMark& mark, const std::string& what) {
    auto ip = parse_ipv4(text);
    if (!ip) {
      std::string hint = text.find('/') != std::string::npos ? " (the prefix length comes from the bridge's subnet; write the address alone)" : "";
      yaml_.error(mark, what + ".ip_addr: " + ip.error().message + hint);
      return std::nullopt;
    }
    std::string problem;
    if (!bridge.subnet.contains(*ip)) problem = " is outside the subnet " + bridge.subnet.str() + " of bridge " + quote(bridge.name);
    else if (*ip == bridge.subnet.network) problem = " is the network address of " + bridge.subnet.str();
    else if (*ip == bridge.subnet.broadcast()) problem = " is the broadcast address of " + bridge.subnet.str();
    else if (*ip == bridge.gateway()) problem = " is the gateway of bridge " + quote(bridge.name) + " (the scenario host takes the subnet's first address)";
    else if (auto owner = used_ips_.find(ip->value); owner != used_ips_.end()) problem = " is already used by " + owner->second;
    if (!problem.empty()) {
      yaml_.error(mark, what + ".ip_addr: " + ip->str() + problem);
      return std::nullopt;
    }
    used_ips_[ip->value] = what;
    return *ip;
  }

  void parse_network_model(const MapReader& map, const VirtualMachine& vm, NetworkAttachment& net) {
    const std::vector<std::string> models = {"virtio-net", "e1000", "e1000e", "rtl8139"};
    if (auto model = map.string("model")) {
      if (std::find(models.begin(), models.end(), *model) == models.end())
        yaml_.error(map.value_mark("model"), map.what() + ".model: expected virtio-net, e1000, e1000e or rtl8139, got " + quote(*model) + did_you_mean(*model, models));
      else if (*model != "virtio-net" && vm.arch == Arch::aarch64)
        yaml_.error(map.value_mark("model"), map.what() + ".model: aarch64 VMs get virtio-net only (the arm64 kernels have no " + *model +
                                                 " driver, and " + *model + " is an x86 PC card): use model: virtio-net");
      else if (*model != "virtio-net" && vm.machine == "microvm")
        yaml_.error(map.value_mark("model"), map.what() + ".model: microvm has no PCI bus, so only virtio-net works; set machine: q35 for " + *model);
      else net.model = *model;
    }
    if (auto mac_text = map.string("mac")) {
      auto mac = parse_mac(*mac_text);
      if (!mac) return yaml_.error(map.value_mark("mac"), map.what() + ".mac: " + mac.error().message);
      if (auto owner = used_macs_.find(mac->str()); owner != used_macs_.end())
        return yaml_.error(map.value_mark("mac"), map.what() + ".mac: " + mac->str() + " is already used by " + owner->second);
      used_macs_[mac->str()] = map.what();
      net.mac = *mac;
    }
  }

  void parse_vm_extras(const MapReader& map, VirtualMachine& vm) {
    if (auto gateway = map.string("gateway")) {
      auto ip = parse_ipv4(*gateway);
      bool reachable = false;
      for (const auto& net : vm.networks)
        if (const Bridge* b = scenario_.find_bridge(net.bridge); b && ip && b->subnet.contains(*ip)) reachable = true;
      if (!ip) yaml_.error(map.value_mark("gateway"), map.what() + ".gateway: " + ip.error().message);
      else if (!reachable && incomplete_vms_.count(vm.name)) {
      } else if (!reachable) yaml_.error(map.value_mark("gateway"), map.what() + ".gateway: " + ip->str() + " is not on any bridge this VM is attached to");
      else vm.gateway = *ip;
    }
    if (auto firewall = map.string("firewall")) {
      auto path = resolve_manifest_path(scope_, *firewall, {.allow_absolute = false, .must_exist = true, .want = PathWant::file});
      if (!path) yaml_.error(map.value_mark("firewall"), map.what() + ".firewall: " + path.error().message);
      else vm.firewall = *path;
    }
    if (auto services = map.string_items("services")) {
      for (const auto& item : *services) {
        auto pp = parse_port_proto(item.text);
        if (!pp) yaml_.error(item.mark, map.what() + ".services: " + pp.error().message);
        else if (pp->proto == Proto::icmp) yaml_.error(item.mark, map.what() + ".services: icmp is not a service: list TCP or UDP ports such as tcp/80 or 53/udp");
        else vm.services.push_back(*pp);
      }
    }
  }

  // VMs without ip_addr get the next free address of their bridge, in
  // manifest order, so a scenario reads the same every run.
  void assign_addresses() {
    std::map<std::string, std::uint32_t> next_free;  // by bridge: addresses below it are taken
    for (auto& vm : scenario_.vms) {
      for (auto& net : vm.networks) {
        if (net.ip) continue;
        const Bridge* bridge = scenario_.find_bridge(net.bridge);
        auto [cursor, _] = next_free.try_emplace(bridge->name, bridge->gateway().value + 1);
        for (std::uint32_t& v = cursor->second; v < bridge->subnet.broadcast().value; ++v) {
          if (used_ips_.count(v)) continue;
          net.ip = Ipv4{v};
          used_ips_[v] = "virtual_machines." + vm.name;
          break;
        }
        if (!net.ip)
          yaml_.error(net.mark, "virtual_machines." + vm.name + ": no free address left in the subnet " + bridge->subnet.str() + " of bridge " +
                                    quote(bridge->name) + "; use a larger subnet");
      }
    }
  }

  // --- host: --------------------------------------------------------------
  void parse_host(const MapReader& top) {
    if (!top.has("host")) return;
    MapReader host(yaml_, top.get("host"), "host", manifest_keys("host"));
    if (auto firewall = host.string("firewall")) {
      auto path = resolve_manifest_path(scope_, *firewall, {.allow_absolute = false, .must_exist = true, .want = PathWant::file});
      if (!path) yaml_.error(host.value_mark("firewall"), "host.firewall: " + path.error().message);
      else scenario_.host_firewall = *path;
    }
  }

  // --- shared: -------------------------------------------------------------
  void parse_shared_folders(const MapReader& map, VirtualMachine& vm) {
    if (!map.has("shared")) return;
    const YAML::Node list = map.get("shared");
    const std::string what = map.what() + ".shared";
    if (!list.IsSequence()) {
      yaml_.error(map.value_mark("shared"), what + ": expected a list of folders such as [{host: data, guest: /mnt/data}], got " + describe_node(list));
      return;
    }
    if (list.size() > kMaxSharedFolders)
      yaml_.error(map.value_mark("shared"), what + ": a VM has at most " + std::to_string(kMaxSharedFolders) + " shared folders, got " +
                                                std::to_string(list.size()));
    for (std::size_t i = 0; i < list.size() && i < kMaxSharedFolders; ++i)
      parse_shared_folder(what + "[" + std::to_string(i) + "]", list[i], vm);
  }

  void parse_shared_folder(const std::string& what, const YAML::Node& node, VirtualMachine& vm) {
    MapReader map(yaml_, node, what, manifest_keys("shared[]"));
    if (!map.is_map() || !require_all(map, {"host", "guest"})) return;
    SharedFolder folder;
    folder.mark = map.mark();
    bool valid = true;
    // Only the scenario's own directory: a share is the guest's window on
    // the host, and fixtures directories are shared between scenarios.
    PathScope scenario_only{scenario_.dir, {scenario_.dir}, "the scenario directory"};
    if (auto host = map.string("host")) {
      auto dir = resolve_manifest_path(scenario_only, *host, {.allow_absolute = false, .must_exist = true, .want = PathWant::directory});
      if (!dir) valid = false, yaml_.error(map.value_mark("host"), what + ".host: " + dir.error().message);
      else folder.host_dir = *dir;
    }
    if (auto guest = map.string("guest")) {
      if (auto wrong = shared_guest_path_problem(*guest)) valid = false, yaml_.error(map.value_mark("guest"), what + ".guest: " + *wrong);
      folder.guest_path = *guest;
      for (const auto& other : vm.shared)
        if (other.guest_path == folder.guest_path)
          valid = false, yaml_.error(map.value_mark("guest"), what + ".guest: " + quote(*guest) + " is already the mount point of another shared folder of this VM");
    }
    if (auto mode = map.string("mode")) {
      if (*mode == "ro" || *mode == "rw") folder.writable = *mode == "rw";
      else valid = false, yaml_.error(map.value_mark("mode"), what + ".mode: expected ro (the default) or rw, got " + quote(*mode));
    }
    if (valid) vm.shared.push_back(std::move(folder));
  }

  // Why a shared folder's guest path cannot be a mount point, if it cannot.
  // The guest init gets it on the kernel command line (meros.share=), so it
  // is one word of plain characters.
  static std::optional<std::string> shared_guest_path_problem(const std::string& path) {
    const std::string example = "; give an absolute directory such as /mnt/data";
    if (path.empty() || path[0] != '/') return "the mount point " + quote(path) + " is not absolute" + example;
    if (path.size() > kMaxSharedGuestPath)
      return "the mount point is " + std::to_string(path.size()) + " characters long; at most " + std::to_string(kMaxSharedGuestPath) + " are allowed";
    if (path.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+") != std::string::npos)
      return "the mount point " + quote(path) + " may use only letters, digits and / . _ - +" + example;
    if (path == "/") return "the root directory cannot be a shared folder's mount point" + example;
    if (fs::path(path).lexically_normal().string() != path || path.ends_with('/'))
      return "the mount point " + quote(path) + " is not in normal form (no '.', '..', '//' or trailing '/'): write " +
             quote(fs::path(path).lexically_normal().string());
    for (const char* reserved : {"/proc", "/sys", "/dev", "/opt/meros"})
      if (path == reserved || path.starts_with(std::string(reserved) + "/"))
        return "the mount point " + quote(path) + " is under " + reserved + ", which the guest init owns" + example;
    return std::nullopt;
  }

  // microvm has a fixed number of virtio-mmio transports; the disk, the
  // entropy source and the management NIC take three of them.
  void check_virtio_slots(const MapReader& map, const VirtualMachine& vm) {
    if (vm.machine != "microvm" || incomplete_vms_.count(vm.name)) return;
    std::size_t used = kMicrovmHarnessDevices + vm.networks.size() + vm.shared.size();
    if (used <= kMicrovmVirtioSlots) return;
    yaml_.error(map.mark(), map.what() + ": " + std::to_string(vm.networks.size()) + " network(s) and " + std::to_string(vm.shared.size()) +
                                " shared folder(s) need " + std::to_string(used) + " virtio devices, and microvm has " +
                                std::to_string(kMicrovmVirtioSlots) + " (" + std::to_string(kMicrovmHarnessDevices) +
                                " taken by the disk, the entropy source and the management NIC): set machine: q35, or use fewer");
  }

  // --- hooks: -------------------------------------------------------------
  // Hooks are run as they are, so each must be an executable regular file
  // inside the scenario directory itself (not a fixtures dir, not a symlink
  // leading out of it).
  void parse_hook_list(const MapReader& map, const std::string& key, std::vector<Hook>& out) {
    auto items = map.string_items(key);
    if (!items) return;
    std::string what = map.what() + "." + key;
    for (const auto& item : *items) {
      auto path = resolve_manifest_path(scope_, item.text, {.allow_absolute = false, .must_exist = true, .want = PathWant::file});
      if (!path) {
        yaml_.error(item.mark, what + ": " + path.error().message);
        continue;
      }
      std::error_code ec;
      fs::path real = fs::canonical(*path, ec);
      fs::path dir = fs::canonical(scenario_.dir, ec);
      if (ec || !is_inside(real, dir)) {
        yaml_.error(item.mark, what + ": hook " + quote(item.text) + " is not inside the scenario directory " + quote(scenario_.dir.string()) +
                                   ": put the hook file beside the manifest");
        continue;
      }
      if (::access(real.c_str(), X_OK) != 0) {
        yaml_.error(item.mark, what + ": hook " + quote(item.text) + " is not executable: chmod +x it (hooks run as argv, with no shell)");
        continue;
      }
      out.push_back(Hook{*path, item.text, item.mark});
    }
  }

  void parse_host_hooks(const MapReader& top) {
    if (!top.has("hooks")) return;
    MapReader hooks(yaml_, top.get("hooks"), "hooks", manifest_keys("hooks"));
    if (!hooks.is_map()) return;
    parse_hook_list(hooks, "on_up", scenario_.host_hooks.on_up);
    parse_hook_list(hooks, "before_down", scenario_.host_hooks.before_down);
    parse_hook_list(hooks, "on_failure", scenario_.host_hooks.on_failure);
  }

  void parse_guest_hooks(const MapReader& map, VirtualMachine& vm) {
    if (!map.has("hooks")) return;
    MapReader hooks(yaml_, map.get("hooks"), map.what() + ".hooks", manifest_keys("virtual_machines.<name>.hooks"));
    if (!hooks.is_map()) return;
    parse_hook_list(hooks, "on_boot", vm.guest_hooks.on_boot);
    parse_hook_list(hooks, "before_shutdown", vm.guest_hooks.before_shutdown);
  }

  // --- tests: -------------------------------------------------------------
  void parse_tests(const MapReader& top);
  void parse_step(const YAML::Node& node, std::size_t index, std::map<std::string, std::size_t>& names);
  const VirtualMachine* find_vm(const std::string& name) const {
    auto it = vm_index_.find(name);
    return it == vm_index_.end() ? nullptr : &scenario_.vms[it->second];
  }
  void parse_run(const MapReader& map, TestStep& step);
  void parse_expect(const MapReader& map, TestStep& step);
  void parse_reach(const MapReader& map, TestStep& step);
  void parse_matrix(const MapReader& map, TestStep& step);
  void parse_transfer(const MapReader& map, TestStep& step, bool push);
  void parse_link(const MapReader& map, TestStep& step);
  std::optional<Endpoint> parse_endpoint(const YAML::Node& node, const std::string& what, bool is_source);
  void check_endpoints(const ReachCheck& check, const YAML::Node& at, const std::string& what);
  std::optional<Expect> parse_expect_word(const YAML::Node& node, const std::string& what);
  bool check_vm_reference(const std::string& name, const SourceMark& mark, const std::string& what);
  std::string default_step_name(const TestStep& step) const;

  void check_rootfs_layers();

  YamlFile yaml_;
  FixtureCatalog& catalog_;
  Scenario scenario_;
  PathScope scope_;
  std::set<std::string> own_kernels_, own_images_, vm_names_, bridge_names_;
  // VMs with errors in their definition: checks that name them stay quiet
  // rather than repeat those errors.
  std::set<std::string> incomplete_vms_;
  std::map<std::string, std::size_t> vm_index_;  // into scenario_.vms
  std::map<std::uint32_t, std::string> used_ips_;
  std::map<std::string, std::string> used_macs_;
};

void ScenarioParser::parse_tests(const MapReader& top) {
  if (!top.has("tests")) return;
  YAML::Node list = top.get("tests");
  if (!list.IsSequence()) {
    yaml_.error(top.value_mark("tests"), "tests: expected a list of steps, got " + describe_node(list));
    return;
  }
  std::map<std::string, std::size_t> names;
  for (std::size_t i = 0; i < list.size(); ++i) parse_step(list[i], i, names);
}

void ScenarioParser::parse_step(const YAML::Node& node, std::size_t index, std::map<std::string, std::size_t>& names) {
  std::string what = "tests[" + std::to_string(index) + "]";
  const std::string actions = "run, reach, matrix, push, pull or link";
  if (!node.IsDefined() || node.IsNull()) {
    yaml_.error(node, what + ": an empty step: give it one of " + actions);
    return;
  }
  MapReader map(yaml_, node, what, manifest_keys("tests[]"));
  if (!map.is_map()) return;
  std::size_t errors_before = yaml_.diagnostics().size();
  TestStep step;
  step.mark = map.mark();
  std::vector<std::string> present;
  for (const auto& action : kActions)
    if (map.given(action)) present.push_back(action);
  if (present.empty() && std::any_of(kActions.begin(), kActions.end(), [&](const std::string& a) { return map.misspelt(a); })) return;
  if (present.size() != 1) {
    std::string found = present.empty() ? "none" : join_and(present);
    yaml_.error(present.size() > 1 ? map.key_mark(present[1]) : map.mark(),
                what + ": a step does exactly one of " + actions + "; this one has " + found);
    return;
  }
  const std::string& action = present[0];
  if (!map.require(action)) return;
  if (auto timeout = map.duration("timeout")) {
    if (timeout->count() < 100) yaml_.error(map.value_mark("timeout"), what + ".timeout: a step needs at least 100ms, got " + format_duration(*timeout));
    else if ((action == "reach" || action == "matrix") && *timeout < scenario_.probe_timeout)
      // The step's timeout bounds its probes; one shorter than a probe's wait cannot tell drop from allow.
      yaml_.error(map.value_mark("timeout"), what + ".timeout: a " + action + " step's probes wait up to probe_timeout (" +
                                                 format_duration(scenario_.probe_timeout) + "), so its timeout must be at least that, got " +
                                                 format_duration(*timeout));
    else step.timeout = *timeout;
  }
  if (auto retries = map.integer("retries", 0, 100)) step.retries = static_cast<int>(*retries);
  if (action != "run") {
    if (map.given("vm"))
      yaml_.error(map.key_mark("vm"), what + ".vm: only a run step takes 'vm'; " +
                                          (action == "matrix" ? std::string("a matrix names its VMs in its rows") : "a " + action + " step names its VM inside " + action + ":"));
    if (map.given("expect"))
      yaml_.error(map.key_mark("expect"), what + ".expect: only a run step takes 'expect'" +
                                              (action == "reach" ? std::string("; a reach step has its expect inside reach:")
                                               : action == "matrix" ? std::string("; a matrix row ends with its expect") : std::string()));
  }
  if (action == "run") parse_run(map, step);
  else if (action == "reach") parse_reach(map, step);
  else if (action == "matrix") parse_matrix(map, step);
  else if (action == "push" || action == "pull") parse_transfer(map, step, action == "push");
  else parse_link(map, step);
  bool named = false;
  if (auto name = map.string("name")) {
    if (name->empty() || name->size() > 200 || has_control_characters(*name))
      yaml_.error(map.value_mark("name"), what + ".name: expected a one-line name of 1 to 200 characters without control characters");
    step.name = *name;
    named = true;
  } else {
    step.name = default_step_name(step);
  }
  // A step with errors has no reliable default name; its errors say enough.
  if (named || yaml_.diagnostics().size() == errors_before) {
    auto [earlier, inserted] = names.try_emplace(step.name, index);
    if (!inserted && named)
      yaml_.error(map.value_mark("name"), what + ".name: " + quote(step.name) + " is already the name of tests[" +
                                              std::to_string(earlier->second) + "]; test names must be unique in a scenario");
    else if (!inserted)
      yaml_.error(map.mark(), what + ": this step's default name " + quote(step.name) + " is already the name of tests[" +
                                  std::to_string(earlier->second) + "]; give it a name: of its own");
  }
  scenario_.tests.push_back(std::move(step));
}

std::string ScenarioParser::default_step_name(const TestStep& step) const {
  switch (step.kind) {
    case StepKind::run: return step.vm + ": " + step.command;
    case StepKind::reach:
      if (step.checks.empty()) return "reach";
      return step.checks[0].from.text + " -> " + step.checks[0].to.text + " " + step.checks[0].target.str() + " " + std::string(to_string(step.checks[0].expect));
    case StepKind::matrix: return "matrix";
    case StepKind::push: return "push " + step.src + " to " + step.vm + ":" + (step.dst.empty() ? "~/mos-shared/" : step.dst);
    case StepKind::pull: return "pull " + step.vm + ":" + (step.src.empty() ? "~/mos-shared/" : step.src);
    case StepKind::link: return "link " + step.vm + " network " + std::to_string(step.network_index) + (step.link_up ? " up" : " down");
  }
  return "step";
}

bool ScenarioParser::check_vm_reference(const std::string& name, const SourceMark& mark, const std::string& what) {
  if (vm_names_.count(name)) return true;
  std::vector<std::string> names(vm_names_.begin(), vm_names_.end());
  yaml_.error(mark, what + ": unknown VM " + quote(name) + did_you_mean(name, names));
  return false;
}

void ScenarioParser::parse_run(const MapReader& map, TestStep& step) {
  step.kind = StepKind::run;
  if (auto command = map.string("run")) {
    if (command->find_first_not_of(" \t\r\n") == std::string::npos)
      yaml_.error(map.value_mark("run"), map.what() + ".run: the command is empty");
    step.command = *command;
  }
  if (!map.require("vm")) return;
  if (auto vm = map.string("vm")) {
    check_vm_reference(*vm, map.value_mark("vm"), map.what() + ".vm");
    step.vm = *vm;
  }
  parse_expect(map, step);
}

void ScenarioParser::parse_expect(const MapReader& map, TestStep& step) {
  if (!map.has("expect")) return;
  MapReader expect(yaml_, map.get("expect"), map.what() + ".expect", manifest_keys("expect"));
  if (!expect.is_map()) return;
  if (auto code = expect.integer("exit", 0, 255)) step.expect.exit_code = static_cast<int>(*code);
  step.expect.stdout_contains = expect.string("stdout");
  step.expect.stderr_contains = expect.string("stderr");
  for (const char* key : {"stdout_matches", "stderr_matches"}) {
    auto pattern = expect.string(key);
    if (!pattern) continue;
    // Compiled here, once: an invalid pattern stops the run before anything
    // starts, and the steps match with what was compiled.
    auto regex = compile_expect_regex(*pattern);
    if (!regex) {
      yaml_.error(expect.value_mark(key), expect.what() + "." + key + ": " + quote(*pattern) + " is not a valid regular expression: " +
                                              regex.error().message +
                                              "; write it in RE2 syntax (Perl-like, without back references or lookaround)");
      continue;
    }
    bool is_stdout = std::string(key) == "stdout_matches";
    (is_stdout ? step.expect.stdout_matches : step.expect.stderr_matches) = *pattern;
    (is_stdout ? step.expect.stdout_regex : step.expect.stderr_regex) = *regex;
  }
}

std::optional<Expect> ScenarioParser::parse_expect_word(const YAML::Node& node, const std::string& what) {
  const std::string choices = "expected allow, reject, drop or deny, got ";
  if (!node.IsScalar()) {
    yaml_.error(node, what + ": " + choices + describe_node(node));
    return std::nullopt;
  }
  const std::string& text = node.Scalar();
  if (text == "allow") return Expect::allow;
  if (text == "reject") return Expect::reject;
  if (text == "drop") return Expect::drop;
  if (text == "deny") return Expect::deny;
  yaml_.error(node, what + ": " + choices + quote(text) + did_you_mean(text, {"allow", "reject", "drop", "deny"}));
  return std::nullopt;
}

std::optional<Endpoint> ScenarioParser::parse_endpoint(const YAML::Node& node, const std::string& what, bool is_source) {
  const std::string forms = "a VM, vm@bridge, host or an address";
  if (!node.IsScalar()) {
    yaml_.error(node, what + ": expected " + forms + ", got " + describe_node(node));
    return std::nullopt;
  }
  const std::string& text = node.Scalar();
  Endpoint endpoint;
  endpoint.text = text;
  if (text == "host") {
    endpoint.kind = Endpoint::Kind::host;
    return endpoint;
  }
  if (!text.empty() && text.find_first_not_of("0123456789./") == std::string::npos) {
    if (text.find('/') != std::string::npos) {
      yaml_.error(node, what + ": " + quote(text) + " is a subnet; a check goes to one address such as 10.0.10.21");
      return std::nullopt;
    }
    auto ip = parse_ipv4(text);
    if (!ip) {
      yaml_.error(node, what + ": " + ip.error().message);
      return std::nullopt;
    }
    if (is_source) {
      yaml_.error(node, what + ": a probe starts at a VM, vm@bridge or host, not at the address " + text);
      return std::nullopt;
    }
    endpoint.kind = Endpoint::Kind::address;
    endpoint.address = *ip;
    return endpoint;
  }
  std::size_t at = text.find('@');
  endpoint.vm = text.substr(0, at);
  if (at != std::string::npos) endpoint.bridge = text.substr(at + 1);
  if (endpoint.vm == "host" && at != std::string::npos) {
    yaml_.error(node, what + ": 'host' takes no @bridge: it is the gateway on the bridge of the other end");
    return std::nullopt;
  }
  if (endpoint.vm.empty()) {
    yaml_.error(node, what + ": " + quote(text) + " names no VM: write vm@bridge, e.g. web@lan");
    return std::nullopt;
  }
  if (!check_vm_reference(endpoint.vm, yaml_.mark(node), what)) return std::nullopt;
  if (at != std::string::npos && endpoint.bridge.empty()) {
    yaml_.error(node, what + ": " + quote(text) + " names no bridge: write vm@bridge, e.g. " + endpoint.vm + "@lan");
    return std::nullopt;
  }
  const VirtualMachine* vm = find_vm(endpoint.vm);
  if (!vm || incomplete_vms_.count(endpoint.vm)) return endpoint;  // its own errors are reported
  if (at != std::string::npos) {
    std::vector<std::string> attached;
    for (const auto& net : vm->networks) attached.push_back(net.bridge);
    if (std::find(attached.begin(), attached.end(), endpoint.bridge) != attached.end()) return endpoint;
    if (!bridge_names_.count(endpoint.bridge)) {
      std::vector<std::string> names(bridge_names_.begin(), bridge_names_.end());
      yaml_.error(node, what + ": unknown bridge " + quote(endpoint.bridge) + " in " + quote(text) + did_you_mean(endpoint.bridge, names));
    } else {
      yaml_.error(node, what + ": VM " + quote(endpoint.vm) + " has no interface on bridge " + quote(endpoint.bridge) +
                            (attached.empty() ? "; it has no networks at all" : "; it is on " + join_and(attached)));
    }
    return std::nullopt;
  }
  if (vm->networks.empty()) {
    yaml_.error(node, what + ": VM " + quote(endpoint.vm) + " has no network on any bridge, so nothing can reach it or be reached from it");
    return std::nullopt;
  }
  return endpoint;
}

void ScenarioParser::check_endpoints(const ReachCheck& check, const YAML::Node& at, const std::string& what) {
  if (check.from.kind == Endpoint::Kind::host && check.to.kind == Endpoint::Kind::host)
    yaml_.error(at, what + ": from and to are both 'host'; a check needs a VM or an address on one end");
  if (check.from.kind == Endpoint::Kind::host && check.to.kind == Endpoint::Kind::address) {
    bool on_bridge = false;
    for (const auto& b : scenario_.bridges) on_bridge |= b.subnet.contains(check.to.address);
    if (!on_bridge) yaml_.error(at, what + ": " + check.to.text + " is on none of the scenario's bridges, so the host has no route to it");
  }
}

void ScenarioParser::parse_reach(const MapReader& step_map, TestStep& step) {
  step.kind = StepKind::reach;
  std::string what = step_map.what() + ".reach";
  MapReader map(yaml_, step_map.get("reach"), what, manifest_keys("reach"));
  if (!map.is_map()) return;
  if (!require_all(map, {"from", "to", "expect"})) return;
  ReachCheck check;
  check.mark = map.mark();
  auto from = parse_endpoint(map.get("from"), what + ".from", true);
  auto to = parse_endpoint(map.get("to"), what + ".to", false);
  auto expect = parse_expect_word(map.get("expect"), what + ".expect");
  Proto proto = Proto::tcp;
  if (auto text = map.string("proto")) {
    auto parsed = parse_proto(*text);
    if (!parsed)
      return yaml_.error(map.value_mark("proto"), what + ".proto: expected tcp, udp or icmp, got " + quote(*text) +
                                                      did_you_mean(*text, {"tcp", "udp", "icmp"}));
    proto = *parsed;
  }
  int port = 0;
  if (proto == Proto::icmp && map.given("port")) yaml_.error(map.key_mark("port"), what + ".port: icmp has no ports; remove port");
  if (proto != Proto::icmp) {
    if (!map.has("port"))
      return yaml_.error(map.mark(), what + ": a " + std::string(to_string(proto)) + " check needs 'port'" +
                                         (map.has("proto") ? "" : " (tcp is the default proto; a ping is proto: icmp)"));
    auto value = map.integer("port", 1, 65535);
    if (!value) return;
    port = static_cast<int>(*value);
  }
  if (!from || !to || !expect) return;
  check.from = *from;
  check.to = *to;
  check.expect = *expect;
  check.target = PortProto{port, proto};
  check_endpoints(check, step_map.get("reach"), what);
  step.checks.push_back(check);
}

void ScenarioParser::parse_matrix(const MapReader& step_map, TestStep& step) {
  step.kind = StepKind::matrix;
  std::string what = step_map.what() + ".matrix";
  const std::string shape = "[from, to, port/proto, expect]";
  const YAML::Node rows = step_map.get("matrix");
  if (!rows.IsSequence()) {
    yaml_.error(step_map.value_mark("matrix"), what + ": expected a list of rows " + shape + ", got " + describe_node(rows));
    return;
  }
  if (rows.size() == 0) {
    yaml_.error(step_map.value_mark("matrix"), what + ": the matrix has no rows; give at least one " + shape);
    return;
  }
  for (std::size_t i = 0; i < rows.size(); ++i) {
    std::string row_what = what + "[" + std::to_string(i) + "]";
    const YAML::Node row = rows[i];
    if (!row.IsSequence() || row.size() != 4) {
      std::string got = row.IsSequence() ? "this one has " + std::to_string(row.size()) : "got " + describe_node(row);
      yaml_.error(row, row_what + ": a matrix row is " + shape + " with 4 items; " + got);
      continue;
    }
    ReachCheck check;
    check.mark = yaml_.mark(row);
    auto from = parse_endpoint(row[0], row_what + " from", true);
    auto to = parse_endpoint(row[1], row_what + " to", false);
    std::optional<PortProto> target;
    if (!row[2].IsScalar()) {
      yaml_.error(row[2], row_what + " port/proto: expected port/proto such as 80/tcp, or icmp, got " + describe_node(row[2]));
    } else if (auto parsed = parse_port_proto(row[2].Scalar()); !parsed) {
      yaml_.error(row[2], row_what + " port/proto: " + parsed.error().message);
    } else {
      target = *parsed;
    }
    auto expect = parse_expect_word(row[3], row_what + " expect");
    if (!from || !to || !target || !expect) continue;
    check.from = *from;
    check.to = *to;
    check.target = *target;
    check.expect = *expect;
    check_endpoints(check, row, row_what);
    step.checks.push_back(check);
  }
}

void ScenarioParser::parse_transfer(const MapReader& step_map, TestStep& step, bool push) {
  step.kind = push ? StepKind::push : StepKind::pull;
  std::string key = push ? "push" : "pull";
  std::string what = step_map.what() + "." + key;
  MapReader map(yaml_, step_map.get(key), what, manifest_keys(key));
  if (!map.is_map()) return;
  // push without dst and pull without src: the mos-shared convention.
  if (!(push ? require_all(map, {"vm", "src"}) : require_all(map, {"vm"}))) return;
  if (auto vm = map.string("vm")) {
    check_vm_reference(*vm, map.value_mark("vm"), what + ".vm");
    step.vm = *vm;
  }
  if (auto max_bytes = map.size("max_bytes")) {
    if (*max_bytes == 0) yaml_.error(map.value_mark("max_bytes"), what + ".max_bytes: a transfer needs at least 1K, got " + quote(map.get("max_bytes").Scalar()));
    else step.max_bytes = *max_bytes;
  }
  auto src = map.string("src");
  auto dst = map.string("dst");
  if (push && !src) return;
  step.src = src.value_or("");
  std::string guest_key = push ? "dst" : "src";
  if (auto guest_path = push ? dst : src; guest_path && !guest_path->starts_with("/"))
    yaml_.error(map.value_mark(guest_key), what + "." + guest_key + ": the path in the guest must be absolute, e.g. /etc/app.conf; got " +
                                               quote(*guest_path) + " (or leave " + guest_key + " out for the VM user's ~/mos-shared/)");
  if (push) {
    step.dst = dst.value_or("");
    auto local = resolve_manifest_path(scope_, *src, {.allow_absolute = false, .must_exist = true, .want = PathWant::any});
    if (!local) yaml_.error(map.value_mark("src"), what + ".src: " + local.error().message);
    else step.local_path = *local;
    return;
  }
  step.dst = dst.value_or("");
  fs::path relative(step.dst);
  if (relative.is_absolute() || (!step.dst.empty() && !is_inside(fs::path("artifacts") / relative, "artifacts")))
    yaml_.error(map.value_mark("dst"), what + ".dst: " + quote(step.dst) + " must stay inside the run's artifacts directory: give a relative path such as logs/");
  else step.local_path = relative.lexically_normal();
}

void ScenarioParser::parse_link(const MapReader& step_map, TestStep& step) {
  step.kind = StepKind::link;
  std::string what = step_map.what() + ".link";
  MapReader map(yaml_, step_map.get("link"), what, manifest_keys("link"));
  if (!map.is_map()) return;
  if (!require_all(map, {"vm", "network", "state"})) return;
  if (auto state = map.string("state")) {
    if (*state == "up" || *state == "down") step.link_up = *state == "up";
    else yaml_.error(map.value_mark("state"), what + ".state: expected down or up, got " + quote(*state));
  }
  auto vm_name = map.string("vm");
  auto network = map.string("network");
  if (!vm_name || !check_vm_reference(*vm_name, map.value_mark("vm"), what + ".vm")) return;
  step.vm = *vm_name;
  const VirtualMachine* vm = find_vm(*vm_name);
  if (!vm || !network || incomplete_vms_.count(*vm_name)) return;
  std::vector<std::string> attached;
  for (const auto& net : vm->networks) attached.push_back(net.bridge);
  std::string on = attached.empty() ? "it has no networks" : "it is on " + join_and(attached);
  if (!network->empty() && network->find_first_not_of("0123456789-+") == std::string::npos) {
    auto index = read_integer(yaml_, map.get("network"), what + ".network", 0, 15);
    if (!index) return;
    if (*index >= static_cast<std::int64_t>(vm->networks.size())) {
      if (vm->networks.empty())
        return yaml_.error(map.value_mark("network"), what + ".network: VM " + quote(*vm_name) + " has no networks, so it has no link to set");
      return yaml_.error(map.value_mark("network"), what + ".network: VM " + quote(*vm_name) + " has " + std::to_string(vm->networks.size()) +
                                                        " network(s), numbered from 0; there is no network " + std::to_string(*index));
    }
    step.network_index = static_cast<int>(*index);
    return;
  }
  auto found = std::find(attached.begin(), attached.end(), *network);
  if (found != attached.end()) {
    step.network_index = static_cast<int>(found - attached.begin());
    return;
  }
  if (bridge_names_.count(*network)) {
    yaml_.error(map.value_mark("network"), what + ".network: VM " + quote(*vm_name) + " has no interface on bridge " + quote(*network) + "; " + on);
    return;
  }
  std::vector<std::string> names(bridge_names_.begin(), bridge_names_.end());
  yaml_.error(map.value_mark("network"), what + ".network: expected an interface index (0 is eth0) or the name of a bridge the VM is on, got " +
                                             quote(*network) + did_you_mean(*network, names));
}

// A rootfs/<name>/ directory belongs to an image the scenario defines;
// one without its image would silently change nothing.
void ScenarioParser::check_rootfs_layers() {
  std::error_code ec;
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(scenario_.dir / "rootfs", ec))
    if (std::error_code dir_ec; entry.is_directory(dir_ec)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());  // directory order is the file system's
  std::vector<std::string> images(own_images_.begin(), own_images_.end());
  for (const auto& name : names) {
    if (own_images_.count(name)) continue;
    std::string fix = suggest(name, images) ? "did you mean image " + quote(*suggest(name, images)) + "? Rename the directory or define" : "define";
    yaml_.error(SourceMark{yaml_.display_name(), 1, 1},
                "rootfs/" + name + "/ belongs to no image of this scenario: " + fix + " images: {" + name +
                    ": {distribution: busybox}} (or debian)");
  }
}

}  // namespace

std::optional<Scenario> parse_scenario_text(std::string_view text, const fs::path& file, FixtureCatalog& catalog,
                                            Diagnostics& diagnostics) {
  ScenarioParser parser(file, catalog, diagnostics);
  YamlFile yaml(display_path(file), diagnostics);
  auto root = parse_yaml_text(text, yaml);
  if (!root) return std::nullopt;
  return parser.parse(*root);
}

std::optional<Scenario> parse_scenario(const fs::path& file, FixtureCatalog& catalog, Diagnostics& diagnostics) {
  ScenarioParser parser(file, catalog, diagnostics);
  YamlFile yaml(display_path(file), diagnostics);
  auto root = load_yaml_file(file, yaml);
  if (!root) return std::nullopt;
  return parser.parse(*root);
}

void reject_duplicate_names(std::vector<Scenario>& scenarios, Diagnostics& diagnostics) {
  std::map<std::string, std::size_t> first;  // name -> index of its first scenario
  std::set<std::string> duplicated;
  for (std::size_t i = 0; i < scenarios.size(); ++i) {
    const Scenario& scenario = scenarios[i];
    auto [earlier, inserted] = first.try_emplace(scenario.name, i);
    if (inserted) continue;
    duplicated.insert(scenario.name);
    diagnostics.error(scenario.name_mark, "scenario name " + quote(scenario.name) + " is also the name of " +
                                              scenarios[earlier->second].display_path +
                                              ": the scenarios of one run need different names (their artifacts, work "
                                              "directories and namespaces are named after them); give one a name: of its own");
  }
  std::erase_if(scenarios, [&](const Scenario& s) { return duplicated.count(s.name) > 0; });
}

}  // namespace meros
