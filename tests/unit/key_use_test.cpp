// No silent acceptance: every key the parser accepts (manifest_key_table())
// is read by a stage after the manifest (fixtures, network, machines,
// checks, report, runner, cli), or docs/manifest.md marks it
// "informational". A key is traced to the model member the parser stores it
// in; the test looks for a read of that member in harness/ outside
// harness/manifest/. A key added to the table without an entry below fails
// here until someone says where the runtime honours it.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <algorithm>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "manifest/parser.h"

namespace {

namespace fs = std::filesystem;

// "section.key" -> the member (of model.h) that carries the key's value.
const std::map<std::string, std::string>& key_members() {
  static const std::map<std::string, std::string> members = {
      {"top.name", "name"}, {"top.description", "description"}, {"top.tags", "tags"}, {"top.timeout", "timeout"},
      {"top.probe_timeout", "probe_timeout"}, {"top.capture", "capture"}, {"top.kernels", "kernels"}, {"top.images", "images"},
      {"top.bridges", "bridges"}, {"top.virtual_machines", "vms"}, {"top.host", "host_firewall"}, {"top.hooks", "host_hooks"}, {"top.tests", "tests"},
      {"kernels.<name>.tarball", "tarball"}, {"kernels.<name>.sha256", "sha256"}, {"kernels.<name>.base", "base"},
      {"kernels.<name>.fragments", "fragments"}, {"kernels.<name>.arch_fragments", "for_arch"} /* applied by KernelRecipe::for_arch(), which resolution calls */, {"kernels.<name>.options", "options"}, {"kernels.<name>.path", "path"},
      {"kernels.<name>.package", "package"},
      {"images.<name>.distribution", "kind"}, {"images.<name>.suite", "suite"}, {"images.<name>.packages", "packages"},
      {"images.<name>.size", "size"}, {"images.<name>.includes", "includes"}, {"images.<name>.hooks", "hooks"},
      {"images.<name>.archive", "archive"}, {"images.<name>.use", "use"}, {"images.<name>.root", "root"}, {"images.<name>.bootable", "bootable"},
      {"images.<name>.applications", "applications"},
      {"images.<name>.applications.<app>.source", "source"}, {"images.<name>.applications.<app>.url", "url"},
      {"images.<name>.applications.<app>.sha256", "sha256"}, {"images.<name>.applications.<app>.configure", "configure"},
      {"images.<name>.applications.<app>.build", "build"}, {"images.<name>.applications.<app>.output", "output"},
      {"images.<name>.applications.<app>.install", "install"},
      {"bridges.<name>.subnet", "subnet"}, {"bridges.<name>.policy_type", "policy"},
      {"bridges.<name>.allowed_ports", "allowed_ports"}, {"bridges.<name>.allowed_ips", "allowed_ips"},
      {"bridges.<name>.allow_icmp", "allow_icmp"},
      {"virtual_machines.<name>.arch", "arch"}, {"virtual_machines.<name>.machine", "machine"},
      {"virtual_machines.<name>.boot", "boot"}, {"virtual_machines.<name>.ssh_user", "ssh_user"},
      {"virtual_machines.<name>.kernel", "kernel"}, {"virtual_machines.<name>.image", "image"},
      {"virtual_machines.<name>.disk_size", "disk_size"}, {"virtual_machines.<name>.memory", "memory_mib"},
      {"virtual_machines.<name>.cpus", "cpus"}, {"virtual_machines.<name>.cmdline", "cmdline"},
      {"virtual_machines.<name>.qemu_args", "qemu_args"}, {"virtual_machines.<name>.networks", "networks"},
      {"virtual_machines.<name>.gateway", "gateway"}, {"virtual_machines.<name>.firewall", "firewall"},
      {"virtual_machines.<name>.services", "services"}, {"virtual_machines.<name>.hooks", "guest_hooks"},
      {"virtual_machines.<name>.shared", "shared"},
      {"shared[].host", "host_dir"}, {"shared[].guest", "guest_path"}, {"shared[].mode", "writable"},
      {"hooks.on_up", "on_up"}, {"hooks.before_down", "before_down"}, {"hooks.on_failure", "on_failure"},
      {"virtual_machines.<name>.hooks.on_boot", "on_boot"}, {"virtual_machines.<name>.hooks.before_shutdown", "before_shutdown"},
      {"networks[].bridge", "bridge"}, {"networks[].ip_addr", "ip"}, {"networks[].model", "model"}, {"networks[].mac", "mac"},
      {"host.firewall", "host_firewall"},
      {"tests[].name", "name"}, {"tests[].vm", "vm"}, {"tests[].run", "command"}, {"tests[].expect", "expect"},
      {"tests[].timeout", "timeout"}, {"tests[].retries", "retries"}, {"tests[].reach", "checks"},
      {"tests[].matrix", "checks"}, {"tests[].push", "local_path"}, {"tests[].pull", "local_path"},
      {"tests[].link", "link_up"},
      {"expect.exit", "exit_code"}, {"expect.stdout", "stdout_contains"}, {"expect.stdout_matches", "stdout_matches"},
      {"expect.stderr", "stderr_contains"}, {"expect.stderr_matches", "stderr_matches"},
      {"reach.from", "from"}, {"reach.to", "to"}, {"reach.port", "target"}, {"reach.proto", "target"},
      {"reach.expect", "expect"},
      {"push.vm", "vm"}, {"push.src", "src"}, {"push.dst", "dst"}, {"push.max_bytes", "max_bytes"},
      {"pull.vm", "vm"}, {"pull.src", "src"}, {"pull.dst", "dst"}, {"pull.max_bytes", "max_bytes"},
      {"link.vm", "vm"}, {"link.network", "network_index"}, {"link.state", "link_up"},
  };
  return members;
}

// Every C++ source of the stages after the manifest, concatenated.
const std::string& runtime_sources() {
  static const std::string text = [] {
    std::ostringstream all;
    for (const auto& entry : fs::recursive_directory_iterator(MEROS_HARNESS_DIR)) {
      auto relative = entry.path().lexically_relative(MEROS_HARNESS_DIR).string();
      auto ext = entry.path().extension();
      if (relative.starts_with("manifest/") || (ext != ".cpp" && ext != ".h")) continue;
      std::ifstream in(entry.path());
      all << in.rdbuf() << "\n";
    }
    return all.str();
  }();
  return text;
}

bool runtime_reads(const std::string& member) {
  return std::regex_search(runtime_sources(), std::regex("(\\.|->)" + member + "\\b"));
}

// Keys whose row in docs/manifest.md says "informational": accepted for
// the reader, without effect on a run.
std::set<std::string> informational_keys() {
  std::set<std::string> keys;
  std::ifstream in(std::string(MEROS_DOCS_DIR) + "/manifest.md");
  std::string section;
  static const std::regex heading("^### `([^`]+)`"), row("^\\| `([^`]+)` \\|.*informational");
  std::smatch match;
  for (std::string line; std::getline(in, line);) {
    if (std::regex_search(line, match, heading)) section = match[1];
    else if (std::regex_search(line, match, row)) keys.insert(section + "." + match[1].str());
  }
  return keys;
}

TEST(NoSilentAcceptance, EveryAcceptedKeyIsHonouredOrMarkedInformational) {
  auto informational = informational_keys();
  for (const auto& [section, keys] : meros::manifest_key_table())
    for (const auto& key : keys) {
      std::string full = section + "." + key;
      if (informational.count(full)) continue;
      auto member = key_members().find(full);
      if (member == key_members().end()) {
        ADD_FAILURE() << full << " is accepted by the parser, but nothing says where the runtime honours it: add it to "
                         "key_members() in this test, or mark its row \"informational\" in docs/manifest.md";
        continue;
      }
      EXPECT_TRUE(runtime_reads(member->second))
          << full << " is stored in ." << member->second << ", which no stage after the manifest reads";
    }
}

TEST(NoSilentAcceptance, EveryTracedKeyIsStillAccepted) {
  for (const auto& [full, member] : key_members()) {
    auto dot = full.rfind('.');
    const auto& table = meros::manifest_key_table();
    auto section = table.find(full.substr(0, dot));
    bool known = section != table.end() &&
                 std::find(section->second.begin(), section->second.end(), full.substr(dot + 1)) != section->second.end();
    EXPECT_TRUE(known) << full << " is traced here but the parser no longer accepts it";
  }
}

}  // namespace
