#include "cli/options.h"
#include "util/text.h"

#include <algorithm>
#include <charconv>
#include <functional>
#include <map>
#include <sstream>

#include "manifest/values.h"

namespace meros {
namespace {


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

// An option that takes a value: how to store it.
using ValueSetter = std::function<Status(Options&, const std::string&)>;

const std::map<std::string, ValueSetter>& value_options() {
  static const std::map<std::string, ValueSetter> table = {
      {"-j", [](Options& o, const std::string& v) -> Status {
         auto n = parse_positive("-j", v, 64);
         if (!n) return n.error();
         o.jobs = *n;
         return {};
       }},
      {"--shard", [](Options& o, const std::string& v) -> Status {
         auto s = parse_shard(v);
         if (!s) return s.error();
         o.shard = *s;
         return {};
       }},
      {"-k", [](Options& o, const std::string& v) -> Status { o.patterns.push_back(v); return {}; }},
      {"--tags", [](Options& o, const std::string& v) -> Status {
         auto tags = split_list(v);
         if (tags.empty()) return make_error("--tags expects a comma-separated list such as firewall,smoke");
         o.tags.insert(o.tags.end(), tags.begin(), tags.end());
         return {};
       }},
      {"--junit", [](Options& o, const std::string& v) -> Status { o.junit = v; return {}; }},
      {"--json", [](Options& o, const std::string& v) -> Status { o.json = v; return {}; }},
      {"--artifacts", [](Options& o, const std::string& v) -> Status { o.artifacts = v; return {}; }},
      {"--accel", [](Options& o, const std::string& v) -> Status {
         auto a = vm::parse_accel_request(v);
         if (!a) return a.error();
         o.accel = *a;
         return {};
       }},
      {"--cache-dir", [](Options& o, const std::string& v) -> Status { o.cache_dir = v; return {}; }},
      {"--timeout-multiplier", [](Options& o, const std::string& v) -> Status {
         auto m = parse_multiplier(v);
         if (!m) return m.error();
         o.timeout_multiplier = *m;
         return {};
       }},
      {"--kernel", [](Options& o, const std::string& v) -> Status { o.kernels.push_back(v); return {}; }},
      {"--image", [](Options& o, const std::string& v) -> Status { o.images.push_back(v); return {}; }},
  };
  return table;
}

// Flags without a value; false when arg is none of them.
bool apply_flag(Options& o, const std::string& arg) {
  if (arg == "-h" || arg == "--help") o.help = true;
  else if (arg == "--version") o.version = true;
  else if (arg == "--keep-on-failure") o.keep_on_failure = true;
  else if (arg == "-v" || arg == "--verbose") ++o.verbosity;
  else if (arg == "-vv") o.verbosity += 2;
  else if (arg == "--list") o.list = true;
  else if (arg == "--prune") o.prune = true;
  else if (arg == "--cache-key") o.cache_key = true;
  else return false;
  return true;
}

std::vector<std::string> known_option_names() {
  std::vector<std::string> names = {"--help", "--version", "--keep-on-failure", "--verbose", "--list", "--prune", "--cache-key"};
  for (const auto& [name, _] : value_options()) names.push_back(name);
  return names;
}

std::string option_suggestion(const std::string& arg) {
  std::string best;
  std::size_t best_distance = 3;
  for (const auto& name : known_option_names()) {
    std::size_t d = edit_distance(arg, name);
    if (d < best_distance) {
      best_distance = d;
      best = name;
    }
  }
  return best.empty() ? "" : " (did you mean " + best + "?)";
}

}  // namespace

const std::vector<std::string>& subcommands() {
  static const std::vector<std::string> names = {"run", "validate", "list", "build", "up", "down", "status",
                                                 "connect", "exec", "push", "pull", "gc", "schema", "init", "help"};
  return names;
}

Result<Options> parse_options(const std::vector<std::string>& argv) {
  Options options;
  bool command_seen = false;
  for (std::size_t i = 0; i < argv.size(); ++i) {
    const std::string& arg = argv[i];
    if (arg == "--") {
      options.passthrough.assign(argv.begin() + static_cast<long>(i) + 1, argv.end());
      break;
    }
    if (arg.size() > 1 && arg[0] == '-') {
      std::string name = arg, value;
      bool has_inline_value = false;
      if (auto eq = arg.find('='); eq != std::string::npos && arg.starts_with("--")) {
        name = arg.substr(0, eq);
        value = arg.substr(eq + 1);
        has_inline_value = true;
      } else if (arg.starts_with("-j") && arg.size() > 2) {
        name = "-j";
        value = arg.substr(2);
        has_inline_value = true;
      }
      if (!has_inline_value && apply_flag(options, arg)) continue;
      auto setter = value_options().find(name);
      if (setter == value_options().end()) return make_error("unknown option " + quote(arg) + option_suggestion(name));
      if (!has_inline_value) {
        if (i + 1 >= argv.size()) return make_error("option " + name + " needs a value");
        value = argv[++i];
      }
      if (auto status = setter->second(options, value); !status) return status.error();
      continue;
    }
    if (!command_seen && options.arguments.empty()) {
      command_seen = true;
      const auto& names = subcommands();
      if (std::find(names.begin(), names.end(), arg) != names.end()) {
        options.command = arg;
        continue;
      }
    }
    options.arguments.push_back(arg);
  }
  if (options.command == "help") {
    options.help = true;
    options.command = options.arguments.empty() ? "" : options.arguments.front();
  }
  return options;
}

}  // namespace meros
