#include "manifest/yaml_reader.h"
#include "util/text.h"

#include <algorithm>

namespace meros {
namespace {


bool is_scalar(const YAML::Node& node) { return node.IsDefined() && node.IsScalar(); }

}  // namespace

SourceMark YamlFile::mark(const YAML::Mark& m) const {
  if (m.is_null() || m.line < 0) return SourceMark{display_name_, 0, 0};
  return SourceMark{display_name_, m.line + 1, m.column + 1};
}

SourceMark YamlFile::mark(const YAML::Node& node) const { return mark(node.Mark()); }

void YamlFile::error(const YAML::Node& node, std::string message) const {
  diagnostics_.error(mark(node), std::move(message));
}

std::string describe_node(const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull()) return "nothing";
  if (node.IsMap()) return "a mapping";
  if (node.IsSequence()) return "a list";
  return quote(node.Scalar());
}

std::optional<std::string> suggest(std::string_view word, const std::vector<std::string>& candidates) {
  // Words people write for a key of another name, which no spelling
  // distance would connect.
  static const std::vector<std::pair<std::string_view, std::string_view>> synonyms = {
      {"retry", "retries"},      {"distro", "distribution"}, {"source", "src"},       {"destination", "dst"},
      {"dest", "dst"},           {"target", "dst"},          {"ip", "ip_addr"},       {"address", "ip_addr"},
      {"ip_address", "ip_addr"}, {"mem", "memory"},          {"ram", "memory"},       {"vcpus", "cpus"},
      {"interfaces", "networks"}, {"nics", "networks"},      {"command", "run"},      {"cmd", "run"},
      {"policy", "policy_type"}, {"vms", "virtual_machines"}, {"machines", "virtual_machines"},
      {"steps", "tests"},        {"exit_code", "exit"},      {"user", "ssh_user"},    {"disk", "disk_size"},
      {"url", "tarball"},        {"checksum", "sha256"},     {"protocol", "proto"},   {"ports", "allowed_ports"}};
  for (const auto& [from, to] : synonyms)
    if (word == from && std::find(candidates.begin(), candidates.end(), to) != candidates.end()) return std::string(to);
  std::optional<std::string> best;
  std::size_t best_distance = std::max<std::size_t>(2, word.size() / 3) + 1;
  for (const auto& candidate : candidates) {
    std::size_t d = edit_distance(word, candidate);
    if (d < best_distance && d < std::max(word.size(), candidate.size())) {
      best_distance = d;
      best = candidate;
    }
  }
  return best;
}

std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates) {
  auto best = suggest(word, candidates);
  return best ? " (did you mean " + quote(*best) + "?)" : "";
}

MapReader::MapReader(const YamlFile& file, const YAML::Node& node, std::string what,
                     std::vector<std::string> known_keys)
    : file_(file), node_(node), what_(std::move(what)) {
  if (!node.IsDefined() || node.IsNull()) {
    is_map_ = true;  // an empty mapping
    return;
  }
  if (!node.IsMap()) {
    file.error(node, what_ + ": expected a mapping of keys to values, got " + describe_node(node));
    return;
  }
  is_map_ = true;
  for (auto it = node.begin(); it != node.end(); ++it) {
    // Copies: it-> hands out a temporary pair, which a reference would outlive.
    YAML::Node key = it->first;
    YAML::Node value = it->second;
    if (!is_scalar(key)) {
      file.error(key, what_ + ": keys must be plain words, got " + describe_node(key));
      continue;
    }
    const std::string& name = key.Scalar();
    if (const auto* earlier = find(name)) {
      std::string where = what_.empty() ? "at the top level" : "in " + what_;
      file.error(key, "duplicate key " + quote(name) + " " + where + " (first given at line " +
                          std::to_string(file.mark(earlier->first).line) + "); each key may appear once");
      continue;
    }
    if (std::find(known_keys.begin(), known_keys.end(), name) == known_keys.end()) {
      std::string where = what_.empty() ? "at the top level" : "in " + what_;
      if (name == "<<") {
        file.error(key, "YAML merge keys ('<<') are not supported " + where + ": write the keys out");
        continue;
      }
      auto suggestion = suggest(name, known_keys);
      if (suggestion) suggested_.push_back(*suggestion);
      file.error(key, "unknown key " + quote(name) + " " + where + (suggestion ? " (did you mean " + quote(*suggestion) + "?)" : ""));
      continue;
    }
    if (value.IsNull()) null_entries_.emplace_back(key, value);
    else entries_.emplace_back(key, value);
  }
}

const std::pair<YAML::Node, YAML::Node>* MapReader::find(std::string_view key) const {
  for (const auto& entry : entries_)
    if (entry.first.Scalar() == key) return &entry;
  for (const auto& entry : null_entries_)
    if (entry.first.Scalar() == key) return &entry;
  return nullptr;
}

bool MapReader::has(std::string_view key) const {
  const auto* entry = find(key);
  return entry && !entry->second.IsNull();
}

YAML::Node MapReader::get(std::string_view key) const {
  const auto* entry = find(key);
  return entry ? entry->second : YAML::Node(YAML::NodeType::Undefined);
}

