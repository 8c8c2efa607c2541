// A VM's throw-away disk: a qcow2 overlay on a cached base image, created
// in O(1) whatever the base's size (qemu-img create -b), grown to the VM's
// disk_size when that is larger than the base. The base is never written.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "util/process.h"
#include "util/result.h"

namespace meros::vm {

// What qemu-img info says about an image.
struct ImageInfo {
  std::string format;  // "qcow2", "raw", ...
  std::uint64_t virtual_size = 0;
};
Result<ImageInfo> image_info(ProcessRunner& runner, const std::filesystem::path& image);

// Owns the overlay file: removes it on destruction unless kept. Move-only;
// the run's cleanup stack holds it next to the VM that uses it.
class Overlay {
 public:
  // size_bytes: the disk size wanted; 0 or not larger than the base's
  // virtual size keeps the base's size.
  static Result<Overlay> create(ProcessRunner& runner, const std::filesystem::path& base,
                                const std::filesystem::path& path, std::uint64_t size_bytes = 0);

  Overlay(Overlay&& other) noexcept;
  Overlay& operator=(Overlay&& other) noexcept;
  Overlay(const Overlay&) = delete;
  Overlay& operator=(const Overlay&) = delete;
  ~Overlay();

  const std::filesystem::path& path() const { return path_; }
  std::uint64_t virtual_size() const { return virtual_size_; }
  // Larger than the base: the guest grows its root filesystem at boot.
  bool grown() const { return grown_; }
  // Leave the file in place (--keep-on-failure).
  void keep() { path_.clear(); }
  // Removes the file now; idempotent.
  Status remove();

 private:
  Overlay(std::filesystem::path path, std::uint64_t virtual_size, bool grown)
      : path_(std::move(path)), virtual_size_(virtual_size), grown_(grown) {}

  std::filesystem::path path_;
  std::uint64_t virtual_size_ = 0;
  bool grown_ = false;
};

}  // namespace meros::vm
