// Joins of names that come from users, manifests, fixture manifests or
// guests onto host paths. A name is joined only when the result stays
// under its parent: as root, one "/" or ".." in a scenario name would
// otherwise turn a teardown's remove_all into the removal of the host's
// files.
#pragma once

#include <filesystem>
#include <string_view>

#include "util/result.h"

namespace meros {

// True when name is one plain path component: not empty, not "." or "..",
// without '/' or NUL.
bool is_plain_name(std::string_view name);

// parent / name, when name is a plain component; else an error that says
// what the name was used for (what: "scenario name", "artifact").
Result<std::filesystem::path> child_path(const std::filesystem::path& parent, std::string_view name, std::string_view what);

// parent / relative, when relative is a relative path whose normal form
// stays inside parent (no "..", no absolute path, no NUL); "" and "." are
// parent itself.
Result<std::filesystem::path> path_beneath(const std::filesystem::path& parent, const std::filesystem::path& relative,
                                           std::string_view what);

// child_path for names the harness validated before: a failure is a bug,
// thrown as FatalError. Only for use before any host resource exists.
std::filesystem::path checked_child_path(const std::filesystem::path& parent, std::string_view name, std::string_view what);

}  // namespace meros