SourceMark MapReader::key_mark(std::string_view key) const {
  const auto* entry = find(key);
  return entry ? file_.mark(entry->first) : mark();
}

SourceMark MapReader::value_mark(std::string_view key) const {
  const auto* entry = find(key);
  if (!entry) return mark();
  SourceMark m = file_.mark(entry->second);
  return m.line > 0 ? m : file_.mark(entry->first);
}

std::string MapReader::field(std::string_view key) const {
  return what_.empty() ? std::string(key) : what_ + "." + std::string(key);
}

bool MapReader::misspelt(std::string_view key) const {
  return std::find(suggested_.begin(), suggested_.end(), key) != suggested_.end();
}

bool MapReader::require(std::string_view key) const {
  if (has(key)) return true;
  if (misspelt(key) && !find(key)) return false;
  std::string where = what_.empty() ? "at the top level" : "in " + what_;
  if (const auto* entry = find(key)) {
    file_.error(file_.mark(entry->first), quote(key) + " " + where + " needs a value");
    return false;
  }
  file_.error(mark(), "missing required key " + quote(key) + " " + where);
  return false;
}

std::optional<std::string> MapReader::string(std::string_view key) const {
  if (!has(key)) return std::nullopt;
  return read_string(file_, get(key), field(key));
}

std::optional<std::string> read_string(const YamlFile& file, const YAML::Node& node, std::string_view what) {
  if (!is_scalar(node)) {
    file.error(node, std::string(what) + ": expected a string, got " + describe_node(node));
    return std::nullopt;
  }
  // Every string ends up in a command line, a file name or a report,
  // where a NUL byte would cut it short.
  if (node.Scalar().find('\0') != std::string::npos) {
    file.error(node, std::string(what) + ": the string contains a NUL byte");
    return std::nullopt;
  }
  return node.Scalar();
}

std::optional<std::int64_t> read_integer(const YamlFile& file, const YAML::Node& node, std::string_view what,
                                         std::int64_t min, std::int64_t max) {
  std::string range = "an integer from " + std::to_string(min) + " to " + std::to_string(max);
  if (!is_scalar(node)) {
    file.error(node, std::string(what) + ": expected " + range + ", got " + describe_node(node));
    return std::nullopt;
  }
  const std::string& text = node.Scalar();
  std::size_t used = 0;
  long long value = 0;
  try {
    value = std::stoll(text, &used, 10);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size() || value < min || value > max) {
    file.error(node, std::string(what) + ": expected " + range + ", got " + quote(text));
    return std::nullopt;
  }
  return value;
}

std::optional<std::int64_t> MapReader::integer(std::string_view key, std::int64_t min, std::int64_t max) const {
  if (!has(key)) return std::nullopt;
  return read_integer(file_, get(key), field(key), min, max);
}

std::optional<bool> MapReader::boolean(std::string_view key) const {
  if (!has(key)) return std::nullopt;
  YAML::Node value = get(key);
  if (is_scalar(value)) {
    const std::string& s = value.Scalar();
    if (s == "true" || s == "True" || s == "yes") return true;
    if (s == "false" || s == "False" || s == "no") return false;
  }
  file_.error(value_mark(key), field(key) + ": expected true or false, got " + describe_node(value));
  return std::nullopt;
}

std::optional<Duration> MapReader::duration(std::string_view key) const {
  if (!has(key)) return std::nullopt;
  if (!is_scalar(get(key))) {
    file_.error(value_mark(key), field(key) + ": expected a duration such as 500ms, 30s or 10m, got " + describe_node(get(key)));
    return std::nullopt;
  }
  auto parsed = parse_duration(get(key).Scalar());
  if (!parsed) {
    file_.error(value_mark(key), field(key) + ": " + parsed.error().message);
    return std::nullopt;
  }
  return *parsed;
}

std::optional<std::uint64_t> MapReader::size(std::string_view key) const {
  if (!has(key)) return std::nullopt;
  if (!is_scalar(get(key))) {
    file_.error(value_mark(key), field(key) + ": expected a size such as 512M or 2G, got " + describe_node(get(key)));
    return std::nullopt;
  }
  auto parsed = parse_size(get(key).Scalar());
  if (!parsed) {
    file_.error(value_mark(key), field(key) + ": " + parsed.error().message);
    return std::nullopt;
  }
  return *parsed;
}

std::optional<std::vector<MapReader::Item>> MapReader::string_items(std::string_view key) const {
  if (!has(key)) return std::nullopt;
  YAML::Node value = get(key);
  if (!value.IsSequence()) {
    file_.error(value_mark(key), field(key) + ": expected a list of strings, got " + describe_node(value));
    return std::nullopt;
  }
  std::vector<Item> out;
  bool ok = true;
  for (const auto& item : value) {
    auto text = read_string(file_, item, field(key) + " item");
    if (text) out.push_back(Item{*text, file_.mark(item)});
    else ok = false;
  }
  if (!ok) return std::nullopt;
  return out;
}

std::optional<std::vector<std::string>> MapReader::string_list(std::string_view key) const {
  auto items = string_items(key);
  if (!items) return std::nullopt;
  std::vector<std::string> out;
  for (auto& item : *items) out.push_back(std::move(item.text));
  return out;
}

}  // namespace meros
