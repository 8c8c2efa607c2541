// The narrow interface steps act through: what a test step may do to a
// running constellation, by VM name. The Constellation implements it for
// real (SSH, SFTP, the guest agent, QMP, nftables in the namespace); the
// step engine's unit tests use a fake (tests/runner/fake_testbed.h). A new
// step type needs at most a new method here.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "check/ssh.h"
#include "guest/probe.h"
#include "manifest/values.h"
#include "net/attribution.h"
#include "net/nftables.h"
#include "util/duration.h"
#include "util/result.h"
#include "vm/clock.h"

namespace meros {

// A push or a pull: the copy's path, or why not and whose fault it is.
struct Transfer {
  Result<std::string> copied = make_error("not run");
  bool harness_fault = false;  // the SFTP session broke, not the user's paths
};

class Testbed {
 public:
  virtual ~Testbed() = default;

  // A command through the VM's shell, on its SSH session.
  virtual Result<CommandResult> run(const std::string& vm, const std::string& command, Duration timeout,
                                    const std::string& stdin_data = "") = 0;
  // At most max_bytes, within timeout (also in the middle of a file).
  virtual Transfer push(const std::string& vm, const std::filesystem::path& local, const std::string& guest_path,
                        Duration timeout, std::uint64_t max_bytes) = 0;
  // Into local_root / relative_dir (made beneath local_root without
  // following any symlink), keeping the name; local_root is the harness's.
  virtual Transfer pull(const std::string& vm, const std::string& guest_path, const std::filesystem::path& local_root,
                        const std::filesystem::path& relative_dir, Duration timeout, std::uint64_t max_bytes) = 0;
  // Probes made by one source at once: a VM (one agent call) or, source
  // empty, the harness inside the namespace. One answer a request, in order.
  virtual std::vector<Result<guest::ProbeOutcome>> probe(const std::string& source,
                                                         const std::vector<guest::ProbeRequest>& requests,
                                                         Duration timeout) = 0;
  // Starts listeners for ports on a VM (the agent, on its bridge
  // addresses) or, target empty, on the host inside the namespace.
  virtual Status listen(const std::string& target, const std::vector<PortProto>& ports, Duration timeout) = 0;
  // Sets the link of the VM's network `network_index`; for up, returns
  // once the guest can use it again (carrier and address), within timeout.
  virtual Status set_link(const std::string& vm, int network_index, bool up, Duration timeout) = 0;
  // Traces the next probes through every ruleset on their paths
  // (runner/policy_trace.h); stop_trace() returns what each place saw.
  // A testbed without nftables traces nothing.
  virtual void start_trace(Duration) {}
  virtual std::vector<net::TraceSource> stop_trace(Duration) { return {}; }
  // The generated policy's rule counters.
  virtual Result<std::vector<net::RuleCounter>> read_counters() = 0;
  virtual bool is_running(const std::string& vm) = 0;
  // The last lines of the VM's serial console.
  virtual std::string console_tail(const std::string& vm, std::size_t lines) = 0;
  // Appends to the VM's command transcript (an artifact).
  virtual void note(const std::string& vm, const std::string& text) = 0;
  virtual vm::Clock& clock() = 0;
};

}  // namespace meros
