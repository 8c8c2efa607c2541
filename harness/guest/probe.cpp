// Public probe API: request validation, dispatch per protocol, and the
// concurrent probe_all.
#include "guest/probe.h"

#include <algorithm>
#include <atomic>
#include <system_error>
#include <thread>

#include "guest/probe_internal.h"

namespace meros::guest {

namespace {

// Upper bound on concurrent probes; more requests queue behind these.
constexpr size_t kMaxParallel = 256;

Status validate(const ProbeRequest& request) {
  if (request.timeout.count() <= 0) return make_error("timeout must be positive");
  if (request.proto == Proto::icmp) return {};
  if (request.port < 1 || request.port > 65535)
    return make_error("port out of range (1-65535): " + std::to_string(request.port));
  return {};
}

}  // namespace

Result<ProbeOutcome> probe(const ProbeRequest& request) {
  if (auto status = validate(request); !status) return status.error();
  auto target = parse_endpoint(request.address, request.proto == Proto::icmp ? 0 : request.port);
  if (!target) return target.error();
  switch (request.proto) {
    case Proto::tcp: return internal::probe_tcp(*target, request.timeout);
    case Proto::udp: return internal::probe_udp(*target, request.timeout);
    case Proto::icmp: return internal::probe_icmp(*target, request.timeout, request.icmp_method);
  }
  return make_error("unknown protocol");
}

std::vector<Result<ProbeOutcome>> probe_all(const std::vector<ProbeRequest>& requests) {
  std::vector<Result<ProbeOutcome>> results(requests.size(), Result<ProbeOutcome>(make_error("not run")));
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i = next++; i < requests.size(); i = next++) results[i] = probe(requests[i]);
  };
  std::vector<std::thread> workers;
  size_t wanted = std::min(requests.size(), kMaxParallel);
  try {
    while (workers.size() + 1 < wanted) workers.emplace_back(work);
  } catch (const std::system_error&) {
    // Out of threads: the ones we have (and this one) share the rest.
  }
  work();
  for (auto& worker : workers) worker.join();
  return results;
}

std::string to_string(Observed observed) {
  switch (observed) {
    case Observed::open: return "open";
    case Observed::refused: return "refused";
    case Observed::unreachable: return "unreachable";
    case Observed::timeout: return "timeout";
  }
  return "?";
}

Result<Proto> parse_proto(std::string_view text) {
  for (Proto proto : {Proto::tcp, Proto::udp, Proto::icmp})
    if (text == to_string(proto)) return proto;
  return make_error("unknown protocol '" + std::string(text) + "' (want tcp, udp or icmp)");
}

Result<Observed> parse_observed(std::string_view text) {
  for (Observed observed : {Observed::open, Observed::refused, Observed::unreachable, Observed::timeout})
    if (text == to_string(observed)) return observed;
  return make_error("unknown observation '" + std::string(text) + "'");
}

}  // namespace meros::guest
