#include "report/text.h"

#include <charconv>
#include <cmath>

namespace meros {
namespace {

constexpr std::string_view kReplacementChar = "\xEF\xBF\xBD";  // U+FFFD

bool is_continuation(unsigned char byte) { return (byte & 0xC0) == 0x80; }

// Length of the well-formed UTF-8 sequence starting at text[i] (2-4), or 0
// when it is malformed: bad lead byte, overlong form, surrogate, > U+10FFFF.
std::size_t utf8_sequence_length(std::string_view text, std::size_t i) {
  auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[i + k]); };
  unsigned char lead = byte(0);
  std::size_t length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
  if (lead < 0xC2 || lead > 0xF4 || i + length > text.size()) return 0;
  unsigned char low = 0x80;
  unsigned char high = 0xBF;
  if (lead == 0xE0) low = 0xA0;
  if (lead == 0xED) high = 0x9F;
  if (lead == 0xF0) low = 0x90;
  if (lead == 0xF4) high = 0x8F;
  if (byte(1) < low || byte(1) > high) return 0;
  for (std::size_t k = 2; k < length; ++k) {
    if (!is_continuation(byte(k))) return 0;
  }
  return length;
}

// U+FFFE and U+FFFF are outside the XML 1.0 Char production.
bool is_xml_noncharacter(std::string_view sequence) {
  return sequence == "\xEF\xBF\xBE" || sequence == "\xEF\xBF\xBF";
}

void append_ascii(std::string& out, std::string_view text, std::size_t& i) {
  char c = text[i++];
  if (c == '\r') {
    if (i < text.size() && text[i] == '\n') return;  // CR LF: the LF follows
    out += '\n';
    return;
  }
  bool control = static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n';
  if (!control) out += c;
}

}  // namespace

std::string xml_text(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    if (static_cast<unsigned char>(text[i]) < 0x80) {
      append_ascii(out, text, i);
      continue;
    }
    std::size_t length = utf8_sequence_length(text, i);
    if (length == 0) {
      out += kReplacementChar;
      ++i;
      continue;
    }
    std::string_view sequence = text.substr(i, length);
    if (!is_xml_noncharacter(sequence)) out += sequence;
    i += length;
  }
  return out;
}

std::string keep_tail(std::string_view text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return std::string(text);
  std::size_t start = text.size() - max_bytes;
  while (start < text.size() && is_continuation(static_cast<unsigned char>(text[start]))) {
    ++start;
  }
  return "[... " + std::to_string(start) + " bytes cut ...]\n" + std::string(text.substr(start));
}

std::string one_line(std::string_view text, std::size_t max_bytes) {
  std::string out;
  bool pending_space = false;
  for (char c : text) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f') {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out += ' ';
    pending_space = false;
    out += c;
  }
  if (out.size() <= max_bytes) return out;
  std::size_t end = max_bytes;
  while (end > 0 && is_continuation(static_cast<unsigned char>(out[end]))) --end;
  return out.substr(0, end) + " [...]";
}

double round_seconds(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return 0;
  return std::round(seconds * 1000) / 1000;
}

std::string format_seconds(double seconds) {
  char text[64];
  auto [end, error] =
      std::to_chars(text, text + sizeof text, round_seconds(seconds), std::chars_format::fixed, 3);
  if (error != std::errc()) return "0.000";  // only for absurd values beyond 10^60 s
  return std::string(text, end);
}

}  // namespace meros
