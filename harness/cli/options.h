// The command line of meros-test: the subcommand, its arguments and the
// global options of design.md, parsed and validated without side effects.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "runner/selection.h"
#include "util/result.h"
#include "vm/accel.h"

namespace meros {


struct Options {
  std::string command = "run";
  std::vector<std::string> arguments;    // paths, or the subcommand's operands
  std::vector<std::string> passthrough;  // after "--" (exec)
  bool help = false;
  bool version = false;
  int jobs = 1;
  std::optional<Shard> shard;
  std::vector<std::string> patterns;  // -k
  std::vector<std::string> tags;      // --tags; "!tag" excludes
  std::optional<std::filesystem::path> junit, json, artifacts;
  bool keep_on_failure = false;
  vm::AccelRequest accel = vm::AccelRequest::automatic;
  std::optional<std::filesystem::path> cache_dir;
  std::optional<double> timeout_multiplier;  // unset: automatic (x3 under TCG)
  int verbosity = 0;
  // build
  bool list = false;
  bool prune = false;
  bool cache_key = false;  // print the CI cache key of the scenarios' fixtures
  std::vector<std::string> kernels, images;
};

const std::vector<std::string>& subcommands();
Result<Options> parse_options(const std::vector<std::string>& argv);
std::string help_text(const std::string& command);

}  // namespace meros
