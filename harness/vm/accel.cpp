#include "vm/accel.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>

#include "manifest/values.h"
#include "util/process.h"
#include "util/text.h"
#include "vm/accel_cache.h"
#include "vm/boot_watch.h"
#include "vm/child_process.h"

namespace meros::vm {
namespace fs = std::filesystem;

namespace {

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// A private directory for the probe's files, removed on destruction.
struct ProbeDir {
  fs::path path;
  ProbeDir() {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = (fs::path(tmp && *tmp ? tmp : "/tmp") / "meros-kvm-probe-XXXXXX").string();
    if (::mkdtemp(pattern.data())) path = pattern;
  }
  ~ProbeDir() {
    std::error_code ec;
    if (!path.empty()) fs::remove_all(path, ec);
  }
};

// SeaBIOS's last lines when nothing is bootable, or when it boots something.
bool firmware_finished(const std::string& log) {
  return log.find("No bootable device") != std::string::npos || log.find("Booting from") != std::string::npos;
}

}  // namespace

std::string_view to_string(Accel accel) { return accel == Accel::kvm ? "kvm" : "tcg"; }

Result<AccelRequest> parse_accel_request(std::string_view text) {
  if (text == "auto") return AccelRequest::automatic;
  if (text == "kvm") return AccelRequest::kvm;
  if (text == "tcg") return AccelRequest::tcg;
  return make_error("--accel expects auto, kvm or tcg, got " + quote(text));
}

Status QemuKvmProber::open_device() {
  int fd = ::open(device_.c_str(), O_RDWR | O_CLOEXEC);
  if (fd >= 0) {
    ::close(fd);
    return {};
  }
  int error = errno;
  if (error == ENOENT)
    return make_error(device_.string() + " does not exist (no kvm module, or no nested virtualisation)");
  if (error == EACCES || error == EPERM)
    return make_error(device_.string() + " is not accessible to uid " + std::to_string(::getuid()) +
                      " (add the user to the kvm group)");
  return make_error(device_.string() + ": " + std::strerror(error));
}

ProbeOutcome QemuKvmProber::run_probe_guest(Duration deadline) {
#if !defined(__x86_64__)
  (void)deadline;
  return {false, "the KVM probe guest exists for x86_64 hosts only"};
#else
  ProbeDir dir;
  if (dir.path.empty()) return {false, std::string("cannot create a probe directory: ") + std::strerror(errno)};
  fs::path firmware_log = dir.path / "firmware.log";
  fs::path qemu_log = dir.path / "qemu.log";
  ChildSpec spec;
  spec.argv = {"qemu-system-x86_64", "-machine", "pc", "-accel", "kvm", "-cpu", "host", "-m", "32",
               "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
               "-debugcon", "file:" + firmware_log.string(), "-global", "isa-debugcon.iobase=0x402"};
  spec.output_file = qemu_log;
  auto child = ChildProcess::start(spec);
  if (!child) return {false, child.error().message};
  Clock& clock = steady_clock();
  auto start = clock.now();
  while (clock.now() - start < deadline) {
    if (firmware_finished(read_file(firmware_log))) {
      auto took = std::chrono::duration_cast<Duration>(clock.now() - start);
      return {true, "the KVM probe guest got through its firmware in " + std::to_string(took.count()) + " ms"};
    }
    if (auto status = child->exit_code()) {
      std::string why = log_tail(qemu_log, 1);
      return {false, "the KVM probe guest's QEMU exited with status " + std::to_string(*status) +
                         (why.empty() ? "" : ": " + why)};
    }
    clock.sleep_for(Duration(10));
  }
  std::size_t bytes = read_file(firmware_log).size();
  return {false,
          "the KVM probe guest made no progress in " + format_duration(deadline) + " (its firmware stalled after " +
              std::to_string(bytes) + " bytes of log)",
          true};
#endif
}

Result<AccelChoice> choose_accel(AccelRequest request, KvmProber& prober, Duration deadline) {
  if (request == AccelRequest::tcg) return AccelChoice{Accel::tcg, "TCG requested with --accel tcg"};
  if (Status device = prober.open_device(); !device) {
    if (request == AccelRequest::kvm) return make_error("--accel kvm: " + device.error().message);
    return AccelChoice{Accel::tcg, device.error().message + "; using TCG"};
  }
  ProbeOutcome probe = prober.run_probe_guest(deadline);
  if (probe.ran) return AccelChoice{Accel::kvm, probe.detail + "; using KVM"};
  if (request == AccelRequest::kvm) return make_error("--accel kvm: KVM does not work here: " + probe.detail);
  return AccelChoice{Accel::tcg, probe.detail + "; using TCG"};
}

Accel accel_for(Arch arch, const AccelChoice& choice) {
#if defined(__x86_64__)
  constexpr Arch host = Arch::x86_64;
#else
  constexpr Arch host = Arch::aarch64;
#endif
  return arch == host ? choice.accel : Accel::tcg;
}

Result<AccelChoice> detect_accel(AccelRequest request, const std::optional<fs::path>& probe_cache) {
  static std::mutex mutex;
  static std::map<AccelRequest, Result<AccelChoice>> decided;
  std::lock_guard lock(mutex);
  auto it = decided.find(request);
  if (it == decided.end()) {
    QemuKvmProber prober;
    if (probe_cache) {
      CachedKvmProber cached(prober, *probe_cache, probe_identity("qemu-system-x86_64", "/dev/kvm"));
      it = decided.emplace(request, choose_accel(request, cached)).first;
    } else {
      it = decided.emplace(request, choose_accel(request, prober)).first;
    }
  }
  return it->second;
}

}  // namespace meros::vm
