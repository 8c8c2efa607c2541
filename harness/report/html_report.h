// The run's HTML report (reports/<run id>/index.html): one self-contained
// file with no network access (inline CSS and SVG, no script, a CSP that
// forbids loading anything) for people who would rather look at a picture:
// the run summary, and per scenario its topology, each matrix as a from x to
// grid, the timeline of set-up and steps, and the evidence of each failure.
#pragma once

#include <string>

#include "report/result.h"

namespace meros {

std::string render_html(const RunReport& report);

}  // namespace meros
