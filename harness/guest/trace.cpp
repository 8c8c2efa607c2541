#include "guest/trace.h"

#include <fcntl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <optional>
#include <thread>

#include <nlohmann/json.hpp>

#include "util/fd.h"

namespace meros::guest {

namespace {

using namespace std::chrono_literals;

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;

// Where the daemon keeps its files. Tests point it elsewhere so that a
// test run changes nothing under the host's /run.
constexpr char kDefaultDir[] = "/run/meros/trace";
constexpr char kDirEnv[] = "MEROS_GUEST_TRACE_DIR";
constexpr char kTable[] = "meros_trace";

// Bounds: what a guest's traffic can make the agent hold or print.
constexpr std::size_t kMaxLimit = 64 * 1024 * 1024;       // --limit at most
constexpr std::size_t kMaxSkip = 32;                      // --skip names
constexpr int kReceiveBuffer = 4 * 1024 * 1024;           // socket buffer
constexpr std::size_t kDatagramBytes = 64 * 1024;         // one trace message is < 2 KiB
constexpr std::size_t kMaxListing = 4 * 1024 * 1024;      // `nft list ruleset` kept
constexpr std::size_t kMaxNftErrors = 64 * 1024;          // nft's stderr kept
constexpr std::size_t kMaxFinalDrain = 1'000'000;         // datagrams read after SIGTERM
constexpr auto kNftTimeout = 30s;
constexpr auto kStopWait = 2s;

constexpr char kNftMissing[] = "nft not found: tracing needs nftables in the image";

std::string errno_message(const std::string& what) { return what + ": " + std::strerror(errno); }

// --- files --------------------------------------------------------------------

std::string trace_dir() {
  const char* dir = std::getenv(kDirEnv);
  return dir && *dir == '/' ? dir : kDefaultDir;
}

std::string file_in(const std::string& dir, const char* name) { return dir + "/" + name; }

// Makes dir (and its parent) and checks that it is a real directory of
// ours, 0700: the events say what the guest's traffic was.
Status make_private_dir(const std::string& dir) {
  std::string parent = dir.substr(0, dir.rfind('/'));
  if (!parent.empty() && ::mkdir(parent.c_str(), 0755) != 0 && errno != EEXIST)
    return make_error(errno_message("cannot make " + parent));
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return make_error(errno_message("cannot make " + dir));
  struct stat info {};
  if (::lstat(dir.c_str(), &info) != 0) return make_error(errno_message("cannot stat " + dir));
  if (S_ISLNK(info.st_mode)) return make_error(dir + " is a symlink; refusing to use it");
  if (!S_ISDIR(info.st_mode)) return make_error(dir + " is not a directory");
  if (info.st_uid != ::geteuid()) return make_error(dir + " belongs to another user");
  if (::chmod(dir.c_str(), 0700) != 0) return make_error(errno_message("cannot chmod " + dir));
  return {};
}

Result<Fd> create_file(const std::string& path) {
  Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_APPEND | O_CLOEXEC, 0600));
  if (!fd.valid()) return make_error(errno_message("cannot create " + path));
  return fd;
}

bool write_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

// At most max bytes of a regular file (not followed through a symlink);
// nullopt when it cannot be opened.
std::optional<std::string> read_file(const std::string& path, std::size_t max) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
  if (!fd.valid()) return std::nullopt;
  struct stat info {};
  if (::fstat(fd.get(), &info) != 0 || !S_ISREG(info.st_mode)) return std::nullopt;
  std::string text;
  char buffer[64 * 1024];
  while (text.size() < max) {
    ssize_t n = ::read(fd.get(), buffer, std::min(sizeof buffer, max - text.size()));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
  }
  return text;
}

// Only inside a real directory: through a symlink the names below could
// be someone else's files.
void remove_trace_files(const std::string& dir) {
  struct stat info {};
  if (::lstat(dir.c_str(), &info) != 0 || !S_ISDIR(info.st_mode)) return;
  for (const char* name : {"events", "counters", "counters.tmp", "pid"}) ::unlink(file_in(dir, name).c_str());
  ::rmdir(dir.c_str());
}

// --- running nft ----------------------------------------------------------------

// nft from PATH; then /usr/sbin and /sbin, which a non-interactive SSH
// session's PATH often lacks.
std::optional<std::string> find_nft() {
  const char* env = std::getenv("PATH");
  std::string path = std::string(env ? env : "") + ":/usr/sbin:/sbin";
  for (std::size_t begin = 0; begin <= path.size();) {
    std::size_t end = path.find(':', begin);
    if (end == std::string::npos) end = path.size();
    std::string dir = path.substr(begin, end - begin);
    begin = end + 1;
    if (dir.empty() || dir[0] != '/') continue;
    std::string candidate = dir + "/nft";
    struct stat info {};
    if (::stat(candidate.c_str(), &info) == 0 && S_ISREG(info.st_mode) && ::access(candidate.c_str(), X_OK) == 0)
      return candidate;
  }
  return std::nullopt;
}

