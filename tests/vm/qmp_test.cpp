// QmpClient against a fake QMP server: a thread playing a script on the
// other end of a socketpair, so the real socket channel is exercised too.
#include "vm/qmp.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <filesystem>
#include <cstring>
#include <thread>

#include "vm_test_support.h"

namespace meros::vm {
namespace {

using namespace std::chrono_literals;

// The server side: what QEMU would say, one JSON line at a time.
class FakeQmpServer {
 public:
  using Script = std::function<void(FakeQmpServer&)>;

  explicit FakeQmpServer(Script script) {
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    client_fd_ = fds[0];
    server_fd_ = fds[1];
    server_ = std::make_unique<SocketQmpChannel>(fds[1]);
    thread_ = std::thread([this, script = std::move(script)] {
      script(*this);
      server_.reset();  // EOF for the client
    });
  }
  ~FakeQmpServer() { thread_.join(); }

  std::unique_ptr<QmpChannel> client_channel() { return std::make_unique<SocketQmpChannel>(client_fd_); }

  void send(const json& message) { ASSERT_TRUE(server_->send_line(message.dump())); }
  void send_raw(std::string_view bytes) {
    ASSERT_EQ(::write(server_fd_, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  }
  json receive() {
    std::string line;
    if (server_->receive_line(line, 5s) != Received::line) return json();
    received.push_back(json::parse(line));
    return received.back();
  }
  // Greeting and capability negotiation, as QEMU does it.
  void handshake() {
    send({{"QMP", {{"version", {{"qemu", {{"major", 7}, {"minor", 2}, {"micro", 0}}}}}, {"capabilities", {"oob"}}}}});
    json negotiate = receive();
    send({{"return", json::object()}, {"id", negotiate["id"]}});
  }
  void reply(const json& command, const json& value) { send({{"return", value}, {"id", command["id"]}}); }
  static json event(std::string name) {
    return {{"event", name}, {"data", json::object()}, {"timestamp", {{"seconds", 1}, {"microseconds", 2}}}};
  }

  std::vector<json> received;

 private:
  int client_fd_ = -1;
  int server_fd_ = -1;  // owned by server_
  std::unique_ptr<SocketQmpChannel> server_;
  std::thread thread_;
};

TEST(QmpClient, NegotiatesCapabilitiesAndQueriesStatus) {
  FakeQmpServer server([](FakeQmpServer& s) {
    s.handshake();
    json command = s.receive();
    s.reply(command, {{"status", "running"}, {"singlestep", false}, {"running", true}});
    s.receive();  // wait for the client to go
  });
  auto client = QmpClient::open(server.client_channel());
  ASSERT_TRUE(client) << client.error().message;
  EXPECT_EQ(client->greeting()["QMP"]["version"]["qemu"]["major"], 7);
  auto status = client->query_status();
  ASSERT_TRUE(status) << status.error().message;
  EXPECT_EQ(status->status, "running");
  EXPECT_TRUE(status->running);
  ASSERT_EQ(server.received.size(), 2u);
  EXPECT_EQ(server.received[0]["execute"], "qmp_capabilities");
  EXPECT_EQ(server.received[1]["execute"], "query-status");
  EXPECT_NE(server.received[0]["id"], server.received[1]["id"]);
}

TEST(QmpClient, QueuesEventsThatArriveBeforeAReply) {
  FakeQmpServer server([](FakeQmpServer& s) {
    s.handshake();
    json command = s.receive();
    s.send(FakeQmpServer::event("NIC_RX_FILTER_CHANGED"));
    s.send(FakeQmpServer::event("STOP"));
    s.reply(command, json::object());
    s.send(FakeQmpServer::event("SHUTDOWN"));
    s.receive();
  });
  auto client = QmpClient::open(server.client_channel());
  ASSERT_TRUE(client) << client.error().message;
  ASSERT_TRUE(client->set_link("net0", false));
  auto shutdown = client->wait_event("SHUTDOWN", 5000ms);
  ASSERT_TRUE(shutdown) << shutdown.error().message;
  EXPECT_EQ((*shutdown)["event"], "SHUTDOWN");
  auto stop = client->wait_event("STOP", 10ms);  // already queued
  ASSERT_TRUE(stop) << stop.error().message;
  std::vector<json> left = client->take_events();
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0]["event"], "NIC_RX_FILTER_CHANGED");
  EXPECT_TRUE(client->take_events().empty());
  EXPECT_EQ(server.received[1], json({{"execute", "set_link"}, {"id", server.received[1]["id"]},
                                      {"arguments", {{"name", "net0"}, {"up", false}}}}));
}

TEST(QmpClient, ReportsErrorRepliesWithClassAndDescription) {
  FakeQmpServer server([](FakeQmpServer& s) {
    s.handshake();
    json command = s.receive();
    s.send({{"error", {{"class", "DeviceNotFound"}, {"desc", "Device 'net9' not found"}}}, {"id", command["id"]}});
    s.receive();
  });
  auto client = QmpClient::open(server.client_channel());
  ASSERT_TRUE(client);
  Status linked = client->set_link("net9", true);
  ASSERT_FALSE(linked);
  EXPECT_EQ(linked.error().message, "QMP 'set_link' failed: DeviceNotFound: Device 'net9' not found");
  EXPECT_FALSE(client->closed());
}

TEST(QmpClient, SkipsStaleRepliesAndSplitLines) {
  FakeQmpServer server([](FakeQmpServer& s) {
    s.handshake();
    json command = s.receive();
    s.send({{"return", json::object()}, {"id", "meros-0"}});  // a reply to nobody
    std::string reply = json({{"return", {{"status", "paused"}, {"running", false}}}, {"id", command["id"]}}).dump();
    s.send_raw(reply.substr(0, 10));
    std::this_thread::sleep_for(20ms);
    s.send_raw(reply.substr(10) + "\r\n");
    s.receive();
  });
  auto client = QmpClient::open(server.client_channel());
  ASSERT_TRUE(client);
  auto status = client->query_status();
  ASSERT_TRUE(status) << status.error().message;
  EXPECT_EQ(status->status, "paused");
  EXPECT_FALSE(status->running);
}

TEST(QmpClient, ConnectionClosedMidCommandIsAClearError) {
  FakeQmpServer server([](FakeQmpServer& s) {
    s.handshake();
    s.receive();  // the command, then EOF
  });
  auto client = QmpClient::open(server.client_channel());
  ASSERT_TRUE(client);
  auto status = client->query_status();
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().message,
            "QMP: connection closed while waiting for the reply to 'query-status' (QEMU exited?)");
  EXPECT_TRUE(client->closed());
  Status again = client->system_powerdown();
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().message, "QMP: cannot send 'system_powerdown': connection is closed (QEMU exited?)");
}

