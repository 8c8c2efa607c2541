#include "runner/selection.h"

#include <fnmatch.h>

#include <algorithm>

namespace meros {

bool matches_pattern(const std::string& text, const std::string& pattern) {
  if (pattern.find_first_of("*?[") != std::string::npos)
    return fnmatch(pattern.c_str(), text.c_str(), 0) == 0;
  return text.find(pattern) != std::string::npos;
}

bool matches_tags(const Scenario& scenario, const std::vector<std::string>& tags) {
  bool any_wanted = false, wanted = false;
  for (const auto& tag : tags) {
    bool has = [&](const std::string& t) {
      return std::find(scenario.tags.begin(), scenario.tags.end(), t) != scenario.tags.end();
    }(tag.starts_with("!") ? tag.substr(1) : tag);
    if (tag.starts_with("!")) {
      if (has) return false;
    } else {
      any_wanted = true;
      wanted |= has;
    }
  }
  return !any_wanted || wanted;
}

namespace {

// The tests -k selects: all when the scenario's name matches a pattern,
// else those whose "scenario::test" name does.
std::vector<bool> tests_selected(const Scenario& scenario, const std::vector<std::string>& patterns) {
  std::vector<bool> run(scenario.tests.size(), patterns.empty());
  if (patterns.empty()) return run;
  for (const auto& pattern : patterns) {
    if (matches_pattern(scenario.name, pattern)) return std::vector<bool>(scenario.tests.size(), true);
    for (std::size_t i = 0; i < scenario.tests.size(); ++i)
      if (matches_pattern(scenario.name + "::" + scenario.tests[i].name, pattern)) run[i] = true;
  }
  return run;
}

}  // namespace

std::vector<SelectedScenario> select_scenarios(std::vector<Scenario> scenarios, const Selection& selection) {
  std::vector<SelectedScenario> selected;
  for (auto& scenario : scenarios) {
    if (!matches_tags(scenario, selection.tags)) continue;
    std::vector<bool> run = tests_selected(scenario, selection.patterns);
    bool any = std::find(run.begin(), run.end(), true) != run.end();
    bool name_matches = selection.patterns.empty() ||
                        std::any_of(selection.patterns.begin(), selection.patterns.end(),
                                    [&](const std::string& p) { return matches_pattern(scenario.name, p); });
    if (!any && !name_matches) continue;
    selected.push_back({std::move(scenario), std::move(run)});
  }
  if (!selection.shard) return selected;
  std::vector<SelectedScenario> shard;
  for (std::size_t i = 0; i < selected.size(); ++i)
    if (static_cast<int>(i % selection.shard->count) == selection.shard->index - 1) shard.push_back(std::move(selected[i]));
  return shard;
}

}  // namespace meros
