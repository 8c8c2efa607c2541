// Typed reading of yaml-cpp nodes with errors that point at the node:
// wrong types, unknown keys (with a suggestion), duplicate keys. Readers
// report into Diagnostics and return nullopt on failure, so parsing goes on
// and every error of a file is found in one pass.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "manifest/diagnostics.h"
#include "manifest/values.h"

namespace meros {

// The file being read: its name for messages and where errors go.
class YamlFile {
 public:
  YamlFile(std::string display_name, Diagnostics& diagnostics)
      : display_name_(std::move(display_name)), diagnostics_(diagnostics) {}

  SourceMark mark(const YAML::Node& node) const;
  SourceMark mark(const YAML::Mark& mark) const;
  void error(const YAML::Node& node, std::string message) const;
  void error(const SourceMark& mark, std::string message) const { diagnostics_.error(mark, std::move(message)); }
  const std::string& display_name() const { return display_name_; }
  Diagnostics& diagnostics() const { return diagnostics_; }

 private:
  std::string display_name_;
  Diagnostics& diagnostics_;
};

// "a mapping", "a list", "a string", "empty".
std::string describe_node(const YAML::Node& node);

// Closest candidate within a small edit distance, for "did you mean".
std::optional<std::string> suggest(std::string_view word, const std::vector<std::string>& candidates);
// " (did you mean 'x'?)" or "".
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);

// One mapping of a manifest: checks its keys against the known ones and
// hands out values. A node that is not a mapping is reported once.
class MapReader {
 public:
  MapReader(const YamlFile& file, const YAML::Node& node, std::string what, std::vector<std::string> known_keys);

  bool is_map() const { return is_map_; }
  // True when key is given with a value that is not null.
  bool has(std::string_view key) const;
  // True when key is written at all, even as "key:" with no value.
  bool given(std::string_view key) const { return find(key) != nullptr; }
  // The value of key, or an undefined node. A key whose value is null
  // ("mac: null", "mac:") counts as absent, so the default applies.
  YAML::Node get(std::string_view key) const;
  SourceMark key_mark(std::string_view key) const;
  // The mark of the value, falling back to its key when the value has none.
  SourceMark value_mark(std::string_view key) const;
  SourceMark mark() const { return file_.mark(node_); }
  const std::string& what() const { return what_; }

  std::optional<std::string> string(std::string_view key) const;
  std::optional<std::int64_t> integer(std::string_view key, std::int64_t min, std::int64_t max) const;
  std::optional<bool> boolean(std::string_view key) const;
  std::optional<Duration> duration(std::string_view key) const;
  std::optional<std::uint64_t> size(std::string_view key) const;
  std::optional<std::vector<std::string>> string_list(std::string_view key) const;
  // The same with where each item was written, for errors about one item.
  struct Item {
    std::string text;
    SourceMark mark;
  };
  std::optional<std::vector<Item>> string_items(std::string_view key) const;
  // Reports that key is required when it is missing, unless an unknown key
  // was already reported with key as its suggestion.
  bool require(std::string_view key) const;
  // True when an unknown key was reported with key as its suggestion
  // ("form" for "from"): errors about key missing would repeat it.
  bool misspelt(std::string_view key) const;

  const YamlFile& file() const { return file_; }
  // Keys in document order (first occurrence only).
  const std::vector<std::pair<YAML::Node, YAML::Node>>& entries() const { return entries_; }

 private:
  const std::pair<YAML::Node, YAML::Node>* find(std::string_view key) const;
  std::string field(std::string_view key) const;

  const YamlFile& file_;
  YAML::Node node_;
  std::string what_;
  bool is_map_ = false;
  std::vector<std::pair<YAML::Node, YAML::Node>> entries_;
  std::vector<std::pair<YAML::Node, YAML::Node>> null_entries_;  // "key:" or "key: null" = not given
  std::vector<std::string> suggested_;  // suggestions made for unknown keys
};

// Free readers for nodes that are not under a MapReader (list items).
std::optional<std::string> read_string(const YamlFile& file, const YAML::Node& node, std::string_view what);
std::optional<std::int64_t> read_integer(const YamlFile& file, const YAML::Node& node, std::string_view what,
                                         std::int64_t min, std::int64_t max);

}  // namespace meros
