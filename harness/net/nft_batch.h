// The netlink form of a Policy: one nfnetlink batch (begin, table, chains,
// anonymous sets and their elements, rules, end) built with libnftnl. The
// expressions are the ones `nft` itself generates for the same rules, so
// that `nft list` prints exactly render_nft()'s text.
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "net/policy.h"
#include "util/result.h"

struct nftnl_batch;

namespace meros::net {

class PolicyBatch {
 public:
  // Messages get sequence numbers first_seq, first_seq + 1, ... With
  // replace, an existing table of that name is deleted first; without, the
  // batch fails if one exists. (A deletion makes the kernel free the old
  // objects after an RCU grace period, which the socket's close then waits
  // for: only pay that when there is something to replace.)
  static Result<PolicyBatch> build(const Policy& policy, std::uint32_t first_seq, bool replace = false);

  PolicyBatch(PolicyBatch&& other) noexcept;
  PolicyBatch& operator=(PolicyBatch&&) = delete;
  ~PolicyBatch();

  // The batch's pages, for sendmsg(2).
  std::vector<iovec> pages() const;
  // The messages between begin and end; each is acknowledged.
  std::size_t message_count() const { return what_.size(); }
  // What a message does, by sequence number: "rule 'bridge lan: ...' in chain input".
  std::string describe(std::uint32_t seq) const;
  std::uint32_t next_seq() const { return first_seq_ + static_cast<std::uint32_t>(what_.size()) + 2; }

 private:
  PolicyBatch(nftnl_batch* batch, std::uint32_t first_seq) : batch_(batch), first_seq_(first_seq) {}

  nftnl_batch* batch_;
  std::uint32_t first_seq_;  // of the begin message
  std::vector<std::string> what_;

  friend class PolicyBatchWriter;
};

}  // namespace meros::net
