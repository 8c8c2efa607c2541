#include "vm/accel_cache.h"

#include <sys/stat.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "report/atomic_file.h"
#include "util/process.h"

namespace meros::vm {
namespace fs = std::filesystem;

namespace {

// The cache file is small; anything bigger is not ours.
constexpr std::streamsize kMaxCacheBytes = 64 * 1024;

std::optional<std::string> read_small(const fs::path& path, std::streamsize limit) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::string text(static_cast<std::size_t>(limit) + 1, '\0');
  in.read(text.data(), limit + 1);
  if (in.gcount() > limit) return std::nullopt;
  text.resize(static_cast<std::size_t>(in.gcount()));
  return text;
}

std::string stat_identity(const fs::path& path, bool device) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return path.string() + " absent";
  std::string id = path.string() + " ino=" + std::to_string(st.st_ino) + " ctime=" + std::to_string(st.st_ctim.tv_sec) +
                   "." + std::to_string(st.st_ctim.tv_nsec);
  if (device) return id + " rdev=" + std::to_string(st.st_rdev);
  return id + " size=" + std::to_string(st.st_size) + " mtime=" + std::to_string(st.st_mtim.tv_sec) + "." +
         std::to_string(st.st_mtim.tv_nsec);
}

}  // namespace

std::optional<std::string> probe_identity(const fs::path& qemu, const fs::path& kvm_device, const fs::path& boot_id_file) {
  auto boot_id = read_small(boot_id_file, 128);
  if (!boot_id || boot_id->empty()) return std::nullopt;
  while (!boot_id->empty() && (boot_id->back() == '\n' || boot_id->back() == ' ')) boot_id->pop_back();
  fs::path binary = qemu;
  if (!qemu.has_parent_path())
    if (auto found = find_program(qemu.string())) binary = *found;
  return "boot " + *boot_id + "; qemu " + stat_identity(binary, false) + "; kvm " + stat_identity(kvm_device, true);
}

std::optional<ProbeOutcome> CachedKvmProber::cached() const {
  if (!identity_) return std::nullopt;
  auto text = read_small(cache_file_, kMaxCacheBytes);
  if (!text) return std::nullopt;
  auto entry = nlohmann::json::parse(*text, nullptr, false);
  if (!entry.is_object() || entry.value("identity", std::string()) != *identity_) return std::nullopt;
  auto ran = entry.find("ran");
  auto detail = entry.find("detail");
  if (ran == entry.end() || !ran->is_boolean() || detail == entry.end() || !detail->is_string()) return std::nullopt;
  return ProbeOutcome{ran->get<bool>(), detail->get<std::string>()};
}

void CachedKvmProber::remember(const ProbeOutcome& outcome) const {
  if (!identity_) return;
  nlohmann::json entry = {{"identity", *identity_}, {"ran", outcome.ran}, {"detail", outcome.detail}};
  std::error_code ec;
  fs::create_directories(cache_file_.parent_path(), ec);
  (void)write_file_atomically(cache_file_, entry.dump(2) + "\n");
}

ProbeOutcome CachedKvmProber::run_probe_guest(Duration deadline) {
  if (auto outcome = cached()) {
    outcome->detail += " (probed earlier this boot)";
    return *outcome;
  }
  ProbeOutcome outcome = inner_.run_probe_guest(deadline);
  if (!outcome.timed_out) remember(outcome);
  return outcome;
}

}  // namespace meros::vm
