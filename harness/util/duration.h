// The one duration type of the harness: milliseconds, as manifests,
// timeouts and clocks use them.
#pragma once

#include <chrono>

namespace meros {

using Duration = std::chrono::milliseconds;

}  // namespace meros
