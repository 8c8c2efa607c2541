// The command line of meros-test: the subcommand, its arguments and its
// options, parsed (with CLI11) and validated without side effects. Which
// options a command takes is in cli/command_table.cpp.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "manifest/model.h"
#include "runner/selection.h"
#include "util/result.h"
#include "vm/accel.h"

namespace meros {

enum class ColorMode { automatic, always, never };
enum class OutputFormat { text, json };

struct Options {
  std::string command = "run";
  std::vector<std::string> arguments;    // paths, or the subcommand's operands
  std::vector<std::string> passthrough;  // after "--" (exec)
  // global
  bool help = false;
  bool version = false;
  bool quiet = false;
  int verbosity = 0;  // -v: steps and timings; -vv: QEMU, SSH, QMP and nft traffic
  ColorMode color = ColorMode::automatic;
  // run, list: selection
  std::optional<Shard> shard;
  std::vector<std::string> patterns;  // -k
  std::vector<std::string> tags;      // --tags; "!tag" excludes
  // run: reports and workers
  int jobs = 1;
  std::optional<std::filesystem::path> junit, json, artifacts;
  bool keep_on_failure = false;
  std::optional<CaptureMode> capture;  // --capture
  // run, up: machines and the store
  vm::AccelRequest accel = vm::AccelRequest::automatic;
  std::optional<std::filesystem::path> cache_dir;
  std::optional<double> timeout_multiplier;  // unset: automatic (x3 under TCG)
  // build
  bool list = false;
  bool prune = false;
  bool cache_key = false;  // print the CI cache key of the scenarios' fixtures
  std::vector<std::string> kernels, images;
  // exec, connect: forward the guest application's Wayland connection
  bool gui = false;
  // export: -o DIR
  std::optional<std::filesystem::path> output_dir;
  // list, validate, status, build --list
  OutputFormat format = OutputFormat::text;
};

// Parses argv (without the program name). A usage error's message names
// the offending option or argument and what would be right.
Result<Options> parse_options(const std::vector<std::string>& argv);

// The --help text of a command ("" for meros-test itself), built from the
// same definitions the parser uses.
std::string help_text(const std::string& command);

// One option a command takes, for the shell completions.
struct OptionInfo {
  std::vector<std::string> names;    // "-v", "--verbose"
  std::string value;                 // the value's name, "" for a flag
  std::vector<std::string> choices;  // the values it accepts, when a fixed set
  std::string help;
};
std::vector<OptionInfo> command_options(const std::string& command);

// Every command's help, for the man page (help2man --help-option=--help-all).
std::string help_all_text();

}  // namespace meros
