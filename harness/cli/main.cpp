// meros-test: reads the command line and hands over to one subcommand.
// The only place where errors become exit codes.
#include <sys/stat.h>

#include <iostream>

#include "cli/command_table.h"
#include "cli/completion.h"
#include "cli/options.h"
#include "util/debug_log.h"
#include "util/exit_codes.h"
#include "util/result.h"

#ifndef MEROS_VERSION
#define MEROS_VERSION "0.0.0"
#endif

int main(int argc, char** argv) {
  // Whatever umask is inherited, nothing the harness creates (as root) is
  // writable by group or others: the fixture store refuses such entries.
  ::umask(::umask(0) | 022);
  std::vector<std::string> args(argv + 1, argv + argc);
  // The man page is generated from this (help2man --help-option=--help-all).
  if (args == std::vector<std::string>{"--help-all"}) {
    std::cout << meros::help_all_text();
    return meros::exit_code::passed;
  }
  if (args.size() == 2 && args[0] == "--completion" && (args[1] == "bash" || args[1] == "zsh")) {
    std::cout << (args[1] == "bash" ? meros::bash_completion() : meros::zsh_completion());
    return meros::exit_code::passed;
  }
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
    std::cout << meros::help_text(options->command);
    return args.empty() ? meros::exit_code::usage : meros::exit_code::passed;
  }
  meros::debug_log::enable(options->verbosity >= 2);
  const meros::CommandSpec* spec = meros::find_command(options->command);
  try {
    return spec->run(*options);
  } catch (const meros::FatalError& e) {
    std::cerr << "meros-test: internal error: " << e.what() << "\n";
    return meros::exit_code::environment;
  }
}
