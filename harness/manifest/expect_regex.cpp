#include "manifest/expect_regex.h"

#include <re2/re2.h>

namespace meros {
namespace {

RE2::Options options() {
  RE2::Options o;
  o.set_log_errors(false);  // the error goes into the manifest's diagnostic
  return o;
}

}  // namespace

Result<ExpectRegex> compile_expect_regex(const std::string& pattern) {
  if (pattern.size() > kMaxExpectRegexLength)
    return make_error("it is longer than " + std::to_string(kMaxExpectRegexLength) + " characters");
  // The user's pattern alone first, so that RE2's message quotes only what
  // the user wrote; then with (?m) for the line-anchored '^' and '$' the
  // manifest format promises.
  {
    RE2 plain(pattern, options());
    if (!plain.ok()) return make_error(plain.error());
  }
  auto regex = std::make_shared<const RE2>("(?m)" + pattern, options());
  if (!regex->ok()) return make_error(regex->error());
  return ExpectRegex(regex);
}

bool expect_regex_found(const ExpectRegex& regex, std::string_view text) {
  return regex && regex->ok() && RE2::PartialMatch(text, *regex);
}

}  // namespace meros
