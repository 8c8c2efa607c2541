// The -vv trace: every QEMU command line, SSH command and QMP exchange and
// each nft batch, one line each on stderr. Off unless main turns it on;
// callers pass the text and the trace bounds and escapes it, since much of
// it comes from guests.
#pragma once

#include <string_view>

namespace meros::debug_log {

void enable(bool on);
bool enabled();
// "[channel] text", at most a few hundred bytes, control characters escaped.
void write(std::string_view channel, std::string_view text);

}  // namespace meros::debug_log
