// The command line of cli/options.h: per-command options, the default run
// command, suggestions and the messages of bad values.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include <stdlib.h>
#include <unistd.h>

#include "cli/command_table.h"
#include "cli/console_reporter.h"
#include "cli/options.h"

namespace fs = std::filesystem;
using namespace meros;

namespace {

Options parse_ok(std::vector<std::string> argv) {
  auto options = parse_options(argv);
  EXPECT_TRUE(options) << (options ? "" : options.error().message);
  return options ? *options : Options{};
}

std::string parse_error(std::vector<std::string> argv) {
  auto options = parse_options(argv);
  return options ? std::string("(no error)") : options.error().message;
}

TEST(Options, DefaultsToRun) {
  Options o = parse_ok({"scenarios/"});
  EXPECT_EQ(o.command, "run");
  EXPECT_EQ(o.arguments, (std::vector<std::string>{"scenarios/"}));
  EXPECT_EQ(o.jobs, 1);
  EXPECT_FALSE(o.shard);
  EXPECT_EQ(o.accel, vm::AccelRequest::automatic);
  EXPECT_FALSE(o.timeout_multiplier);
  EXPECT_EQ(o.verbosity, 0);
  EXPECT_FALSE(o.keep_on_failure);
  EXPECT_EQ(o.color, ColorMode::automatic);
  EXPECT_EQ(o.format, OutputFormat::text);
}

TEST(Options, ReadsSubcommands) {
  EXPECT_EQ(parse_ok({"validate", "a", "b"}).command, "validate");
  EXPECT_EQ(parse_ok({"validate", "a", "b"}).arguments, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(parse_ok({"list", "x"}).command, "list");
  // A path named like a subcommand after the first operand is a path.
  EXPECT_EQ(parse_ok({"scenarios", "list"}).arguments, (std::vector<std::string>{"scenarios", "list"}));
  EXPECT_EQ(parse_ok({"run", "list"}).arguments, (std::vector<std::string>{"list"}));
  Options help = parse_ok({"help", "validate"});
  EXPECT_TRUE(help.help);
  EXPECT_EQ(help.command, "validate");
}

TEST(Options, OptionsMayStandBeforeTheCommandAndItsOperands) {
  Options o = parse_ok({"-v", "--tags", "smoke", "list", "scenarios/"});
  EXPECT_EQ(o.command, "list");
  EXPECT_EQ(o.verbosity, 1);
  EXPECT_EQ(o.tags, (std::vector<std::string>{"smoke"}));
  EXPECT_EQ(o.arguments, (std::vector<std::string>{"scenarios/"}));
  // The value of -k is not the command.
  EXPECT_EQ(parse_ok({"-k", "list", "scenarios/"}).command, "run");
  EXPECT_EQ(parse_ok({"-k", "list", "scenarios/"}).patterns, (std::vector<std::string>{"list"}));
}

TEST(Options, ReadsEveryRunOption) {
  Options o = parse_ok({"-j", "4", "--shard", "2/3", "-k", "smoke", "-k", "policy", "--tags", "a,b", "--tags=!c",
                        "--junit", "out.xml", "--json=out.json", "--artifacts", "art", "--keep-on-failure", "--accel", "tcg",
                        "--cache-dir", "/tmp/cache", "--timeout-multiplier", "2.5", "-v", "-vv", "--verbose", "scenarios"});
  EXPECT_EQ(o.jobs, 4);
  ASSERT_TRUE(o.shard);
  EXPECT_EQ(o.shard->index, 2);
  EXPECT_EQ(o.shard->count, 3);
  EXPECT_EQ(o.patterns, (std::vector<std::string>{"smoke", "policy"}));
  EXPECT_EQ(o.tags, (std::vector<std::string>{"a", "b", "!c"}));
  EXPECT_EQ(*o.junit, fs::path("out.xml"));
  EXPECT_EQ(*o.json, fs::path("out.json"));
  EXPECT_EQ(*o.artifacts, fs::path("art"));
  EXPECT_TRUE(o.keep_on_failure);
  EXPECT_EQ(o.accel, vm::AccelRequest::tcg);
  EXPECT_EQ(*o.cache_dir, fs::path("/tmp/cache"));
  EXPECT_DOUBLE_EQ(*o.timeout_multiplier, 2.5);
  EXPECT_EQ(o.verbosity, 4);
  EXPECT_EQ(o.arguments, (std::vector<std::string>{"scenarios"}));
}

TEST(Options, ReadsGlobalOptions) {
  EXPECT_TRUE(parse_ok({"status", "-q"}).quiet);
  EXPECT_EQ(parse_ok({"status", "-vv"}).verbosity, 2);
  EXPECT_EQ(parse_ok({"--color", "never", "status"}).color, ColorMode::never);
  EXPECT_EQ(parse_ok({"gc", "--color=always"}).color, ColorMode::always);
  EXPECT_EQ(parse_ok({"list", "x", "--format", "json"}).format, OutputFormat::json);
  EXPECT_EQ(parse_ok({"build", "--list", "--format=json"}).format, OutputFormat::json);
}

TEST(Options, ReadsFlagsAndShortForms) {
  EXPECT_EQ(parse_ok({"-j8"}).jobs, 8);
  EXPECT_EQ(parse_ok({"--accel", "kvm"}).accel, vm::AccelRequest::kvm);
  EXPECT_EQ(parse_ok({"--accel=auto"}).accel, vm::AccelRequest::automatic);
  EXPECT_TRUE(parse_ok({"--help"}).help);
  EXPECT_EQ(parse_ok({"--help"}).command, "");
  EXPECT_TRUE(parse_ok({"-h"}).help);
  EXPECT_TRUE(parse_ok({"validate", "-h"}).help);
  EXPECT_EQ(parse_ok({"validate", "-h"}).command, "validate");
  EXPECT_TRUE(parse_ok({"--version"}).version);
  Options build = parse_ok({"build", "--list", "--prune", "--kernel", "default", "--image", "busybox"});
  EXPECT_EQ(build.command, "build");
  EXPECT_TRUE(build.list);
  EXPECT_TRUE(build.prune);
  EXPECT_EQ(build.kernels, (std::vector<std::string>{"default"}));
  EXPECT_EQ(build.images, (std::vector<std::string>{"busybox"}));
  Options exec = parse_ok({"exec", "web", "vm", "--", "ls", "-l", "--junit"});
  EXPECT_EQ(exec.arguments, (std::vector<std::string>{"web", "vm"}));
  EXPECT_EQ(exec.passthrough, (std::vector<std::string>{"ls", "-l", "--junit"}));
  Options connect = parse_ok({"connect", "web", "vm", "--", "uname", "-a"});
  EXPECT_EQ(connect.arguments, (std::vector<std::string>{"web", "vm"}));
  EXPECT_EQ(connect.passthrough, (std::vector<std::string>{"uname", "-a"}));
  EXPECT_TRUE(parse_ok({"connect", "web", "vm"}).passthrough.empty());
}

TEST(Options, ExplainsBadValues) {
  EXPECT_EQ(parse_error({"-j", "0"}), "-j expects a whole number from 1 to 64, got '0'");
  EXPECT_EQ(parse_error({"-j", "many"}), "-j expects a whole number from 1 to 64, got 'many'");
  EXPECT_EQ(parse_error({"--shard", "3/2"}), "--shard expects K/N with 1 <= K <= N, e.g. 1/2; got '3/2'");
  EXPECT_EQ(parse_error({"--shard", "1"}), "--shard expects K/N with 1 <= K <= N, e.g. 1/2; got '1'");
  EXPECT_EQ(parse_error({"--shard", "0/2"}), "--shard expects K/N with 1 <= K <= N, e.g. 1/2; got '0/2'");
  EXPECT_EQ(parse_error({"--accel", "hvf"}), "--accel expects auto, kvm or tcg, got 'hvf'");
  EXPECT_EQ(parse_error({"--timeout-multiplier", "0"}), "--timeout-multiplier expects a number above 0 and at most 100, got '0'");
  EXPECT_EQ(parse_error({"--timeout-multiplier", "fast"}), "--timeout-multiplier expects a number above 0 and at most 100, got 'fast'");
  EXPECT_EQ(parse_error({"--tags", ","}), "--tags expects a comma-separated list such as firewall,smoke");
  EXPECT_EQ(parse_error({"--color", "blue", "status"}), "--color expects auto, always or never, got 'blue'");
  EXPECT_EQ(parse_error({"list", "x", "--format", "yaml"}), "--format expects text or json, got 'yaml'");
  EXPECT_EQ(parse_error({"scenarios", "--junit"}), "option --junit needs a value");
}

TEST(Options, SuggestsUnknownOptions) {
  EXPECT_EQ(parse_error({"--tag", "x"}), "unknown option '--tag' (did you mean --tags?)");
  EXPECT_EQ(parse_error({"--frobnicate"}), "unknown option '--frobnicate'");
}

TEST(Options, ReadsExport) {
  Options o = parse_ok({"export", "libvirt", "scenarios/smoke", "-o", "out"});
  EXPECT_EQ(o.command, "export");
  EXPECT_EQ(o.arguments, (std::vector<std::string>{"libvirt", "scenarios/smoke"}));
  EXPECT_EQ(o.output_dir, std::filesystem::path("out"));
  EXPECT_EQ(parse_error({"validate", "x", "-o", "out"}), "option -o does not apply to validate (it is an option of export)");
}

TEST(Options, NamesAnOptionThatDoesNotApply) {
  EXPECT_EQ(parse_error({"validate", "scenarios/", "--junit", "x"}),
            "option --junit does not apply to validate (it is an option of run)");
  EXPECT_EQ(parse_error({"validate", "scenarios/", "--shard=1/2"}),
            "option --shard does not apply to validate (it is an option of run and list)");
  EXPECT_EQ(parse_error({"status", "--cache-dir", "x"}),
            "option --cache-dir does not apply to status (it is an option of run, build, up and export)");
  EXPECT_EQ(parse_error({"gc", "stray"}), "gc takes no arguments, got 'stray'");
  EXPECT_EQ(parse_error({"validate", "x", "--junit", "j", "--keep-on-failure"}),
            "option --junit does not apply to validate (it is an option of run); "
            "option --keep-on-failure does not apply to validate (it is an option of run)");
}

TEST(Options, SuggestsMistypedCommands) {
  EXPECT_EQ(parse_error({"valdate", "scenarios/"}), "unknown command 'valdate' (did you mean validate?)");
  EXPECT_EQ(parse_error({"help", "stauts"}), "no command 'stauts' (did you mean status?)");
  // Something far from every command is a path for run to look at.
  EXPECT_EQ(parse_ok({"no-such-dir"}).command, "run");
}

TEST(Help, ListsCommandsAndGlobalOptions) {
  std::string text = help_text("");
  for (const auto& spec : command_specs()) EXPECT_NE(text.find("  " + spec.name), std::string::npos) << spec.name;
  for (const char* option : {"--version", "--quiet", "--verbose", "--color", "--help"})
    EXPECT_NE(text.find(option), std::string::npos) << option;
  EXPECT_NE(text.find("Usage: meros-test [run] PATH..."), std::string::npos);
}

TEST(Help, ShowsOnlyTheOptionsOfTheCommand) {
  std::string validate = help_text("validate");
  EXPECT_NE(validate.find("Usage: meros-test validate [options] PATH..."), std::string::npos);
  EXPECT_NE(validate.find("--format"), std::string::npos);
  EXPECT_EQ(validate.find("--junit"), std::string::npos);
  std::string run = help_text("run");
  for (const char* option : {"-j", "--shard", "-k", "--tags", "--junit", "--json", "--artifacts", "--keep-on-failure",
                             "--accel", "--cache-dir", "--timeout-multiplier", "--verbose"})
    EXPECT_NE(run.find(option), std::string::npos) << option;
}

TEST(Colors, FollowTheModeAndNoColor) {
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  EXPECT_TRUE(colors_enabled(ColorMode::always, pipe_fds[1]));
  EXPECT_FALSE(colors_enabled(ColorMode::never, pipe_fds[1]));
  // A pipe (CI logs) is never a terminal.
  EXPECT_FALSE(colors_enabled(ColorMode::automatic, pipe_fds[1]));
  ::setenv("NO_COLOR", "1", 1);
  EXPECT_TRUE(colors_enabled(ColorMode::always, pipe_fds[1]));  // an explicit choice wins
  ::unsetenv("NO_COLOR");
  ::close(pipe_fds[0]);
  ::close(pipe_fds[1]);
  EXPECT_EQ(paint("FAIL", Paint::red, true), "\033[31mFAIL\033[0m");
  EXPECT_EQ(paint("FAIL", Paint::red, false), "FAIL");
}

}  // namespace