TEST(QmpClient, QuitAcceptsTheConnectionClosing) {
  FakeQmpServer server([](FakeQmpServer& s) {
    s.handshake();
    s.receive();  // quit; QEMU may exit before its reply is written
  });
  auto client = QmpClient::open(server.client_channel());
  ASSERT_TRUE(client);
  EXPECT_TRUE(client->quit());
}

TEST(QmpClient, TimesOutWithoutAReply) {
  FakeQmpServer server([](FakeQmpServer& s) {
    s.handshake();
    s.receive();
    s.receive();  // holds the connection open until the client closes it
  });
  auto client = QmpClient::open(server.client_channel());
  ASSERT_TRUE(client);
  auto started = std::chrono::steady_clock::now();
  auto reply = client->execute("query-kvm", json::object(), 100ms);
  ASSERT_FALSE(reply);
  EXPECT_EQ(reply.error().message, "QMP: timed out waiting for the reply to 'query-kvm'");
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
  auto event = client->wait_event("SHUTDOWN", 50ms);
  ASSERT_FALSE(event);
  EXPECT_EQ(event.error().message, "QMP: timed out waiting for event SHUTDOWN");
}

TEST(QmpClient, RejectsWhatIsNotAGreeting) {
  FakeQmpServer server([](FakeQmpServer& s) { s.send({{"hello", "world"}}); });
  auto client = QmpClient::open(server.client_channel());
  ASSERT_FALSE(client);
  EXPECT_EQ(client.error().message, R"(not a QMP greeting: {"hello":"world"})");
}

