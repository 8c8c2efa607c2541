// The subcommands of meros-test. Each takes the parsed options and returns
// the process exit code; only main() exits.
#pragma once

#include <vector>

#include "cli/options.h"
#include "manifest/diagnostics.h"
#include "manifest/model.h"

namespace meros {

// Discovers and parses every scenario under paths. Problems go to
// diagnostics; the scenarios parsed without error are returned.
std::vector<Scenario> load_scenarios(const std::vector<std::string>& paths, Diagnostics& diagnostics);

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
int command_not_implemented(const Options& options);

}  // namespace meros