struct CommandResult {
  int exit_code = -1;  // 128+N when killed by signal N
  std::string out, err;
};

// One output pipe, kept up to `max` bytes (the rest is read and dropped).
struct Sink {
  Fd fd;
  std::string* text;
  std::size_t max;
};

[[noreturn]] void exec_child(const std::string& program, const std::vector<std::string>& args, int in, int out,
                             int err) {
  ::dup2(in, 0);
  ::dup2(out, 1);
  ::dup2(err, 2);
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(program.c_str()));
  for (const auto& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  ::execv(program.c_str(), argv.data());
  std::_Exit(127);
}

// Feeds `input` and collects the output until both pipes close or the
// deadline passes (then the child is killed).
void pump_child(Fd& in, const std::string& input, Sink (&sinks)[2]) {
  auto deadline = std::chrono::steady_clock::now() + kNftTimeout;
  std::size_t written = 0;
  if (input.empty()) in.reset();
  char buffer[16 * 1024];
  while (in.valid() || sinks[0].fd.valid() || sinks[1].fd.valid()) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return;
    pollfd fds[3] = {{in.get(), POLLOUT, 0}, {sinks[0].fd.get(), POLLIN, 0}, {sinks[1].fd.get(), POLLIN, 0}};
    if (::poll(fds, 3, static_cast<int>(left.count())) < 0 && errno != EINTR) return;
    if (fds[0].revents) {
      ssize_t n = ::write(in.get(), input.data() + written, input.size() - written);
      if (n > 0) written += static_cast<std::size_t>(n);
      if (n < 0 && errno != EINTR && errno != EAGAIN) in.reset();
      if (written == input.size()) in.reset();
    }
    for (int i = 0; i < 2; ++i) {
      if (!fds[i + 1].revents) continue;
      ssize_t n = ::read(sinks[i].fd.get(), buffer, sizeof buffer);
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (n <= 0) { sinks[i].fd.reset(); continue; }
      std::size_t keep = std::min(static_cast<std::size_t>(n), sinks[i].max - sinks[i].text->size());
      sinks[i].text->append(buffer, keep);
    }
  }
}

