// A whole file's bytes, for the places that need all of one small file
// (a GRUB image, an include file copied into an export).
#pragma once

#include <filesystem>
#include <string>

#include "util/result.h"

namespace meros {

// Error: "cannot read PATH" when it cannot be opened.
Result<std::string> read_whole_file(const std::filesystem::path& path);

}  // namespace meros
