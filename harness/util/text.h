// Small text helpers shared by every stage.
#pragma once

#include <string>
#include <string_view>

namespace meros {

// 'text' in single quotes, for messages.
inline std::string quote(std::string_view text) { return "'" + std::string(text) + "'"; }

// text without the whitespace at its ends.
inline std::string trimmed(std::string_view text) {
  auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return "";
  return std::string(text.substr(first, text.find_last_not_of(" \t\r\n") - first + 1));
}

}  // namespace meros
