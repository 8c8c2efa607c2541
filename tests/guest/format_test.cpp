// Batch lines, timeouts and the JSON lines the agent prints.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "guest/format.h"

namespace meros::guest {
namespace {

using namespace std::chrono_literals;

TEST(ParseTimeout, AcceptsSecondsMillisecondsAndBareMilliseconds) {
  EXPECT_EQ(*parse_timeout("1s"), 1000ms);
  EXPECT_EQ(*parse_timeout("1.5s"), 1500ms);
  EXPECT_EQ(*parse_timeout("0.25s"), 250ms);
  EXPECT_EQ(*parse_timeout("500ms"), 500ms);
  EXPECT_EQ(*parse_timeout("250"), 250ms);
}

TEST(ParseTimeout, RejectsNonsense) {
  for (const char* bad : {"", "s", "ms", "abc", "-1s", "0", "0s", "1.2345s", "1.s", "1m", "10h", "99999999s"})
    EXPECT_FALSE(parse_timeout(bad).ok()) << bad;
}

TEST(ParsePort, Range) {
  EXPECT_EQ(*parse_port("80"), 80);
  EXPECT_EQ(*parse_port("0", 0), 0);
  EXPECT_FALSE(parse_port("0").ok());
  EXPECT_FALSE(parse_port("65536").ok());
  EXPECT_FALSE(parse_port("8o").ok());
  EXPECT_FALSE(parse_port("").ok());
}

TEST(BatchLine, ParsesFourFields) {
  auto r = parse_batch_line("tcp 10.0.0.2 80 1500");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->proto, Proto::tcp);
  EXPECT_EQ(r->address, "10.0.0.2");
  EXPECT_EQ(r->port, 80);
  EXPECT_EQ(r->timeout, 1500ms);
  auto icmp = parse_batch_line("  icmp\tfd00::1 0 300ms\r");
  ASSERT_TRUE(icmp.ok()) << icmp.error().message;
  EXPECT_EQ(icmp->proto, Proto::icmp);
  EXPECT_EQ(icmp->address, "fd00::1");
  EXPECT_EQ(batch_line(*r), "tcp 10.0.0.2 80 1500");
}

TEST(BatchLine, RejectsBadLines) {
  for (const char* bad : {"", "tcp 10.0.0.2 80", "tcp 10.0.0.2 80 1000 extra", "sctp 10.0.0.2 80 1000",
                          "tcp host.example 80 1000", "tcp 10.0.0.2 0 1000", "udp 10.0.0.2 x 1000",
                          "tcp 10.0.0.2 80 never"})
    EXPECT_FALSE(parse_batch_line(bad).ok()) << bad;
}

ProbeRequest sample_request() {
  ProbeRequest r;
  r.proto = Proto::tcp;
  r.address = "10.0.0.2";
  r.port = 80;
  r.timeout = 1000ms;
  return r;
}

TEST(ProbeJsonLine, HasTheDocumentedShape) {
  Result<ProbeOutcome> outcome = ProbeOutcome{Observed::refused, 1234us, "tcp rst"};
  std::string line = probe_json_line(sample_request(), outcome);
  EXPECT_EQ(line,
            R"({"proto":"tcp","address":"10.0.0.2","port":80,"timeout_ms":1000,)"
            R"("observed":"refused","elapsed_us":1234,"detail":"tcp rst"})");
  auto parsed = parse_probe_json_line(line);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  ASSERT_TRUE(parsed->outcome.has_value());
  EXPECT_EQ(parsed->outcome->observed, Observed::refused);
  EXPECT_EQ(parsed->outcome->elapsed, 1234us);
  EXPECT_EQ(parsed->outcome->detail, "tcp rst");
  EXPECT_EQ(parsed->request.port, 80);
  EXPECT_EQ(parsed->request.timeout, 1000ms);
}

TEST(ProbeJsonLine, CarriesErrorsInsteadOfOutcomes) {
  auto request = sample_request();
  request.address = "bad\"addr\\\n\x01\xff";
  std::string line = probe_json_line(request, Result<ProbeOutcome>(make_error("no \"socket\"")));
  EXPECT_EQ(line.find('\n'), std::string::npos);
  auto json = nlohmann::json::parse(line);  // escaped properly, still valid JSON
  EXPECT_EQ(json["error"], "no \"socket\"");
  EXPECT_FALSE(json.contains("observed"));
  auto parsed = parse_probe_json_line(line);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_FALSE(parsed->outcome.has_value());
  EXPECT_EQ(parsed->error, "no \"socket\"");
}

TEST(ProbeJsonLine, RejectsGarbage) {
  EXPECT_FALSE(parse_probe_json_line("").ok());
  EXPECT_FALSE(parse_probe_json_line("[1,2]").ok());
  EXPECT_FALSE(parse_probe_json_line(R"({"proto":"tcp"})").ok());
  EXPECT_FALSE(parse_probe_json_line(
                   R"({"proto":"tcp","address":"a","port":1,"observed":"maybe","elapsed_us":1})")
                   .ok());
}

TEST(ListeningJsonLine, RoundTrips) {
  std::vector<ListenSpec> specs = {{Proto::tcp, 80}, {Proto::udp, 53}};
  std::string line = listening_json_line(specs, 42);
  EXPECT_EQ(line, R"({"listening":[{"proto":"tcp","port":80},{"proto":"udp","port":53}],"pid":42})");
  auto parsed = parse_listening_json_line(line);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(*parsed, specs);
  EXPECT_FALSE(parse_listening_json_line(R"({"listening":[{"proto":"sctp","port":1}]})").ok());
  EXPECT_FALSE(parse_listening_json_line("{}").ok());
}

}  // namespace
}  // namespace meros::guest
