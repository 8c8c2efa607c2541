// meros-test: reads the command line and hands over to one subcommand.
// The only place where errors become exit codes.
#include <sys/stat.h>

#include <iostream>
#include <map>

#include "cli/commands.h"
#include "cli/options.h"
#include "util/exit_codes.h"
#include "util/result.h"

#ifndef MEROS_VERSION
#define MEROS_VERSION "0.0.0"
#endif

namespace {

int dispatch(const meros::Options& options) {
  using Command = int (*)(const meros::Options&);
  static const std::map<std::string, Command> commands = {
      {"run", meros::command_run}, {"validate", meros::command_validate}, {"list", meros::command_list}, {"build", meros::command_build},
      {"gc", meros::command_gc},       {"status", meros::command_status},
      {"up", meros::command_up},       {"down", meros::command_down},
      {"exec", meros::command_exec},   {"connect", meros::command_connect},
      {"push", meros::command_push},   {"pull", meros::command_pull},
      {"schema", meros::command_schema}, {"init", meros::command_init}};
  auto it = commands.find(options.command);
  // parse_options accepts only the subcommands listed here.
  if (it == commands.end()) throw meros::FatalError("no handler for the subcommand " + options.command);
  return it->second(options);
}

}  // namespace

int main(int argc, char** argv) {
  // Whatever umask is inherited, nothing the harness creates (as root) is
  // writable by group or others: the fixture store refuses such entries.
  ::umask(::umask(0) | 022);
  std::vector<std::string> args(argv + 1, argv + argc);
  auto options = meros::parse_options(args);
  if (!options) {
    std::cerr << "meros-test: " << options.error().message << "\nsee 'meros-test --help'\n";
    return meros::exit_code::usage;
  }
  if (options->version) {
    std::cout << "meros-test " << MEROS_VERSION << "\n";
    return meros::exit_code::passed;
  }
  if (options->help || args.empty()) {
    std::cout << meros::help_text(args.empty() ? "" : options->command);
    return args.empty() ? meros::exit_code::usage : meros::exit_code::passed;
  }
  try {
    return dispatch(*options);
  } catch (const meros::FatalError& e) {
    std::cerr << "meros-test: internal error: " << e.what() << "\n";
    return meros::exit_code::environment;
  }
}
