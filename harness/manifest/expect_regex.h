// The regular expressions of `expect: {stdout_matches, stderr_matches}`:
// RE2, whose matching takes time linear in the input and a bounded stack
// whatever the pattern (std::regex recursed, and could overflow on long
// output). Compiled once, when the manifest is validated.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "util/result.h"

namespace re2 {
class RE2;
}

namespace meros {

// Longer patterns are refused: a test's assertion needs no more.
inline constexpr std::size_t kMaxExpectRegexLength = 1000;

// A compiled pattern. Searched anywhere in the text; '^' and '$' match at
// line starts and ends ((?m)), '.' does not match a newline.
using ExpectRegex = std::shared_ptr<const re2::RE2>;

// The compiled pattern, or an Error whose message is RE2's own reason
// ("missing ): ([a-z]+").
Result<ExpectRegex> compile_expect_regex(const std::string& pattern);
// True when the regex matches somewhere in text.
bool expect_regex_found(const ExpectRegex& regex, std::string_view text);

}  // namespace meros
