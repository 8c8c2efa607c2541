// How a run stops on SIGINT, SIGTERM and SIGHUP. One thread takes the
// signals (blocked everywhere else): the first asks the run to stop
// (stop_signal(), read by every long wait: steps, builds, the scenario
// loop) and passes the signal on to the process group of every running
// helper (make, debootstrap, hooks), so those end at once and teardown can
// start; the second SIGKILLs every tracked group, QEMU included, and exits
// with 128 + signal.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <string>

namespace meros {

enum class GroupKind { helper, machine };

// The process groups of the children running now (each child leads its
// own group, so group id = its pid).
void track_group(pid_t group, GroupKind kind);
void untrack_group(pid_t group);

// The signal that asked the run to stop; 0 while none did.
const std::atomic<int>& stop_signal();

// For a stop without a signal (tests): what the first signal does.
void request_stop(int signal);

// "SIGINT", "SIGTERM", "SIGHUP", else "signal N".
std::string signal_name(int signal);

// The exit code of a run stopped by signal: 128 + signal (130, 143, 129).
int interrupted_exit_code(int signal);

// Blocks the three signals in the calling thread (call before any other
// thread exists: they inherit the mask) and starts the signal thread.
void start_signal_thread();

}  // namespace meros
