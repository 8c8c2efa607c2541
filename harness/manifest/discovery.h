// Finds the scenarios named on the command line: a directory holding
// scenario.yml is one scenario; a directory without one is searched
// recursively; a .yml file named explicitly is one scenario. The result is
// in path order, without duplicates.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "util/result.h"

namespace meros {

Result<std::vector<std::filesystem::path>> discover_scenarios(const std::vector<std::string>& arguments);

}  // namespace meros
