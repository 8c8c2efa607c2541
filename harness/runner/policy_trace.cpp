#include "runner/policy_trace.h"

#include <nlohmann/json.hpp>

#include "guest/format.h"

#include "util/base64.h"
#include "util/whole_file.h"

namespace meros {
namespace {

constexpr const char* kAgent = guest::kAgentPath;
// A guest's answer holds at most the agent's 8 MiB of events, as base64.
constexpr std::size_t kMaxGuestEvents = 12u << 20;

}  // namespace

PolicyTracer::PolicyTracer(net::Nftables& host_nftables, std::unique_ptr<net::TraceListener> listener, std::vector<std::string> skip,
                           TracedPlace host, std::vector<TracedPlace> vms)
    : nftables_(host_nftables),
      listener_(std::move(listener)),
      skip_(std::move(skip)),
      host_(std::move(host)),
      vms_(std::move(vms)),
      vm_started_(vms_.size(), false) {}

void PolicyTracer::start(Duration timeout) {
  problems_.clear();
  (void)listener_->drain(0);  // what came before the batch is not its
  Status marked = nftables_.run_script(net::trace_table_text(skip_));
  host_started_ = marked.ok();
  if (!marked) problems_.push_back("host: cannot start tracing: " + marked.error().message);
  for (std::size_t i = 0; i < vms_.size(); ++i) {
    // The agent skips mgmt0: the harness's own SSH is not the policy's.
    auto started = vms_[i].ssh->run(std::string(kAgent) + " trace start --skip mgmt0", timeout);
    vm_started_[i] = started && started->exit_code == 0;
    if (!vm_started_[i])
      problems_.push_back(vms_[i].name + ": cannot start tracing: " +
                          (started ? started->stdout_text + started->stderr_text : started.error().message));
  }
}

std::vector<net::TraceSource> PolicyTracer::stop(Duration timeout) {
  std::vector<net::TraceSource> sources;
  if (host_started_) {
    auto host = stop_host();
    if (host) sources.push_back(std::move(*host));
    else problems_.push_back("host: " + host.error().message);
  }
  for (std::size_t i = 0; i < vms_.size(); ++i) {
    if (!vm_started_[i]) continue;
    auto vm = stop_vm(vms_[i], timeout);
    if (vm) sources.push_back(std::move(*vm));
    else problems_.push_back(vms_[i].name + ": " + vm.error().message);
  }
  host_started_ = false;
  std::fill(vm_started_.begin(), vm_started_.end(), false);
  return sources;
}

Result<net::TraceSource> PolicyTracer::stop_host() {
  Status removed = nftables_.run_script(std::string("delete table inet ") + net::kTraceTable + "\n");
  // Read after the table is gone: every event of the batch is queued by then.
  std::string bytes = listener_->drain();
  auto listing = nftables_.list_ruleset(net::ListFormat::text_handles);
  if (!removed) return make_error("cannot stop tracing: " + removed.error().message);
  if (!listing) return listing.error();
  net::TraceSource source;
  source.where = host_.name;
  source.events = net::parse_trace_messages(bytes).events;
  source.rules = index(host_, *listing);
  return source;
}

Result<net::TraceSource> PolicyTracer::stop_vm(const TracedPlace& vm, Duration timeout) {
  auto stopped = vm.ssh->run(std::string(kAgent) + " trace stop", timeout);
  if (!stopped) return make_error("cannot stop tracing: " + stopped.error().message);
  if (stopped->exit_code != 0) return make_error("cannot stop tracing: " + stopped->stdout_text + stopped->stderr_text);
  // The answer is the guest's: every field is checked before use.
  auto answer = nlohmann::json::parse(stopped->stdout_text, nullptr, false);
  if (!answer.is_object() || !answer.contains("events_base64") || !answer["events_base64"].is_string() ||
      !answer.contains("ruleset") || !answer["ruleset"].is_string())
    return make_error("the agent's trace answer is not what it should be");
  const std::string& encoded = answer["events_base64"].get_ref<const std::string&>();
  if (encoded.size() > kMaxGuestEvents) return make_error("the agent's trace answer is larger than its bound");
  auto bytes = decode_base64(encoded);
  if (!bytes) return make_error("the agent's trace events: " + bytes.error().message);
  net::TraceSource source;
  source.where = vm.name;
  source.events = net::parse_trace_messages(*bytes).events;
  source.rules = index(vm, answer["ruleset"].get<std::string>());
  return source;
}

net::RuleIndex PolicyTracer::index(const TracedPlace& place, const std::string& listing) const {
  net::RuleIndex rules = net::RuleIndex::from_listing(listing);
  if (place.source_file) {
    if (auto text = read_whole_file(*place.source_file)) rules.attach_source(*text, place.source_name);
  }
  return rules;
}

}  // namespace meros
