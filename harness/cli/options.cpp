// CLI11 splits the command line; the values are checked here afterwards so
// that every message says what would be right (CLI11's own messages only
// say what was wrong). Options that need checking are read as text first.
#include "cli/options.h"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <charconv>
#include <iomanip>
#include <map>
#include <memory>
#include <set>
#include <sstream>

#include "cli/command_table.h"
#include "manifest/values.h"
#include "util/text.h"

namespace meros {
namespace {

// The texts as given, before they are checked and converted.
struct RawOptions {
  std::string jobs, shard, accel, timeout_multiplier, color, format, capture;
  std::vector<std::string> tags;
};

struct Parsed {
  Options options;
  RawOptions raw;
};

// ---- value checks --------------------------------------------------------

Result<int> parse_positive(const std::string& option, const std::string& text, int max) {
  int value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 1 || value > max)
    return make_error(option + " expects a whole number from 1 to " + std::to_string(max) + ", got " + quote(text));
  return value;
}

Result<Shard> parse_shard(const std::string& text) {
  auto slash = text.find('/');
  std::string bad = "--shard expects K/N with 1 <= K <= N, e.g. 1/2; got " + quote(text);
  if (slash == std::string::npos) return make_error(bad);
  auto index = parse_positive("--shard", text.substr(0, slash), 1000);
  auto count = parse_positive("--shard", text.substr(slash + 1), 1000);
  if (!index || !count || *index > *count) return make_error(bad);
  return Shard{*index, *count};
}

Result<ColorMode> parse_color(const std::string& text) {
  if (text == "auto") return ColorMode::automatic;
  if (text == "always") return ColorMode::always;
  if (text == "never") return ColorMode::never;
  return make_error("--color expects auto, always or never, got " + quote(text));
}

Result<OutputFormat> parse_format(const std::string& text) {
  if (text == "text") return OutputFormat::text;
  if (text == "json") return OutputFormat::json;
  return make_error("--format expects text or json, got " + quote(text));
}

Result<double> parse_multiplier(const std::string& text) {
  try {
    std::size_t used = 0;
    double value = std::stod(text, &used);
    if (used == text.size() && value > 0 && value <= 100) return value;
  } catch (const std::exception&) {
  }
  return make_error("--timeout-multiplier expects a number above 0 and at most 100, got " + quote(text));
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

// ---- the option definitions ------------------------------------------------

void add_global_options(CLI::App& app, Parsed& p) {
  const char* group = "Global options";
  app.add_flag("-h,--help", p.options.help, "this help")->group(group);
  app.add_flag("--version", p.options.version, "print the version")->group(group);
  app.add_flag("-q,--quiet", p.options.quiet, "only failures, errors and the summary")->group(group);
  app.add_flag("-v,--verbose", p.options.verbosity,
               "more output: -v every step with its timing, -vv also every QEMU command line, SSH and QMP "
               "exchange and nft batch")
      ->group(group);
  app.add_option("--color", p.raw.color, "auto|always|never: verdict colours (auto: on a terminal, unless NO_COLOR is set)")
      ->type_name("WHEN")
      ->group(group);
}

void add_group_options(CLI::App& app, unsigned groups, Parsed& p) {
  Options& o = p.options;
  if (groups & kSelection) {
    const char* group = "Selecting scenarios";
    app.add_option("-k", o.patterns, "scenarios or scenario::test names containing PATTERN (* ? [...] glob); repeatable")
        ->type_name("PATTERN")->allow_extra_args(false)->group(group);
    app.add_option("--tags", p.raw.tags, "scenarios tagged A or B; !A excludes scenarios tagged A; repeatable")
        ->type_name("A,B")->allow_extra_args(false)->group(group);
    app.add_option("--shard", p.raw.shard, "only the K-th of N stable shards of the selection")->type_name("K/N")->group(group);
  }
  if (groups & kRunReports) {
    const char* group = "Running and reports";
    app.add_option("-j", p.raw.jobs, "run N scenarios at once (1 to 64; each has its own namespace)")->type_name("N")->group(group);
    app.add_option("--junit", o.junit, "the JUnit XML report (default reports/<run id>/junit.xml)")->type_name("FILE")->group(group);
    app.add_option("--json", o.json, "the JSON report (default reports/<run id>/report.json)")->type_name("FILE")->group(group);
    app.add_flag("--keep-on-failure", o.keep_on_failure, "leave a failed scenario running; `meros-test down ID` releases it")
        ->group(group);
    app.add_option("--capture", p.raw.capture,
                   "off|on-failure|always: pcapng of every bridge in the artifacts, overriding each scenario's capture:")
        ->type_name("WHEN")->group(group);
  }
  if (groups & (kRunReports | kArtifacts))
    app.add_option("--artifacts", o.artifacts, "serial logs, transcripts, rulesets, pulled files (default reports/<run id>/)")
        ->type_name("DIR")->group("Running and reports");
  if (groups & kMachines) {
    const char* group = "Machines";
    app.add_option("--accel", p.raw.accel, "auto|kvm|tcg; auto boots a probe guest under KVM and falls back to TCG")
        ->type_name("MODE")->group(group);
    app.add_option("--timeout-multiplier", p.raw.timeout_multiplier, "scale every timeout (default 1 under KVM, 3 under TCG)")
        ->type_name("X")->group(group);
  }
  if (groups & kStore)
    app.add_option("--cache-dir", o.cache_dir,
                   "the fixture store (default $MEROS_TEST_CACHE, else /var/cache/meros-test for root, "
                   "else $XDG_CACHE_HOME/meros-test)")
        ->type_name("DIR")->group("Machines");
  if (groups & kBuildOnly) {
    const char* group = "Build";
    app.add_option("--kernel", o.kernels, "build only this kernel recipe; repeatable")->type_name("NAME")
        ->allow_extra_args(false)->group(group);
    app.add_option("--image", o.images, "build only this image recipe; repeatable")->type_name("NAME")
        ->allow_extra_args(false)->group(group);
    app.add_flag("--list", o.list, "show what the store holds, with sizes")->group(group);
    app.add_flag("--prune", o.prune, "remove stored fixtures no scenario under PATH references")->group(group);
    app.add_flag("--cache-key", o.cache_key, "print the CI cache key of the fixtures the scenarios under PATH name")->group(group);
  }
  if (groups & kGui)
    app.add_flag("--gui", o.gui,
                 "forward the guest application's Wayland connection to this host's compositor ($WAYLAND_DISPLAY) "
                 "with waypipe (see docs/gui.md)")
        ->group("GUI");
  if (groups & kOutputDir)
    app.add_option("-o", o.output_dir, "write the files into DIR (created when missing; default ./<scenario>-libvirt)")
        ->type_name("DIR")->group("Output");
  if (groups & kFormat)
    app.add_option("--format", p.raw.format, "text|json: json prints one JSON document on stdout")->type_name("FORMAT")
        ->group("Output");
}

// ---- help ------------------------------------------------------------------

// Usage lines and the command list from the command table.
class HelpFormatter : public CLI::Formatter {
 public:
  HelpFormatter() { column_width(34); }

  std::string make_usage(const CLI::App* app, std::string) const override {
    const CommandSpec* spec = find_command(app->get_name());
    if (!spec)
      return "Usage: meros-test [run] PATH... [options]\n  or:  meros-test COMMAND [options] [arguments]\n";
    std::string usage = "Usage: meros-test " + spec->name + " [options]";
    if (!spec->operands.empty()) usage += " " + spec->operands;
    return usage + "\n";
  }

  // Usage first, then what the command does, then its options.
  std::string make_help(const CLI::App* app, std::string name, CLI::AppFormatMode mode) const override {
    if (mode == CLI::AppFormatMode::Sub) return make_expanded(app);
    std::string text = make_usage(app, name) + "\n" + app->get_description() + "\n" + make_groups(app, mode) +
                       make_subcommands(app, mode) + "\n" + make_footer(app);
    // CLI11 ends every option group with two newlines.
    for (std::size_t at; (at = text.find("\n\n\n")) != std::string::npos;) text.erase(at, 1);
    return text;
  }

  std::string make_subcommand(const CLI::App* sub) const override {
    const CommandSpec* spec = find_command(sub->get_name());
    std::string left = sub->get_name() + (spec && !spec->operands.empty() ? " " + spec->operands : "");
    std::ostringstream out;
    out << "  " << std::left << std::setw(static_cast<int>(get_column_width())) << left;
    if (left.size() >= get_column_width()) out << "\n  " << std::string(get_column_width(), ' ');
    out << (spec ? spec->summary : sub->get_description()) << "\n";
    return out.str();
  }
};

const char* kFooter =
    "Exit codes: 0 all passed, 1 a test failed, 2 usage or validation error (nothing was started),\n"
    "3 the environment cannot run scenarios, 129/130/143 interrupted (SIGHUP/SIGINT/SIGTERM).\n"
    "See 'meros-test COMMAND --help' for a command's options.";

// The whole command line: meros-test with one subcommand a table entry.
std::unique_ptr<CLI::App> make_app(Parsed& p) {
  auto app = std::make_unique<CLI::App>("meros-test: a batch test harness for multi-VM QEMU scenarios", "meros-test");
  app->set_help_flag();
  app->formatter(std::make_shared<HelpFormatter>());
  app->require_subcommand(0, 1);
  app->footer(kFooter);
  add_global_options(*app, p);
  for (const auto& spec : command_specs()) {
    CLI::App* sub = app->add_subcommand(spec.name, spec.description);
    sub->set_help_flag();
    sub->group("Commands");
    sub->allow_extras();  // leftovers are reported below, naming the option
    add_group_options(*sub, spec.options, p);
    add_global_options(*sub, p);
    if (!spec.operands.empty()) sub->add_option("operands", p.options.arguments)->group("");
  }
  return app;
}

// ---- errors ----------------------------------------------------------------

std::string option_name(const std::string& arg) {
  auto eq = arg.find('=');
  return arg.starts_with("--") && eq != std::string::npos ? arg.substr(0, eq) : arg;
}

std::vector<std::string> names_of(const CLI::App& app) {
  std::vector<std::string> names;
  for (const CLI::Option* opt : app.get_options()) {
    for (const auto& s : opt->get_snames()) names.push_back("-" + s);
    for (const auto& l : opt->get_lnames()) names.push_back("--" + l);
  }
  return names;
}

// The candidate within two edits of word, when word is long enough for
// that to mean a typo.
std::string closest(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  std::size_t best_distance = std::min<std::size_t>(3, word.size() > 1 ? word.size() - 1 : 1);
  for (const auto& name : candidates) {
    std::size_t d = edit_distance(word, name);
    if (d < best_distance) {
      best_distance = d;
      best = name;
    }
  }
  return best;
}

// An option the command does not take: which commands do, or what it
// probably meant.
std::string unknown_option_message(const CLI::App& app, const CLI::App& sub, const std::string& arg) {
  std::string name = option_name(arg);
  std::vector<std::string> takers;
  for (const CLI::App* other : app.get_subcommands({}))
    if (auto names = names_of(*other); std::find(names.begin(), names.end(), name) != names.end()) takers.push_back(other->get_name());
  if (!takers.empty()) {
    std::string list;
    for (std::size_t i = 0; i < takers.size(); ++i) list += (i == 0 ? "" : i + 1 == takers.size() ? " and " : ", ") + takers[i];
    return "option " + name + " does not apply to " + sub.get_name() + " (it is an option of " + list + ")";
  }
  std::string guess = closest(name, names_of(sub));
  return "unknown option " + quote(arg) + (guess.empty() ? "" : " (did you mean " + guess + "?)");
}

// Every option the command did not take, in one message; a stray operand
// only when no option is wrong (it may be such an option's value).
Status check_leftovers(const CLI::App& app, const CLI::App& sub) {
  std::string options, operand;
  for (const auto& arg : sub.remaining()) {
    if (arg.size() > 1 && arg[0] == '-') options += (options.empty() ? "" : "; ") + unknown_option_message(app, sub, arg);
    else if (operand.empty()) operand = sub.get_name() + " takes no arguments, got " + quote(arg);
  }
  if (!options.empty()) return make_error(options);
  if (!operand.empty()) return make_error(operand);
  return {};
}

// CLI11's complaint, in the form of the others.
std::string parse_error_message(const CLI::ParseError& error) {
  std::string what = error.what();
  // "--junit: 1 required FILE missing"
  if (auto colon = what.find(": "); colon != std::string::npos && what.starts_with("-") && what.find("missing") != std::string::npos)
    return "option " + what.substr(0, colon) + " needs a value";
  return what;
}

// ---- finding the command ---------------------------------------------------

// Every option spelling that takes a value, so that its value is not
// mistaken for the command.
std::set<std::string> options_with_values(const CLI::App& app) {
  std::set<std::string> names;
  std::vector<const CLI::App*> apps = app.get_subcommands({});
  apps.push_back(&app);
  for (const CLI::App* a : apps)
    for (const CLI::Option* opt : a->get_options())
      if (opt->get_expected_min() > 0 && opt->nonpositional()) {
        for (const auto& s : opt->get_snames()) names.insert("-" + s);
        for (const auto& l : opt->get_lnames()) names.insert("--" + l);
      }
  return names;
}

// Index of the first operand in argv, or argv.size().
std::size_t first_operand(const std::vector<std::string>& argv, const std::set<std::string>& valued) {
  for (std::size_t i = 0; i < argv.size(); ++i) {
    const std::string& arg = argv[i];
    if (arg == "--") return argv.size();
    if (arg.size() > 1 && arg[0] == '-') {
      if (valued.count(arg)) ++i;
      continue;
    }
    return i;
  }
  return argv.size();
}

bool is_existing_path(const std::string& text) {
  std::error_code ec;
  return std::filesystem::exists(text, ec);
}

Status unknown_command_check(const std::string& word) {
  if (word.find('/') != std::string::npos || is_existing_path(word)) return {};
  std::vector<std::string> names;
  for (const auto& spec : command_specs()) names.push_back(spec.name);
  std::string guess = closest(word, names);
  if (guess.empty()) return {};
  return make_error("unknown command " + quote(word) + " (did you mean " + guess + "?)");
}

// The command and the arguments for its subcommand parser: `meros-test
// PATH...` means `run PATH...`, and options may stand before the command.
Result<std::vector<std::string>> command_first(std::vector<std::string> argv, const CLI::App& app, std::string& command) {
  std::size_t at = first_operand(argv, options_with_values(app));
  bool wants_top_help = std::any_of(argv.begin(), argv.end(), [](const std::string& a) {
    return a == "-h" || a == "--help" || a == "--version";
  });
  if (at == argv.size()) {
    command = wants_top_help ? "" : "run";
    return argv;
  }
  if (find_command(argv[at])) {
    command = argv[at];
    argv.erase(argv.begin() + static_cast<long>(at));
    return argv;
  }
  if (auto status = unknown_command_check(argv[at]); !status) return status.error();
  command = "run";
  return argv;
}

Status convert_values(const CLI::App& sub, Parsed& p) {
  Options& o = p.options;
  auto given = [&](const char* name) { return sub.get_option_no_throw(name) && sub.count(name) > 0; };
  if (given("-j")) {
    auto n = parse_positive("-j", p.raw.jobs, 64);
    if (!n) return n.error();
    o.jobs = *n;
  }
  if (given("--shard")) {
    auto s = parse_shard(p.raw.shard);
    if (!s) return s.error();
    o.shard = *s;
  }
  if (given("--capture")) {
    auto mode = parse_capture_mode(p.raw.capture);
    if (!mode) return make_error("--capture expects off, on-failure or always, got " + quote(p.raw.capture));
    o.capture = *mode;
  }
  if (given("--accel")) {
    auto a = vm::parse_accel_request(p.raw.accel);
    if (!a) return a.error();
    o.accel = *a;
  }
  if (given("--timeout-multiplier")) {
    auto m = parse_multiplier(p.raw.timeout_multiplier);
    if (!m) return m.error();
    o.timeout_multiplier = *m;
  }
  if (given("--color")) {
    auto c = parse_color(p.raw.color);
    if (!c) return c.error();
    o.color = *c;
  }
  if (given("--format")) {
    auto f = parse_format(p.raw.format);
    if (!f) return f.error();
    o.format = *f;
  }
  for (const auto& text : p.raw.tags) {
    auto tags = split_list(text);
    if (tags.empty()) return make_error("--tags expects a comma-separated list such as firewall,smoke");
    o.tags.insert(o.tags.end(), tags.begin(), tags.end());
  }
  return {};
}

// `help COMMAND` is `COMMAND --help`.
Status resolve_help_command(Options& o) {
  if (o.command != "help") return {};
  o.help = true;
  o.command = o.arguments.empty() ? "" : o.arguments.front();
  if (o.arguments.size() > 1) return make_error("help takes one command, got " + std::to_string(o.arguments.size()));
  if (o.command.empty() || find_command(o.command)) return {};
  std::vector<std::string> names;
  for (const auto& spec : command_specs()) names.push_back(spec.name);
  std::string guess = closest(o.command, names);
  return make_error("no command " + quote(o.command) + (guess.empty() ? "" : " (did you mean " + guess + "?)"));
}

}  // namespace

Result<Options> parse_options(const std::vector<std::string>& argv) {
  Parsed p;
  auto app = make_app(p);
  std::string command;
  auto args = command_first(argv, *app, command);
  if (!args) return args.error();
  if (const CommandSpec* spec = find_command(command); spec && (spec->options & kPassthrough)) {
    // Everything after -- is the guest command (exec, connect), options included.
    if (auto dashes = std::find(args->begin(), args->end(), "--"); dashes != args->end()) {
      p.options.passthrough.assign(dashes + 1, args->end());
      args->erase(dashes, args->end());
    }
  }
  if (!command.empty()) args->insert(args->begin(), command);
  std::vector<std::string> reversed(args->rbegin(), args->rend());  // CLI11 consumes from the back
  try {
    app->parse(reversed);
  } catch (const CLI::ParseError& error) {
    return make_error(parse_error_message(error));
  }
  const CLI::App* sub = command.empty() ? app.get() : app->get_subcommand(command);
  if (auto status = check_leftovers(*app, *sub); !status) return status.error();
  if (auto status = convert_values(*sub, p); !status) return status.error();
  p.options.command = command;
  if (auto status = resolve_help_command(p.options); !status) return status.error();
  return p.options;
}

std::string help_text(const std::string& command) {
  Parsed p;
  auto app = make_app(p);
  if (command.empty() || !find_command(command)) return app->help();
  return app->get_subcommand(command)->help();
}

std::vector<OptionInfo> command_options(const std::string& command) {
  static const std::map<std::string, std::vector<std::string>> choices = {
      {"--accel", {"auto", "kvm", "tcg"}}, {"--color", {"auto", "always", "never"}}, {"--format", {"text", "json"}}};
  Parsed p;
  auto app = make_app(p);
  const CLI::App* sub = command.empty() || !find_command(command) ? app.get() : app->get_subcommand(command);
  std::vector<OptionInfo> out;
  for (const CLI::Option* opt : sub->get_options()) {
    if (!opt->nonpositional()) continue;
    OptionInfo info;
    for (const auto& s : opt->get_snames()) info.names.push_back("-" + s);
    for (const auto& l : opt->get_lnames()) info.names.push_back("--" + l);
    if (opt->get_expected_min() > 0) info.value = opt->get_type_name();
    if (auto it = choices.find(info.names.back()); it != choices.end()) info.choices = it->second;
    info.help = opt->get_description();
    out.push_back(std::move(info));
  }
  return out;
}

std::string help_all_text() {
  std::string text = help_text("");
  for (const auto& spec : command_specs())
    if (spec.name != "help") text += "\n" + help_text(spec.name);
  return text;
}

}  // namespace meros
