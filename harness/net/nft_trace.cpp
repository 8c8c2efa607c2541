#include "net/nft_trace.h"

#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include <libnftnl/trace.h>

#include "net/sys_error.h"

namespace meros::net {
namespace {

std::string family_name(std::uint32_t family) {
  switch (family) {
    case NFPROTO_INET: return "inet";
    case NFPROTO_IPV4: return "ip";
    case NFPROTO_IPV6: return "ip6";
    case NFPROTO_ARP: return "arp";
    case NFPROTO_BRIDGE: return "bridge";
    case NFPROTO_NETDEV: return "netdev";
    default: return "family " + std::to_string(family);
  }
}

std::string verdict_name(std::uint32_t code) {
  switch (static_cast<int>(code)) {
    case NFT_CONTINUE: return "continue";
    case NFT_BREAK: return "break";
    case NFT_JUMP: return "jump";
    case NFT_GOTO: return "goto";
    case NFT_RETURN: return "return";
    default: break;
  }
  switch (code & NF_VERDICT_MASK) {
    case NF_DROP: return "drop";
    case NF_ACCEPT: return "accept";
    case NF_STOLEN: return "stolen";
    case NF_QUEUE: return "queue";
    case NF_REPEAT: return "repeat";
    case NF_STOP: return "stop";
    default: return "verdict " + std::to_string(code);
  }
}

std::string address_text(int af, const unsigned char* bytes) {
  char text[INET6_ADDRSTRLEN] = {};
  if (!::inet_ntop(af, bytes, text, sizeof text)) return "";
  return text;
}

// The addresses and protocol of an IPv4 or IPv6 header (extension headers
// are not followed: the probes send none).
void read_network_header(const unsigned char* data, std::uint32_t length, TracedPacket& packet) {
  if (length < 1) return;
  int version = data[0] >> 4;
  if (version == 4 && length >= 20) {
    packet.protocol = data[9];
    packet.saddr = address_text(AF_INET, data + 12);
    packet.daddr = address_text(AF_INET, data + 16);
    packet.known = true;
  } else if (version == 6 && length >= 40) {
    packet.protocol = data[6];
    packet.saddr = address_text(AF_INET6, data + 8);
    packet.daddr = address_text(AF_INET6, data + 24);
    packet.known = true;
  }
}

void read_transport_header(const unsigned char* data, std::uint32_t length, TracedPacket& packet) {
  if (packet.protocol == IPPROTO_TCP || packet.protocol == IPPROTO_UDP) {
    if (length < 4) return;
    packet.sport = data[0] << 8 | data[1];
    packet.dport = data[2] << 8 | data[3];
  } else if (packet.protocol == IPPROTO_ICMP || packet.protocol == IPPROTO_ICMPV6) {
    if (length >= 1) packet.icmp_type = data[0];
  }
}

TracedPacket read_packet(const nftnl_trace* trace) {
  TracedPacket packet;
  std::uint32_t length = 0;
  if (!nftnl_trace_is_set(trace, NFTNL_TRACE_NETWORK_HEADER)) return packet;
  const void* network = nftnl_trace_get_data(trace, NFTNL_TRACE_NETWORK_HEADER, &length);
  if (!network) return packet;
  read_network_header(static_cast<const unsigned char*>(network), length, packet);
  if (!packet.known || !nftnl_trace_is_set(trace, NFTNL_TRACE_TRANSPORT_HEADER)) return packet;
  const void* transport = nftnl_trace_get_data(trace, NFTNL_TRACE_TRANSPORT_HEADER, &length);
  if (transport) read_transport_header(static_cast<const unsigned char*>(transport), length, packet);
  return packet;
}

std::string string_attribute(const nftnl_trace* trace, std::uint16_t attribute) {
  if (!nftnl_trace_is_set(trace, attribute)) return "";
  const char* text = nftnl_trace_get_str(trace, attribute);
  return text ? text : "";
}

TraceEvent to_event(const nftnl_trace* trace) {
  TraceEvent event;
  event.id = nftnl_trace_get_u32(trace, NFTNL_TRACE_ID);
  event.family = family_name(nftnl_trace_get_u32(trace, NFTNL_TRACE_FAMILY));
  event.table = string_attribute(trace, NFTNL_TRACE_TABLE);
  event.chain = string_attribute(trace, NFTNL_TRACE_CHAIN);
  std::uint32_t type = nftnl_trace_get_u32(trace, NFTNL_TRACE_TYPE);
  event.kind = type == NFT_TRACETYPE_POLICY ? TraceKind::policy
               : type == NFT_TRACETYPE_RETURN ? TraceKind::chain_return
                                              : TraceKind::rule;
  if (nftnl_trace_is_set(trace, NFTNL_TRACE_RULE_HANDLE)) event.rule_handle = nftnl_trace_get_u64(trace, NFTNL_TRACE_RULE_HANDLE);
  if (event.kind == TraceKind::policy && nftnl_trace_is_set(trace, NFTNL_TRACE_POLICY))
    event.verdict = verdict_name(nftnl_trace_get_u32(trace, NFTNL_TRACE_POLICY));
  else if (nftnl_trace_is_set(trace, NFTNL_TRACE_VERDICT))
    event.verdict = verdict_name(nftnl_trace_get_u32(trace, NFTNL_TRACE_VERDICT));
  event.jump_target = string_attribute(trace, NFTNL_TRACE_JUMP_TARGET);
  event.packet = read_packet(trace);
  return event;
}

struct TraceDeleter {
  void operator()(nftnl_trace* trace) const { nftnl_trace_free(trace); }
};

}  // namespace

TraceMessages parse_trace_messages(std::string_view bytes, std::size_t max_events) {
  TraceMessages out;
  constexpr std::uint16_t kTraceType = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_TRACE;
  // libmnl reads attributes in place, aligned: each message is copied to
  // an aligned buffer first.
  std::vector<std::uint64_t> aligned;
  std::size_t offset = 0;
  while (bytes.size() - offset >= sizeof(nlmsghdr)) {
    nlmsghdr header;
    std::memcpy(&header, bytes.data() + offset, sizeof header);
    if (header.nlmsg_len < NLMSG_HDRLEN || header.nlmsg_len > bytes.size() - offset) {
      ++out.skipped;  // a length that lies: nothing after it can be trusted
      break;
    }
    std::size_t length = header.nlmsg_len;
    if (header.nlmsg_type == kTraceType && out.events.size() < max_events) {
      aligned.assign((length + 7) / 8, 0);
      std::memcpy(aligned.data(), bytes.data() + offset, length);
      std::unique_ptr<nftnl_trace, TraceDeleter> trace(nftnl_trace_alloc());
      if (trace && nftnl_trace_nlmsg_parse(reinterpret_cast<const nlmsghdr*>(aligned.data()), trace.get()) >= 0)
        out.events.push_back(to_event(trace.get()));
      else
        ++out.skipped;
    } else {
      ++out.skipped;
    }
    offset += NLMSG_ALIGN(length);
    if (offset > bytes.size()) break;
  }
  return out;
}

std::string trace_table_text(const std::vector<std::string>& skip_interfaces) {
  auto condition = [&](const char* key) {
    if (skip_interfaces.empty()) return std::string();
    std::string set;
    for (const auto& name : skip_interfaces) set += (set.empty() ? "" : ", ") + ("\"" + name + "\"");
    return std::string(key) + " != { " + set + " } ";
  };
  // -350: before conntrack (-200) and every filter, so the whole path is traced.
  return std::string("table inet ") + kTraceTable + " {\n" +
         "  chain prerouting { type filter hook prerouting priority -350; policy accept; " + condition("iifname") +
         "meta nftrace set 1; }\n" +
         "  chain output { type filter hook output priority -350; policy accept; " + condition("oifname") +
         "meta nftrace set 1; }\n}\n";
}

Result<std::unique_ptr<TraceListener>> TraceListener::open(const NetworkNamespace& ns) {
  Result<Fd> socket_fd = make_error("not opened");
  Status inside = ns.run_inside([&] {
    Fd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_NETFILTER));
    if (!fd.valid()) {
      socket_fd = sys_error("cannot open a netfilter netlink socket in " + ns.name(), errno);
      return;
    }
    sockaddr_nl address{};
    address.nl_family = AF_NETLINK;
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
      socket_fd = sys_error("cannot bind the trace socket in " + ns.name(), errno);
      return;
    }
    int group = NFNLGRP_NFTRACE;
    if (::setsockopt(fd.get(), SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group, sizeof group) != 0) {
      socket_fd = sys_error("cannot join the nftables trace group in " + ns.name(), errno);
      return;
    }
    int buffer = 4 << 20;
    if (::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUFFORCE, &buffer, sizeof buffer) != 0)
      (void)::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &buffer, sizeof buffer);
    socket_fd = std::move(fd);
  });
  if (!inside) return inside.error();
  if (!socket_fd) return socket_fd.error();
  return std::unique_ptr<TraceListener>(new TraceListener(std::move(*socket_fd)));
}

std::string TraceListener::drain(std::size_t max_bytes) {
  std::string out;
  std::vector<char> buffer(1 << 16);
  // Reads everything queued, keeping at most max_bytes: what is left in
  // the socket would be mistaken for the next batch's.
  for (;;) {
    ssize_t n = ::recv(fd_.get(), buffer.data(), buffer.size(), MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == ENOBUFS) {
      ++overruns_;  // the kernel dropped events; what follows is still good
      continue;
    }
    if (n <= 0) break;
    if (out.size() + static_cast<std::size_t>(n) <= max_bytes) out.append(buffer.data(), static_cast<std::size_t>(n));
  }
  return out;
}

}  // namespace meros::net
