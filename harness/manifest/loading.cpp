#include "manifest/loading.h"

#include "manifest/catalog.h"
#include "manifest/discovery.h"
#include "manifest/parser.h"

namespace meros {

std::vector<Scenario> load_scenarios(const std::vector<std::string>& paths, Diagnostics& diagnostics) {
  std::vector<Scenario> scenarios;
  auto files = discover_scenarios(paths);
  if (!files) {
    diagnostics.error(SourceMark{}, files.error().message);
    return scenarios;
  }
  FixtureCatalog catalog(builtin_fixtures_dir());
  for (const auto& file : *files)
    if (auto scenario = parse_scenario(file, catalog, diagnostics)) scenarios.push_back(std::move(*scenario));
  reject_duplicate_names(scenarios, diagnostics);
  return scenarios;
}

}  // namespace meros
