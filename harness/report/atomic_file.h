// Publishing a file so that a reader (a CI job collecting reports, a
// dashboard, a concurrent run) sees either the old content or the new
// content in full, never a half-written file, even across a crash.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string_view>

#include "util/result.h"

namespace meros {

// Writes content to a new temporary file beside target (created with
// O_CREAT|O_EXCL|O_NOFOLLOW under a unique name, so a planted symlink or
// file is never followed or truncated; the fixture store relies on it as
// root), gives it mode, fsyncs it, renames it over target and fsyncs the
// directory. Missing parent directories are created. On any failure the
// temporary file is removed, target is left as it was, and the error names
// target and the failing step with the system's reason.
Status write_file_atomically(const std::filesystem::path& target, std::string_view content, mode_t mode = 0644);

}  // namespace meros