// Runs program with args (no shell), `input` on its stdin.
CommandResult run_command(const std::string& program, const std::vector<std::string>& args,
                          const std::string& input, std::size_t max_out) {
  CommandResult result;
  int in[2], out[2], err[2];
  if (::pipe2(in, O_CLOEXEC) != 0) { result.err = errno_message("pipe"); return result; }
  if (::pipe2(out, O_CLOEXEC) != 0) { ::close(in[0]); ::close(in[1]); result.err = errno_message("pipe"); return result; }
  if (::pipe2(err, O_CLOEXEC) != 0) {
    for (int fd : {in[0], in[1], out[0], out[1]}) ::close(fd);
    result.err = errno_message("pipe");
    return result;
  }
  pid_t child = ::fork();
  if (child == 0) exec_child(program, args, in[0], out[1], err[1]);
  for (int fd : {in[0], out[1], err[1]}) ::close(fd);
  Fd to_child(in[1]);
  Sink sinks[2] = {{Fd(out[0]), &result.out, max_out}, {Fd(err[0]), &result.err, kMaxNftErrors}};
  if (child < 0) { result.err = errno_message("fork"); return result; }
  // A pipe the child closed must not kill us when written to.
  struct sigaction ignore {}, old {};
  ignore.sa_handler = SIG_IGN;
  ::sigaction(SIGPIPE, &ignore, &old);
  pump_child(to_child, input, sinks);
  ::sigaction(SIGPIPE, &old, nullptr);
  if (sinks[0].fd.valid() || sinks[1].fd.valid()) {
    ::kill(child, SIGKILL);
    result.err += "\n(nft killed after " + std::to_string(kNftTimeout.count()) + "s)";
  }
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {}
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

std::string trim(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

// --- the daemon ----------------------------------------------------------------

// The subscribed socket and the events file, owned by the daemon process
// once forked. Past `limit` bytes whole datagrams are dropped and counted,
// so the file always holds complete netlink messages.
class Recorder {
 public:
  Recorder(Fd socket, Fd events, std::size_t limit)
      : socket_(std::move(socket)), events_(std::move(events)), limit_(limit), buffer_(kDatagramBytes) {}

  // Records until SIGTERM/SIGINT arrive on `signals`, then drains what the
  // socket still holds without waiting.
  void run(int signals) {
    for (;;) {
      pollfd fds[2] = {{socket_.get(), POLLIN, 0}, {signals, POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0 && errno != EINTR) break;
      if (fds[1].revents) break;
      if (fds[0].revents) drain(SIZE_MAX);
    }
    drain(kMaxFinalDrain);
  }

  std::string counters() const {
    return "lost_bytes " + std::to_string(lost_bytes_) + " overruns " + std::to_string(overruns_) + "\n";
  }

 private:
  // Reads datagrams until the socket is empty (or `max` were read).
  void drain(std::size_t max) {
    for (std::size_t count = 0; count < max; ++count) {
      ssize_t n = ::recv(socket_.get(), buffer_.data(), buffer_.size(), MSG_DONTWAIT | MSG_TRUNC);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == ENOBUFS) { ++overruns_; continue; }  // the kernel dropped events
      if (n <= 0) return;
      keep(static_cast<std::size_t>(n));
    }
  }

  void keep(std::size_t size) {
    // A truncated datagram (MSG_TRUNC gives its real size) is counted, not kept.
    if (size > buffer_.size() || written_ + size > limit_ || !write_all(events_.get(), buffer_.data(), size)) {
      lost_bytes_ += size;
      return;
    }
    written_ += size;
  }

  Fd socket_, events_;
  std::size_t limit_;
  std::vector<char> buffer_;
  std::size_t written_ = 0;
  std::uint64_t lost_bytes_ = 0, overruns_ = 0;
};

// A NETLINK_NETFILTER socket in the trace group with a 4 MiB buffer.
Result<Fd> open_trace_socket() {
  Fd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER));
  if (!fd.valid()) return make_error(errno_message("netlink socket"));
  sockaddr_nl address{};
  address.nl_family = AF_NETLINK;
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0)
    return make_error(errno_message("netlink bind"));
  int group = NFNLGRP_NFTRACE;
  if (::setsockopt(fd.get(), SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group, sizeof group) != 0)
    return make_error(errno_message("cannot join the nftables trace group"));
  int size = kReceiveBuffer;
  if (::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0)
    (void)::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  return fd;
}

