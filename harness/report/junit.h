// JUnit XML output: the report CI dashboards (GitLab, Jenkins, GitHub test
// report actions) read. The dialect is the one of the Jenkins xUnit plugin's
// junit-10.xsd; docs/reports.md says what goes where.
#pragma once

#include <string>

#include "report/result.h"

namespace meros {

// Renders the whole run as one <testsuites> document (UTF-8, XML 1.0).
// Pure: the output depends only on the report, so it can be golden-tested.
std::string render_junit(const RunReport& report);

}  // namespace meros
