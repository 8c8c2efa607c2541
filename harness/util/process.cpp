#include "util/process.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <boost/process.hpp>
#include <boost/process/extend.hpp>
#include <algorithm>
#include <cstdlib>
#include <fstream>

#include "util/child_cgroup.h"
#include "util/child_setup.h"
#include "util/signals.h"

namespace meros {
namespace bp = boost::process;
namespace fs = std::filesystem;

namespace {

bp::environment make_environment(const ProcessSpec& spec) {
  bp::environment env = spec.clean_environment ? bp::environment() : bp::environment(boost::this_process::environment());
  if (spec.clean_environment) env.clear();
  for (const auto& [key, value] : spec.environment) env[key] = value;
  return env;
}

// Collects child output: line callback, log file, and a capped tail.
class OutputSink {
 public:
  explicit OutputSink(const ProcessSpec& spec) : spec_(spec) {
    if (spec.log_file) log_.open(*spec.log_file, std::ios::app);
  }
  void add(std::string_view data) {
    if (log_) log_.write(data.data(), static_cast<std::streamsize>(data.size())).flush();
    output_.append(data);
    if (output_.size() > 2 * spec_.keep_output_bytes) output_.erase(0, output_.size() - spec_.keep_output_bytes);
    if (!spec_.on_line) return;
    pending_.append(data);
    for (std::size_t nl; (nl = pending_.find('\n')) != std::string::npos; pending_.erase(0, nl + 1))
      spec_.on_line(std::string_view(pending_).substr(0, nl));
  }
  std::string finish() {
    if (spec_.on_line && !pending_.empty()) spec_.on_line(pending_);
    if (output_.size() > spec_.keep_output_bytes) output_.erase(0, output_.size() - spec_.keep_output_bytes);
    return std::move(output_);
  }

 private:
  const ProcessSpec& spec_;
  std::ofstream log_;
  std::string output_, pending_;
};

// Reads fd until EOF or the deadline; false when the deadline passed.
// Once the child has exited, stop_stragglers() kills what it left holding
// the pipe (a background process, a daemon), so EOF comes.
bool pump_output(int fd, OutputSink& sink, std::optional<std::chrono::steady_clock::time_point> deadline,
                 const std::function<bool()>& child_running, const std::function<void()>& stop_stragglers) {
  char buffer[65536];
  bool stragglers_stopped = false;
  while (true) {
    int wait_ms = 200;
    if (deadline) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      wait_ms = static_cast<int>(std::min<long long>(left.count(), wait_ms));
    }
    if (!stragglers_stopped && !child_running()) {
      stop_stragglers();
      stragglers_stopped = true;
    }
    pollfd pfd{fd, POLLIN, 0};
    int ready = poll(&pfd, 1, wait_ms);
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0) continue;
    ssize_t n = read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return true;
    sink.add(std::string_view(buffer, static_cast<std::size_t>(n)));
  }
}

}  // namespace

