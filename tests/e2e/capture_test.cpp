// Packet capture on real VMs (docs/capture.md): a failed scenario keeps a
// pcapng of its bridge holding the failed rows' packets, and each failed
// row names the file and a display filter; a passed scenario keeps nothing
// with the default, and everything with --capture always.
#include <nlohmann/json.hpp>

#include "../support/pcap_count.h"
#include "e2e_support.h"

namespace {

using namespace e2e;
using meros::testing_support::count_matching;

TEST_F(EndToEnd, AFailedScenarioKeepsItsBridgeCaptureAndFailedRowsPointAtIt) {
  fs::path artifacts = out_ / "artifacts", json = out_ / "report.json";
  auto result = meros("tests/e2e/failing --json " + json.string() + " --artifacts " + artifacts.string());
  EXPECT_EQ(result.exit_code, 1) << result.text;
  fs::path pcap = artifacts / "failing-on-purpose/capture/br-lan.pcapng";
  ASSERT_TRUE(fs::exists(pcap)) << result.text;
  // The row that failed (81/tcp observed open): its handshake is there,
  // from alpha to beta across the bridge, and back.
  EXPECT_GE(count_matching(pcap, "src host 10.0.40.10 and dst host 10.0.40.11 and tcp dst port 81"), 1);
  EXPECT_GE(count_matching(pcap, "src host 10.0.40.11 and dst host 10.0.40.10 and tcp src port 81"), 1);
  // The dropped one to the host: the SYNs with no answer.
  EXPECT_GE(count_matching(pcap, "src host 10.0.40.10 and dst host 10.0.40.1 and tcp dst port 22 and tcp[tcpflags] & tcp-syn != 0"), 1);
  EXPECT_EQ(count_matching(pcap, "tcp port 22 and src host 10.0.40.1"), 0) << "nothing answered the dropped probe";
  // The management link (SSH to the VMs) is not on the bridge.
  EXPECT_EQ(count_matching(pcap, "net 100.127.0.0/16"), 0);

  auto report = nlohmann::json::parse(read_file(json));
  const auto* row = find_case(report, "policy expectations: alpha -> beta 81/tcp drop");
  ASSERT_NE(row, nullptr);
  std::string detail = (*row)["detail"];
  EXPECT_NE(detail.find("packet capture (in the artifacts): failing-on-purpose/capture/br-lan.pcapng"), std::string::npos) << detail;
  // The 5-tuple: the agent said which port it probed from, and the
  // capture holds that very connection.
  std::string source = (*row)["extra"]["probe"]["source"];
  ASSERT_TRUE(source.starts_with("10.0.40.10:")) << source;
  std::string source_port = source.substr(source.find(':') + 1);
  EXPECT_NE(detail.find("display filter: ip.addr == 10.0.40.11 && ip.addr == 10.0.40.10 && tcp.port == 81 && tcp.port == " + source_port),
            std::string::npos)
      << detail;
  EXPECT_GE(count_matching(pcap, "src host 10.0.40.10 and tcp src port " + source_port + " and dst host 10.0.40.11 and tcp dst port 81"), 1);
  EXPECT_NE((*row)["attachments"].dump().find("failing-on-purpose/capture/br-lan.pcapng"), std::string::npos);
  const auto* passed = find_case(report, "policy expectations: alpha -> beta 80/tcp allow");
  ASSERT_NE(passed, nullptr);
  EXPECT_EQ((*passed)["detail"], "") << "a passed row points at nothing";
  std::string passed_source = (*passed)["extra"]["probe"]["source"];
  EXPECT_EQ((*passed)["extra"]["probe"]["display_filter"],
            "ip.addr == 10.0.40.11 && ip.addr == 10.0.40.10 && tcp.port == 80 && tcp.port == " + passed_source.substr(passed_source.find(':') + 1));
  EXPECT_NE(result.text.find("packet capture: "), std::string::npos) << result.text;
}

TEST_F(EndToEnd, APassedScenarioKeepsNoCaptureUnlessAskedToAlways) {
  auto passed = meros("scenarios/smoke --artifacts " + (out_ / "default").string());
  EXPECT_EQ(passed.exit_code, 0) << passed.text;
  EXPECT_FALSE(fs::exists(out_ / "default/smoke/capture")) << "on-failure is the default";

  auto always = meros("--capture always scenarios/smoke --artifacts " + (out_ / "always").string());
  EXPECT_EQ(always.exit_code, 0) << always.text;
  fs::path pcap = out_ / "always/smoke/capture/br-lan.pcapng";
  ASSERT_TRUE(fs::exists(pcap)) << always.text;
  // "vm reaches the host": the ping and its answer.
  EXPECT_GE(count_matching(pcap, "icmp[icmptype] == icmp-echo and src host 10.0.10.21 and dst host 10.0.10.1"), 1);
  EXPECT_GE(count_matching(pcap, "icmp[icmptype] == icmp-echoreply and src host 10.0.10.1"), 1);

  auto off = meros("--capture off tests/e2e/failing --artifacts " + (out_ / "off").string());
  EXPECT_EQ(off.exit_code, 1) << off.text;
  EXPECT_FALSE(fs::exists(out_ / "off/failing-on-purpose/capture")) << "--capture off records nothing";
  EXPECT_EQ(meros("--capture sometimes scenarios/smoke").exit_code, 2);
}

}  // namespace
