// Packet capture of a scenario's bridges (scenario-format.md, "Policy
// truth": `capture:`): every bridge of the namespace, management links
// excluded, recorded with libpcap into one pcapng file a bridge, each
// bounded in size. One thread lives inside the namespace for the whole
// capture: it opens the bridges there (a packet socket belongs to the
// namespace it was made in) and writes what they see until stop().
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "manifest/values.h"
#include "util/fd.h"
#include "util/proto.h"
#include "util/result.h"

namespace meros::net {

struct CaptureLimits {
  std::uint32_t snaplen = 65535;             // whole frames
  std::uint64_t file_bytes = 32ull << 20;    // the bound of each bridge's file
  int kernel_buffer_bytes = 2 << 20;         // libpcap's ring a bridge
};

// One bridge to record: the manifest's name and the Linux interface.
struct CaptureTarget {
  std::string bridge;
  std::string ifname;
};

// What one bridge's file holds, once stopped.
struct CaptureSummary {
  std::string bridge;
  std::filesystem::path file;
  std::uint64_t packets = 0;       // written
  std::uint64_t left_out = 0;      // past the file's bound
  std::uint64_t kernel_drops = 0;  // libpcap's ps_drop: the ring overflowed
  std::uint64_t bytes = 0;
  std::string error;               // why the capture of this bridge stopped early
};

class BridgeCapture {
 public:
  // Opens every target inside the namespace netns_fd refers to and starts
  // recording into DIR/<ifname>.pcapng. An Error when a bridge cannot be
  // opened (then nothing is left running).
  static Result<std::unique_ptr<BridgeCapture>> start(int netns_fd, const std::vector<CaptureTarget>& targets,
                                                      const std::filesystem::path& dir, CaptureLimits limits = {});
  ~BridgeCapture();
  BridgeCapture(const BridgeCapture&) = delete;
  BridgeCapture& operator=(const BridgeCapture&) = delete;

  // Reads what the bridges still hold, closes the files and reports them.
  // Idempotent: a second call returns the same summaries.
  std::vector<CaptureSummary> stop();

  struct Bridge;  // one open bridge: its pcap handle and its file

 private:
  BridgeCapture() = default;
  void loop();

  std::vector<std::unique_ptr<Bridge>> bridges_;
  Fd wake_;  // an eventfd: stop() wakes the loop with it
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  std::optional<std::vector<CaptureSummary>> summaries_;
};

// A Wireshark display filter for one probe's packets, both directions.
// source_endpoint is the probe socket's "address:port" as the prober
// reported it: when it is a valid IPv4 address and port, the filter is the
// probe's 5-tuple. Otherwise (icmp, an older agent, or a guest that sent
// something else) it names the target and port and the source's possible
// addresses (a VM's bridge addresses; none for probes from the host).
// A probe's `source`, "10.0.10.5:43512" (it comes from a guest), as its
// IPv4 address and port; nothing for anything else.
std::optional<std::pair<std::string, int>> split_endpoint(const std::string& endpoint);

std::string capture_display_filter(const std::vector<std::string>& source_addresses, const std::string& source_endpoint,
                                   const std::string& target_address, PortProto target);

}  // namespace meros::net
