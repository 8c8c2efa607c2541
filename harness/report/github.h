// GitHub Actions output of a run: workflow-command annotations that put
// each failure on its manifest line in the pull request, and the Markdown
// job summary. The renderers are pure; publish_to_github() is the one place
// that reads the GitHub environment.
#pragma once

#include <ostream>
#include <string>

#include "report/result.h"
#include "util/result.h"

namespace meros {

// One "::error file=F,line=L,title=T::MESSAGE" line a failed or errored
// case, values escaped as the Actions toolkit does.
std::string github_annotations(const RunReport& report);

// Markdown: the run's totals, a table of the scenarios and one of the
// failed and errored rows with their file:line and verdict.
std::string github_step_summary(const RunReport& report);

// When GITHUB_ACTIONS=true: prints the annotations to `out` and appends the
// summary to $GITHUB_STEP_SUMMARY (if set). Does nothing elsewhere.
Status publish_to_github(const RunReport& report, std::ostream& out);

}  // namespace meros