TEST(QmpClient, RejectsMalformedMessages) {
  FakeQmpServer server([](FakeQmpServer& s) { s.send_raw("{not json\n"); });
  auto client = QmpClient::open(server.client_channel());
  ASSERT_FALSE(client);
  EXPECT_EQ(client.error().message, "QMP: malformed message while waiting for the QMP greeting: {not json");
}

TEST(QmpClient, WorksOverTheFakeChannel) {
  auto channel = std::make_unique<FakeQmpChannel>();
  channel->push({{"QMP", {{"version", json::object()}}}});
  channel->set_responder([](const json& command, FakeQmpChannel& c) {
    if (command["execute"] == "quit") {
      c.close();
      return;
    }
    c.push({{"return", json::object()}, {"id", command["id"]}});
  });
  FakeQmpChannel* fake = channel.get();
  auto client = QmpClient::open(std::move(channel));
  ASSERT_TRUE(client) << client.error().message;
  EXPECT_TRUE(client->system_powerdown());
  EXPECT_TRUE(client->quit());
  ASSERT_EQ(fake->sent().size(), 3u);
  EXPECT_EQ(fake->sent()[1]["execute"], "system_powerdown");
  EXPECT_EQ(fake->sent()[2]["execute"], "quit");
}

TEST(QmpClient, KeepsTheNewestEventsWhenNobodyAsks) {
  auto channel = std::make_unique<FakeQmpChannel>();
  channel->push({{"QMP", json::object()}});
  channel->set_responder([](const json& command, FakeQmpChannel& c) {
    if (command["execute"] == "query-status")
      for (int i = 0; i < 1005; ++i) c.push({{"event", "NIC_RX_FILTER_CHANGED"}, {"data", {{"n", i}}}});
    c.push({{"return", {{"status", "running"}, {"running", true}}}, {"id", command["id"]}});
  });
  auto client = QmpClient::open(std::move(channel));
  ASSERT_TRUE(client);
  ASSERT_TRUE(client->query_status());
  std::vector<json> events = client->take_events();
  ASSERT_EQ(events.size(), 1000u);
  EXPECT_EQ(events.front()["data"]["n"], 5);
  EXPECT_EQ(events.back()["data"]["n"], 1004);
}

TEST(SocketQmpChannel, ConnectWaitsForTheSocketToAppear) {
  TempDir dir;
  std::filesystem::path path = dir.path() / "qmp.sock";
  std::thread listener([&] {
    std::this_thread::sleep_for(100ms);
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strcpy(address.sun_path, path.c_str());
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    ::listen(fd, 1);
    int peer = ::accept(fd, nullptr, nullptr);
    SocketQmpChannel channel(peer);
    EXPECT_TRUE(channel.send_line(R"({"QMP": {}})"));
    ::close(fd);
  });
  auto channel = SocketQmpChannel::connect(path, 5000ms);
  ASSERT_TRUE(channel) << channel.error().message;
  std::string line;
  EXPECT_EQ((*channel)->receive_line(line, 5000ms), Received::line);
  EXPECT_EQ(line, R"({"QMP": {}})");
  listener.join();
}

TEST(SocketQmpChannel, ConnectGivesUpWhenToldTo) {
  TempDir dir;
  auto channel = SocketQmpChannel::connect(dir.path() / "never.sock", 5000ms, [] { return false; });
  ASSERT_FALSE(channel);
  EXPECT_EQ(channel.error().message, "QMP socket " + (dir.path() / "never.sock").string() + ": gave up connecting");
}

TEST(SocketQmpChannel, RefusesPathsTooLongForAUnixSocket) {
  std::string path = "/tmp/" + std::string(120, 'x');
  auto channel = SocketQmpChannel::connect(path, 10ms);
  ASSERT_FALSE(channel);
  EXPECT_EQ(channel.error().message, "QMP socket path too long (125 bytes, at most 107): " + path);
}

}  // namespace
}  // namespace meros::vm
