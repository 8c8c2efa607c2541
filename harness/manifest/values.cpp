#include "manifest/values.h"
#include "util/text.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <vector>

namespace meros {
namespace {

bool parse_uint(std::string_view text, std::uint64_t& out) {
  if (text.empty()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}


// Splits "1m30s" into number/unit pairs; false on anything else.
bool split_number_units(std::string_view text,
                        std::vector<std::pair<std::uint64_t, std::string>>& parts) {
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t start = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
    std::uint64_t number = 0;
    if (!parse_uint(text.substr(start, i - start), number)) return false;
    start = i;
    while (i < text.size() && ((text[i] >= 'a' && text[i] <= 'z') || (text[i] >= 'A' && text[i] <= 'Z'))) ++i;
    parts.emplace_back(number, std::string(text.substr(start, i - start)));
  }
  return !parts.empty();
}

}  // namespace

bool is_identifier(std::string_view name) {
  auto alnum = [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (name.empty() || name.size() > 64 || !alnum(name[0])) return false;
  return std::all_of(name.begin(), name.end(), [&](char c) { return alnum(c) || c == '.' || c == '_' || c == '-'; });
}

Result<Duration> parse_duration(std::string_view text) {
  const std::string hint = "a duration such as 500ms, 30s, 10m or 1h";
  std::vector<std::pair<std::uint64_t, std::string>> parts;
  if (!split_number_units(text, parts))
    return make_error("invalid duration " + quote(text) + ": expected " + hint);
  std::uint64_t total_ms = 0;
  for (const auto& [number, unit] : parts) {
    std::uint64_t scale = 0;
    if (unit == "ms") scale = 1;
    else if (unit == "s") scale = 1000;
    else if (unit == "m") scale = 60'000;
    else if (unit == "h") scale = 3'600'000;
    else if (unit.empty())
      return make_error("duration " + quote(text) + " has no unit: expected " + hint);
    else
      return make_error("unknown duration unit " + quote(unit) + " in " + quote(text) + ": use ms, s, m or h");
    if (number > 1'000'000'000ull) return make_error("duration " + quote(text) + " is too long");
    total_ms += number * scale;
  }
  return Duration(total_ms);
}

std::string format_duration(Duration d) {
  auto ms = d.count();
  if (ms % 3'600'000 == 0 && ms) return std::to_string(ms / 3'600'000) + "h";
  if (ms % 60'000 == 0 && ms) return std::to_string(ms / 60'000) + "m";
  if (ms % 1000 == 0 && ms) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

namespace {

std::optional<std::uint64_t> size_unit_scale(std::string unit) {
  std::transform(unit.begin(), unit.end(), unit.begin(), [](unsigned char c) { return std::toupper(c); });
  for (const char* suffix : {"IB", "B"}) {
    std::string s(suffix);
    if (unit.size() > s.size() && unit.ends_with(s)) {
      unit.resize(unit.size() - s.size());
      break;
    }
  }
  if (unit == "K") return 1ull << 10;
  if (unit == "M") return 1ull << 20;
  if (unit == "G") return 1ull << 30;
  if (unit == "T") return 1ull << 40;
  return std::nullopt;
}

Result<std::uint64_t> parse_size_with_default(std::string_view text, std::optional<std::uint64_t> bare_scale) {
  const std::string hint = "a size such as 512M, 2G or 64K";
  std::vector<std::pair<std::uint64_t, std::string>> parts;
  if (!split_number_units(text, parts) || parts.size() != 1)
    return make_error("invalid size " + quote(text) + ": expected " + hint);
  auto [number, unit] = parts.front();
  std::optional<std::uint64_t> scale = unit.empty() ? bare_scale : size_unit_scale(unit);
  if (!scale && unit.empty())
    return make_error("size " + quote(text) + " has no unit: expected " + hint);
  if (!scale) return make_error("unknown size unit " + quote(unit) + " in " + quote(text) + ": use K, M, G or T");
  if (number > (1ull << 50) / *scale) return make_error("size " + quote(text) + " is too large");
  return number * *scale;
}

}  // namespace

Result<std::uint64_t> parse_size(std::string_view text) { return parse_size_with_default(text, std::nullopt); }

Result<std::uint64_t> parse_memory_mib(std::string_view text) {
  auto bytes = parse_size_with_default(text, 1ull << 20);
  if (!bytes) return bytes.error();
  if (*bytes % (1ull << 20) != 0)
    return make_error("memory " + quote(text) + " is not a whole number of MiB");
  return *bytes >> 20;
}

std::string Ipv4::str() const {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", value >> 24, (value >> 16) & 255, (value >> 8) & 255, value & 255);
  return buf;
}

Result<Ipv4> parse_ipv4(std::string_view text) {
  auto bad = [&] { return make_error("invalid IPv4 address " + quote(text) + ": expected four numbers 0-255 such as 10.0.10.21"); };
  std::uint32_t value = 0;
  std::size_t start = 0;
  for (int octet = 0; octet < 4; ++octet) {
    std::size_t dot = octet < 3 ? text.find('.', start) : text.size();
    if (dot == std::string_view::npos) return bad();
    std::string_view piece = text.substr(start, dot - start);
    std::uint64_t number = 0;
    if (piece.size() > 3 || (piece.size() > 1 && piece[0] == '0') || !parse_uint(piece, number) || number > 255)
      return bad();
    value = (value << 8) | static_cast<std::uint32_t>(number);
    start = dot + 1;
  }
  return Ipv4{value};
}

std::string Cidr::str() const { return network.str() + "/" + std::to_string(prefix); }

bool Cidr::overlaps(const Cidr& other) const {
  int shorter = std::min(prefix, other.prefix);
  std::uint32_t m = shorter == 0 ? 0 : ~std::uint32_t{0} << (32 - shorter);
  return (network.value & m) == (other.network.value & m);
}

Result<Cidr> parse_cidr(std::string_view text) {
  std::size_t slash = text.find('/');
  if (slash == std::string_view::npos)
    return make_error("invalid subnet " + quote(text) + ": expected address/prefix such as 10.0.10.0/24");
  auto address = parse_ipv4(text.substr(0, slash));
  if (!address) return make_error("invalid subnet " + quote(text) + ": expected address/prefix such as 10.0.10.0/24");
  std::uint64_t prefix = 0;
  if (!parse_uint(text.substr(slash + 1), prefix) || prefix > 32)
    return make_error("invalid prefix length in " + quote(text) + ": expected 0 to 32");
  Cidr cidr{*address, static_cast<int>(prefix)};
  if ((address->value & cidr.mask()) != address->value) {
    Cidr fixed{Ipv4{address->value & cidr.mask()}, cidr.prefix};
    return make_error("subnet " + quote(text) + " has host bits set: did you mean " + fixed.str() + "?");
  }
  return cidr;
}

Result<Cidr> parse_cidr_or_address(std::string_view text) {
  if (text.find('/') != std::string_view::npos) return parse_cidr(text);
  auto address = parse_ipv4(text);
  if (!address) return address.error();
  return Cidr{*address, 32};
}

std::string Mac::str() const {
  char buf[18];
  std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5]);
  return buf;
}

Result<Mac> parse_mac(std::string_view text) {
  auto bad = [&] { return make_error("invalid MAC address " + quote(text) + ": expected six hex pairs such as 52:54:00:12:34:56"); };
  if (text.size() != 17) return bad();
  Mac mac;
  for (int i = 0; i < 6; ++i) {
    std::string_view pair = text.substr(i * 3, 2);
    if (i < 5 && text[i * 3 + 2] != ':' && text[i * 3 + 2] != '-') return bad();
    unsigned value = 0;
    auto [end, ec] = std::from_chars(pair.data(), pair.data() + 2, value, 16);
    if (ec != std::errc() || end != pair.data() + 2) return bad();
    mac.bytes[i] = static_cast<std::uint8_t>(value);
  }
  if (mac.bytes[0] & 1) return make_error("MAC address " + quote(text) + " is a multicast address: the first byte must be even, e.g. 52:54:00:...");
  return mac;
}

std::optional<Proto> parse_proto(std::string_view text) {
  if (text == "tcp") return Proto::tcp;
  if (text == "udp") return Proto::udp;
  if (text == "icmp") return Proto::icmp;
  return std::nullopt;
}

std::string PortProto::str() const {
  if (proto == Proto::icmp) return "icmp";
  return std::to_string(port) + "/" + std::string(to_string(proto));
}

Result<int> parse_port(std::string_view text) {
  std::uint64_t number = 0;
  if (!parse_uint(text, number) || number < 1 || number > 65535)
    return make_error("invalid port " + quote(text) + ": expected a number from 1 to 65535");
  return static_cast<int>(number);
}

Result<PortProto> parse_port_proto(std::string_view text) {
  const std::string hint = ": expected port/proto such as 80/tcp or 53/udp, or icmp";
  if (text == "icmp") return PortProto{0, Proto::icmp};
  std::size_t slash = text.find('/');
  if (slash == std::string_view::npos) {
    if (parse_proto(text)) return make_error(quote(text) + " has no port: write e.g. 80/" + std::string(text));
    if (parse_port(text)) return make_error(quote(text) + " has no protocol: write " + std::string(text) + "/tcp or " + std::string(text) + "/udp");
    return make_error("invalid port/proto " + quote(text) + hint);
  }
  std::string_view left = text.substr(0, slash), right = text.substr(slash + 1);
  if (parse_proto(left)) std::swap(left, right);
  auto proto = parse_proto(right);
  if (!proto) {
    // Name the part that is not a protocol: the one that is not a number.
    std::string_view word = parse_port(right) ? left : right;
    if (!word.empty() && word.find_first_not_of("0123456789") != std::string_view::npos)
      return make_error("unknown protocol " + quote(word) + " in " + quote(text) + ": expected tcp, udp or icmp");
    return make_error("invalid port/proto " + quote(text) + hint);
  }
  if (*proto == Proto::icmp) return make_error("icmp takes no port in " + quote(text) + ": write icmp");
  auto port = parse_port(left);
  if (!port) return make_error("invalid port " + quote(left) + " in " + quote(text) + ": expected a number from 1 to 65535");
  return PortProto{*port, *proto};
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  // Optimal string alignment: insertions, deletions, substitutions and
  // swaps of two neighbours ("wbe" -> "web") each cost one.
  std::vector<std::size_t> before(b.size() + 1), previous(b.size() + 1), current(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) previous[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    current[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      current[j] = std::min({previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        current[j] = std::min(current[j], before[j - 2] + 1);
    }
    std::swap(before, previous);
    std::swap(previous, current);
  }
  return previous[b.size()];
}

}  // namespace meros
