// Which scenarios and tests a run covers: --tags, -k and --shard, applied
// in that order so that CI shards with the same filters split the same set.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "manifest/model.h"

namespace meros {

// --shard K/N: the K-th of N equal parts of the selection.
struct Shard {
  int index = 1;  // 1-based
  int count = 1;
};

// The filters a user gave.
struct Selection {
  std::vector<std::string> patterns;  // -k
  std::vector<std::string> tags;      // --tags; "!tag" excludes
  std::optional<Shard> shard;
};

struct SelectedScenario {
  Scenario scenario;
  std::vector<bool> run_test;  // one per scenario.tests entry
};

bool matches_pattern(const std::string& text, const std::string& pattern);
bool matches_tags(const Scenario& scenario, const std::vector<std::string>& tags);

// Applies the filters; scenarios keep their (path) order.
std::vector<SelectedScenario> select_scenarios(std::vector<Scenario> scenarios, const Selection& selection);

}  // namespace meros
