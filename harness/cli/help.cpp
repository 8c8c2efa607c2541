#include <map>

#include "cli/options.h"

namespace meros {
namespace {

const char* kGlobalOptions = R"(Options for running scenarios:
  -j N                    run N scenarios at once (each has its own network namespace)
  --shard K/N             run only the K-th of N stable shards (split by scenario path)
  -k PATTERN              select scenarios or tests whose name contains PATTERN (* and ? glob)
  --tags A,B              select scenarios tagged A or B; !A excludes scenarios tagged A
  --junit FILE            write the JUnit XML report to FILE (default reports/<run id>/junit.xml)
  --json FILE             write the JSON report to FILE (default reports/<run id>/report.json)
  --artifacts DIR         where serial logs, transcripts and pulled files go (default reports/<run id>/)
  --keep-on-failure       leave a failed scenario running and say how to reach and remove it
  --accel auto|kvm|tcg    acceleration; auto probes KVM with a real guest and falls back to TCG
  --cache-dir DIR         the fixture store (default images/, or $MEROS_TEST_CACHE)
  --timeout-multiplier X  scale every timeout by X (default 1 under KVM, 3 under TCG)
  -v                      more output (-v -v for debug)
  -h, --help              this help
)";

const std::map<std::string, std::string>& texts() {
  static const std::map<std::string, std::string> table = {
      {"", R"(meros-test: a batch test harness for multi-VM scenarios

Usage: meros-test [run] PATH... [options]
       meros-test COMMAND [options] [arguments]

Commands:
  run PATH...             build fixtures, boot, check and report every scenario under PATH (the default)
  validate PATH...        parse and validate scenarios; print every error as file:line:col
  list PATH...            list the scenarios and their tests (honours -k and --tags)
  build [PATH...]         build or reuse the kernels and images the scenarios name
  up SCENARIO             boot a scenario's constellation and leave it running
  status                  list running constellations
  down SCENARIO|RUNID     tear a running constellation down
  connect SCENARIO VM     open an interactive shell on a VM of a running constellation
  exec SCENARIO VM -- CMD run a command on a VM of a running constellation
  push SCENARIO VM SRC [DST]  copy a file or directory into a VM
  pull SCENARIO VM SRC [DST]  copy a file or directory out of a VM
  gc                      remove what killed runs left behind
  help COMMAND            help on one command

Exit codes: 0 all passed, 1 a test failed, 2 usage or validation error,
3 environment cannot run scenarios, 130/143 interrupted.
)"},
      {"run", "Usage: meros-test [run] PATH... [options]\n\nRuns every scenario found under PATH: a directory holding scenario.yml is one\nscenario, other directories are searched recursively, a .yml file is one scenario.\n\n"},
      {"validate", "Usage: meros-test validate PATH...\n\nParses and validates the scenarios under PATH and the fixture recipes they name.\nEvery error is printed as file:line:col: message. Exit 0 when all are valid, 2 otherwise.\nNothing is built or started.\n\n"},
      {"list", "Usage: meros-test list PATH... [-k PATTERN] [--tags A,B]\n\nLists the selected scenarios with their tags and tests.\n\n"},
      {"build", "Usage: meros-test build [PATH...] [--kernel NAME] [--image NAME] [--list] [--prune] [--cache-dir DIR]\n\nBuilds (or finds cached) the kernels and images the scenarios under PATH name.\n  --kernel NAME   build only this kernel recipe\n  --image NAME    build only this image recipe\n  --list          show what the cache holds, with sizes\n  --prune         remove cached fixtures no scenario under PATH references\n\n"},
      {"up", "Usage: meros-test up SCENARIO [--accel ...] [--cache-dir DIR]\n\nBoots the scenario's VMs and networks and leaves them running; see status and down.\n\n"},
      {"status", "Usage: meros-test status\n\nLists running constellations with their VMs, addresses and uptime.\n\n"},
      {"down", "Usage: meros-test down SCENARIO|RUNID\n\nTears a running constellation down: VMs, networks, overlays.\n\n"},
      {"connect", "Usage: meros-test connect SCENARIO VM\n\nOpens an interactive shell on VM over its management link.\n\n"},
      {"exec", "Usage: meros-test exec SCENARIO VM -- COMMAND [ARG...]\n\nRuns COMMAND on VM and exits with its exit status.\n\n"},
      {"push", "Usage: meros-test push SCENARIO VM SRC [DST]\n\nCopies SRC (a file or directory) into VM over SFTP, to DST (default /root/NAME).\n"
               "When DST ends in / or is a directory in the guest, the copy goes inside it. Modes, times and\n"
               "symlinks are kept; missing parent directories are created.\n\n"},
      {"pull", "Usage: meros-test pull SCENARIO VM SRC [DST]\n\nCopies SRC (a file or directory) out of VM over SFTP into the local directory DST\n"
               "(default: the current directory), keeping its name, modes, times and symlinks.\n\n"},
      {"gc", "Usage: meros-test gc\n\nRemoves namespaces, links, processes and overlays left by runs whose owner is gone,\nthe processes a killed build's hooks or debootstrap left running (their cgroup),\nand staging directories under the store's tmp/ that no build is using.\nA live run's or build's resources are never touched.\n\n"},
  };
  return table;
}

}  // namespace

std::string help_text(const std::string& command) {
  auto it = texts().find(command);
  std::string text = it == texts().end() ? texts().at("") : it->second;
  if (command == "run" || command == "list" || command == "") text += kGlobalOptions;
  else text += "Options: -h, --help; -v; --cache-dir DIR; --accel auto|kvm|tcg (where VMs are booted)\n";
  return text;
}

}  // namespace meros
