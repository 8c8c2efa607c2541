#include "util/signals.h"

#include <signal.h>
#include <unistd.h>

#include <map>
#include <mutex>
#include <thread>

namespace meros {
namespace {

std::atomic<int> g_stop{0};
std::mutex g_mutex;
std::map<pid_t, GroupKind> g_groups;

void signal_groups(int signal, bool machines_too) {
  std::lock_guard<std::mutex> lock(g_mutex);
  for (const auto& [group, kind] : g_groups)
    if (machines_too || kind == GroupKind::helper) ::kill(-group, signal);
}

[[noreturn]] void take_signals(sigset_t signals) {
  for (;;) {
    int signal = 0;
    if (sigwait(&signals, &signal) != 0) continue;
    if (g_stop.load() != 0) {
      signal_groups(SIGKILL, true);
      _exit(interrupted_exit_code(g_stop.load()));
    }
    request_stop(signal);
  }
}

}  // namespace

void track_group(pid_t group, GroupKind kind) {
  std::lock_guard<std::mutex> lock(g_mutex);
  g_groups[group] = kind;
}

void untrack_group(pid_t group) {
  std::lock_guard<std::mutex> lock(g_mutex);
  g_groups.erase(group);
}

const std::atomic<int>& stop_signal() { return g_stop; }

void request_stop(int signal) {
  int none = 0;
  if (!g_stop.compare_exchange_strong(none, signal)) return;
  // Helpers stop now; QEMU is shut down properly by teardown.
  signal_groups(signal == SIGINT ? SIGINT : SIGTERM, false);
}

std::string signal_name(int signal) {
  if (signal == SIGINT) return "SIGINT";
  if (signal == SIGTERM) return "SIGTERM";
  if (signal == SIGHUP) return "SIGHUP";
  return "signal " + std::to_string(signal);
}

int interrupted_exit_code(int signal) { return 128 + signal; }

void start_signal_thread() {
  sigset_t signals;
  sigemptyset(&signals);
  for (int s : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&signals, s);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::thread(take_signals, signals).detach();
}

}  // namespace meros
