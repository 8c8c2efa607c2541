#include "guest/wayland.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <list>
#include <memory>
#include <optional>
#include <vector>

#include "guest/format.h"
#include "util/fd.h"

namespace meros::guest {

namespace {

constexpr int kExitFailed = 1;
constexpr int kNotStarted = 127;
// Bounds on what the relay holds: each direction of a connection buffers
// at most this much (reading stops while it is full), and waypipe opens
// one connection per application connection, so a few dozen are plenty.
constexpr std::size_t kBufferBytes = 64 * 1024;
constexpr std::size_t kMaxConnections = 32;
// After the application exits, what is still in flight gets this long.
constexpr auto kDrainTime = std::chrono::seconds(3);

void complain(const std::string& message) { std::fprintf(stderr, "meros-guest wayland: %s\n", message.c_str()); }

std::string errno_message(const std::string& what) { return what + ": " + std::strerror(errno); }

// A mkdtemp directory (0700) for waypipe's socket and the application's
// XDG_RUNTIME_DIR; removed with whatever waypipe left in it (a display
// socket and its lock when it was killed).
class RuntimeDir {
 public:
  static Result<std::unique_ptr<RuntimeDir>> create() {
    const char* tmp = std::getenv("TMPDIR");
    std::string base = tmp && *tmp == '/' ? tmp : "/tmp";
    // sun_path holds 108 bytes; waypipe's display socket name is longer
    // than ours, so leave it room.
    if (base.size() + sizeof "/meros-wayland-XXXXXX/wayland-XXXXXXXX" > sizeof(sockaddr_un{}.sun_path)) base = "/tmp";
    std::string pattern = base + "/meros-wayland-XXXXXX";
    if (!::mkdtemp(pattern.data())) return make_error(errno_message("cannot make a directory under " + base));
    return std::unique_ptr<RuntimeDir>(new RuntimeDir(pattern));
  }
  ~RuntimeDir() {
    if (DIR* dir = ::opendir(path_.c_str())) {
      while (dirent* entry = ::readdir(dir))
        if (std::strcmp(entry->d_name, ".") != 0 && std::strcmp(entry->d_name, "..") != 0)
          ::unlink((path_ + "/" + entry->d_name).c_str());
      ::closedir(dir);
    }
    ::rmdir(path_.c_str());
  }
  const std::string& path() const { return path_; }
  std::string socket() const { return path_ + "/waypipe.sock"; }

 private:
  explicit RuntimeDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

Result<Fd> listen_unix(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof address.sun_path) return make_error("socket path too long: " + path);
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid()) return make_error(errno_message("socket"));
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) return make_error(errno_message("bind " + path));
  if (::listen(fd.get(), 16) != 0) return make_error(errno_message("listen " + path));
  return fd;
}

Result<Fd> connect_loopback(int port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return make_error(errno_message("socket"));
  // Loopback: the connection is made (or refused) at once, no deadline needed.
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0)
    return make_error(errno_message("cannot reach the forwarded port 127.0.0.1:" + std::to_string(port)));
  int flags = ::fcntl(fd.get(), F_GETFL);
  ::fcntl(fd.get(), F_SETFL, flags | O_NONBLOCK);
  return fd;
}

// One direction of a connection: what was read from one side and is not
// yet written to the other.
struct Flow {
  std::vector<char> buffer = std::vector<char>(kBufferBytes);
  std::size_t begin = 0, end = 0;
  bool eof = false;       // the source closed its side
  bool shut_down = false; // and that was passed on

  bool has_room() const { return !eof && end < buffer.size(); }
  bool has_data() const { return begin < end; }
};

// A waypipe connection and its TCP twin.
struct Link {
  Fd unix_side, tcp_side;
  Flow to_tcp, to_unix;
  bool broken = false;

  bool done() const { return broken || (to_tcp.shut_down && to_unix.shut_down); }
};

// Moves what it can from `from` to `to` without blocking; false when a
// side failed.
bool pump(int from, int to, Flow& flow) {
  if (flow.has_room()) {
    ssize_t n = ::recv(from, flow.buffer.data() + flow.end, flow.buffer.size() - flow.end, MSG_DONTWAIT);
    if (n > 0) flow.end += static_cast<std::size_t>(n);
    else if (n == 0) flow.eof = true;
    else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return false;
  }
  if (flow.has_data()) {
    ssize_t n = ::send(to, flow.buffer.data() + flow.begin, flow.end - flow.begin, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n > 0) flow.begin += static_cast<std::size_t>(n);
    else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return false;
    if (flow.begin == flow.end) flow.begin = flow.end = 0;
  }
  if (flow.eof && !flow.has_data() && !flow.shut_down) {
    ::shutdown(to, SHUT_WR);
    flow.shut_down = true;
  }
  return true;
}

short events_for(const Flow& out, const Flow& in) {
  short events = 0;
  if (out.has_room()) events |= POLLIN;
  if (in.has_data()) events |= POLLOUT;
  return events;
}

volatile sig_atomic_t g_child = 0;

extern "C" void pass_signal_on(int signal) {
  if (g_child > 0) ::kill(g_child, signal);
}

// A terminal's SIGINT reaches the application itself; SIGTERM and SIGHUP
// (the SSH session ending) are passed on, so it ends and we report it.
void install_signal_handlers() {
  struct sigaction action {};
  action.sa_handler = pass_signal_on;
  sigemptyset(&action.sa_mask);
  for (int signal : {SIGTERM, SIGHUP}) ::sigaction(signal, &action, nullptr);
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  ::sigaction(SIGPIPE, &ignore, nullptr);
}

