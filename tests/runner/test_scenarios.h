// Scenarios for the plan and step-engine tests, parsed from YAML text by
// the real parser, and plans made from them without starting anything.
#pragma once

#include <memory>
#include <string>

#include "plan/plan.h"

namespace meros::test {

// Parses a scenario.yml given as text (written to a temp directory with
// the files it names); fails the test on diagnostics.
Scenario parse_text(const std::string& yaml);

// Made-up resolved fixtures for every kernel and image the scenario uses.
ScenarioFixtures fake_fixtures(const Scenario& scenario);

RunSettings test_settings();

// The plan of a scenario with every test selected.
// Held by pointer: the plan points into the scenario.
struct Planned {
  SelectedScenario selected;
  Plan plan;
};
std::unique_ptr<Planned> plan_text(const std::string& yaml);

}  // namespace meros::test
