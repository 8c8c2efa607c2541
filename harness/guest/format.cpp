#include "guest/format.h"

#include <charconv>
#include <nlohmann/json.hpp>

#include "guest/sockets.h"

namespace meros::guest {

namespace {

constexpr long long kMaxTimeoutMs = 3600 * 1000;

// A whole string of decimal digits, at most `max`.
std::optional<long long> parse_digits(std::string_view text, long long max) {
  long long value = 0;
  if (text.empty() || text.size() > 18) return std::nullopt;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 0 || value > max) return std::nullopt;
  return value;
}

// "1", "1.5", "0.25" seconds as milliseconds (at most 3 decimals).
std::optional<long long> parse_seconds(std::string_view text) {
  auto dot = text.find('.');
  auto whole = parse_digits(text.substr(0, dot), kMaxTimeoutMs / 1000);
  if (!whole) return std::nullopt;
  long long ms = *whole * 1000;
  if (dot == std::string_view::npos) return ms;
  std::string fraction(text.substr(dot + 1));
  if (fraction.empty() || fraction.size() > 3) return std::nullopt;
  fraction.resize(3, '0');
  auto part = parse_digits(fraction, 999);
  if (!part) return std::nullopt;
  return ms + *part;
}

std::vector<std::string_view> split_words(std::string_view line) {
  std::vector<std::string_view> words;
  size_t at = 0;
  while (at < line.size()) {
    at = line.find_first_not_of(" \t\r", at);
    if (at == std::string_view::npos) break;
    size_t end = line.find_first_of(" \t\r", at);
    if (end == std::string_view::npos) end = line.size();
    words.push_back(line.substr(at, end - at));
    at = end;
  }
  return words;
}

constexpr auto kJsonReplace = nlohmann::json::error_handler_t::replace;

}  // namespace

Result<std::chrono::milliseconds> parse_timeout(std::string_view text) {
  std::optional<long long> ms;
  if (text.ends_with("ms")) ms = parse_digits(text.substr(0, text.size() - 2), kMaxTimeoutMs);
  else if (text.ends_with("s")) ms = parse_seconds(text.substr(0, text.size() - 1));
  else ms = parse_digits(text, kMaxTimeoutMs);
  if (!ms || *ms <= 0 || *ms > kMaxTimeoutMs)
    return make_error("bad timeout '" + std::string(text) + "' (want e.g. 1s, 1.5s, 500ms; at most 1h)");
  return std::chrono::milliseconds(*ms);
}

Result<int> parse_port(std::string_view text, int min_port) {
  auto port = parse_digits(text, 65535);
  if (!port || *port < min_port)
    return make_error("bad port '" + std::string(text) + "' (want " + std::to_string(min_port) + "-65535)");
  return static_cast<int>(*port);
}

Result<ProbeRequest> parse_batch_line(std::string_view line) {
  auto words = split_words(line);
  if (words.size() != 4) return make_error("want 'PROTO ADDR PORT TIMEOUT_MS', got '" + std::string(line) + "'");
  auto proto = parse_proto(words[0]);
  if (!proto) return proto.error();
  if (auto target = parse_endpoint(words[1], 0); !target) return target.error();
  auto port = parse_port(words[2], *proto == Proto::icmp ? 0 : 1);
  if (!port) return port.error();
  auto timeout = parse_timeout(words[3]);
  if (!timeout) return timeout.error();
  ProbeRequest request;
  request.proto = *proto;
  request.address = std::string(words[1]);
  request.port = *port;
  request.timeout = *timeout;
  return request;
}

std::string batch_line(const ProbeRequest& request) {
  return std::string(to_string(request.proto)) + " " + request.address + " " + std::to_string(request.port) + " " +
         std::to_string(request.timeout.count());
}

std::string probe_json_line(const ProbeRequest& request, const Result<ProbeOutcome>& outcome) {
  nlohmann::ordered_json line;
  line["proto"] = to_string(request.proto);
  line["address"] = request.address;
  line["port"] = request.port;
  line["timeout_ms"] = request.timeout.count();
  if (outcome) {
    line["observed"] = to_string(outcome->observed);
    line["elapsed_us"] = outcome->elapsed.count();
    line["detail"] = outcome->detail;
    if (!outcome->source.empty()) line["source"] = outcome->source;
  } else {
    line["error"] = outcome.error().message;
  }
  return line.dump(-1, ' ', false, kJsonReplace);
}

namespace {

Result<nlohmann::json> parse_object(std::string_view line) {
  auto json = nlohmann::json::parse(line, nullptr, false);
  if (json.is_discarded() || !json.is_object()) return make_error("not a JSON object: '" + std::string(line) + "'");
  return json;
}

Result<ProbeLine> read_probe_line(const nlohmann::json& json) {
  ProbeLine parsed;
  auto proto = parse_proto(json.at("proto").get<std::string>());
  if (!proto) return proto.error();
  parsed.request.proto = *proto;
  parsed.request.address = json.at("address").get<std::string>();
  parsed.request.port = json.at("port").get<int>();
  parsed.request.timeout = std::chrono::milliseconds(json.value("timeout_ms", 0LL));
  if (json.contains("error")) {
    parsed.error = json.at("error").get<std::string>();
    return parsed;
  }
  auto observed = parse_observed(json.at("observed").get<std::string>());
  if (!observed) return observed.error();
  parsed.outcome = ProbeOutcome{*observed, std::chrono::microseconds(json.at("elapsed_us").get<long long>()),
                                json.value("detail", std::string()), json.value("source", std::string())};
  return parsed;
}

}  // namespace

Result<ProbeLine> parse_probe_json_line(std::string_view line) {
  auto json = parse_object(line);
  if (!json) return json.error();
  try {
    return read_probe_line(*json);
  } catch (const nlohmann::json::exception& e) {
    return make_error("bad probe line '" + std::string(line) + "': " + e.what());
  }
}

std::string listening_json_line(const std::vector<ListenSpec>& specs, long pid) {
  auto list = nlohmann::ordered_json::array();
  for (const auto& spec : specs) list.push_back({{"proto", to_string(spec.proto)}, {"port", spec.port}});
  nlohmann::ordered_json line;
  line["listening"] = list;
  line["pid"] = pid;
  return line.dump();
}

Result<std::vector<ListenSpec>> parse_listening_json_line(std::string_view line) {
  auto json = parse_object(line);
  if (!json) return json.error();
  std::vector<ListenSpec> specs;
  try {
    for (const auto& entry : json->at("listening")) {
      auto proto = parse_proto(entry.at("proto").get<std::string>());
      if (!proto) return proto.error();
      specs.push_back({*proto, entry.at("port").get<int>()});
    }
  } catch (const nlohmann::json::exception& e) {
    return make_error("bad listening line '" + std::string(line) + "': " + e.what());
  }
  return specs;
}

}  // namespace meros::guest
