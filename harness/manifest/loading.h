// The manifest stage's entry point: discovers the scenario files under the
// paths a user gave and parses each against the built-in fixtures.
#pragma once

#include <string>
#include <vector>

#include "manifest/diagnostics.h"
#include "manifest/model.h"

namespace meros {

// Discovers and parses every scenario under paths. Problems go to
// diagnostics; the scenarios parsed without error are returned.
std::vector<Scenario> load_scenarios(const std::vector<std::string>& paths, Diagnostics& diagnostics);

}  // namespace meros
