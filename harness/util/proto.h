// The one protocol type, shared by the manifest, the harness and the
// static guest agent (hence header-only).
#pragma once

#include <string_view>

namespace meros {

enum class Proto { tcp, udp, icmp };

inline std::string_view to_string(Proto proto) {
  switch (proto) {
    case Proto::tcp: return "tcp";
    case Proto::udp: return "udp";
    case Proto::icmp: return "icmp";
  }
  return "?";
}

}  // namespace meros
