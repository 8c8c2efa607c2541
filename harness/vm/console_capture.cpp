#include "vm/console_capture.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "util/text.h"

namespace meros::vm {
namespace fs = std::filesystem;

Result<std::unique_ptr<ConsoleCapture>> ConsoleCapture::start(const fs::path& pipe_base, const fs::path& log) {
  std::unique_ptr<ConsoleCapture> capture(new ConsoleCapture());
  capture->in_ = pipe_base.string() + ".in";
  capture->out_ = pipe_base.string() + ".out";
  for (const fs::path& fifo : {capture->in_, capture->out_}) {
    std::error_code ec;
    fs::remove(fifo, ec);
    if (::mkfifo(fifo.c_str(), 0600) != 0) return make_error("cannot make the console FIFO " + fifo.string() + ": " + errno_text());
  }
  // Read and write, like QEMU: the FIFO then never reports end-of-file,
  // before QEMU opens it or after it exits, and stop() ends the copy.
  capture->fifo_.reset(::open(capture->out_.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC));
  if (!capture->fifo_.valid()) return make_error("cannot open the console FIFO " + capture->out_.string() + ": " + errno_text());
  capture->log_ = CappedLogFile(log);
  if (Status opened = capture->log_.open(); !opened) return opened.error();
  capture->thread_ = std::thread([raw = capture.get()] { raw->copy(); });
  return capture;
}

ConsoleCapture::~ConsoleCapture() { stop(); }

// One FIFO's worth (64 KiB) at most; true when there was something.
bool ConsoleCapture::copy_available() {
  char buffer[64 * 1024];
  ssize_t n = ::read(fifo_.get(), buffer, sizeof buffer);
  if (n <= 0) return false;
  (void)log_.append(std::string_view(buffer, static_cast<std::size_t>(n)));
  dropped_.store(log_.dropped());
  return true;
}

void ConsoleCapture::copy() {
  while (!stopping_.load()) {
    pollfd p{fifo_.get(), POLLIN, 0};
    if (::poll(&p, 1, 100) > 0 && (p.revents & POLLIN)) copy_available();
  }
  while (copy_available()) {
  }
}

void ConsoleCapture::stop() {
  if (stopping_.exchange(true)) return;
  if (thread_.joinable()) thread_.join();
  fifo_.reset();
  std::error_code ec;
  fs::remove(in_, ec);
  fs::remove(out_, ec);
}

}  // namespace meros::vm
