// Parsers for the small value types of the scenario format: durations,
// sizes, IPv4 addresses and subnets, MAC addresses, port/protocol pairs.
// Pure functions; each failure explains what would be right.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "util/duration.h"
#include "util/proto.h"
#include "util/result.h"

namespace meros {

// "500ms", "30s", "10m", "1h", "1m30s". A bare number is refused: its unit
// would be a guess.
Result<Duration> parse_duration(std::string_view text);
std::string format_duration(Duration d);

// "1G", "512M", "64K", "1T", binary units; "MiB"/"MB"-style suffixes are
// accepted as the same binary unit. A bare number is refused.
Result<std::uint64_t> parse_size(std::string_view text);
// Memory sizes: like parse_size, but a bare number means MiB. Returns MiB.
Result<std::uint64_t> parse_memory_mib(std::string_view text);

// Names of scenarios, kernels and images (spec v1.1 "Scenario names"): a
// letter or digit, then letters, digits, '.', '_' or '-', at most 64
// characters. They end up in paths, so "..", "/" and NUL can never pass.
bool is_identifier(std::string_view name);

struct Ipv4 {
  std::uint32_t value = 0;  // host byte order
  auto operator<=>(const Ipv4&) const = default;
  std::string str() const;
};

struct Cidr {
  Ipv4 network;
  int prefix = 0;
  auto operator<=>(const Cidr&) const = default;
  std::uint32_t mask() const { return prefix == 0 ? 0 : ~std::uint32_t{0} << (32 - prefix); }
  bool contains(Ipv4 ip) const { return (ip.value & mask()) == network.value; }
  bool overlaps(const Cidr& other) const;
  Ipv4 first_host() const { return Ipv4{network.value + (prefix >= 31 ? 0 : 1)}; }
  Ipv4 broadcast() const { return Ipv4{network.value | ~mask()}; }
  std::string str() const;
};

Result<Ipv4> parse_ipv4(std::string_view text);
// "10.0.0.0/24". Host bits must be zero ("10.0.0.5/24" names no subnet).
Result<Cidr> parse_cidr(std::string_view text);
// Accepts a CIDR or a bare address (taken as /32), host bits must be zero.
Result<Cidr> parse_cidr_or_address(std::string_view text);

struct Mac {
  std::uint8_t bytes[6] = {};
  auto operator<=>(const Mac&) const = default;
  std::string str() const;
};
// "52:54:00:12:34:56"; must be a unicast address.
Result<Mac> parse_mac(std::string_view text);

std::optional<Proto> parse_proto(std::string_view text);

struct PortProto {
  int port = 0;  // 0 for icmp
  Proto proto = Proto::tcp;
  auto operator<=>(const PortProto&) const = default;
  std::string str() const;  // "80/tcp", "icmp"
};
// "80/tcp", "53/udp", "icmp"; also the reversed "tcp/80".
Result<PortProto> parse_port_proto(std::string_view text);
Result<int> parse_port(std::string_view text);

// Edit distance counting insertions, deletions, substitutions and swaps of
// neighbouring characters as one edit each, for "did you mean" suggestions.
std::size_t edit_distance(std::string_view a, std::string_view b);

}  // namespace meros
