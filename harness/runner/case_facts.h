// What the report needs to know about a scenario beyond verdicts: where
// each case comes from in the manifest, which files back a failure, and the
// scenario's network as the HTML report draws it. Pure functions of the
// manifest model, so the runner only calls them.
#pragma once

#include <filesystem>
#include <vector>

#include "manifest/model.h"
#include "report/result.h"

namespace meros {

// Bridges with their policies and every VM's address on each, in manifest
// order; management links are left out.
Topology describe_topology(const Scenario& scenario);

// Kind, step name, manifest line (a matrix row's own line) and start time
// for the cases one step produced, in the order the step's rows are.
void add_step_facts(std::vector<CaseResult>& cases, const TestStep& step, double started);

// The VMs a step touches: its own VM, or both ends of each check.
std::vector<std::string> step_vms(const TestStep& step);

// A failed or errored case gets the console logs (and command transcripts)
// of the VMs it involves as attachments, for GitLab and Jenkins; only files
// that exist under scenario_artifacts (the scenario's artifacts directory,
// named `scenario` below the run's) are attached.
void attach_evidence(CaseResult& c, const std::vector<std::string>& vms, const std::filesystem::path& scenario_artifacts,
                     const std::string& scenario);

}  // namespace meros
