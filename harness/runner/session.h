// A running scenario: what the setup stages produced and the checks use.
// Owned by ScenarioRun; members are torn down in reverse order of setup.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <tuple>

#include "check/ssh.h"
#include "fixture/store.h"
#include "guest/listen.h"
#include "manifest/model.h"
#include "net/scenario_network.h"
#include "vm/machine.h"
#include "vm/overlay.h"

namespace meros {

namespace fs = std::filesystem;

// Listeners the harness runs inside the scenario's namespace, for checks
// whose target is `host`.
struct HostListeners {
  std::unique_ptr<guest::ListenerSet> listeners;
  std::thread server;
  ~HostListeners() {
    if (listeners) listeners->stop();
    if (server.joinable()) server.join();
  }
};

struct VmRuntime {
  const VirtualMachine* config = nullptr;
  CachedFixture kernel;
  CachedFixture image;
  std::optional<vm::Overlay> overlay;
  std::optional<vm::Machine> machine;
  std::unique_ptr<SshClient> ssh;
  fs::path console_log;
  fs::path transcript;
  std::set<std::pair<std::string, int>> listening;  // (proto, port) served by the agent
};

struct ScenarioSession {
  const Scenario* scenario = nullptr;
  std::string run_id;
  fs::path artifacts;  // this scenario's artifacts directory
  fs::path work;       // overlays, QMP sockets
  std::string client_key;
  std::optional<net::ScenarioNetwork> network;
  std::map<std::string, VmRuntime> vms;  // by name
  std::vector<std::unique_ptr<HostListeners>> extra_host_listeners;
  std::set<std::pair<std::string, int>> host_listening;
  // Generated rules' packet counts over all checks, for coverage.
  std::map<std::uint64_t, std::uint64_t> rule_hits;       // by handle
  std::map<std::uint64_t, std::string> rule_comments;     // "chain: comment"
  double timeout_multiplier = 1;
  // The scenario's own timeout (multiplied): no step runs past it.
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();

  VmRuntime* vm(const std::string& name) {
    auto it = vms.find(name);
    return it == vms.end() ? nullptr : &it->second;
  }
};

}  // namespace meros
