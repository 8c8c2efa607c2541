#include "plan/settings.h"

namespace meros {

Duration Timeouts::scaled(Duration d) const {
  return Duration(static_cast<long long>(static_cast<double>(d.count()) * multiplier));
}

}  // namespace meros
