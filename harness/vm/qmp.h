// The QEMU Machine Protocol: JSON lines over a socket. QmpChannel is the
// seam (a real socket, or a fake in tests); QmpClient does the protocol:
// greeting, capability negotiation, commands matched to their replies by
// id, and asynchronous events queued until someone asks for them.
#pragma once

#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/result.h"
#include "vm/clock.h"

namespace meros::vm {

using nlohmann::json;

enum class Received { line, timeout, closed };

// One line-oriented connection to a QMP server.
class QmpChannel {
 public:
  virtual ~QmpChannel() = default;
  // Sends one message; the channel adds the newline.
  virtual Status send_line(std::string_view line) = 0;
  // Waits up to timeout for the next line (without its newline).
  virtual Received receive_line(std::string& line, Duration timeout) = 0;
};

// A connected stream socket: QEMU's unix socket, or one end of a
// socketpair in tests. Owns the descriptor.
class SocketQmpChannel : public QmpChannel {
 public:
  explicit SocketQmpChannel(int fd) : fd_(fd) {}
  SocketQmpChannel(const SocketQmpChannel&) = delete;
  SocketQmpChannel& operator=(const SocketQmpChannel&) = delete;
  ~SocketQmpChannel() override;

  // Connects to a unix socket, retrying while it does not exist yet or
  // refuses, until timeout or until keep_trying says stop (QEMU died).
  static Result<std::unique_ptr<SocketQmpChannel>> connect(const std::filesystem::path& socket, Duration timeout,
                                                           const std::function<bool()>& keep_trying = {});

  Status send_line(std::string_view line) override;
  Received receive_line(std::string& line, Duration timeout) override;

 private:
  int fd_;
  std::string buffer_;  // received bytes not yet returned as a line
};

// A scripted server for tests: lines queued with push() are received in
// order; a responder, if set, answers each sent command. Once the queue is
// empty the channel reports a timeout, or closed after close().
class FakeQmpChannel : public QmpChannel {
 public:
  using Responder = std::function<void(const json& command, FakeQmpChannel& channel)>;

  void push(const json& message) { incoming_.push_back(message.dump()); }
  void push_raw(std::string line) { incoming_.push_back(std::move(line)); }
  void close() { closed_ = true; }
  void set_responder(Responder responder) { responder_ = std::move(responder); }
  const std::vector<json>& sent() const { return sent_; }

  Status send_line(std::string_view line) override;
  Received receive_line(std::string& line, Duration timeout) override;

 private:
  std::deque<std::string> incoming_;
  std::vector<json> sent_;
  Responder responder_;
  bool closed_ = false;
};

// What query-status says.
struct RunState {
  std::string status;  // "running", "paused", "shutdown", "inmigrate", ...
  bool running = false;
};

// A QMP session with one QEMU. Move-only; not thread-safe: its owner (a
// Machine) serialises calls.
class QmpClient {
 public:
  // Reads the greeting and negotiates capabilities (qmp_capabilities).
  static Result<QmpClient> open(std::unique_ptr<QmpChannel> channel, Duration timeout = Duration(5000));

  // Runs a command and returns its "return" value. Fails with the
  // server's error class and description, on timeout, or when the
  // connection closes first.
  Result<json> execute(std::string_view command, const json& arguments = json::object(),
                       Duration timeout = Duration(10'000));

  Result<RunState> query_status();
  // Asks the guest to power off (ACPI); returns before it has.
  Status system_powerdown();
  // Ends QEMU. The connection closing before the reply counts as success.
  Status quit(Duration timeout = Duration(5000));
  // Sets a NIC's link (device id, e.g. "net0" or "mgmt") up or down.
  Status set_link(std::string_view device_id, bool up);

  // The next event called name (queued or still to come), e.g.
  // "SHUTDOWN", "RESET", "STOP". Events read past are kept in the queue.
  Result<json> wait_event(std::string_view name, Duration timeout);
  // The events received so far and not yet waited for, oldest first.
  std::vector<json> take_events();

  const json& greeting() const { return greeting_; }
  bool closed() const { return closed_; }

 private:
  explicit QmpClient(std::unique_ptr<QmpChannel> channel) : channel_(std::move(channel)) {}

  static constexpr std::size_t kMaxQueuedEvents = 1000;
  void queue_event(json event);

  // Reads one message; Error on bad JSON, timeout or close (what names the
  // wait in the message).
  Result<json> read_message(std::chrono::steady_clock::time_point deadline, std::string_view what);

  std::unique_ptr<QmpChannel> channel_;
  json greeting_;
  std::deque<json> events_;  // at most kMaxQueuedEvents, oldest dropped
  std::uint64_t next_id_ = 1;
  bool closed_ = false;
};

}  // namespace meros::vm
