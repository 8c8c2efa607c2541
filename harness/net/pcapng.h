// A pcapng file written packet by packet, for the bridge captures
// (net/capture.h). libpcap reads pcapng, but its dump API writes only the
// classic pcap format, which cannot name the interface a packet was seen
// on; pcapng's three blocks used here (Section Header, Interface
// Description, Enhanced Packet) are small enough to write directly.
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <span>
#include <string>

#include "util/result.h"

namespace meros::net {

// pcapng's LINKTYPE_ETHERNET: what a Linux bridge carries.
inline constexpr std::uint16_t kLinkTypeEthernet = 1;

class PcapngWriter {
 public:
  // Creates PATH (never through a symlink) holding one interface, named
  // interface_name. The file never grows beyond limit_bytes: packets that
  // would take it past the bound are counted, not written.
  static Result<PcapngWriter> create(const std::filesystem::path& path, const std::string& interface_name, std::uint16_t link_type,
                                     std::uint32_t snaplen, std::uint64_t limit_bytes);

  // Writes one packet: its captured bytes (at most snaplen), its length on
  // the wire and when it was seen (microseconds since the epoch). False
  // when the bound left it out.
  bool packet(std::span<const std::uint8_t> captured, std::uint32_t wire_length, std::uint64_t timestamp_us);
  // Hands what was written to the kernel, so that a reader (or a run that
  // is killed) sees every packet so far.
  void flush();
  // Flushes and closes; reports a write error.
  Status close();

  std::uint64_t bytes() const { return bytes_; }
  std::uint64_t written() const { return written_; }
  std::uint64_t left_out() const { return left_out_; }

 private:
  struct FileCloser {
    void operator()(std::FILE* f) const { std::fclose(f); }
  };
  PcapngWriter(std::FILE* file, std::uint32_t snaplen, std::uint64_t limit) : file_(file), snaplen_(snaplen), limit_(limit) {}
  void write_block(const std::string& block);

  std::unique_ptr<std::FILE, FileCloser> file_;
  std::uint32_t snaplen_;
  std::uint64_t limit_;
  std::uint64_t bytes_ = 0, written_ = 0, left_out_ = 0;
  bool failed_ = false;
};

// The blocks themselves, for tests: in this host's byte order, as pcapng
// allows (the Section Header's byte-order magic says which).
std::string pcapng_section_header(const std::string& application);
std::string pcapng_interface_description(const std::string& name, std::uint16_t link_type, std::uint32_t snaplen);
std::string pcapng_enhanced_packet(std::span<const std::uint8_t> captured, std::uint32_t wire_length, std::uint64_t timestamp_us);

}  // namespace meros::net
