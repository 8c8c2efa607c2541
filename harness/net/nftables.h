// nftables inside a scenario's namespace: the generated policy goes in as
// one libnftnl netlink batch (atomic, no `nft` process), the user's
// host.firewall file and the listings for the artifacts go through
// libnftables. An interface, with a fake for tests.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "net/netns.h"
#include "net/policy.h"
#include "util/result.h"

struct mnl_socket;
struct nft_ctx;

namespace meros::net {

enum class ListFormat {
  text,            // `nft list ruleset`, counters included
  text_stateless,  // `nft -s list ruleset`: counters without values
  json,            // `nft -j list ruleset`
  text_handles,    // `nft -a -s list ruleset`: rule handles, for naming traced rules
};

class Nftables {
 public:
  virtual ~Nftables() = default;
  // Loads the generated rules in one transaction, all of it or none. A
  // table this object loaded before is replaced; any other table of that
  // name makes it fail.
  virtual Status apply(const Policy& policy) = 0;
  // Loads a user's ruleset file (host.firewall) as `nft -f` would.
  virtual Status load_file(const std::filesystem::path& file) = 0;
  virtual Result<std::string> list_ruleset(ListFormat format = ListFormat::text) = 0;
  // Runs nft commands the harness wrote (the trace table), as `nft -f -`.
  virtual Status run_script(const std::string& text) = 0;
};

// The real Nftables of one namespace. Its netlink socket and libnftables
// context are created and used on the namespace's thread. Borrows the
// namespace, which must outlive it.
class NamespaceNftables final : public Nftables {
 public:
  static Result<std::unique_ptr<NamespaceNftables>> open(const NetworkNamespace& ns);
  ~NamespaceNftables() override;

  Status apply(const Policy& policy) override;
  Status load_file(const std::filesystem::path& file) override;
  Result<std::string> list_ruleset(ListFormat format = ListFormat::text) override;
  Status run_script(const std::string& text) override;

 private:
  NamespaceNftables(const NetworkNamespace& ns, mnl_socket* socket, nft_ctx* context);
  Result<std::string> run_command(const std::string& command, unsigned output_flags);

  const NetworkNamespace& ns_;
  mnl_socket* socket_;
  nft_ctx* context_;
  std::uint32_t next_seq_;
  std::set<std::string> applied_tables_;
};

// Remembers what it was given, for tests.
class FakeNftables final : public Nftables {
 public:
  Status apply(const Policy& policy) override;
  Status load_file(const std::filesystem::path& file) override;
  Result<std::string> list_ruleset(ListFormat format = ListFormat::text) override;
  Status run_script(const std::string& text) override;

  std::vector<Policy> applied;
  std::vector<std::string> scripts;
  std::vector<std::filesystem::path> loaded_files;
  std::string json_listing = R"({"nftables": []})";  // what list_ruleset(json) returns
  bool fail_apply = false;
};

// One generated rule's counter, for coverage reports.
struct RuleCounter {
  std::string chain;
  std::uint64_t handle = 0;
  std::string comment;
  std::uint64_t packets = 0;
  std::uint64_t bytes = 0;
};

// The counters of the rules of inet table `table` in a `nft -j list
// ruleset` listing, in listing order.
Result<std::vector<RuleCounter>> parse_rule_counters(std::string_view json, std::string_view table = "meros");
Result<std::vector<RuleCounter>> read_rule_counters(Nftables& nftables, std::string_view table = "meros");
// [{"chain":..,"handle":..,"comment":..,"packets":..,"bytes":..}, ...]
std::string rule_counters_json(const std::vector<RuleCounter>& counters);

}  // namespace meros::net
