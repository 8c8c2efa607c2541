#include "vm/qmp.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "manifest/values.h"
#include "util/text.h"
#include "util/debug_log.h"

namespace meros::vm {
namespace fs = std::filesystem;
using std::chrono::steady_clock;

namespace {

Duration remaining(steady_clock::time_point deadline) {
  auto left = std::chrono::duration_cast<Duration>(deadline - steady_clock::now());
  return left.count() > 0 ? left : Duration(0);
}

bool is_event(const json& message) { return message.is_object() && message.contains("event"); }

}  // namespace

// --- SocketQmpChannel ---

SocketQmpChannel::~SocketQmpChannel() {
  if (fd_ >= 0) ::close(fd_);
}

Result<std::unique_ptr<SocketQmpChannel>> SocketQmpChannel::connect(const fs::path& socket, Duration timeout,
                                                                    const std::function<bool()>& keep_trying) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (socket.native().size() >= sizeof address.sun_path)
    return make_error("QMP socket path too long (" + std::to_string(socket.native().size()) + " bytes, at most " +
                      std::to_string(sizeof address.sun_path - 1) + "): " + socket.string());
  std::memcpy(address.sun_path, socket.c_str(), socket.native().size());
  auto deadline = steady_clock::now() + timeout;
  while (true) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return make_error(std::string("cannot create a unix socket: ") + std::strerror(errno));
    if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0)
      return std::make_unique<SocketQmpChannel>(fd);
    int error = errno;
    ::close(fd);
    bool not_yet = error == ENOENT || error == ECONNREFUSED;
    if (!not_yet) return make_error("cannot connect to QMP socket " + socket.string() + ": " + std::strerror(error));
    if (keep_trying && !keep_trying()) return make_error("QMP socket " + socket.string() + ": gave up connecting");
    if (steady_clock::now() >= deadline)
      return make_error("QMP socket " + socket.string() + " not accepting connections after " + format_duration(timeout));
    std::this_thread::sleep_for(Duration(5));
  }
}

Status SocketQmpChannel::send_line(std::string_view line) {
  std::string data(line);
  data += '\n';
  std::size_t sent = 0;
  while (sent < data.size()) {
    ssize_t n = ::send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return make_error(std::string("QMP send failed: ") + std::strerror(errno));
    sent += static_cast<std::size_t>(n);
  }
  return {};
}

