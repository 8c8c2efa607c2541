#include "guest/link.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>

#include <fstream>
#include <thread>

namespace meros::guest {
namespace {

std::string first_word(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::string word;
  in >> word;
  return word;
}

// getifaddrs asks the kernel over netlink: no NSS, fine in a static binary.
bool holds_address(const std::string& ifname, const std::string& address) {
  in_addr wanted{};
  if (::inet_pton(AF_INET, address.c_str(), &wanted) != 1) return false;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return false;
  bool found = false;
  for (ifaddrs* entry = list; entry && !found; entry = entry->ifa_next)
    if (entry->ifa_addr && entry->ifa_addr->sa_family == AF_INET && ifname == entry->ifa_name)
      found = reinterpret_cast<sockaddr_in*>(entry->ifa_addr)->sin_addr.s_addr == wanted.s_addr;
  ::freeifaddrs(list);
  return found;
}

}  // namespace

std::string LinkState::describe(const std::string& address) const {
  if (!exists) return "no such interface";
  std::string text = std::string("carrier ") + (carrier ? "1" : "0") + ", operstate " + (operstate.empty() ? "?" : operstate);
  if (!address.empty()) text += ", address " + address + (has_address ? " present" : " missing");
  return text;
}

LinkState read_link_state(const std::string& ifname, const std::string& address, const std::filesystem::path& sysfs) {
  LinkState state;
  // A name that is not a plain interface name never reaches the path.
  if (ifname.empty() || ifname.size() > 15 || ifname.find('/') != std::string::npos || ifname == "." || ifname == "..")
    return state;
  std::filesystem::path dir = sysfs / ifname;
  std::error_code ec;
  state.exists = std::filesystem::is_directory(dir, ec);
  if (!state.exists) return state;
  state.carrier = first_word(dir / "carrier") == "1";  // reading it fails (EINVAL) while the interface is down
  state.operstate = first_word(dir / "operstate");
  state.has_address = address.empty() || holds_address(ifname, address);
  return state;
}

LinkState wait_link_ready(const std::string& ifname, const std::string& address, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    LinkState state = read_link_state(ifname, address);
    if (state.ready() || std::chrono::steady_clock::now() >= deadline) return state;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace meros::guest
