// Text forms of probes and listeners: the batch input lines the agent reads
// and the JSON lines it prints. The harness parses agent output with the
// same functions, so both sides agree on one format.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "guest/listen.h"
#include "guest/probe.h"
#include "util/result.h"

namespace meros::guest {

// Where every meros image installs the agent (fixture/guest_files.cpp).
inline constexpr const char* kAgentPath = "/opt/meros/bin/meros-guest";

// "1s", "1.5s", "500ms", or a bare number of milliseconds; must be > 0.
Result<std::chrono::milliseconds> parse_timeout(std::string_view text);

// A decimal port within [min_port, 65535].
Result<int> parse_port(std::string_view text, int min_port = 1);

// One batch line: "PROTO ADDR PORT TIMEOUT_MS" (port 0 for icmp).
Result<ProbeRequest> parse_batch_line(std::string_view line);
std::string batch_line(const ProbeRequest& request);

// {"proto":"tcp","address":"10.0.0.2","port":80,"timeout_ms":1000,
//  "observed":"open","elapsed_us":1234,"detail":"tcp handshake"}
// or, when no probe could be made, "error":"..." instead of the outcome.
std::string probe_json_line(const ProbeRequest& request, const Result<ProbeOutcome>& outcome);

// A parsed probe_json_line: the outcome, or the error text.
struct ProbeLine {
  ProbeRequest request;
  std::optional<ProbeOutcome> outcome;
  std::string error;
};
Result<ProbeLine> parse_probe_json_line(std::string_view line);

// {"listening":[{"proto":"tcp","port":80},...],"pid":1234}
std::string listening_json_line(const std::vector<ListenSpec>& specs, long pid);
Result<std::vector<ListenSpec>> parse_listening_json_line(std::string_view line);

}  // namespace meros::guest
