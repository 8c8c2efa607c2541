// Parses and validates one scenario manifest into the typed model. Every
// problem is collected in Diagnostics; a scenario is returned only when
// there were none.
#pragma once

#include <optional>

#include "manifest/catalog.h"
#include "manifest/diagnostics.h"
#include "manifest/model.h"

namespace meros {

// The management links use this range; scenario subnets may not overlap it.
inline constexpr const char* kManagementRange = "100.127.0.0/16";

// Parses the scenario at file (a scenario.yml or another .yml file).
// Kernel and image names are resolved through catalog.
std::optional<Scenario> parse_scenario(const fs::path& file, FixtureCatalog& catalog, Diagnostics& diagnostics);

// The same from text, for tests and the fuzzer: dir is taken as the
// scenario's directory.
std::optional<Scenario> parse_scenario_text(std::string_view text, const fs::path& file, FixtureCatalog& catalog,
                                            Diagnostics& diagnostics);

}  // namespace meros
