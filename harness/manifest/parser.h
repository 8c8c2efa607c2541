// Parses and validates one scenario manifest into the typed model. Every
// problem is collected in Diagnostics; a scenario is returned only when
// there were none.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "manifest/catalog.h"
#include "manifest/diagnostics.h"
#include "manifest/model.h"

namespace meros {

// The management links use this range; scenario subnets may not overlap it.
inline constexpr const char* kManagementRange = "100.127.0.0/16";

// The keys each section of a manifest accepts, keyed by section: "top",
// "kernels.<name>", "images.<name>", "bridges.<name>",
// "virtual_machines.<name>", "networks[]", "host", "tests[]", "expect",
// "reach", "push", "pull", "link". The parser checks keys against this
// table; docs/manifest.md documents every one of them.
const std::map<std::string, std::vector<std::string>>& manifest_key_table();
// One section of that table; a FatalError for a section that does not exist.
const std::vector<std::string>& manifest_keys(const std::string& section);

// Parses the scenario at file (a scenario.yml or another .yml file).
// Kernel and image names are resolved through catalog.
std::optional<Scenario> parse_scenario(const fs::path& file, FixtureCatalog& catalog, Diagnostics& diagnostics);

// The same from text, for tests and the fuzzer: dir is taken as the
// scenario's directory.
std::optional<Scenario> parse_scenario_text(std::string_view text, const fs::path& file, FixtureCatalog& catalog,
                                            Diagnostics& diagnostics);

// The scenarios of one run share the artifacts and work roots and name
// their namespaces after themselves, so two with one name are an error at
// the later one, naming both files. Every scenario of such a name is
// dropped from scenarios.
void reject_duplicate_names(std::vector<Scenario>& scenarios, Diagnostics& diagnostics);

}  // namespace meros
