// An MBR with one Linux partition (type 0x83) from start_bytes for
// size_bytes, written into a raw disk file: how tests make a partitioned
// disk without fdisk.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>

namespace meros::testing_support {

inline bool write_single_partition_mbr(const std::filesystem::path& raw, std::uint64_t start_bytes, std::uint64_t size_bytes) {
  std::fstream out(raw, std::ios::in | std::ios::out | std::ios::binary);
  unsigned char entry[16] = {0};
  entry[4] = 0x83;
  auto first = static_cast<std::uint32_t>(start_bytes / 512), count = static_cast<std::uint32_t>(size_bytes / 512);
  for (int i = 0; i < 4; ++i) {
    entry[8 + i] = static_cast<unsigned char>(first >> (8 * i));
    entry[12 + i] = static_cast<unsigned char>(count >> (8 * i));
  }
  out.seekp(446);
  out.write(reinterpret_cast<const char*>(entry), 16);
  out.seekp(510);
  out.write("\x55\xaa", 2);
  return static_cast<bool>(out);
}

}  // namespace meros::testing_support
