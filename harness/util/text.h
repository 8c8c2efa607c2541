// Small text helpers shared by every stage.
#pragma once

#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>

namespace meros {

// 'text' in single quotes, for messages.
inline std::string quote(std::string_view text) { return "'" + std::string(text) + "'"; }

// What an errno value means, e.g. "No such file or directory".
inline std::string errno_text(int error_number = errno) { return std::strerror(error_number); }

// text with every occurrence of from replaced by to (from not empty).
inline std::string replaced_all(std::string text, std::string_view from, std::string_view to) {
  for (std::size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
  return text;
}

// text without the whitespace at its ends.
inline std::string trimmed(std::string_view text) {
  auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return "";
  return std::string(text.substr(first, text.find_last_not_of(" \t\r\n") - first + 1));
}

}  // namespace meros
