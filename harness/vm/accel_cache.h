// The KVM probe's outcome, remembered for the rest of the host's boot.
// Whether KVM can run a guest depends only on the running kernel (and its
// modules, nested settings), the QEMU binary and the /dev/kvm node, so once
// one run has probed, later runs of the same boot reuse the answer and
// --accel auto costs a stat() or two instead of a probe guest.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "vm/accel.h"

namespace meros::vm {

// What the probe's outcome depends on, as one comparable string: the
// host's boot id (/proc/sys/kernel/random/boot_id, new at every boot, so
// a new kernel, module or nested setting after a reboot probes again), the
// QEMU binary's identity (path, inode, size, times: an upgrade changes
// them) and /dev/kvm's (inode, device number, change time: a module
// reload makes a new node). nullopt when the boot id cannot be read: then
// nothing is cached.
std::optional<std::string> probe_identity(const std::filesystem::path& qemu, const std::filesystem::path& kvm_device,
                                          const std::filesystem::path& boot_id_file = "/proc/sys/kernel/random/boot_id");

// A prober that answers run_probe_guest() from cache_file when the file
// was written for this identity, and otherwise asks the inner prober and
// records its answer (atomically; a cache that cannot be written is only
// a missed saving). A probe that timed out is not recorded: on a loaded
// machine a working KVM can miss the deadline, and the next run should
// look again. open_device() always asks the inner prober: it is
// cheap and its answer depends on the caller's permissions.
class CachedKvmProber : public KvmProber {
 public:
  CachedKvmProber(KvmProber& inner, std::filesystem::path cache_file, std::optional<std::string> identity)
      : inner_(inner), cache_file_(std::move(cache_file)), identity_(std::move(identity)) {}
  Status open_device() override { return inner_.open_device(); }
  ProbeOutcome run_probe_guest(Duration deadline) override;

 private:
  std::optional<ProbeOutcome> cached() const;
  void remember(const ProbeOutcome& outcome) const;

  KvmProber& inner_;
  std::filesystem::path cache_file_;
  std::optional<std::string> identity_;
};

}  // namespace meros::vm
