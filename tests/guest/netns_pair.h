// Two network namespaces joined by a veth pair, for probing through real
// nftables rules without touching the host's own network.
#pragma once

#include <string>

#include "util/result.h"

namespace meros::guest::test {

// Creates (and on destruction deletes) a "target" namespace, where
// listeners and firewall rules live, and a "prober" namespace:
//
//   prober  vp<pid>  10.250.0.2/30  fd00:250::2/64
//   target  vt<pid>  10.250.0.1/30  fd00:250::1/64, plus 10.250.1.1/32 and
//                    10.250.1.2/32 (reached from the prober via 10.250.0.1)
//
// Names carry the test's pid; namespaces left by dead test processes are
// removed on creation.
class NetnsPair {
 public:
  static constexpr char kTarget4[] = "10.250.0.1";
  static constexpr char kProber4[] = "10.250.0.2";
  static constexpr char kTarget6[] = "fd00:250::1";

  NetnsPair();
  ~NetnsPair();
  NetnsPair(const NetnsPair&) = delete;
  NetnsPair& operator=(const NetnsPair&) = delete;

  // Builds both namespaces and the link between them.
  Status create();
  // Loads an nft ruleset into the target namespace (never the host).
  Status load_target_ruleset(const std::string& ruleset);
  // Runs a shell command inside a namespace via `ip netns exec`.
  Status exec_in(const std::string& netns, const std::string& command);

  const std::string& target() const { return target_; }
  const std::string& prober() const { return prober_; }

 private:
  void destroy();

  std::string target_;
  std::string prober_;
  std::string veth_target_;
  std::string veth_prober_;
  bool created_ = false;
};

// Why namespace tests cannot run here, or "" if they can.
std::string netns_skip_reason();

}  // namespace meros::guest::test
