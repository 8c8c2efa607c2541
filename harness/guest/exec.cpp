#include "guest/exec.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <ctime>

namespace meros::guest {

namespace {

constexpr int kKilled = 128 + SIGKILL;
constexpr int kNotStarted = 127;

int exit_code_of(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return kNotStarted;
}

[[noreturn]] void become(const std::vector<std::string>& argv, const sigset_t& original_mask) {
  ::setpgid(0, 0);
  ::sigprocmask(SIG_SETMASK, &original_mask, nullptr);
  std::vector<char*> args;
  for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  ::execvp(args[0], args.data());
  std::fprintf(stderr, "meros-guest exec: cannot run %s: %s\n", args[0], std::strerror(errno));
  _exit(kNotStarted);
}

timespec to_timespec(std::chrono::nanoseconds left) {
  auto seconds = std::chrono::duration_cast<std::chrono::seconds>(left);
  return {static_cast<time_t>(seconds.count()), static_cast<long>((left - seconds).count())};
}

}  // namespace

std::optional<std::chrono::milliseconds> parse_exec_timeout(std::string_view text) {
  long long scale = 1;
  if (text.ends_with("ms")) text.remove_suffix(2);
  else if (text.ends_with("s")) text.remove_suffix(1), scale = 1000;
  long long value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  constexpr long long kMaxMs = 30LL * 24 * 3600 * 1000;
  if (text.empty() || error != std::errc() || end != text.data() + text.size() || value <= 0 || value > kMaxMs / scale)
    return std::nullopt;
  return std::chrono::milliseconds(value * scale);
}

int exec_with_timeout(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
  if (argv.empty()) return kNotStarted;
  sigset_t chld, original;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  ::sigprocmask(SIG_BLOCK, &chld, &original);  // SIGCHLD is waited for, never lost
  pid_t child = ::fork();
  if (child < 0) return kNotStarted;
  if (child == 0) become(argv, original);
  ::setpgid(child, child);  // also here: whichever runs first, the group exists before any kill
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    if (::waitpid(child, &status, WNOHANG) == child) return exit_code_of(status);
    auto left = deadline - std::chrono::steady_clock::now();
    if (left <= std::chrono::nanoseconds::zero()) break;
    timespec wait = to_timespec(left);
    ::sigtimedwait(&chld, nullptr, &wait);
  }
  ::kill(-child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  std::fprintf(stderr, "meros-guest exec: killed after %lld ms\n", static_cast<long long>(timeout.count()));
  return kKilled;
}

}  // namespace meros::guest
