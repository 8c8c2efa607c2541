// Exit codes of meros-test (scenario-format.md, "Exit codes").
#pragma once

namespace meros::exit_code {
inline constexpr int passed = 0;
inline constexpr int test_failed = 1;
inline constexpr int usage = 2;
inline constexpr int environment = 3;
inline constexpr int interrupted_int = 130;
inline constexpr int interrupted_term = 143;
}  // namespace meros::exit_code
