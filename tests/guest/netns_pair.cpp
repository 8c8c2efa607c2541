#include "netns_pair.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <sstream>

#include "test_support.h"

namespace meros::guest::test {

namespace {

constexpr char kPrefix[] = "meros-guest-";

Status sh(const std::string& command) {
  auto result = run_shell(command + " 2>&1");
  if (result.exit_code != 0) return make_error("'" + command + "' failed: " + result.out);
  return {};
}

// Deletes namespaces named by this fixture whose test process is gone.
void remove_stale_namespaces() {
  std::istringstream names(run_shell("ip netns list").out);
  for (std::string line; std::getline(names, line);) {
    std::string name = line.substr(0, line.find(' '));
    if (name.rfind(kPrefix, 0) != 0) continue;
    long pid = std::atol(name.c_str() + sizeof(kPrefix) - 1);
    if (pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH)
      (void)sh("ip netns delete " + name);
  }
}

bool on_path(const std::string& tool) { return run_shell("command -v " + tool).exit_code == 0; }

}  // namespace

NetnsPair::NetnsPair() {
  std::string pid = std::to_string(::getpid());
  target_ = kPrefix + pid + "-t";
  prober_ = kPrefix + pid + "-p";
  veth_target_ = "vt" + pid;
  veth_prober_ = "vp" + pid;
}

NetnsPair::~NetnsPair() { destroy(); }

Status NetnsPair::create() {
  remove_stale_namespaces();
  created_ = true;
  const std::string t = "ip -n " + target_ + " ", p = "ip -n " + prober_ + " ";
  for (const std::string& command : {
           "ip netns add " + target_,
           "ip netns add " + prober_,
           "ip link add " + veth_target_ + " netns " + target_ + " type veth peer name " + veth_prober_ +
               " netns " + prober_,
           t + "link set lo up",
           p + "link set lo up",
           t + "addr add 10.250.0.1/30 dev " + veth_target_,
           t + "addr add 10.250.1.1/32 dev " + veth_target_,
           t + "addr add 10.250.1.2/32 dev " + veth_target_,
           t + "addr add fd00:250::1/64 dev " + veth_target_ + " nodad",
           p + "addr add 10.250.0.2/30 dev " + veth_prober_,
           p + "addr add fd00:250::2/64 dev " + veth_prober_ + " nodad",
           t + "link set " + veth_target_ + " up",
           p + "link set " + veth_prober_ + " up",
           p + "route add 10.250.1.0/24 via 10.250.0.1",
       }) {
    if (auto status = sh(command); !status) return status;
  }
  return {};
}

Status NetnsPair::load_target_ruleset(const std::string& ruleset) {
  if (!created_ || target_.empty()) return make_error("no target namespace");
  auto result = run_process({"/bin/sh", "-c", "ip netns exec " + target_ + " nft -f - 2>&1"}, ruleset);
  if (result.exit_code != 0) return make_error("nft in " + target_ + " failed: " + result.out);
  return {};
}

Status NetnsPair::exec_in(const std::string& netns, const std::string& command) {
  return sh("ip netns exec " + netns + " " + command);
}

void NetnsPair::destroy() {
  if (!created_) return;
  created_ = false;
  // Deleting a namespace also deletes the veth end inside it.
  (void)sh("ip netns delete " + target_);
  (void)sh("ip netns delete " + prober_);
}

std::string netns_skip_reason() {
  if (::geteuid() != 0) return "needs root (network namespaces, nftables)";
  for (const char* tool : {"ip", "nft"})
    if (!on_path(tool)) return std::string("needs '") + tool + "' on PATH";
  std::string probe = std::string(kPrefix) + std::to_string(::getpid()) + "-check";
  if (!sh("ip netns add " + probe)) return "cannot create network namespaces here";
  (void)sh("ip netns delete " + probe);
  return "";
}

}  // namespace meros::guest::test
