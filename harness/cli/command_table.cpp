#include "cli/command_table.h"

#include "cli/commands.h"

namespace meros {

const std::vector<CommandSpec>& command_specs() {
  static const std::vector<CommandSpec> table = {
      {"run", "PATH...", "build fixtures, boot, check and report every scenario under PATH (the default)",
       "Runs every scenario found under PATH: a directory holding scenario.yml is one scenario, other\n"
       "directories are searched recursively, a .yml file is one scenario. `meros-test PATH...` is the same.",
       kSelection | kRunReports | kMachines | kStore, command_run},
      {"validate", "PATH...", "parse and validate scenarios; print every error as file:line:col",
       "Parses and validates the scenarios under PATH and the fixture recipes they name. Every error is\n"
       "printed as file:line:col: message. Exit 0 when all are valid, 2 otherwise. Nothing is built or started.",
       kFormat, command_validate},
      {"list", "PATH...", "list the scenarios and their tests (honours -k, --tags and --shard)",
       "Lists the selected scenarios with their tags and tests.", kSelection | kFormat, command_list},
      {"build", "[PATH...]", "build or reuse the kernels and images the scenarios name",
       "Builds (or finds cached) the kernels and images the scenarios under PATH (default scenarios/) name.\n"
       "--list shows what the store holds instead; --prune removes what no scenario under PATH references.",
       kStore | kBuildOnly | kFormat, command_build},
      {"up", "SCENARIO", "boot a scenario's constellation and leave it running",
       "Boots the scenario's VMs and networks and leaves them running; see status, exec, connect and down.",
       kMachines | kStore | kArtifacts, command_up},
      {"status", "", "list running constellations",
       "Lists running constellations with their VMs, management addresses and start time.", kFormat, command_status},
      {"down", "SCENARIO|RUNID", "tear a running constellation down",
       "Tears a running constellation down: VMs, networks, overlays.", 0, command_down},
      {"connect", "SCENARIO VM [-- COMMAND [ARG...]]", "open an interactive shell on a VM of a running constellation",
       "Opens an interactive shell on VM over its management link with the OpenSSH client (or runs COMMAND\n"
       "there, as ssh does). The VM's host key is pinned in a known_hosts file of a private directory that is\n"
       "removed when ssh ends. With --gui, COMMAND (default: a login shell) runs under waypipe and its windows\n"
       "open on this host's Wayland compositor.",
       kPassthrough | kGui, command_connect},
      {"exec", "SCENARIO VM -- COMMAND [ARG...]", "run a command on a VM of a running constellation",
       "Runs COMMAND on VM and exits with its exit status. With --gui, COMMAND runs under waypipe and its\n"
       "windows open on this host's Wayland compositor ($WAYLAND_DISPLAY); the image needs waypipe.",
       kPassthrough | kGui, command_exec},
      {"push", "SCENARIO VM SRC [DST]", "copy a file or directory into a VM",
       "Copies SRC (a file or directory) into VM over SFTP, to DST (default /root/NAME). When DST ends in /\n"
       "or is a directory in the guest, the copy goes inside it. Modes, times and symlinks are kept; missing\n"
       "parent directories are created.",
       0, command_push},
      {"pull", "SCENARIO VM SRC [DST]", "copy a file or directory out of a VM",
       "Copies SRC (a file or directory) out of VM over SFTP into the local directory DST (default: the\n"
       "current directory), keeping its name, modes, times and symlinks.",
       0, command_pull},
      {"gc", "", "remove what killed runs left behind",
       "Removes namespaces, links, processes and overlays left by runs whose owner is gone, the processes a\n"
       "killed build's hooks or debootstrap left running (their cgroup), and staging directories under the\n"
       "store's tmp/ that no build is using. A live run's or build's resources are never touched.",
       0, command_gc},
      {"schema", "", "print the JSON Schema of scenario.yml (for editors)",
       "Prints the JSON Schema of scenario.yml, generated from the parser's key table; installed as\n"
       "share/meros-test/scenario.schema.json.",
       0, command_schema},
      {"export", "libvirt SCENARIO", "write a scenario as libvirt domain and network XML (see docs/libvirt.md)",
       "Writes DIR (default ./<scenario>-libvirt/): a libvirt domain XML per VM and a network XML per bridge, with\n"
       "the fixture store's kernels, initrds and base images (built when missing, as build does), the bridge\n"
       "policies as policy.nft and NOTES.md, what does not carry over.",
       kStore | kOutputDir, command_export},
      {"init", "DIR", "write a new scenario into DIR that validates and passes",
       "Writes DIR/scenario.yml: two busybox VMs on one bridge, a command, a reach check and a small matrix.", 0,
       command_init},
      {"help", "[COMMAND]", "help on one command", "Prints the help of COMMAND, or of meros-test.", 0, nullptr},
  };
  return table;
}

const CommandSpec* find_command(const std::string& name) {
  for (const auto& spec : command_specs())
    if (spec.name == name) return &spec;
  return nullptr;
}

}  // namespace meros