Result<ProcessResult> SystemProcessRunner::run(const ProcessSpec& spec) {
  auto resolved = resolve_program(spec.argv);
  if (!resolved) return resolved.error();
  fs::path program = *resolved;
  std::vector<std::string> args(spec.argv.begin() + 1, spec.argv.end());
  bp::pipe out;
  bp::opstream in;
  std::error_code ec;
  fs::path cwd = spec.cwd.value_or(fs::current_path());
  // Hooks and debootstrap may leave daemons or setsid'd processes behind:
  // a cgroup of the child's own catches what its process group does not.
  auto cgroup = ChildCgroup::create();
  ChildSetup setup;
  setup.cgroup_procs_fd = cgroup ? cgroup->procs_fd() : -1;
  bp::child child(bp::exe = program.string(), bp::args = args, bp::env = make_environment(spec),
                  bp::start_dir = cwd.string(), (bp::std_out & bp::std_err) > out, bp::std_in < in,
                  setup, ec);
  if (ec) return make_error(describe_command(spec.argv) + ": cannot start: " + ec.message());
  pid_t group = child.id();
  track_group(group, GroupKind::helper);
  // A stop request that came before the group was tracked reaches it here.
  if (int signal = stop_signal().load(); signal && !spec.runs_after_stop) ::kill(-group, signal == SIGINT ? SIGINT : SIGTERM);
  if (!spec.stdin_data.empty()) in << spec.stdin_data;
  in.flush();
  in.pipe().close();
  ::close(out.native_sink());
  out.assign_sink(-1);
  OutputSink sink(spec);
  std::optional<std::chrono::steady_clock::time_point> deadline;
  if (spec.timeout.count() > 0) deadline = std::chrono::steady_clock::now() + spec.timeout;
  ProcessResult result;
  // What the program left in its group or its cgroup goes with it.
  auto kill_all = [&] {
    ::kill(-group, SIGKILL);
    if (cgroup) cgroup->kill_all();
  };
  auto running = [&] {
    std::error_code ignored;
    return child.running(ignored);
  };
  if (!pump_output(out.native_source(), sink, deadline, running, kill_all)) {
    result.timed_out = true;
    kill_all();
  }
  child.wait(ec);
  int native = child.native_exit_code();
  result.exit_code = WIFSIGNALED(native) ? 128 + WTERMSIG(native) : WEXITSTATUS(native);
  result.output = sink.finish();
  kill_all();
  untrack_group(group);
  return result;
}

std::string describe_command(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& arg : argv) {
    if (!out.empty()) out += ' ';
    bool plain = !arg.empty() && arg.find_first_of(" \t\n'\"\\$`*?[]{}()<>|&;#~") == std::string::npos;
    if (plain) {
      out += arg;
      continue;
    }
    out += '\'';
    for (char c : arg) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    out += '\'';
  }
  return out;
}

std::string tail_lines(std::string_view text, std::size_t lines) {
  if (text.ends_with('\n')) text.remove_suffix(1);
  std::size_t pos = text.size();
  for (std::size_t n = 0; n < lines && pos > 0; ++n) {
    pos = text.rfind('\n', pos - 1);
    if (pos == std::string_view::npos) return std::string(text);
  }
  return std::string(pos == 0 && text.size() && text[0] != '\n' ? text : text.substr(pos + (pos < text.size() ? 1 : 0)));
}

Result<fs::path> resolve_program(const std::vector<std::string>& argv) {
  if (argv.empty()) return make_error("no program given");
  fs::path program = argv[0];
  if (program.filename() != program) return program;
  auto found = find_program(argv[0]);
  if (!found) return make_error(argv[0] + ": program not found on PATH");
  return *found;
}

std::vector<int> open_descriptors() {
  std::vector<int> fds;
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return fds;
  // Without the listing's own descriptor: its number is free again after.
  int own = ::dirfd(dir);
  while (const dirent* entry = ::readdir(dir)) {
    std::string_view name = entry->d_name;
    if (name.empty() || name.find_first_not_of("0123456789") != std::string_view::npos) continue;
    int fd = std::stoi(std::string(name));
    if (fd != own) fds.push_back(fd);
  }
  ::closedir(dir);
  std::sort(fds.begin(), fds.end());
  return fds;
}

void mark_new_descriptors_cloexec(const std::vector<int>& before) {
  // A descriptor another thread opened meanwhile may be marked too; that is
  // harmless: children get what they are given by dup2, never by inheritance.
  for (int fd : open_descriptors())
    if (!std::binary_search(before.begin(), before.end(), fd)) ::fcntl(fd, F_SETFD, ::fcntl(fd, F_GETFD) | FD_CLOEXEC);
}

std::optional<fs::path> find_program(std::string_view name) {
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  dirs += ":/usr/sbin:/sbin";
  std::size_t start = 0;
  while (start <= dirs.size()) {
    std::size_t colon = dirs.find(':', start);
    if (colon == std::string::npos) colon = dirs.size();
    fs::path candidate = fs::path(dirs.substr(start, colon - start)) / name;
    if (access(candidate.c_str(), X_OK) == 0 && fs::is_regular_file(candidate)) return candidate;
    start = colon + 1;
  }
  return std::nullopt;
}

}  // namespace meros
