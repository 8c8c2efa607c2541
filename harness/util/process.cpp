#include "util/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <boost/process.hpp>
#include <boost/process/extend.hpp>
#include <cstdlib>
#include <fstream>

#include "util/child_setup.h"

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
bool pump_output(int fd, OutputSink& sink, std::optional<std::chrono::steady_clock::time_point> deadline) {
  char buffer[65536];
  while (true) {
    int wait_ms = -1;
    if (deadline) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      wait_ms = static_cast<int>(std::min<long long>(left.count(), 1000));
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
  bp::child child(bp::exe = program.string(), bp::args = args, bp::env = make_environment(spec),
                  bp::start_dir = cwd.string(), (bp::std_out & bp::std_err) > out, bp::std_in < in,
                  ChildSetup{}, ec);
  if (ec) return make_error(describe_command(spec.argv) + ": cannot start: " + ec.message());
  if (!spec.stdin_data.empty()) in << spec.stdin_data;
  in.flush();
  in.pipe().close();
  ::close(out.native_sink());
  out.assign_sink(-1);
  OutputSink sink(spec);
  std::optional<std::chrono::steady_clock::time_point> deadline;
  if (spec.timeout.count() > 0) deadline = std::chrono::steady_clock::now() + spec.timeout;
  ProcessResult result;
  if (!pump_output(out.native_source(), sink, deadline)) {
    result.timed_out = true;
    ::kill(-child.id(), SIGKILL);
  }
  child.wait(ec);
  int native = child.native_exit_code();
  result.exit_code = WIFSIGNALED(native) ? 128 + WTERMSIG(native) : WEXITSTATUS(native);
  result.output = sink.finish();
  // Stragglers the program left in its group go with it.
  ::kill(-child.id(), SIGKILL);
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
