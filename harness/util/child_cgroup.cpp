#include "util/child_cgroup.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

namespace meros {
namespace fs = std::filesystem;
namespace {

constexpr std::string_view kPrefix = "meros-test.";

// Where cgroup2 is mounted, from /proc/self/mountinfo ("... mountpoint
// options - cgroup2 source superoptions").
std::optional<fs::path> cgroup2_mount() {
  std::ifstream in("/proc/self/mountinfo");
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::string id, parent, device, root, mountpoint;
    fields >> id >> parent >> device >> root >> mountpoint;
    auto dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    std::istringstream tail(line.substr(dash + 3));
    std::string type;
    tail >> type;
    if (type == "cgroup2" && root == "/") return fs::path(mountpoint);
  }
  return std::nullopt;
}

std::optional<fs::path> find_own_cgroup_dir() {
  auto mount = cgroup2_mount();
  if (!mount) return std::nullopt;
  std::ifstream in("/proc/self/cgroup");
  for (std::string line; std::getline(in, line);) {
    if (!line.starts_with("0::/")) continue;
    fs::path dir = *mount / line.substr(4);
    std::error_code ec;
    if (fs::is_directory(dir, ec)) return dir.lexically_normal();
  }
  return std::nullopt;
}

bool write_text(const fs::path& file, std::string_view text) {
  Fd fd(::open(file.c_str(), O_WRONLY | O_CLOEXEC));
  return fd.valid() && ::write(fd.get(), text.data(), text.size()) == static_cast<ssize_t>(text.size());
}

bool is_populated(const fs::path& dir) {
  std::ifstream in(dir / "cgroup.events");
  for (std::string key, value; in >> key >> value;)
    if (key == "populated") return value != "0";
  return false;  // gone
}

// The pids in a cgroup, for kernels without cgroup.kill (before 5.14).
void kill_members(const fs::path& dir) {
  std::ifstream in(dir / "cgroup.procs");
  for (pid_t pid; in >> pid;) ::kill(pid, SIGKILL);
}

bool kill_and_wait(const fs::path& dir) {
  if (!is_populated(dir)) return true;
  bool killed = write_text(dir / "cgroup.kill", "1");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (is_populated(dir)) {
    if (!killed) kill_members(dir);
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

// The harness pid in a name meros-test.<pid>.<n>, or 0.
pid_t owner_of(const std::string& name) {
  if (!name.starts_with(kPrefix)) return 0;
  std::string rest = name.substr(kPrefix.size());
  auto dot = rest.find('.');
  if (dot == std::string::npos || dot == 0 || rest.find_first_not_of("0123456789.") != std::string::npos) return 0;
  return static_cast<pid_t>(std::stol(rest.substr(0, dot)));
}

bool process_exists(pid_t pid) { return ::kill(pid, 0) == 0 || errno == EPERM; }

}  // namespace

std::optional<fs::path> own_cgroup_dir() {
  // Asked once: the harness does not move between cgroups.
  static const std::optional<fs::path> dir = find_own_cgroup_dir();
  return dir;
}

std::optional<ChildCgroup> ChildCgroup::create() {
  auto parent = own_cgroup_dir();
  if (!parent) return std::nullopt;
  static std::atomic<unsigned> counter{0};
  fs::path dir = *parent / (std::string(kPrefix) + std::to_string(::getpid()) + "." + std::to_string(counter++));
  if (::mkdir(dir.c_str(), 0755) != 0) return std::nullopt;
  Fd procs(::open((dir / "cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC));
  if (!procs.valid()) {
    ::rmdir(dir.c_str());
    return std::nullopt;
  }
  return ChildCgroup(std::move(dir), std::move(procs));
}

ChildCgroup::~ChildCgroup() {
  if (!procs_.valid()) return;  // moved from
  procs_.reset();
  kill_and_wait(dir_);
  ::rmdir(dir_.c_str());
}

bool ChildCgroup::kill_all() const { return kill_and_wait(dir_); }

std::vector<std::string> collect_stale_cgroups(std::vector<std::string>& problems) {
  std::vector<std::string> removed;
  auto parent = own_cgroup_dir();
  if (!parent) return removed;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(*parent, ec)) {
    std::string name = entry.path().filename().string();
    pid_t owner = owner_of(name);
    if (owner <= 0 || process_exists(owner) || !entry.is_directory(ec)) continue;
    bool emptied = kill_and_wait(entry.path());
    if (emptied && ::rmdir(entry.path().c_str()) == 0) removed.push_back("removed cgroup " + entry.path().string());
    else problems.push_back("cannot empty and remove the cgroup " + entry.path().string() + ": " + std::strerror(errno));
  }
  return removed;
}

}  // namespace meros
