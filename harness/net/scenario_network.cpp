#include "net/scenario_network.h"

#include <fstream>
#include <nlohmann/json.hpp>

namespace meros::net {

namespace {

Status write_text(const std::filesystem::path& file, const std::string& text) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) return make_error("cannot write " + file.string());
  return {};
}

}  // namespace

Status check_policy_present(Nftables& nftables, const Policy& policy) {
  auto listing = nftables.list_ruleset(ListFormat::json);
  if (!listing) return listing.error();
  nlohmann::json json = nlohmann::json::parse(*listing, nullptr, false);
  if (json.is_object() && json.contains("nftables"))
    for (const auto& entry : json["nftables"])
      if (entry.contains("table") && entry["table"].value("family", "") == "inet" &&
          entry["table"].value("name", "") == policy.table)
        return {};
  return make_error("the generated table inet " + policy.table +
                    " is gone after loading host.firewall; a `flush ruleset` there removes the bridge policies too");
}

Result<ScenarioNetwork> ScenarioNetwork::start(const Scenario& scenario, std::string_view run_id,
                                               const NetworkOptions& options) {
  auto topology = plan_topology(scenario, run_id);
  if (!topology) return topology.error();
  return start(scenario, std::move(*topology), options);
}

Result<ScenarioNetwork> ScenarioNetwork::start(const Scenario& scenario, Topology topology, const NetworkOptions& options) {
  ScenarioNetwork network;
  network.topology_ = std::move(topology);
  network.policy_ = plan_policy(scenario, network.topology_);
  auto ns = NetworkNamespace::create(network.topology_.namespace_name);
  if (!ns) return ns.error();
  network.ns_ = std::make_unique<NetworkNamespace>(std::move(*ns));
  auto netlink = RouteNetlink::open(*network.ns_);
  if (!netlink) return netlink.error();
  network.netlink_ = std::move(*netlink);
  if (Status status = setup_network(network.topology_, *network.netlink_, options); !status) return status.error();
  auto nftables = NamespaceNftables::open(*network.ns_);
  if (!nftables) return nftables.error();
  network.nftables_ = std::move(*nftables);
  if (Status status = network.nftables_->apply(network.policy_); !status) return status.error();
  if (scenario.host_firewall) {
    if (Status status = network.nftables_->load_file(*scenario.host_firewall); !status) return status.error();
    if (Status status = check_policy_present(*network.nftables_, network.policy_); !status) return status.error();
  }
  return network;
}

ScenarioNetwork::~ScenarioNetwork() { (void)stop(); }

Status ScenarioNetwork::write_artifacts(const std::filesystem::path& dir) {
  if (!nftables_) return make_error("the scenario network is stopped");
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) return make_error("cannot create " + dir.string() + ": " + error.message());
  auto ruleset = nftables_->list_ruleset(ListFormat::text);
  if (!ruleset) return ruleset.error();
  auto counters = read_rule_counters(*nftables_, policy_.table);
  if (!counters) return counters.error();
  for (const auto& [name, text] : {std::pair<std::string, std::string>{"nft-ruleset.txt", *ruleset},
                                   {"nft-policy.nft", render_nft(policy_)},
                                   {"nft-counters.json", rule_counters_json(*counters) + "\n"}}) {
    if (Status status = write_text(dir / name, text); !status) return status;
  }
  return {};
}

Status ScenarioNetwork::stop() {
  // Sockets first: each holds a reference to the namespace.
  nftables_.reset();
  netlink_.reset();
  if (!ns_) return {};
  Status status = ns_->remove();
  ns_.reset();
  return status;
}

}  // namespace meros::net
