#include "util/disk_format.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <fstream>
#include <string_view>

#include "util/text.h"

namespace meros {

using namespace std::string_view_literals;

namespace {

std::uint64_t big_endian(std::string_view bytes) {
  std::uint64_t value = 0;
  for (char c : bytes) value = value << 8 | static_cast<unsigned char>(c);
  return value;
}

// Formats whose headers can name other files; refused by name.
std::string_view other_format(std::string_view head) {
  struct Magic {
    std::size_t offset;
    std::string_view bytes, name;
  };
  static constexpr std::array<Magic, 7> magics = {{{0, "QED\0"sv, "QED"},
                                                   {0, "KDMV"sv, "VMDK"},
                                                   {0, "# Disk DescriptorFile"sv, "VMDK descriptor"},
                                                   {0, "vhdxfile"sv, "VHDX"},
                                                   {0, "conectix"sv, "VHD"},
                                                   {0x40, "\x7f\x10\xda\xbe"sv, "VDI"},
                                                   {0, "LUKS\xba\xbe"sv, "LUKS"}}};
  for (const auto& magic : magics)
    if (head.size() >= magic.offset + magic.bytes.size() && head.substr(magic.offset, magic.bytes.size()) == magic.bytes)
      return magic.name;
  return {};
}

constexpr std::uint64_t kExternalDataFileBit = 1u << 2;  // qcow2 v3 incompatible feature

}  // namespace

Result<std::string> self_contained_disk_format(const std::filesystem::path& path, std::string_view shown_as) {
  const std::string name = shown_as.empty() ? path.string() : std::string(shown_as);
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error("cannot read " + quote(name));
  std::string head(512, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<std::size_t>(in.gcount()));
  const std::string flatten = "qemu-img convert -O qcow2 " + name + " NEW.qcow2";
  if (auto format = other_format(head); !format.empty())
    return make_error(quote(name) + " is a " + std::string(format) +
                      " image; only self-contained qcow2 and raw images are read (these formats can name other files): if you "
                      "trust what it refers to, convert it first with `" + flatten + "`");
  if (!std::string_view(head).starts_with("QFI\xfb"sv)) return std::string("raw");
  if (head.size() < 72) return make_error(quote(name) + " has a truncated qcow2 header");
  std::uint64_t version = big_endian(std::string_view(head).substr(4, 4));
  std::uint64_t backing_offset = big_endian(std::string_view(head).substr(8, 8));
  std::uint64_t backing_size = big_endian(std::string_view(head).substr(16, 4));
  if (backing_offset != 0) {
    std::string backing(std::min<std::uint64_t>(backing_size, 1023), '\0');
    in.clear();
    in.seekg(static_cast<std::streamoff>(backing_offset));
    in.read(backing.data(), static_cast<std::streamsize>(backing.size()));
    backing.resize(static_cast<std::size_t>(std::max<std::streamsize>(0, in.gcount())));
    for (char& c : backing)
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
    return make_error(quote(name) + " is a qcow2 image with a backing file (" + quote(backing) +
                      "); an input image must be self-contained: if you trust that file, flatten the image first with `" + flatten + "`");
  }
  if (version >= 3 && head.size() >= 80 && (big_endian(std::string_view(head).substr(72, 8)) & kExternalDataFileBit))
    return make_error(quote(name) + " is a qcow2 image with an external data file; an input image must be self-contained: "
                                             "if you trust that file, convert the image first with `" + flatten + "`");
  return std::string("qcow2");
}

}  // namespace meros
