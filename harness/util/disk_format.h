// What a disk image given as input (images.<name>.use) may read besides
// itself. qemu-img follows a qcow2 backing file or external data file and
// the extents of other formats wherever they point, so a crafted image
// could copy host files into a fixture; such inputs are refused, and the
// format is decided here from the bytes, never probed by qemu-img.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "util/result.h"

namespace meros {

// "qcow2" for a self-contained qcow2 file (no backing file, no external
// data file), "raw" for anything without a known image header; an error
// naming the problem and the fix for every other format or a qcow2 that
// refers to other files.
// Messages name the file as shown_as (as the user wrote it), else path.
Result<std::string> self_contained_disk_format(const std::filesystem::path& path, std::string_view shown_as = {});

}  // namespace meros
