#include "net/netns.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <future>
#include <mutex>
#include <thread>

#include "net/sys_error.h"

namespace meros::net {

namespace {

// Names end up as file names under /run/netns and in messages.
bool is_valid_name(std::string_view name) {
  if (name.empty() || name.size() > 200 || name.front() == '.') return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.'; });
}

// Like `ip netns add`: the pin directory is a shared mount, so that the
// bind mounts in it show up in every mount namespace.
Status prepare_netns_dir() {
  if (::mkdir(kNetnsDir, 0755) != 0 && errno != EEXIST) return sys_error(std::string("cannot create ") + kNetnsDir, errno);
  if (::mount("", kNetnsDir, "none", MS_SHARED | MS_REC, nullptr) == 0) return {};
  if (errno != EINVAL) return sys_error(std::string("cannot make ") + kNetnsDir + " a shared mount", errno);
  // Not a mount point yet: make it one, then shared.
  if (::mount(kNetnsDir, kNetnsDir, "none", MS_BIND | MS_REC, nullptr) != 0)
    return sys_error(std::string("cannot bind-mount ") + kNetnsDir, errno);
  if (::mount("", kNetnsDir, "none", MS_SHARED | MS_REC, nullptr) != 0)
    return sys_error(std::string("cannot make ") + kNetnsDir + " a shared mount", errno);
  return {};
}

// Runs on the namespace's thread: a new namespace for this thread only,
// then pinned by a bind mount of this thread's (not the process's) handle.
Status unshare_and_pin(const std::filesystem::path& pin) {
  if (::unshare(CLONE_NEWNET) != 0) return sys_error("unshare(CLONE_NEWNET)", errno);
  if (::mount("/proc/thread-self/ns/net", pin.c_str(), "none", MS_BIND, nullptr) != 0)
    return sys_error("cannot bind-mount the new namespace on " + pin.string(), errno);
  return {};
}

Status unpin(const std::filesystem::path& pin) {
  Status status;
  if (::umount2(pin.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT)
    status = sys_error("cannot unmount " + pin.string(), errno);
  if (::unlink(pin.c_str()) != 0 && errno != ENOENT && status)
    status = sys_error("cannot remove " + pin.string(), errno);
  return status;
}

}  // namespace

std::filesystem::path netns_path(std::string_view name) { return std::filesystem::path(kNetnsDir) / std::string(name); }

Result<Fd> open_netns_fd(std::string_view name) {
  if (!is_valid_name(name)) return make_error("'" + std::string(name) + "' is not a network namespace name");
  Fd fd(::open(netns_path(name).c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return sys_error("cannot open network namespace " + std::string(name), errno);
  return fd;
}

int enter_netns(int fd) noexcept { return ::setns(fd, CLONE_NEWNET) == 0 ? 0 : errno; }

std::vector<std::string> list_netns(std::string_view prefix) {
  std::vector<std::string> names;
  DIR* dir = ::opendir(kNetnsDir);
  if (dir == nullptr) return names;
  while (const dirent* entry = ::readdir(dir)) {
    std::string_view name = entry->d_name;
    if (name == "." || name == "..") continue;
    if (name.substr(0, prefix.size()) == prefix) names.emplace_back(name);
  }
  ::closedir(dir);
  std::sort(names.begin(), names.end());
  return names;
}

Status remove_netns(std::string_view name) {
  if (!is_valid_name(name)) return make_error("'" + std::string(name) + "' is not a network namespace name");
  return unpin(netns_path(name));
}

// The thread that lives inside the namespace and runs what it is given,
// one task at a time, until destroyed.
class NetworkNamespace::Worker {
 public:
  // Starts the thread; it runs `enter` (which moves it into the namespace)
  // before anything else and stops right away if that fails.
  static Result<std::unique_ptr<Worker>> start(std::function<Status()> enter) {
    std::unique_ptr<Worker> worker(new Worker);
    std::promise<Status> entered;
    std::future<Status> result = entered.get_future();
    worker->thread_ = std::thread([raw = worker.get(), &entered, enter = std::move(enter)] {
      Status status = enter();
      bool ok = status.ok();
      entered.set_value(std::move(status));
      if (ok) raw->serve();
    });
    Status status = result.get();
    if (!status) {
      worker->thread_.join();
      return status.error();
    }
    worker->id_ = worker->thread_.get_id();
    return worker;
  }

  ~Worker() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  void run(const std::function<void()>& fn) {
    if (std::this_thread::get_id() == id_) return fn();
    std::packaged_task<void()> task(fn);
    std::future<void> done = task.get_future();
    {
      std::lock_guard lock(mutex_);
      tasks_.push_back(std::move(task));
    }
    wake_.notify_one();
    done.get();  // rethrows what fn threw
  }

 private:
  Worker() = default;

  void serve() {
    for (;;) {
      std::packaged_task<void()> task;
      {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
        if (tasks_.empty()) return;  // stopping, nothing left
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      task();
    }
  }

  std::thread thread_;
  std::thread::id id_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::packaged_task<void()>> tasks_;
  bool stopping_ = false;
};

NetworkNamespace::NetworkNamespace(std::string name, Fd fd, std::unique_ptr<Worker> worker)
    : name_(std::move(name)), fd_(std::move(fd)), worker_(std::move(worker)) {}

NetworkNamespace::NetworkNamespace(NetworkNamespace&& other) noexcept
    : name_(std::exchange(other.name_, {})), fd_(std::move(other.fd_)), worker_(std::move(other.worker_)) {}

NetworkNamespace& NetworkNamespace::operator=(NetworkNamespace&& other) noexcept {
  if (this != &other) {
    (void)remove();
    name_ = std::exchange(other.name_, {});
    fd_ = std::move(other.fd_);
    worker_ = std::move(other.worker_);
  }
  return *this;
}

NetworkNamespace::~NetworkNamespace() { (void)remove(); }

Result<NetworkNamespace> NetworkNamespace::create(std::string name) {
  if (!is_valid_name(name))
    return make_error("'" + name + "' cannot name a network namespace: use letters, digits, '-', '_' and '.'");
  if (Status status = prepare_netns_dir(); !status) return status.error();
  std::filesystem::path pin = netns_path(name);
  Fd placeholder(::open(pin.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0));
  if (!placeholder.valid()) {
    if (errno == EEXIST)
      return make_error("network namespace " + name + " already exists (left by an earlier run? `meros-test gc` removes those)");
    return sys_error("cannot create " + pin.string(), errno);
  }
  placeholder.reset();
  auto worker = Worker::start([pin] { return unshare_and_pin(pin); });
  if (!worker) {
    (void)unpin(pin);
    return make_error("cannot create network namespace " + name + ": " + worker.error().message);
  }
  Fd fd(::open(pin.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    Error error = sys_error("cannot open network namespace " + name, errno);
    worker.value().reset();
    (void)unpin(pin);
    return error;
  }
  return NetworkNamespace(std::move(name), std::move(fd), std::move(*worker));
}

Status NetworkNamespace::run_inside(const std::function<void()>& fn) const {
  if (!worker_) return make_error("network namespace " + (name_.empty() ? std::string("(removed)") : name_) + " is gone");
  worker_->run(fn);
  return {};
}

Result<Fd> NetworkNamespace::open_socket(int domain, int type, int protocol) const {
  return call_inside([&]() -> Result<Fd> {
    Fd fd(::socket(domain, type | SOCK_CLOEXEC, protocol));
    if (!fd.valid()) return sys_error("cannot open a socket in network namespace " + name_, errno);
    return fd;
  });
}

Status NetworkNamespace::remove() {
  if (name_.empty()) return {};
  worker_.reset();
  fd_.reset();
  Status status = unpin(path());
  name_.clear();
  return status;
}

Result<Fd> connect_tcp_inside(int netns_fd, std::string_view address, int port, std::chrono::milliseconds timeout) {
  sockaddr_in target{};
  target.sin_family = AF_INET;
  target.sin_port = htons(static_cast<uint16_t>(port));
  std::string where = std::string(address) + ":" + std::to_string(port);
  if (::inet_pton(AF_INET, std::string(address).c_str(), &target.sin_addr) != 1) return make_error("not an IPv4 address: " + where);
  Fd socket;
  int error = 0;
  std::thread([&] {
    if ((error = enter_netns(netns_fd)) == 0 && !(socket = Fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0))).valid())
      error = errno;
  }).join();
  if (error != 0) return sys_error("cannot open a socket in the scenario's namespace", error);
  if (::connect(socket.get(), reinterpret_cast<sockaddr*>(&target), sizeof target) != 0 && errno != EINPROGRESS)
    return sys_error("connect to " + where, errno);
  pollfd pfd{socket.get(), POLLOUT, 0};
  socklen_t length = sizeof error;
  int ready = ::poll(&pfd, 1, static_cast<int>(timeout.count()));
  if (ready != 1 || ::getsockopt(socket.get(), SOL_SOCKET, SO_ERROR, &error, &length) != 0 || error != 0)
    return make_error("no answer from " + where + (error != 0 ? std::string(": ") + std::strerror(error) : std::string()));
  ::fcntl(socket.get(), F_SETFL, ::fcntl(socket.get(), F_GETFL) & ~O_NONBLOCK);
  return socket;
}

}  // namespace meros::net
