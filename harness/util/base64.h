// Standard base64 (RFC 4648, with padding), for bytes that travel inside
// JSON: the guest agent relays its nftables trace so.
#pragma once

#include <string>
#include <string_view>

#include "util/result.h"

namespace meros {

std::string encode_base64(std::string_view bytes);
// An Error for any character outside the alphabet or a bad length.
Result<std::string> decode_base64(std::string_view text);

}  // namespace meros
