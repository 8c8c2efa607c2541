// Where meros-test's pieces are. Everything is found relative to the
// running binary, so an installed copy (PREFIX/bin/meros-test with
// PREFIX/libexec/meros-test/ and PREFIX/share/meros-test/) works from any
// directory and any prefix, and a build tree works as it is.
#pragma once

#include <filesystem>
#include <optional>

namespace meros {

namespace fs = std::filesystem;

// PREFIX when the running binary is PREFIX/bin/X and PREFIX/share/meros-test
// exists; nothing in a build tree.
std::optional<fs::path> installed_prefix();

// The helpers run beside meros-test (meros-guest): PREFIX/libexec/meros-test
// when installed, else the running binary's directory.
fs::path libexec_dir();

// Read-only data (the built-in fixtures): PREFIX/share/meros-test when
// installed, else `fallback` (the source tree, fixed at build time).
fs::path data_dir(const fs::path& fallback);

// The fixture store when --cache-dir does not say: $MEROS_TEST_CACHE, else
// /var/cache/meros-test for root, else $XDG_CACHE_HOME/meros-test (or
// ~/.cache/meros-test). The tests find the store through this too.
fs::path default_store_dir();

}  // namespace meros
