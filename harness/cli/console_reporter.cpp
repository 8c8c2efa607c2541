#include "cli/console_reporter.h"

#include <unistd.h>

#include <cstdlib>
#include <iostream>

namespace meros {

bool colors_enabled(ColorMode mode, int fd) {
  if (mode != ColorMode::automatic) return mode == ColorMode::always;
  if (const char* no_color = std::getenv("NO_COLOR"); no_color && *no_color) return false;
  if (const char* term = std::getenv("TERM"); term && std::string(term) == "dumb") return false;
  return ::isatty(fd) != 0;
}

std::string paint(const std::string& text, Paint colour, bool enabled) {
  if (!enabled) return text;
  static const char* codes[] = {"\033[32m", "\033[31m", "\033[33m", "\033[1m"};
  return codes[static_cast<int>(colour)] + text + "\033[0m";
}

ConsoleReporter::ConsoleReporter(int verbosity) : terminal_(::isatty(STDERR_FILENO) != 0), verbosity_(verbosity) {}

ConsoleReporter::~ConsoleReporter() {
  std::lock_guard<std::mutex> lock(mutex_);
  clear_status();
}

void ConsoleReporter::clear_status() {
  if (status_shown_) std::cerr << "\r\033[K" << std::flush;
  status_shown_ = false;
}

void ConsoleReporter::info(const std::string& line) {
  if (verbosity_ < 0) return;
  std::lock_guard<std::mutex> lock(mutex_);
  clear_status();
  std::cerr << line << "\n";
}

void ConsoleReporter::progress(const std::string& fixture, const std::string& step, int done, int total) {
  if (verbosity_ < 0) return;
  std::string text = fixture + ": " + step;
  if (done > 0) text += " " + std::to_string(done) + (total > 0 ? "/" + std::to_string(total) : " objects");
  std::lock_guard<std::mutex> lock(mutex_);
  if (terminal_) {
    std::cerr << "\r\033[K" << text << std::flush;
    status_shown_ = true;
    return;
  }
  // Plain output: each new step, and a count at most every 20 s.
  auto now = std::chrono::steady_clock::now();
  if (step != last_step_ || verbosity_ > 0 || now - last_plain_ > std::chrono::seconds(20)) {
    std::cerr << text << "\n";
    last_step_ = step;
    last_plain_ = now;
  }
}

}  // namespace meros
