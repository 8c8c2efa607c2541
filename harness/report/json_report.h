// JSON output: the whole result model for tools that want more than JUnit
// carries (attempts, flaky, expected/observed, extra data such as nft
// counters). The layout is described in docs/reports.md.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "report/result.h"

namespace meros {

// Version of the JSON layout; bumped when a field changes meaning or goes away.
inline constexpr int kJsonReportVersion = 1;

nlohmann::json to_json(const RunReport& report);

// The document as text: 2-space indent, a trailing newline, malformed
// UTF-8 in captured output replaced by U+FFFD.
std::string render_json(const RunReport& report);

}  // namespace meros
