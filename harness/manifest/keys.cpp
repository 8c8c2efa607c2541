#include "manifest/parser.h"

namespace meros {

// The one list of the keys of every manifest section. The parser checks
// keys against it and docs/manifest.md documents each of them
// (tests/unit/manifest_doc_test.cpp keeps the two in step).
const std::map<std::string, std::vector<std::string>>& manifest_key_table() {
  static const std::map<std::string, std::vector<std::string>> table = {
      {"top", {"name", "description", "tags", "timeout", "probe_timeout", "capture", "kernels", "images", "bridges",
               "virtual_machines", "host", "hooks", "tests"}},
      {"kernels.<name>", {"tarball", "sha256", "base", "fragments", "arch_fragments", "options", "path", "package"}},
      {"images.<name>", {"distribution", "suite", "packages", "size", "includes", "hooks", "archive", "use", "root", "bootable",
                          "applications"}},
      {"images.<name>.applications.<app>", {"source", "url", "sha256", "configure", "build", "output", "install"}},
      {"bridges.<name>", {"subnet", "policy_type", "allowed_ports", "allowed_ips", "allow_icmp"}},
      {"virtual_machines.<name>", {"arch", "machine", "boot", "ssh_user", "kernel", "image", "disk_size", "memory",
                                   "cpus", "cmdline", "qemu_args", "networks", "gateway", "firewall", "services", "hooks",
                                   "shared"}},
      {"networks[]", {"bridge", "ip_addr", "model", "mac"}},
      {"shared[]", {"host", "guest", "mode"}},
      {"host", {"firewall"}},
      {"hooks", {"on_up", "before_down", "on_failure"}},
      {"virtual_machines.<name>.hooks", {"on_boot", "before_shutdown"}},
      {"tests[]", {"name", "vm", "run", "expect", "timeout", "retries", "reach", "matrix", "push", "pull", "link"}},
      {"expect", {"exit", "stdout", "stdout_matches", "stderr", "stderr_matches"}},
      {"reach", {"from", "to", "port", "proto", "expect"}},
      {"push", {"vm", "src", "dst", "max_bytes"}},
      {"pull", {"vm", "src", "dst", "max_bytes"}},
      {"link", {"vm", "network", "state"}},
  };
  return table;
}

const std::vector<std::string>& manifest_keys(const std::string& section) {
  const auto& table = manifest_key_table();
  auto it = table.find(section);
  if (it == table.end()) throw FatalError("no manifest section " + section);
  return it->second;
}

}  // namespace meros
