#include "net/pcapng.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace meros::net {
namespace {

constexpr std::uint32_t kSectionHeader = 0x0A0D0D0A;
constexpr std::uint32_t kInterfaceDescription = 1;
constexpr std::uint32_t kEnhancedPacket = 6;
constexpr std::uint32_t kByteOrderMagic = 0x1A2B3C4D;
constexpr std::uint16_t kOptEnd = 0, kOptShbUserAppl = 4, kOptIfName = 2, kOptIfTsresol = 9;

template <typename T>
void put(std::string& out, T value) {
  out.append(reinterpret_cast<const char*>(&value), sizeof value);
}

void pad4(std::string& out) { out.append((4 - out.size() % 4) % 4, '\0'); }

void put_option(std::string& out, std::uint16_t code, std::string_view value) {
  put(out, code);
  put(out, static_cast<std::uint16_t>(value.size()));
  out.append(value);
  pad4(out);
}

// type, total length, body, total length again.
std::string block(std::uint32_t type, const std::string& body) {
  std::string out;
  auto total = static_cast<std::uint32_t>(12 + body.size());
  put(out, type);
  put(out, total);
  out += body;
  put(out, total);
  return out;
}

}  // namespace

std::string pcapng_section_header(const std::string& application) {
  std::string body;
  put(body, kByteOrderMagic);
  put(body, std::uint16_t{1});  // version 1.0
  put(body, std::uint16_t{0});
  put(body, std::int64_t{-1});  // section length: not given
  put_option(body, kOptShbUserAppl, application);
  put_option(body, kOptEnd, "");
  return block(kSectionHeader, body);
}

std::string pcapng_interface_description(const std::string& name, std::uint16_t link_type, std::uint32_t snaplen) {
  std::string body;
  put(body, link_type);
  put(body, std::uint16_t{0});
  put(body, snaplen);
  put_option(body, kOptIfName, name);
  put_option(body, kOptIfTsresol, std::string(1, '\x06'));  // microseconds (also the default)
  put_option(body, kOptEnd, "");
  return block(kInterfaceDescription, body);
}

std::string pcapng_enhanced_packet(std::span<const std::uint8_t> captured, std::uint32_t wire_length, std::uint64_t timestamp_us) {
  std::string body;
  put(body, std::uint32_t{0});  // the file's one interface
  put(body, static_cast<std::uint32_t>(timestamp_us >> 32));
  put(body, static_cast<std::uint32_t>(timestamp_us & 0xffffffffu));
  put(body, static_cast<std::uint32_t>(captured.size()));
  put(body, wire_length);
  body.append(reinterpret_cast<const char*>(captured.data()), captured.size());
  pad4(body);
  return block(kEnhancedPacket, body);
}

Result<PcapngWriter> PcapngWriter::create(const std::filesystem::path& path, const std::string& interface_name, std::uint16_t link_type,
                                          std::uint32_t snaplen, std::uint64_t limit_bytes) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) return make_error("cannot create " + path.string() + ": " + std::strerror(errno));
  std::FILE* file = ::fdopen(fd, "wb");
  if (!file) {
    ::close(fd);
    return make_error("cannot open " + path.string() + ": " + std::strerror(errno));
  }
  PcapngWriter writer(file, snaplen, limit_bytes);
  writer.write_block(pcapng_section_header("meros-test"));
  writer.write_block(pcapng_interface_description(interface_name, link_type, snaplen));
  if (writer.failed_) return make_error("cannot write " + path.string() + ": " + std::strerror(errno));
  return writer;
}

void PcapngWriter::write_block(const std::string& data) {
  if (std::fwrite(data.data(), 1, data.size(), file_.get()) != data.size()) failed_ = true;
  bytes_ += data.size();
}

bool PcapngWriter::packet(std::span<const std::uint8_t> captured, std::uint32_t wire_length, std::uint64_t timestamp_us) {
  if (captured.size() > snaplen_) captured = captured.first(snaplen_);
  // 32 bytes of block around the data, padded to 4.
  std::uint64_t size = 32 + (captured.size() + 3) / 4 * 4;
  if (failed_ || bytes_ + size > limit_) {
    ++left_out_;
    return false;
  }
  write_block(pcapng_enhanced_packet(captured, wire_length, timestamp_us));
  ++written_;
  return true;
}

void PcapngWriter::flush() {
  if (file_ && std::fflush(file_.get()) != 0) failed_ = true;
}

Status PcapngWriter::close() {
  if (!file_) return {};
  bool flushed = std::fflush(file_.get()) == 0;
  int closed = std::fclose(file_.release());
  if (failed_ || !flushed || closed != 0) return make_error(std::string("writing the capture failed: ") + std::strerror(errno));
  return {};
}

}  // namespace meros::net
