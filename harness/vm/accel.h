// Choosing the accelerator (--accel auto|kvm|tcg). KVM counts as working
// only when a probe guest really runs under it: a /dev/kvm that exists but
// cannot run a guest (some nested setups) must not stall every VM.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "manifest/model.h"
#include "util/result.h"
#include "vm/clock.h"

namespace meros::vm {

enum class Accel { tcg, kvm };
std::string_view to_string(Accel accel);

enum class AccelRequest { automatic, kvm, tcg };
// "auto", "kvm", "tcg".
Result<AccelRequest> parse_accel_request(std::string_view text);

// The accelerator chosen and why, in words for the run log.
struct AccelChoice {
  Accel accel = Accel::tcg;
  std::string reason;
};

// What the probe guest did.
struct ProbeOutcome {
  bool ran = false;     // it finished booting its firmware in time
  std::string detail;   // what was seen: "firmware finished in 240 ms", "QEMU exited: ...", ...
  bool timed_out = false;  // neither finished nor exited before the deadline
};

// The side effects of KVM detection, behind a seam for tests.
class KvmProber {
 public:
  virtual ~KvmProber() = default;
  // Whether /dev/kvm can be opened read-write; Error says why not.
  virtual Status open_device() = 0;
  // Boots a tiny guest under KVM and reports whether it got through
  // its firmware before the deadline.
  virtual ProbeOutcome run_probe_guest(Duration deadline) = 0;
};

// The real prober: /dev/kvm, and QEMU booting SeaBIOS with no disk
// (-machine pc -accel kvm), watching the firmware's debug console for
// its last words ("No bootable device").
class QemuKvmProber : public KvmProber {
 public:
  explicit QemuKvmProber(std::filesystem::path device = "/dev/kvm") : device_(std::move(device)) {}
  Status open_device() override;
  ProbeOutcome run_probe_guest(Duration deadline) override;

 private:
  std::filesystem::path device_;
};

// How long the probe guest gets: a working KVM gets through SeaBIOS in a
// few hundred milliseconds; TCG takes about as long, so this is no race.
inline constexpr Duration kKvmProbeDeadline{1500};

// The decision. tcg: always TCG. auto: KVM if the device opens and the
// probe guest runs, else TCG with the reason. kvm: the same checks, but
// failing them is an Error (the user insisted).
Result<AccelChoice> choose_accel(AccelRequest request, KvmProber& prober, Duration deadline = kKvmProbeDeadline);

// The accelerator for one VM: the chosen one when the VM's arch is the
// host's, else TCG (KVM cannot run another architecture).
Accel accel_for(Arch arch, const AccelChoice& choice);

// choose_accel with the real prober, decided once per process and
// request; later calls return the first answer. With probe_cache (a file
// in the fixture store), the probe guest's outcome is also kept there for
// the rest of the host's boot (CachedKvmProber, accel_cache.h).
Result<AccelChoice> detect_accel(AccelRequest request, const std::optional<std::filesystem::path>& probe_cache = std::nullopt);

}  // namespace meros::vm
