#include "test_support.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <future>

namespace meros::guest::test {

namespace {

// Reads stdout and stderr of a child until both close.
void drain(int out_fd, int err_fd, ProcessResult& result) {
  pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open_count = 2;
  char buffer[4096];
  while (open_count > 0) {
    if (::poll(fds, 2, -1) < 0 && errno != EINTR) return;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      ssize_t got = ::read(fds[i].fd, buffer, sizeof(buffer));
      if (got > 0) { sinks[i]->append(buffer, static_cast<size_t>(got)); continue; }
      fds[i].fd = -1;
      --open_count;
    }
  }
}

[[noreturn]] void exec_child(const std::vector<std::string>& argv, int in[2], int out[2], int err[2]) {
  ::dup2(in[0], 0);
  ::dup2(out[1], 1);
  ::dup2(err[1], 2);
  std::vector<char*> args;
  for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  ::execv(args[0], args.data());
  ::_exit(127);
}

}  // namespace

ProcessResult run_process(const std::vector<std::string>& argv, const std::string& input) {
  ProcessResult result;
  int in[2], out[2], err[2];
  if (::pipe2(in, O_CLOEXEC) || ::pipe2(out, O_CLOEXEC) || ::pipe2(err, O_CLOEXEC)) return result;
  pid_t child = ::fork();
  if (child == 0) exec_child(argv, in, out, err);
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  if (!input.empty() && ::write(in[1], input.data(), input.size()) < 0) result.err = "stdin write failed";
  ::close(in[1]);
  drain(out[0], err[0], result);
  ::close(out[0]);
  ::close(err[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

ProcessResult run_shell(const std::string& command) { return run_process({"/bin/sh", "-c", command}); }

Status enter_netns(const std::string& name) {
  Fd fd(::open(("/run/netns/" + name).c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return errno_error("open netns " + name, errno);
  if (::setns(fd.get(), CLONE_NEWNET) != 0) return errno_error("setns " + name, errno);
  return {};
}

Status run_in_netns(const std::string& name, const std::function<void()>& fn) {
  Status status;
  std::thread worker([&] {
    if (!name.empty()) status = enter_netns(name);
    if (status) fn();
  });
  worker.join();
  return status;
}

Result<std::unique_ptr<BackgroundListeners>> BackgroundListeners::start(const std::vector<ListenSpec>& specs,
                                                                         const std::string& netns) {
  std::unique_ptr<BackgroundListeners> self(new BackgroundListeners);
  std::promise<Status> ready;
  BackgroundListeners* raw = self.get();
  self->thread_ = std::thread([raw, specs, netns, &ready] {
    if (!netns.empty()) {
      if (auto entered = enter_netns(netns); !entered) return ready.set_value(entered);
    }
    auto set = ListenerSet::open(specs);
    if (!set) return ready.set_value(set.error());
    raw->set_ = std::make_unique<ListenerSet>(std::move(*set));
    raw->bound_ = raw->set_->bound();
    ready.set_value({});
    (void)raw->set_->serve();
  });
  Status status = ready.get_future().get();
  if (!status) return status.error();
  return self;
}

BackgroundListeners::~BackgroundListeners() {
  if (set_) set_->stop();
  if (thread_.joinable()) thread_.join();
}

namespace {

Endpoint loopback(int family, int port) {
  return *parse_endpoint(family == AF_INET6 ? "::1" : "127.0.0.1", port);
}

// Binds a loopback socket to a kernel-chosen port.
int bind_ephemeral(int fd, int family) {
  Endpoint any = loopback(family, 0);
  if (::bind(fd, any.addr(), any.length) != 0) return 0;
  sockaddr_storage bound{};
  socklen_t length = sizeof(bound);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &length);
  if (family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);
  return ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
}

}  // namespace

int closed_port(Proto proto) {
  Fd fd(::socket(AF_INET, proto == Proto::tcp ? SOCK_STREAM : SOCK_DGRAM, 0));
  return bind_ephemeral(fd.get(), AF_INET);
}

SilentUdp silent_udp(int family) {
  SilentUdp silent;
  silent.fd.reset(::socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  silent.port = bind_ephemeral(silent.fd.get(), family);
  return silent;
}

bool ipv6_loopback_available() {
  Fd fd(::socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return false;
  Endpoint address = loopback(AF_INET6, 0);
  return ::bind(fd.get(), address.addr(), address.length) == 0;
}

}  // namespace meros::guest::test
