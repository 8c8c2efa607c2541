// Text clean-up shared by the report writers: what characters may go into
// an XML document, how much captured output a report keeps, one-line
// messages and the fixed formatting of durations.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace meros {

// Captured output (stdout, stderr, console tails) beyond this is cut from
// the front: the end of a log is where the failure is. Full logs live in
// the artifacts directory.
inline constexpr std::size_t kOutputLimitBytes = 64 * 1024;

// Longest one-line message (attributes, JSON `message`) before it is cut.
inline constexpr std::size_t kMessageLimitBytes = 1024;

// Returns text as valid UTF-8 holding only characters XML 1.0 allows:
// control characters other than tab, LF and CR and the non-characters
// U+FFFE/U+FFFF are dropped, malformed UTF-8 bytes become U+FFFD, and
// CR LF / lone CR become LF (an XML parser would do the latter anyway).
std::string xml_text(std::string_view text);

// Keeps the last max_bytes of text, prefixed with "[... N bytes cut ...]\n"
// when anything was cut; never starts inside a UTF-8 sequence.
std::string keep_tail(std::string_view text, std::size_t max_bytes = kOutputLimitBytes);

// Folds every run of whitespace (newlines included) into one space, trims
// both ends and cuts the result to max_bytes, marking a cut with " [...]".
std::string one_line(std::string_view text, std::size_t max_bytes = kMessageLimitBytes);

// Seconds with millisecond precision and no exponent, "1.204"; negative,
// infinite and NaN durations print as "0.000".
std::string format_seconds(double seconds);

// The duration as a double rounded to milliseconds, clamped like format_seconds().
double round_seconds(double seconds);

}  // namespace meros
