// Errors from failed system calls, in the words of strerror(3).
#pragma once

#include <cstring>
#include <string>

#include "util/result.h"

namespace meros::net {

inline Error sys_error(const std::string& what, int error_number) {
  return make_error(what + ": " + std::strerror(error_number));
}

}  // namespace meros::net