std::vector<std::string> waypipe_argv(const RuntimeDir& dir, const std::vector<std::string>& app) {
  std::vector<std::string> argv = {"waypipe", "--no-gpu", "--socket", dir.socket()};
  if (app.empty()) {
    argv.insert(argv.end(), {"--login-shell", "server"});
  } else {
    argv.insert(argv.end(), {"server", "--"});
    argv.insert(argv.end(), app.begin(), app.end());
  }
  return argv;
}

pid_t start_waypipe(const RuntimeDir& dir, const std::vector<std::string>& app) {
  std::vector<std::string> argv = waypipe_argv(dir, app);
  pid_t child = ::fork();
  if (child != 0) return child;
  struct sigaction restore {};
  restore.sa_handler = SIG_DFL;
  ::sigaction(SIGPIPE, &restore, nullptr);
  ::setenv("XDG_RUNTIME_DIR", dir.path().c_str(), 1);
  ::unsetenv("WAYLAND_DISPLAY");  // waypipe server sets the application's
  std::vector<char*> args;
  for (auto& arg : argv) args.push_back(arg.data());
  args.push_back(nullptr);
  ::execvp(args[0], args.data());
  std::fprintf(stderr, "meros-guest wayland: cannot run waypipe: %s (install the waypipe package in the image)\n",
               std::strerror(errno));
  _exit(kNotStarted);
}

int exit_code_of(int status) { return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status); }

// The relay: accepts waypipe's connections, pairs each with one to the
// forwarded port and moves bytes both ways until the application has
// exited and every connection is closed (or the drain time is up).
class Relay {
 public:
  Relay(Fd listener, int port) : listener_(std::move(listener)), port_(port) {}

  int run(pid_t child) {
    std::optional<int> status;
    auto drain_deadline = std::chrono::steady_clock::time_point::max();
    for (;;) {
      if (!status) {
        int raw = 0;
        if (::waitpid(child, &raw, WNOHANG) == child) {
          status = exit_code_of(raw);
          drain_deadline = std::chrono::steady_clock::now() + kDrainTime;
        }
      }
      if (status && (links_.empty() || std::chrono::steady_clock::now() >= drain_deadline)) return *status;
      poll_once(!status);
    }
  }

 private:
  void poll_once(bool accepting) {
    std::vector<pollfd> fds;
    bool listening = accepting && links_.size() < kMaxConnections;
    if (listening) fds.push_back({listener_.get(), POLLIN, 0});
    for (const Link& link : links_) {
      fds.push_back({link.unix_side.get(), events_for(link.to_tcp, link.to_unix), 0});
      fds.push_back({link.tcp_side.get(), events_for(link.to_unix, link.to_tcp), 0});
    }
    // The timeout bounds how late the application's exit is seen.
    if (::poll(fds.data(), fds.size(), 100) < 0 && errno != EINTR) return;
    if (listening && (fds[0].revents & POLLIN)) accept_one();
    std::size_t at = listening ? 1 : 0;
    for (auto it = links_.begin(); it != links_.end(); at += 2) {
      // New links (from accept_one) have no poll entries yet.
      if (at >= fds.size()) break;
      if (fds[at].revents || fds[at + 1].revents) step(*it);
      it = it->done() ? links_.erase(it) : std::next(it);
    }
  }

  static void step(Link& link) {
    if (!pump(link.unix_side.get(), link.tcp_side.get(), link.to_tcp)) link.broken = true;
    if (!pump(link.tcp_side.get(), link.unix_side.get(), link.to_unix)) link.broken = true;
  }

  void accept_one() {
    Fd accepted(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
    if (!accepted.valid()) return;
    auto tcp = connect_loopback(port_);
    if (!tcp) {
      complain(tcp.error().message);
      return;  // waypipe sees the connection close and says so to the application
    }
    links_.push_back(Link{std::move(accepted), std::move(*tcp), {}, {}, false});
  }

  Fd listener_;
  int port_;
  std::list<Link> links_;  // stable while poll entries refer to positions
};

}  // namespace

Result<WaylandOptions> parse_wayland_args(const std::vector<std::string_view>& args) {
  WaylandOptions options;
  std::size_t i = 0;
  for (; i < args.size() && args[i] != "--"; ++i) {
    if (args[i] != "--port" || i + 1 == args.size())
      return make_error("wayland: unknown argument '" + std::string(args[i]) + "' (want --port PORT -- APP [ARG...])");
    auto port = parse_port(args[++i]);
    if (!port) return port.error();
    options.port = *port;
  }
  if (options.port == 0) return make_error("wayland: give --port PORT, the forwarded port on 127.0.0.1");
  if (i < args.size()) options.app.assign(args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end());
  return options;
}

int run_wayland(const WaylandOptions& options) {
  auto dir = RuntimeDir::create();
  if (!dir) {
    complain(dir.error().message);
    return kExitFailed;
  }
  auto listener = listen_unix((*dir)->socket());
  if (!listener) {
    complain(listener.error().message);
    return kExitFailed;
  }
  install_signal_handlers();
  pid_t child = start_waypipe(**dir, options.app);
  if (child < 0) {
    complain(errno_message("fork"));
    return kExitFailed;
  }
  g_child = child;
  Relay relay(std::move(*listener), options.port);
  int status = relay.run(child);
  g_child = 0;
  return status;
}

}  // namespace meros::guest
