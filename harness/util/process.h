// Runs helper programs (mkfs, qemu-img, make, tar, ...) from an argument
// vector, never through a shell. Each child gets its own process group and
// a parent-death signal, so a killed harness leaves no helper behind.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace meros {

struct ProcessSpec {
  std::vector<std::string> argv;  // argv[0] is looked up in PATH when it has no '/'
  std::optional<std::filesystem::path> cwd;
  bool clean_environment = false;              // start from an empty environment
  std::map<std::string, std::string> environment;  // added (or, with clean_environment, the whole)
  std::string stdin_data;                      // written to the child's stdin, then closed
  std::chrono::milliseconds timeout{0};        // 0 = none
  std::function<void(std::string_view line)> on_line;  // each output line, as it comes
  std::optional<std::filesystem::path> log_file;       // output appended here too
  std::size_t keep_output_bytes = 1 << 20;     // the tail of the output kept in the result
  // A teardown helper (a before_down hook) is what a stop request asks
  // for, so a stop that came before it started is not passed on to it; a
  // signal during its run still is.
  bool runs_after_stop = false;
};

struct ProcessResult {
  int exit_code = -1;     // the exit status, or 128 + signal
  bool timed_out = false;
  std::string output;     // stdout and stderr, interleaved, tail-capped
  bool ok() const { return exit_code == 0 && !timed_out; }
};

// The seam for tests: stages take a ProcessRunner, tests pass a fake.
class ProcessRunner {
 public:
  virtual ~ProcessRunner() = default;
  // Fails only when the program could not be started at all.
  virtual Result<ProcessResult> run(const ProcessSpec& spec) = 0;
};

class SystemProcessRunner : public ProcessRunner {
 public:
  Result<ProcessResult> run(const ProcessSpec& spec) override;
};

// "cmd arg 'arg with space'": for logs and messages only, never executed.
std::string describe_command(const std::vector<std::string>& argv);

// The last `lines` lines of text.
std::string tail_lines(std::string_view text, std::size_t lines);

// The descriptors this process has open.
std::vector<int> open_descriptors();
// Marks close-on-exec every descriptor open now that was not in before: for
// library calls that open descriptors without O_CLOEXEC and offer no way
// to ask for it (libnftables' own netlink socket).
void mark_new_descriptors_cloexec(const std::vector<int>& before);

// Where a program is on PATH, if anywhere.
std::optional<std::filesystem::path> find_program(std::string_view name);

// argv[0] as a path to execute: itself when it names a path, else looked
// up on PATH.
Result<std::filesystem::path> resolve_program(const std::vector<std::string>& argv);

}  // namespace meros