Received SocketQmpChannel::receive_line(std::string& line, Duration timeout) {
  auto deadline = steady_clock::now() + timeout;
  while (true) {
    if (std::size_t nl = buffer_.find('\n'); nl != std::string::npos) {
      line = buffer_.substr(0, nl);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      buffer_.erase(0, nl + 1);
      return Received::line;
    }
    pollfd pfd{fd_, POLLIN, 0};
    int ready = ::poll(&pfd, 1, static_cast<int>(remaining(deadline).count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0) return Received::timeout;
    char chunk[4096];
    ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Received::closed;
    buffer_.append(chunk, static_cast<std::size_t>(n));
  }
}

// --- FakeQmpChannel ---

Status FakeQmpChannel::send_line(std::string_view line) {
  if (closed_ && incoming_.empty()) return make_error("QMP send failed: connection closed");
  json command = json::parse(line, nullptr, false);
  sent_.push_back(command);
  if (responder_) responder_(command, *this);
  return {};
}

Received FakeQmpChannel::receive_line(std::string& line, Duration) {
  if (incoming_.empty()) return closed_ ? Received::closed : Received::timeout;
  line = std::move(incoming_.front());
  incoming_.pop_front();
  return Received::line;
}

// --- QmpClient ---

Result<QmpClient> QmpClient::open(std::unique_ptr<QmpChannel> channel, Duration timeout) {
  QmpClient client(std::move(channel));
  auto deadline = steady_clock::now() + timeout;
  auto greeting = client.read_message(deadline, "the QMP greeting");
  if (!greeting) return greeting.error();
  if (!greeting->contains("QMP")) return make_error("not a QMP greeting: " + greeting->dump());
  client.greeting_ = std::move(*greeting);
  if (auto ok = client.execute("qmp_capabilities", json::object(), remaining(deadline)); !ok) return ok.error();
  return client;
}

Result<json> QmpClient::read_message(steady_clock::time_point deadline, std::string_view what) {
  if (closed_) return make_error("QMP: connection is closed (QEMU exited?)");
  std::string line;
  while (true) {
    switch (channel_->receive_line(line, remaining(deadline))) {
      case Received::timeout:
        return make_error("QMP: timed out waiting for " + std::string(what));
      case Received::closed:
        closed_ = true;
        return make_error("QMP: connection closed while waiting for " + std::string(what) + " (QEMU exited?)");
      case Received::line:
        break;
    }
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    json message = json::parse(line, nullptr, false);
    if (message.is_discarded() || !message.is_object())
      return make_error("QMP: malformed message while waiting for " + std::string(what) + ": " + line);
    return message;
  }
}

Result<json> QmpClient::execute(std::string_view command, const json& arguments, Duration timeout) {
  std::string id = "meros-" + std::to_string(next_id_++);
  json request = {{"execute", command}, {"id", id}};
  if (!arguments.empty()) request["arguments"] = arguments;
  if (closed_) return make_error("QMP: cannot send " + quote(command) + ": connection is closed (QEMU exited?)");
  debug_log::write("qmp", "-> " + request.dump());
  if (auto sent = channel_->send_line(request.dump()); !sent) {
    closed_ = true;
    return make_error("QMP " + quote(command) + ": " + sent.error().message);
  }
  auto deadline = steady_clock::now() + timeout;
  std::string what = "the reply to " + quote(command);
  while (true) {
    auto message = read_message(deadline, what);
    if (!message) return message.error();
    debug_log::write("qmp", "<- " + message->dump());
    if (is_event(*message)) {
      queue_event(std::move(*message));
      continue;
    }
    // A late reply to an earlier command that timed out.
    if (message->value("id", json()) != id) continue;
    if (message->contains("error")) {
      const json& error = (*message)["error"];
      return make_error("QMP " + quote(command) + " failed: " + error.value("class", "Error") + ": " +
                        error.value("desc", error.dump()));
    }
    return message->value("return", json::object());
  }
}

Result<RunState> QmpClient::query_status() {
  auto reply = execute("query-status");
  if (!reply) return reply.error();
  return RunState{reply->value("status", ""), reply->value("running", false)};
}

Status QmpClient::system_powerdown() {
  if (auto reply = execute("system_powerdown"); !reply) return reply.error();
  return {};
}

Status QmpClient::quit(Duration timeout) {
  auto reply = execute("quit", json::object(), timeout);
  if (!reply && !closed_) return reply.error();
  return {};
}

Status QmpClient::set_link(std::string_view device_id, bool up) {
  if (auto reply = execute("set_link", {{"name", device_id}, {"up", up}}); !reply) return reply.error();
  return {};
}

Result<json> QmpClient::wait_event(std::string_view name, Duration timeout) {
  for (auto it = events_.begin(); it != events_.end(); ++it) {
    if ((*it)["event"] != name) continue;
    json event = std::move(*it);
    events_.erase(it);
    return event;
  }
  auto deadline = steady_clock::now() + timeout;
  std::string what = "event " + std::string(name);
  while (true) {
    auto message = read_message(deadline, what);
    if (!message) return message.error();
    if (!is_event(*message)) continue;  // a stale reply
    if ((*message)["event"] == name) return message;
    queue_event(std::move(*message));
  }
}

void QmpClient::queue_event(json event) {
  // Nobody may ask for events for a long time (NIC_RX_FILTER_CHANGED and
  // the like keep coming); keep the newest.
  if (events_.size() >= kMaxQueuedEvents) events_.pop_front();
  events_.push_back(std::move(event));
}

std::vector<json> QmpClient::take_events() {
  std::vector<json> out(std::make_move_iterator(events_.begin()), std::make_move_iterator(events_.end()));
  events_.clear();
  return out;
}

}  // namespace meros::vm
