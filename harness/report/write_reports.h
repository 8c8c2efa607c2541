// The last stage of a run: render the report in every format the user
// asked for and publish each file atomically.
#pragma once

#include <filesystem>
#include <optional>

#include "report/result.h"
#include "util/result.h"

namespace meros {

// Writes the JUnit XML to junit_path, the JSON to json_path and the HTML
// report to html_path, each when given. All are attempted even if one
// fails; the error then lists every file that could not be written.
Status write_reports(const RunReport& report,
                     const std::optional<std::filesystem::path>& junit_path,
                     const std::optional<std::filesystem::path>& json_path,
                     const std::optional<std::filesystem::path>& html_path = std::nullopt);

}  // namespace meros
