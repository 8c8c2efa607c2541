// Parsing of an image recipe's `applications:` (spec v1.1 "Static
// applications"): where each one's source is, the argv that builds it, the
// file it makes and where that goes in the image.
#pragma once

#include "manifest/model.h"
#include "manifest/recipes.h"

namespace meros {

// Reads images.<name>.applications into image.applications (name order).
// Errors go to the recipe's file; image.kind must already be known.
void read_applications(const RecipeSource& source, const MapReader& image_map, ImageRecipe& image);

// True when a file name ends like a tar archive tar(1) unpacks by itself:
// .tar, .tar.gz, .tgz, .tar.xz, .txz, .tar.bz2, .tbz2, .tar.zst.
bool is_tarball_name(std::string_view name);

}  // namespace meros
