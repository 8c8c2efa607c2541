// wait_guest_link_ready against a fake SSH client: the command it sends
// and how the agent's answer becomes a status.
#include <gtest/gtest.h>

#include "check/link_ready.h"

namespace meros {
namespace {

class ScriptedSsh : public SshClient {
 public:
  explicit ScriptedSsh(CommandResult answer) : answer_(std::move(answer)) {}
  Result<CommandResult> run(const std::string& command, std::chrono::milliseconds timeout, const std::string&) override {
    commands.push_back(command);
    timeouts.push_back(timeout);
    return answer_;
  }
  Result<std::unique_ptr<RemoteFiles>> open_files() override { return make_error("no files here"); }
  std::vector<std::string> commands;
  std::vector<std::chrono::milliseconds> timeouts;

 private:
  CommandResult answer_;
};

TEST(LinkReady, AsksTheAgentWithTheInterfaceAddressAndTimeout) {
  ScriptedSsh ssh({.exit_code = 0, .stdout_text = R"({"interface":"eth1","ready":true,"waited_ms":3})"});
  EXPECT_TRUE(wait_guest_link_ready(ssh, "eth1", "10.0.20.2", std::chrono::milliseconds(9000)));
  ASSERT_EQ(ssh.commands.size(), 1u);
  EXPECT_EQ(ssh.commands[0], "/opt/meros/bin/meros-guest link-wait 'eth1' --address '10.0.20.2' --timeout 9000ms");
  EXPECT_GT(ssh.timeouts[0], std::chrono::milliseconds(9000)) << "the channel must outlast the agent's own wait";
}

TEST(LinkReady, NotReadyQuotesWhatTheGuestSaw) {
  ScriptedSsh ssh({.exit_code = 1,
                   .stdout_text = R"({"interface":"eth1","ready":false,"waited_ms":2000,"state":"carrier 1, operstate down"})"});
  Status status = wait_guest_link_ready(ssh, "eth1", "", std::chrono::milliseconds(2000));
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().message, "eth1 is not usable 2000 ms after the link came back: carrier 1, operstate down");
}

TEST(LinkReady, AnAgentWithoutLinkWaitIsNamedByItsOwnWords) {
  ScriptedSsh ssh({.exit_code = 2, .stderr_text = "meros-guest: unknown command 'link-wait'\n"});
  Status status = wait_guest_link_ready(ssh, "eth0", "", std::chrono::milliseconds(1000));
  ASSERT_FALSE(status);
  EXPECT_NE(status.error().message.find("unknown command 'link-wait'"), std::string::npos) << status.error().message;
}

}  // namespace
}  // namespace meros
