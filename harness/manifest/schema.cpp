#include "manifest/schema.h"

#include <cctype>
#include <map>

#include "manifest/parser.h"

namespace meros {
namespace {

using nlohmann::json;

// A key given as `key:` or `key: null` is absent to the parser (the default
// applies), so every property also accepts null.
json nullable(json type) { return {{"anyOf", json::array({type, {{"type", "null"}}})}}; }

// The parser reads any YAML scalar as a string, so 80 or true is a string
// to it too.
json scalar(const std::string& description) {
  return {{"type", json::array({"string", "number", "boolean"})}, {"description", description}};
}
json text(const std::string& description) { return {{"type", "string"}, {"description", description}}; }
json pattern(const std::string& regex, const std::string& description) {
  return {{"type", "string"}, {"pattern", regex}, {"description", description}};
}
json words(std::vector<std::string> choices, const std::string& description) {
  return {{"enum", choices}, {"description", description}};
}
json integer(long long min, long long max, const std::string& description) {
  return {{"type", "integer"}, {"minimum", min}, {"maximum", max}, {"description", description}};
}
json boolean(const std::string& description) { return {{"type", "boolean"}, {"description", description}}; }
json list(json items, const std::string& description) {
  return {{"type", "array"}, {"items", items}, {"description", description}};
}
json strings(const std::string& description) { return list(scalar("item"), description); }
json ref(const std::string& section) {
  std::string name;
  for (char ch : section) name += std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
  return {{"$ref", "#/definitions/" + name}};
}
json named(const std::string& section, const std::string& description) {
  return {{"type", "object"}, {"additionalProperties", ref(section)}, {"description", description}};
}

const std::string kDuration = "^[0-9]+(ms|s|m|h)$";
const std::string kSize = "^[0-9]+[KMGT]$";

json duration(const std::string& description) { return pattern(kDuration, description + " (500ms, 30s, 10m, 1h)"); }
json size(const std::string& description) { return pattern(kSize, description + " (512M, 2G)"); }

json expect_word() { return words({"allow", "reject", "drop", "deny"}, "allow | reject | drop | deny"); }

json matrix_row() {
  return {{"type", "array"},
          {"minItems", 4},
          {"maxItems", 4},
          {"items", json::array({text("from: a VM, vm@bridge, host or an address"), text("to: a VM, vm@bridge, host or an address"),
                                 pattern("^([0-9]+/(tcp|udp)|icmp)$", "port/proto such as 80/tcp, or icmp"), expect_word()})},
          {"description", "[from, to, port/proto, expect]"}};
}

// The type of every key of the key table, by section.
const std::map<std::string, std::map<std::string, json>>& key_types() {
  static const std::map<std::string, std::map<std::string, json>> types = {
      {"top",
       {{"name", pattern("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", "the scenario's name (default: the directory name)")},
        {"description", text("what the scenario tests")},
        {"tags", list(pattern("^[A-Za-z0-9_.-]{1,64}$", "tag"), "tags selectable with --tags")},
        {"timeout", duration("whole-scenario budget, default 15m")},
        {"probe_timeout", duration("how long a probe waits before it observes a timeout, default 1s")},
        {"capture", words({"off", "on-failure", "always"}, "pcapng of every bridge in the artifacts: off | on-failure (default) | always")},
        {"kernels", named("kernels.<name>", "kernel recipes by name")},
        {"images", named("images.<name>", "image recipes by name")},
        {"bridges", named("bridges.<name>", "bridges by name")},
        {"virtual_machines", named("virtual_machines.<name>", "VMs by name")},
        {"host", ref("host")},
        {"hooks", ref("hooks")},
        {"tests", list(ref("tests[]"), "test steps, run in order")}}},
      {"kernels.<name>",
       {{"tarball", text("kernel source tarball: a path or an https:// URL")},
        {"sha256", pattern("^[0-9A-Fa-f]{64}$", "SHA-256 of the tarball (required for URLs)")},
        {"base", text("tinyconfig | defconfig | path/to/full.config")},
        {"fragments", strings("kconfig fragment files")},
        {"arch_fragments", {{"type", "object"}, {"propertyNames", {{"enum", {"x86_64", "aarch64"}}}},
                            {"additionalProperties", strings("kconfig fragment files")},
                            {"description", "per architecture, the fragments that replace fragments"}}},
        {"options", {{"type", "object"}, {"additionalProperties", scalar("y, n, m, a number or a string")},
                     {"description", "CONFIG_ overrides, applied last"}}},
        {"path", text("a prebuilt kernel image, used as is")},
        {"package", text("a distribution kernel package")}}},
      {"images.<name>",
       {{"distribution", words({"busybox", "debian", "tarball"}, "busybox | debian | tarball")},
        {"suite", text("debian suite, e.g. bookworm")},
        {"packages", strings("debian packages")},
        {"size", size("image size")},
        {"includes", text("directory copied into the rootfs")},
        {"hooks", text("directory of hook scripts run in the chroot")},
        {"archive", text("rootfs tarball (distribution: tarball)")},
        {"use", text("an existing qcow2 to patch")},
        {"root", text("root device for direct boot, default /dev/vda")},
        {"bootable", boolean("a partitioned disk with GRUB and the distribution's own kernel (debian only); implied for an image a boot: disk VM uses")},
        {"applications", named("images.<name>.applications.<app>", "static applications built on the host and installed into the image")}}},
      {"images.<name>.applications.<app>",
       {{"source", text("a directory or tarball inside the scenario or fixtures directory")},
        {"url", pattern("^https://", "an https:// source tarball (needs sha256)")},
        {"sha256", pattern("^[0-9A-Fa-f]{64}$", "SHA-256 of the url's tarball")},
        {"configure", {{"type", "array"}, {"minItems", 1}, {"items", scalar("argument")}, {"description", "argv run first in the source copy"}}},
        {"build", {{"type", "array"}, {"minItems", 1}, {"items", scalar("argument")}, {"description", "argv run in the source copy, default [make]"}}},
        {"output", text("the built file, relative to the source copy")},
        {"install", pattern("^/", "absolute path in the image, installed mode 0755")}}},
      {"bridges.<name>",
       {{"subnet", pattern("^[0-9.]+/[0-9]+$", "IPv4 subnet, e.g. 10.0.10.0/24")},
        {"policy_type", words({"host-access", "isolated"}, "host-access | isolated")},
        {"allowed_ports", list(integer(1, 65535, "port"), "destination ports let through (absent: all)")},
        {"allowed_ips", strings("source addresses or CIDRs let through (absent: all)")},
        {"allow_icmp", boolean("whether the bridge's VMs may ping out, default true")}}},
      {"virtual_machines.<name>",
       {{"arch", words({"x86_64", "aarch64"}, "x86_64 | aarch64")},
        {"machine", words({"microvm", "q35", "pc", "virt"}, "QEMU machine type")},
        {"boot", words({"direct", "disk"}, "direct | disk")},
        {"ssh_user", text("user the harness logs in as, default root")},
        {"kernel", text("kernel name, default `default`")},
        {"image", text("image name, default `busybox`")},
        {"disk_size", size("disk size")},
        {"memory", {{"anyOf", json::array({integer(32, 65536, "MiB"), pattern("^[0-9]+[KMGT]?$", "512M, 2G")})},
                    {"description", "memory: MiB or a size such as 512M"}}},
        {"cpus", integer(1, 64, "guest CPUs")},
        {"cmdline", text("extra kernel command line")},
        {"qemu_args", strings("extra QEMU arguments, an argument vector")},
        {"networks", list(ref("networks[]"), "interfaces eth0, eth1, ... in order")},
        {"gateway", text("default route")},
        {"firewall", text("nftables file loaded in the guest")},
        {"services", list(pattern("^((tcp|udp)/[0-9]{1,5}|[0-9]{1,5}/(tcp|udp))$", "tcp/80 or 53/udp"),
                          "ports the guest serves itself")},
        {"hooks", ref("virtual_machines.<name>.hooks")},
        {"shared", list(ref("shared[]"), "host directories mounted in the guest over virtio-9p")}}},
      {"shared[]",
       {{"host", text("a directory inside the scenario directory")},
        {"guest", pattern("^/[A-Za-z0-9/._+-]{1,127}$", "the absolute mount point in the guest")},
        {"mode", {{"enum", json::array({"ro", "rw"})}, {"description", "ro (default) or rw"}}}}},
      {"networks[]",
       {{"bridge", text("the bridge this interface is on")},
        {"ip_addr", text("address (prefix from the bridge)")},
        {"model", text("NIC model, default virtio-net")},
        {"mac", text("MAC address (default: derived)")}}},
      {"host", {{"firewall", text("nftables file loaded in the scenario's namespace")}}},
      {"hooks",
       {{"on_up", strings("host hooks run once every VM is ready and firewalled, before the first test")},
        {"before_down", strings("host hooks run at teardown, before the VMs stop")},
        {"on_failure", strings("host hooks run after the tests when one failed or errored")}}},
      {"virtual_machines.<name>.hooks",
       {{"on_boot", strings("guest hooks run in the VM after it is ready, before the first test")},
        {"before_shutdown", strings("guest hooks run in the VM at teardown, before it stops")}}},
      {"tests[]",
       {{"name", text("the testcase name")},
        {"vm", text("the VM a run step runs on")},
        {"run", text("shell command run in the guest")},
        {"expect", ref("expect")},
        {"timeout", duration("step timeout, default 60s")},
        {"retries", integer(0, 100, "reruns of a step that did not pass")},
        {"reach", ref("reach")},
        {"matrix", {{"type", "array"}, {"minItems", 1}, {"items", matrix_row()}, {"description", "reachability rows"}}},
        {"push", ref("push")},
        {"pull", ref("pull")},
        {"link", ref("link")}}},
      {"expect",
       {{"exit", integer(0, 255, "expected exit status, default 0")},
        {"stdout", scalar("substring stdout must contain")},
        {"stdout_matches", scalar("regex stdout must match")},
        {"stderr", scalar("substring stderr must contain")},
        {"stderr_matches", scalar("regex stderr must match")}}},
      {"reach",
       {{"from", text("a VM, vm@bridge, host or an address")},
        {"to", text("a VM, vm@bridge, host or an address")},
        {"port", integer(1, 65535, "destination port")},
        {"proto", words({"tcp", "udp", "icmp"}, "tcp (default) | udp | icmp")},
        {"expect", expect_word()}}},
      {"push",
       {{"vm", text("VM")},
        {"src", text("local file or directory")},
        {"dst", text("absolute path in the guest")},
        {"max_bytes", size("the most bytes the push may copy, default 1G")}}},
      {"pull",
       {{"vm", text("VM")},
        {"src", text("absolute path in the guest")},
        {"dst", text("path under the artifacts directory")},
        {"max_bytes", size("the most bytes the pull may copy, default 1G")}}},
      {"link",
       {{"vm", text("VM")},
        {"network", {{"anyOf", json::array({integer(0, 15, "interface index"), text("bridge name")})},
                     {"description", "interface index (0 is eth0) or the bridge's name"}}},
        {"state", words({"down", "up"}, "down | up")}}},
  };
  return types;
}

// Rules across keys that editors can show too: a step does exactly one
// action; a kernel recipe has exactly one source.
void add_exclusive(json& definition, const std::vector<std::string>& keys) {
  json choices = json::array();
  for (const std::string& key : keys) choices.push_back({{"required", {key}}});
  definition["oneOf"] = choices;
}

json section_definition(const std::string& section, const std::vector<std::string>& keys) {
  const auto& types = key_types();
  auto typed = types.find(section);
  json properties = json::object();
  for (const std::string& key : keys) {
    json type = json::object();
    if (typed != types.end())
      if (auto it = typed->second.find(key); it != typed->second.end()) type = it->second;
    properties[key] = type.empty() ? type : nullable(type);
  }
  json definition = {{"type", "object"}, {"properties", properties}, {"additionalProperties", false}};
  if (section == "tests[]") add_exclusive(definition, {"run", "reach", "matrix", "push", "pull", "link"});
  if (section == "kernels.<name>") add_exclusive(definition, {"tarball", "path", "package"});
  if (section == "bridges.<name>") definition["required"] = {"subnet"};
  if (section == "networks[]") definition["required"] = {"bridge"};
  if (section == "shared[]") definition["required"] = {"host", "guest"};
  if (section == "images.<name>.applications.<app>") {
    definition["required"] = {"output", "install"};
    add_exclusive(definition, {"source", "url"});
  }
  return definition;
}

}  // namespace

json manifest_json_schema() {
  json definitions = json::object();
  for (const auto& [section, keys] : manifest_key_table()) {
    if (section == "top") continue;
    definitions[ref(section)["$ref"].get<std::string>().substr(std::string("#/definitions/").size())] =
        section_definition(section, keys);
  }
  json schema = section_definition("top", manifest_keys("top"));
  schema["$schema"] = "http://json-schema.org/draft-07/schema#";
  schema["title"] = "meros-test scenario manifest (scenario.yml)";
  schema["definitions"] = definitions;
  return schema;
}

std::vector<std::string> untyped_manifest_keys() {
  std::vector<std::string> missing;
  const auto& types = key_types();
  for (const auto& [section, keys] : manifest_key_table()) {
    auto typed = types.find(section);
    for (const std::string& key : keys)
      if (typed == types.end() || !typed->second.count(key)) missing.push_back(section + "." + key);
  }
  return missing;
}

}  // namespace meros
