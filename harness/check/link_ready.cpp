#include "check/link_ready.h"

#include <nlohmann/json.hpp>

#include "util/process.h"

namespace meros {

std::string link_wait_command(const std::string& ifname, const std::string& address, std::chrono::milliseconds timeout) {
  std::string command = "/opt/meros/bin/meros-guest link-wait " + shell_quote(ifname);
  if (!address.empty()) command += " --address " + shell_quote(address);
  return command + " --timeout " + std::to_string(std::max<long long>(1, timeout.count())) + "ms";
}

Status wait_guest_link_ready(SshClient& ssh, const std::string& ifname, const std::string& address,
                             std::chrono::milliseconds timeout) {
  // The SSH channel gets a little longer than the agent's own wait, so the
  // agent's answer (with the state it saw) arrives rather than a timeout.
  auto result = ssh.run(link_wait_command(ifname, address, timeout), timeout + std::chrono::seconds(5));
  if (!result) return make_error("waiting for " + ifname + " to come back: " + result.error().message);
  if (result->exit_code == 0) return {};
  std::string seen = result->stderr_text.empty() ? result->stdout_text : result->stderr_text;
  try {
    auto line = nlohmann::json::parse(result->stdout_text);
    seen = line.value("state", seen);
  } catch (const std::exception&) {
    // Not the agent's JSON (an old agent, a shell error): quote it as it is.
  }
  return make_error(ifname + " is not usable " + std::to_string(timeout.count()) + " ms after the link came back: " +
                    tail_lines(seen, 3));
}

}  // namespace meros
