#include "net/capture.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <future>

#include <pcap/pcap.h>

#include "net/netns.h"
#include "net/pcapng.h"

namespace meros::net {

struct BridgeCapture::Bridge {
  CaptureTarget target;
  std::filesystem::path file;
  pcap_t* handle = nullptr;
  std::optional<PcapngWriter> writer;
  std::string error;

  ~Bridge() {
    if (handle) pcap_close(handle);
  }
};

namespace {

// Opens one bridge for capture, on the calling thread (inside the namespace).
Status open_bridge(BridgeCapture::Bridge& b, const CaptureLimits& limits) {
  char errbuf[PCAP_ERRBUF_SIZE] = "";
  b.handle = pcap_create(b.target.ifname.c_str(), errbuf);
  if (!b.handle) return make_error(errbuf);
  // Promiscuous: a bridge passes frames between its ports up to its own
  // device only then, and those are most of a scenario's traffic.
  pcap_set_promisc(b.handle, 1);
  pcap_set_snaplen(b.handle, static_cast<int>(limits.snaplen));
  pcap_set_immediate_mode(b.handle, 1);
  pcap_set_buffer_size(b.handle, limits.kernel_buffer_bytes);
  if (int status = pcap_activate(b.handle); status < 0) return make_error(pcap_geterr(b.handle));
  if (pcap_datalink(b.handle) != DLT_EN10MB) return make_error("not an Ethernet interface");
  if (pcap_setnonblock(b.handle, 1, errbuf) != 0) return make_error(errbuf);
  auto writer = PcapngWriter::create(b.file, b.target.ifname, kLinkTypeEthernet, limits.snaplen, limits.file_bytes);
  if (!writer) return writer.error();
  b.writer.emplace(std::move(*writer));
  return {};
}

void on_packet(u_char* user, const pcap_pkthdr* header, const u_char* bytes) {
  auto* writer = reinterpret_cast<PcapngWriter*>(user);
  std::uint64_t us = static_cast<std::uint64_t>(header->ts.tv_sec) * 1'000'000 + static_cast<std::uint64_t>(header->ts.tv_usec);
  writer->packet({bytes, header->caplen}, header->len, us);
}

// Everything the bridge holds now; a read error ends its capture.
void drain(BridgeCapture::Bridge& b) {
  if (!b.handle || !b.error.empty()) return;
  if (pcap_dispatch(b.handle, -1, on_packet, reinterpret_cast<u_char*>(&*b.writer)) == PCAP_ERROR) b.error = pcap_geterr(b.handle);
}

}  // namespace

Result<std::unique_ptr<BridgeCapture>> BridgeCapture::start(int netns_fd, const std::vector<CaptureTarget>& targets,
                                                             const std::filesystem::path& dir, CaptureLimits limits) {
  std::unique_ptr<BridgeCapture> capture(new BridgeCapture());
  capture->wake_ = Fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!capture->wake_.valid()) return make_error(std::string("eventfd: ") + std::strerror(errno));
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return make_error("cannot create " + dir.string() + ": " + ec.message());
  for (const auto& target : targets) {
    auto b = std::make_unique<Bridge>();
    b->target = target;
    b->file = dir / (target.ifname + ".pcapng");
    capture->bridges_.push_back(std::move(b));
  }
  std::promise<Status> opened;
  auto opened_future = opened.get_future();
  BridgeCapture* self = capture.get();
  // The thread owns the promise: it may still be inside set_value() when
  // this function has its answer and returns.
  capture->thread_ = std::thread([self, netns_fd, limits, opened = std::move(opened)]() mutable {
    // This thread stays in the namespace: it only ever reads its bridges.
    if (int err = enter_netns(netns_fd); err != 0) {
      opened.set_value(make_error(std::string("entering the namespace: ") + std::strerror(err)));
      return;
    }
    for (auto& b : self->bridges_) {
      if (Status status = open_bridge(*b, limits); !status) {
        opened.set_value(make_error("capturing " + b->target.ifname + ": " + status.error().message));
        return;
      }
    }
    opened.set_value(Status{});
    self->loop();
  });
  Status status = opened_future.get();
  if (!status) {
    capture->thread_.join();
    capture->summaries_.emplace();  // nothing to report; the destructor has nothing to stop
    // No capture at all: the bridges opened before the one that failed
    // leave no file that would look like one.
    for (auto& b : capture->bridges_) {
      b->writer.reset();
      std::filesystem::remove(b->file, ec);
    }
    return status.error();
  }
  return capture;
}

void BridgeCapture::loop() {
  std::vector<pollfd> fds;
  for (auto& b : bridges_) fds.push_back({pcap_get_selectable_fd(b->handle), POLLIN, 0});
  fds.push_back({wake_.get(), POLLIN, 0});
  while (!stopping_.load()) {
    int ready = ::poll(fds.data(), fds.size(), 500);
    if (ready < 0 && errno != EINTR) break;
    for (std::size_t i = 0; i < bridges_.size(); ++i)
      if (fds[i].revents) drain(*bridges_[i]);
    // Each poll round ends with the files readable up to here.
    for (auto& b : bridges_) b->writer->flush();
  }
  for (auto& b : bridges_) drain(*b);
}

std::vector<CaptureSummary> BridgeCapture::stop() {
  if (summaries_) return *summaries_;
  stopping_.store(true);
  std::uint64_t one = 1;
  (void)!::write(wake_.get(), &one, sizeof one);
  if (thread_.joinable()) thread_.join();
  std::vector<CaptureSummary> out;
  for (auto& b : bridges_) {
    CaptureSummary s{b->target.bridge, b->file};
    pcap_stat stats{};
    if (b->handle && pcap_stats(b->handle, &stats) == 0) s.kernel_drops = stats.ps_drop;
    s.packets = b->writer->written();
    s.left_out = b->writer->left_out();
    s.bytes = b->writer->bytes();
    s.error = b->error;
    if (Status closed = b->writer->close(); !closed && s.error.empty()) s.error = closed.error().message;
    pcap_close(b->handle);
    b->handle = nullptr;
    out.push_back(std::move(s));
  }
  summaries_ = out;
  return out;
}

BridgeCapture::~BridgeCapture() { stop(); }

std::optional<std::pair<std::string, int>> split_endpoint(const std::string& endpoint) {
  auto colon = endpoint.rfind(':');
  if (colon == std::string::npos) return std::nullopt;
  auto address = parse_ipv4(endpoint.substr(0, colon));
  auto port = parse_port(endpoint.substr(colon + 1));  // 1 to 65535
  if (!address || !port) return std::nullopt;
  return std::make_pair(address->str(), *port);
}

std::string capture_display_filter(const std::vector<std::string>& source_addresses, const std::string& source_endpoint,
                                   const std::string& target_address, PortProto target) {
  std::string out = "ip.addr == " + target_address;
  auto exact = target.proto == Proto::icmp ? std::nullopt : split_endpoint(source_endpoint);
  if (exact) {
    out += " && ip.addr == " + exact->first;
  } else if (source_addresses.size() == 1) {
    out += " && ip.addr == " + source_addresses.front();
  } else if (source_addresses.size() > 1) {
    out += " && ip.addr in {";
    for (std::size_t i = 0; i < source_addresses.size(); ++i) out += (i ? " " : "") + source_addresses[i];
    out += "}";
  }
  if (target.proto == Proto::icmp) return out + " && icmp";
  std::string layer = target.proto == Proto::tcp ? "tcp" : "udp";
  out += " && " + layer + ".port == " + std::to_string(target.port);
  if (exact) out += " && " + layer + ".port == " + std::to_string(exact->second);
  return out;
}

}  // namespace meros::net
