#include "util/debug_log.h"

#include <atomic>
#include <cstdio>
#include <mutex>
#include <string>

namespace meros::debug_log {
namespace {

std::atomic<bool> g_enabled{false};
std::mutex g_mutex;
constexpr std::size_t kMaxLine = 400;

std::string escaped(std::string_view text) {
  std::string out;
  for (unsigned char c : text.substr(0, kMaxLine)) {
    if (c == '\n') out += "\\n";
    else if (c < 0x20 || c == 0x7f) {
      char hex[5];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    } else out += static_cast<char>(c);
  }
  if (text.size() > kMaxLine) out += "... (" + std::to_string(text.size()) + " bytes)";
  return out;
}

}  // namespace

void enable(bool on) { g_enabled = on; }
bool enabled() { return g_enabled; }

void write(std::string_view channel, std::string_view text) {
  if (!g_enabled) return;
  std::string line = "[" + std::string(channel) + "] " + escaped(text) + "\n";
  std::lock_guard<std::mutex> lock(g_mutex);
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace meros::debug_log
