// `meros-guest exec`: runs a command in a process group of its own and, when
// its time is up, kills the whole group, so nothing the command started
// outlives a timed-out step. The harness wraps every `run` step in it.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>
#include <string>
#include <vector>

namespace meros::guest {

// Runs argv (PATH searched) with the caller's stdin, stdout and stderr.
// Returns its exit code, 128+N when signal N ended it, 137 when the timeout
// killed its group, 127 when it could not be started.
int exec_with_timeout(const std::vector<std::string>& argv, std::chrono::milliseconds timeout);

// "1500ms", "90s" or plain milliseconds, up to 30 days; nullopt otherwise.
std::optional<std::chrono::milliseconds> parse_exec_timeout(std::string_view text);

}  // namespace meros::guest
