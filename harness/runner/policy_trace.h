// Tracing a batch of probes through every ruleset on its path
// (scenario-format.md, "Policy truth": attribution). Before a batch the
// scenario host and every VM that loads a `firewall:` start marking
// packets (`inet meros_trace`); after it each reports the nftables trace
// events it saw and its ruleset, which net/attribution.h reads. The host's
// events come from a netlink socket in the namespace, a guest's from its
// agent (`meros-guest trace start|stop`). Owned by the constellation.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "check/ssh.h"
#include "net/attribution.h"
#include "net/nft_trace.h"
#include "net/nftables.h"
#include "util/duration.h"
#include "util/result.h"

namespace meros {

// A place whose rules are traced, and the user file its rules came from.
struct TracedPlace {
  std::string name;                        // "host" or a VM's name
  SshClient* ssh = nullptr;                // a VM's session; null for the host
  std::optional<std::filesystem::path> source_file;  // host.firewall or the VM's firewall:
  std::string source_name;                 // how reports name that file
};

class PolicyTracer {
 public:
  // host: the namespace's nftables and trace socket; skip: the interfaces
  // whose packets are not marked (management links).
  PolicyTracer(net::Nftables& host_nftables, std::unique_ptr<net::TraceListener> listener, std::vector<std::string> skip,
               TracedPlace host, std::vector<TracedPlace> vms);

  // Starts marking everywhere; a place that cannot is left out, and why
  // is kept for stop().
  void start(Duration timeout);
  // Stops marking and returns what each place saw. Places that could not
  // report are left out; problems() says why.
  std::vector<net::TraceSource> stop(Duration timeout);
  const std::vector<std::string>& problems() const { return problems_; }

 private:
  Result<net::TraceSource> stop_host();
  Result<net::TraceSource> stop_vm(const TracedPlace& vm, Duration timeout);
  net::RuleIndex index(const TracedPlace& place, const std::string& listing) const;

  net::Nftables& nftables_;
  std::unique_ptr<net::TraceListener> listener_;
  std::vector<std::string> skip_;
  TracedPlace host_;
  std::vector<TracedPlace> vms_;
  std::vector<bool> vm_started_;
  bool host_started_ = false;
  std::vector<std::string> problems_;
};

}  // namespace meros