void write_counters(const std::string& dir, const std::string& text) {
  std::string temporary = file_in(dir, "counters.tmp");
  Fd fd(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (fd.valid() && write_all(fd.get(), text.data(), text.size()))
    ::rename(temporary.c_str(), file_in(dir, "counters").c_str());
}

// The forked child: detaches and records until told to stop.
[[noreturn]] void run_daemon(Recorder& recorder, const sigset_t& stop_signals, const std::string& dir) {
  ::setsid();
  ::signal(SIGHUP, SIG_IGN);
  if (::chdir("/") != 0) {
    // Staying in the old directory is harmless.
  }
  int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  for (int fd : {0, 1, 2}) ::dup2(null, fd);
  if (null > 2) ::close(null);
  Fd signals(::signalfd(-1, &stop_signals, SFD_CLOEXEC));
  if (signals.valid()) recorder.run(signals.get());
  write_counters(dir, recorder.counters());
  std::_Exit(kExitOk);
}

// --- finding and stopping the daemon -------------------------------------------

std::optional<pid_t> read_pidfile(const std::string& dir) {
  auto text = read_file(file_in(dir, "pid"), 32);
  if (!text) return std::nullopt;
  char* end = nullptr;
  long pid = std::strtol(text->c_str(), &end, 10);
  if (pid <= 1 || pid > 0x3fffffff || (*end != '\n' && *end != '\0')) return std::nullopt;
  return static_cast<pid_t>(pid);
}

// The process is a meros-guest trace daemon (not a reused pid): its
// argv[0] names meros-guest and argv[1] is "trace". A zombie has no
// cmdline, so it does not look like one either.
bool is_trace_daemon(pid_t pid) {
  auto cmdline = read_file("/proc/" + std::to_string(pid) + "/cmdline", 4096);
  if (!cmdline || cmdline->empty()) return false;
  std::string argv0 = cmdline->c_str();
  std::string name = argv0.substr(argv0.rfind('/') + 1);
  std::size_t second = argv0.size() + 1;
  return name.rfind("meros-guest", 0) == 0 && second < cmdline->size() &&
         std::string(cmdline->c_str() + second) == "trace";
}

bool wait_gone(pid_t pid, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (is_trace_daemon(pid)) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

// Ends the daemon of dir's pidfile, if one runs. False when it had to be
// killed (it wrote no counters then).
bool stop_daemon(const std::string& dir) {
  auto pid = read_pidfile(dir);
  if (!pid || !is_trace_daemon(*pid)) return true;
  ::kill(*pid, SIGTERM);
  if (wait_gone(*pid, kStopWait)) return true;
  ::kill(*pid, SIGKILL);
  (void)wait_gone(*pid, 1s);
  return false;
}

// --- start and stop -------------------------------------------------------------

int fail(const std::string& message) {
  std::cerr << "meros-guest trace: " << message << "\n";
  std::cout << nlohmann::json{{"error", message}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
            << std::endl;
  return kExitFailed;
}

// Kills a daemon forked by this process and removes what start made.
void abandon(pid_t child, const std::string& dir) {
  ::kill(child, SIGKILL);
  while (::waitpid(child, nullptr, 0) < 0 && errno == EINTR) {}
  remove_trace_files(dir);
}

Status write_pidfile(const std::string& dir, pid_t pid) {
  auto fd = create_file(file_in(dir, "pid"));
  if (!fd) return fd.error();
  std::string text = std::to_string(pid) + "\n";
  if (!write_all(fd->get(), text.data(), text.size())) return make_error(errno_message("cannot write the pidfile"));
  return {};
}

int start_trace(const TraceOptions& options) {
  std::string dir = trace_dir();
  stop_daemon(dir);  // one left from an earlier start
  remove_trace_files(dir);
  auto nft = find_nft();
  if (!nft) return fail(kNftMissing);
  if (auto made = make_private_dir(dir); !made) return fail(made.error().message);
  // Subscribed before the table exists, so no event is missed.
  auto socket = open_trace_socket();
  if (!socket) return fail(socket.error().message);
  auto events = create_file(file_in(dir, "events"));
  if (!events) return fail(events.error().message);
  Recorder recorder(std::move(*socket), std::move(*events), options.limit);

  // SIGTERM stays blocked from here on in the daemon, so a stop that comes
  // before its signalfd exists is not lost.
  sigset_t stop_signals, old;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  ::sigprocmask(SIG_BLOCK, &stop_signals, &old);
  std::cout.flush();
  pid_t child = ::fork();
  if (child == 0) run_daemon(recorder, stop_signals, dir);
  ::sigprocmask(SIG_SETMASK, &old, nullptr);
  if (child < 0) { remove_trace_files(dir); return fail(errno_message("fork")); }

  if (auto written = write_pidfile(dir, child); !written) { abandon(child, dir); return fail(written.error().message); }
  auto loaded = run_command(*nft, {"-f", "-"}, trace_ruleset(options.skip), kMaxNftErrors);
  if (loaded.exit_code != 0) {
    abandon(child, dir);
    return fail("nft could not load the trace table: " + trim(loaded.err.empty() ? loaded.out : loaded.err));
  }
  std::cout << R"({"tracing":true})" << std::endl;
  return kExitOk;
}

struct Counters {
  std::uint64_t lost_bytes = 0, overruns = 0;
};

std::optional<Counters> read_counters(const std::string& dir) {
  auto text = read_file(file_in(dir, "counters"), 256);
  Counters counters;
  unsigned long long lost = 0, overruns = 0;
  if (!text || std::sscanf(text->c_str(), "lost_bytes %llu overruns %llu", &lost, &overruns) != 2) return std::nullopt;
  counters.lost_bytes = lost;
  counters.overruns = overruns;
  return counters;
}

int stop_trace() {
  std::string dir = trace_dir();
  struct stat info {};
  bool started = ::lstat(dir.c_str(), &info) == 0 && S_ISDIR(info.st_mode) &&
                 (::access(file_in(dir, "pid").c_str(), F_OK) == 0 || ::access(file_in(dir, "events").c_str(), F_OK) == 0);
  if (!started) return fail("no trace was started");
  bool stopped = stop_daemon(dir);

  nlohmann::json line;
  auto nft = find_nft();
  std::string ruleset, ruleset_error;
  if (!nft) {
    ruleset_error = kNftMissing;
  } else {
    // Absent is fine: a user's `flush ruleset` may have removed it.
    (void)run_command(*nft, {"delete", "table", "inet", kTable}, "", kMaxNftErrors);
    auto listed = run_command(*nft, {"-a", "-s", "list", "ruleset"}, "", kMaxListing);
    ruleset = listed.out;
    if (listed.exit_code != 0) ruleset_error = trim(listed.err.empty() ? "nft exited " + std::to_string(listed.exit_code) : listed.err);
  }
  std::string events = read_file(file_in(dir, "events"), kMaxLimit).value_or("");
  auto counters = read_counters(dir);
  line["events_base64"] = base64_encode(events);
  line["events_bytes"] = events.size();
  line["lost_bytes"] = counters ? counters->lost_bytes : 0;
  line["overruns"] = counters ? counters->overruns : 0;
  line["ruleset"] = ruleset;
  if (!ruleset_error.empty()) line["ruleset_error"] = ruleset_error;
  if (!counters) line["trace_error"] = stopped ? "the trace daemon left no counters (it had died)" : "the trace daemon had to be killed";
  remove_trace_files(dir);
  std::cout << line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;
  return kExitOk;
}

// Interface names reach nft's input: only what a Linux name can be, and
// nothing that could end a quoted string.
bool valid_ifname(std::string_view name) {
  if (name.empty() || name.size() > 15) return false;
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-')) return false;
  return true;
}

Result<std::size_t> parse_limit(std::string_view text) {
  std::size_t value = 0;
  if (text.empty() || text.size() > 12) return make_error("--limit wants a number of bytes, got '" + std::string(text) + "'");
  for (char c : text) {
    if (c < '0' || c > '9') return make_error("--limit wants a number of bytes, got '" + std::string(text) + "'");
    value = value * 10 + static_cast<std::size_t>(c - '0');
  }
  if (value == 0 || value > kMaxLimit)
    return make_error("--limit must be between 1 and " + std::to_string(kMaxLimit) + " bytes");
  return value;
}

}  // namespace

Result<TraceOptions> parse_trace_args(const std::vector<std::string_view>& args) {
  TraceOptions options;
  if (args.empty()) return make_error("trace: give start or stop");
  if (args[0] == "stop") {
    if (args.size() > 1) return make_error("trace stop takes no arguments");
    options.action = TraceOptions::Action::stop;
    return options;
  }
  if (args[0] != "start") return make_error("trace: unknown action '" + std::string(args[0]) + "' (want start or stop)");
  for (std::size_t i = 1; i < args.size(); ++i) {
    if (i + 1 == args.size()) return make_error("trace start: '" + std::string(args[i]) + "' needs a value");
    std::string_view option = args[i], value = args[++i];
    if (option == "--skip") {
      if (!valid_ifname(value))
        return make_error("trace start: bad interface name '" + std::string(value) + "' (want 1-15 of A-Za-z0-9_.-)");
      if (options.skip.size() == kMaxSkip) return make_error("trace start: at most 32 --skip interfaces");
      options.skip.emplace_back(value);
    } else if (option == "--limit") {
      auto limit = parse_limit(value);
      if (!limit) return limit.error();
      options.limit = *limit;
    } else {
      return make_error("trace start: unknown option '" + std::string(option) + "'");
    }
  }
  return options;
}

std::string trace_ruleset(const std::vector<std::string>& skip) {
  std::string names;
  for (const auto& name : skip) names += (names.empty() ? "\"" : ", \"") + name + "\"";
  auto condition = [&](const char* key) { return names.empty() ? std::string() : std::string(key) + " != { " + names + " } "; };
  // Adding, deleting and defining in one transaction replaces a table left
  // by an earlier start, and fails as a whole.
  return std::string("table inet ") + kTable + "\ndelete table inet " + kTable + "\n" +
         "table inet " + kTable + " {\n" +
         "  chain prerouting { type filter hook prerouting priority -350; policy accept; " + condition("iifname") +
         "meta nftrace set 1; }\n" +
         "  chain output { type filter hook output priority -350; policy accept; " + condition("oifname") +
         "meta nftrace set 1; }\n}\n";
}

std::string base64_encode(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    std::uint32_t n = static_cast<std::uint8_t>(bytes[i]) << 16 | static_cast<std::uint8_t>(bytes[i + 1]) << 8 |
                      static_cast<std::uint8_t>(bytes[i + 2]);
    for (int shift : {18, 12, 6, 0}) out += kAlphabet[(n >> shift) & 63];
  }
  if (std::size_t rest = bytes.size() - i; rest > 0) {
    std::uint32_t n = static_cast<std::uint8_t>(bytes[i]) << 16;
    if (rest == 2) n |= static_cast<std::uint8_t>(bytes[i + 1]) << 8;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += rest == 2 ? kAlphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

int run_trace(const TraceOptions& options) {
  return options.action == TraceOptions::Action::start ? start_trace(options) : stop_trace();
}

}  // namespace meros::guest
