#include "../support/store_kernel.h"
#include "vm_test_support.h"

#include <arpa/inet.h>
#include <elf.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace meros::vm {
namespace fs = std::filesystem;

namespace {

void run_or_throw(std::vector<std::string> argv) {
  SystemProcessRunner runner;
  ProcessSpec spec;
  spec.argv = std::move(argv);
  spec.timeout = std::chrono::seconds(60);
  auto result = runner.run(spec);
  if (!result || !result->ok())
    throw std::runtime_error(describe_command(spec.argv) + " failed: " + (result ? result->output : result.error().message));
}

// An ELF executable without a program interpreter needs no shared libraries.
bool is_static_elf(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  Elf64_Ehdr header{};
  if (!in.read(reinterpret_cast<char*>(&header), sizeof header) || std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0)
    return false;
  for (int i = 0; i < header.e_phnum; ++i) {
    Elf64_Phdr program{};
    in.seekg(static_cast<std::streamoff>(header.e_phoff + i * header.e_phentsize));
    if (!in.read(reinterpret_cast<char*>(&program), sizeof program)) return false;
    if (program.p_type == PT_INTERP) return false;
  }
  return true;
}

}  // namespace

TempDir::TempDir() {
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = (fs::path(tmp && *tmp ? tmp : "/tmp") / "meros-vm-test-XXXXXX").string();
  if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::optional<fs::path> test_kernel() { return meros::testing_support::store_default_kernel(); }

std::string real_qemu_skip_reason() {
  if (::geteuid() != 0) return "needs root (network namespaces and taps)";
  if (!test_kernel()) return "no test kernel: set MEROS_TEST_KERNEL or build a default kernel in the fixture store: meros-test build --kernel default";
  for (const char* tool : {"qemu-system-x86_64", "qemu-img", "mkfs.ext4", "ip"})
    if (!find_program(tool)) return std::string(tool) + " not found";
  auto busybox = find_program("busybox");
  if (!busybox || !is_static_elf(*busybox)) return "no static busybox (install busybox-static)";
  return "";
}

const fs::path& test_base_image() {
  static TempDir dir;
  static fs::path image;
  static std::once_flag once;
  std::call_once(once, [] {
    fs::path root = dir.path() / "rootfs";
    for (const char* sub : {"bin", "opt/meros", "dev", "proc", "sys", "tmp"}) fs::create_directories(root / sub);
    fs::copy_file(*find_program("busybox"), root / "bin/busybox");
    fs::copy_file(fs::path(MEROS_VM_TESTDATA) / "init.sh", root / "opt/meros/init");
    fs::permissions(root / "opt/meros/init", fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                                 fs::perms::others_read | fs::perms::others_exec);
    fs::path raw = dir.path() / "disk.raw";
    run_or_throw({"mkfs.ext4", "-q", "-F", "-L", "root", "-d", root.string(), raw.string(), "16M"});
    image = dir.path() / "base.qcow2";
    run_or_throw({"qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw.string(), image.string()});
  });
  return image;
}

bool process_gone(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  if (!std::getline(stat, text)) return true;
  std::size_t paren = text.rfind(')');
  return paren != std::string::npos && paren + 2 < text.size() && text[paren + 2] == 'Z';
}

TestNetns::TestNetns(std::string name) : name_(std::move(name)) {
  run_or_throw({"ip", "netns", "add", name_});
  fd_ = ::open(("/run/netns/" + name_).c_str(), O_RDONLY | O_CLOEXEC);
  run_or_throw({"ip", "-n", name_, "link", "set", "lo", "up"});
}

TestNetns::~TestNetns() {
  if (fd_ >= 0) ::close(fd_);
  SystemProcessRunner runner;
  ProcessSpec spec;
  spec.argv = {"ip", "netns", "delete", name_};
  (void)runner.run(spec);
}

void TestNetns::add_tap(const std::string& ifname, const std::string& address) {
  run_or_throw({"ip", "-n", name_, "tuntap", "add", "dev", ifname, "mode", "tap"});
  if (!address.empty()) run_or_throw({"ip", "-n", name_, "addr", "add", address, "dev", ifname});
  run_or_throw({"ip", "-n", name_, "link", "set", ifname, "up"});
}

bool TestNetns::tcp_port_open(const std::string& address, int port, int timeout_ms) const {
  // A socket belongs to the namespace it was created in: make it on a
  // thread that has entered the namespace, use it from here.
  int fd = -1;
  std::thread([&] {
    if (::setns(fd_, CLONE_NEWNET) == 0) fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  }).join();
  if (fd < 0) return false;
  sockaddr_in target{};
  target.sin_family = AF_INET;
  target.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, address.c_str(), &target.sin_addr);
  bool open = false;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&target), sizeof target) == 0) {
    open = true;
  } else if (errno == EINPROGRESS) {
    pollfd pfd{fd, POLLOUT, 0};
    int error = 0;
    socklen_t length = sizeof error;
    open = ::poll(&pfd, 1, timeout_ms) == 1 && ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0 && error == 0;
  }
  ::close(fd);
  return open;
}

}  // namespace meros::vm
