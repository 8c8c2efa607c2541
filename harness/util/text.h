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

// True when c is in set, written as inside a regex's brackets: "a-z0-9_-"
// (a '-' that ends the set is itself).
inline bool in_char_class(char c, std::string_view set) {
  for (std::size_t i = 0; i < set.size(); ++i) {
    if (i + 2 < set.size() && set[i + 1] == '-') {
      if (c >= set[i] && c <= set[i + 2]) return true;
      i += 2;
    } else if (c == set[i]) {
      return true;
    }
  }
  return false;
}

// True when text is one character of `first` then only characters of
// `rest`, min_size to max_size in all: what a name rule such as
// [a-z][a-z0-9-]{0,30} says, without a regex engine.
inline bool spelled_as(std::string_view text, std::string_view first, std::string_view rest, std::size_t min_size,
                       std::size_t max_size) {
  if (text.size() < min_size || text.size() > max_size || text.empty() || !in_char_class(text[0], first)) return false;
  for (std::size_t i = 1; i < text.size(); ++i)
    if (!in_char_class(text[i], rest)) return false;
  return true;
}

}  // namespace meros
