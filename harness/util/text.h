// Small text helpers shared by every stage.
#pragma once

#include <string>
#include <string_view>

namespace meros {

// 'text' in single quotes, for messages.
inline std::string quote(std::string_view text) { return "'" + std::string(text) + "'"; }

}  // namespace meros
