// Which scenarios and tests a run covers: --tags, -k and --shard, applied
// in that order so that CI shards with the same filters split the same set.
#pragma once

#include <string>
#include <vector>

#include "cli/options.h"
#include "manifest/model.h"

namespace meros {

struct SelectedScenario {
  Scenario scenario;
  std::vector<bool> run_test;  // one per scenario.tests entry
};

bool matches_pattern(const std::string& text, const std::string& pattern);
bool matches_tags(const Scenario& scenario, const std::vector<std::string>& tags);

// Applies the filters; scenarios keep their (path) order.
std::vector<SelectedScenario> select_scenarios(std::vector<Scenario> scenarios, const Options& options);

}  // namespace meros
