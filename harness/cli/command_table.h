// The commands of meros-test: name, help text, the option groups that apply
// and the function that runs it. The parser, the help, the man page, the
// shell completions and main's dispatch all read this one table, so a new
// command is one entry here and one command_* function.
#pragma once

#include <string>
#include <vector>

#include "cli/options.h"

namespace meros {

// Groups of options; a command lists the groups it accepts, any other
// option is a usage error naming it. The global options (-h, -q, -v,
// --color, --version) apply everywhere.
enum OptionGroup : unsigned {
  kSelection = 1u << 0,    // -k, --tags, --shard
  kRunReports = 1u << 1,   // -j, --junit, --json, --artifacts, --keep-on-failure
  kMachines = 1u << 2,     // --accel, --timeout-multiplier
  kStore = 1u << 3,        // --cache-dir
  kBuildOnly = 1u << 4,    // --kernel, --image, --list, --prune
  kFormat = 1u << 5,       // --format text|json
  kArtifacts = 1u << 6,    // --artifacts alone (up)
  kPassthrough = 1u << 7,  // -- COMMAND [ARG...] (exec)
  kOutputDir = 1u << 8,    // -o DIR (export)
  kGui = 1u << 9,          // --gui (exec, connect)
};

struct CommandSpec {
  std::string name;
  std::string operands;     // for the usage line, e.g. "PATH..."; "" takes none
  std::string summary;      // one line in `meros-test --help`
  std::string description;  // the paragraph of `meros-test NAME --help`
  unsigned options = 0;     // OptionGroup bits
  int (*run)(const Options&) = nullptr;
};

const std::vector<CommandSpec>& command_specs();
const CommandSpec* find_command(const std::string& name);

}  // namespace meros
