// The subcommands of meros-test. Each takes the parsed options and returns
// the process exit code; only main() exits.
#pragma once

#include <vector>

#include "cli/options.h"
#include "manifest/loading.h"
#include "runner/selection.h"

namespace meros {

// The scenario filters of the command line (--tags, -k, --shard).
Selection selection_of(const Options& options);

int command_validate(const Options& options);
int command_list(const Options& options);
int command_run(const Options& options);
int command_build(const Options& options);
int command_gc(const Options& options);
int command_status(const Options& options);
int command_up(const Options& options);
int command_down(const Options& options);
int command_exec(const Options& options);
int command_connect(const Options& options);
int command_push(const Options& options);
int command_pull(const Options& options);
int command_schema(const Options& options);
int command_init(const Options& options);
int command_export(const Options& options);

}  // namespace meros
