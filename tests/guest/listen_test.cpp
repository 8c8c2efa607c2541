// ListenerSet: binding many ports, TCP accept-and-close, UDP echo, stop().
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "guest/listen.h"
#include "test_support.h"

namespace meros::guest {
namespace {

using namespace std::chrono_literals;

Fd connect_to(const std::string& address, int port, int type) {
  auto target = parse_endpoint(address, port);
  Fd fd(::socket(target->family(), type | SOCK_CLOEXEC, 0));
  if (::connect(fd.get(), target->addr(), target->length) != 0) return Fd();
  return fd;
}

bool readable_within(int fd, int ms) {
  pollfd entry{fd, POLLIN, 0};
  return ::poll(&entry, 1, ms) == 1;
}

TEST(ListenerSet, BindsEphemeralPortsAndReportsThem) {
  auto set = ListenerSet::open({{Proto::tcp, 0}, {Proto::tcp, 0}, {Proto::udp, 0}});
  ASSERT_TRUE(set.ok()) << set.error().message;
  auto bound = set->bound();
  ASSERT_EQ(bound.size(), 3u);
  EXPECT_EQ(bound[0].proto, Proto::tcp);
  EXPECT_EQ(bound[2].proto, Proto::udp);
  EXPECT_NE(bound[0].port, 0);
  EXPECT_NE(bound[0].port, bound[1].port);
  EXPECT_NE(bound[2].port, 0);
}

TEST(ListenerSet, PortInUseIsAnError) {
  auto first = ListenerSet::open({{Proto::tcp, 0}});
  ASSERT_TRUE(first.ok());
  auto second = ListenerSet::open({{Proto::tcp, first->bound()[0].port}});
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.error().message.find("tcp port"), std::string::npos) << second.error().message;
  EXPECT_FALSE(ListenerSet::open({{Proto::icmp, 1}}).ok());
}

TEST(ListenerSet, TcpAcceptsAndClosesOnBothFamilies) {
  auto listeners = test::BackgroundListeners::start({{Proto::tcp, 0}});
  ASSERT_TRUE(listeners.ok()) << listeners.error().message;
  std::vector<std::string> addresses = {"127.0.0.1"};
  if (test::ipv6_loopback_available()) addresses.push_back("::1");
  for (const auto& address : addresses) {
    Fd fd = connect_to(address, (*listeners)->port(0), SOCK_STREAM);
    ASSERT_TRUE(fd.valid()) << address;
    ASSERT_TRUE(readable_within(fd.get(), 2000)) << address;
    char byte;
    EXPECT_EQ(::read(fd.get(), &byte, 1), 0) << "listener should close without writing: " << address;
  }
}

TEST(ListenerSet, UdpEchoesTheDatagramOnBothFamilies) {
  auto listeners = test::BackgroundListeners::start({{Proto::udp, 0}});
  ASSERT_TRUE(listeners.ok()) << listeners.error().message;
  std::vector<std::string> addresses = {"127.0.0.1"};
  if (test::ipv6_loopback_available()) addresses.push_back("::1");
  for (const auto& address : addresses) {
    Fd fd = connect_to(address, (*listeners)->port(0), SOCK_DGRAM);
    ASSERT_TRUE(fd.valid());
    const std::string payload = "hello " + address;
    ASSERT_EQ(::send(fd.get(), payload.data(), payload.size(), 0), static_cast<ssize_t>(payload.size()));
    ASSERT_TRUE(readable_within(fd.get(), 2000)) << address;
    char reply[128];
    ssize_t got = ::recv(fd.get(), reply, sizeof(reply), 0);
    EXPECT_EQ(std::string(reply, static_cast<size_t>(std::max<ssize_t>(got, 0))), payload);
  }
}

TEST(ListenerSet, StopEndsServe) {
  auto set = ListenerSet::open({{Proto::udp, 0}});
  ASSERT_TRUE(set.ok());
  std::thread stopper([&] {
    std::this_thread::sleep_for(50ms);
    set->stop();
  });
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(set->serve().ok());
  stopper.join();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  EXPECT_TRUE(set->serve().ok()) << "stop is sticky";
}

}  // namespace
}  // namespace meros::guest
