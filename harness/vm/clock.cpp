#include "vm/clock.h"

#include <thread>

namespace meros::vm {

void SteadyClock::sleep_for(Duration d) { std::this_thread::sleep_for(d); }

Clock& steady_clock() {
  static SteadyClock clock;
  return clock;
}

}  // namespace meros::vm
