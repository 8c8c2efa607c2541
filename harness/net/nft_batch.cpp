#include "net/nft_batch.h"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <libnftnl/batch.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <net/if.h>
#include <netinet/in.h>

#include <array>
#include <cstring>
#include <utility>

namespace meros::net {

namespace {

// nftables' own datatype ids and byte orders (nftables src/datatype.h,
// src/expression.h): `nft list` reads them back to print set elements.
constexpr std::uint32_t kTypeIpv4Addr = 7;
constexpr std::uint32_t kTypeInetService = 13;
constexpr std::uint32_t kTypeIfname = 41;
constexpr std::uint32_t kHostEndian = 1;
constexpr std::uint32_t kBigEndian = 2;

constexpr std::uint32_t kCtStateNew = 8;          // NF_CT_STATE_BIT(IP_CT_NEW)
constexpr std::uint32_t kCtStateEstablished = 2;  // NF_CT_STATE_BIT(IP_CT_ESTABLISHED)
constexpr std::uint32_t kCtStateRelated = 4;      // NF_CT_STATE_BIT(IP_CT_RELATED)
constexpr std::uint8_t kIcmpEchoRequest = 8;
constexpr std::uint32_t kIpv4SourceOffset = 12;  // saddr in the IPv4 header

constexpr std::uint32_t kPageSize = 256 * 1024;
constexpr std::uint32_t kPageOverrun = 64 * 1024;  // room for the largest single message

struct RuleFree { void operator()(nftnl_rule* p) const { nftnl_rule_free(p); } };
struct SetFree { void operator()(nftnl_set* p) const { nftnl_set_free(p); } };
struct TableFree { void operator()(nftnl_table* p) const { nftnl_table_free(p); } };
struct ChainFree { void operator()(nftnl_chain* p) const { nftnl_chain_free(p); } };
struct UdataFree { void operator()(nftnl_udata_buf* p) const { nftnl_udata_buf_free(p); } };
using RulePtr = std::unique_ptr<nftnl_rule, RuleFree>;
using SetPtr = std::unique_ptr<nftnl_set, SetFree>;
using TablePtr = std::unique_ptr<nftnl_table, TableFree>;
using ChainPtr = std::unique_ptr<nftnl_chain, ChainFree>;
using UdataPtr = std::unique_ptr<nftnl_udata_buf, UdataFree>;

using Bytes = std::vector<std::uint8_t>;

Bytes ifname_bytes(const std::string& name) {
  Bytes bytes(IFNAMSIZ, 0);
  std::memcpy(bytes.data(), name.data(), std::min<std::size_t>(name.size(), IFNAMSIZ - 1));
  return bytes;
}

Bytes be32(std::uint32_t value) {
  std::uint32_t v = htonl(value);
  return Bytes(reinterpret_cast<const std::uint8_t*>(&v), reinterpret_cast<const std::uint8_t*>(&v) + 4);
}

Bytes be16(int value) {
  std::uint16_t v = htons(static_cast<std::uint16_t>(value));
  return Bytes(reinterpret_cast<const std::uint8_t*>(&v), reinterpret_cast<const std::uint8_t*>(&v) + 2);
}

Bytes host32(std::uint32_t value) {
  return Bytes(reinterpret_cast<const std::uint8_t*>(&value), reinterpret_cast<const std::uint8_t*>(&value) + 4);
}

// One anonymous constant set as a rule uses it.
struct SetElement {
  Bytes key;
  bool interval_end = false;
  bool open_interval = false;  // a range running to the top of the key space
};

struct AnonymousSet {
  std::uint32_t key_type = 0;
  std::uint32_t key_len = 0;
  std::uint32_t byteorder = kBigEndian;
  bool interval = false;
  std::vector<SetElement> elements;
};

AnonymousSet ifname_set(const std::vector<std::string>& names) {
  AnonymousSet set{kTypeIfname, IFNAMSIZ, kHostEndian, false, {}};
  for (const auto& name : names) set.elements.push_back({ifname_bytes(name)});
  return set;
}

AnonymousSet port_set(const std::vector<int>& ports) {
  AnonymousSet set{kTypeInetService, 2, kBigEndian, false, {}};
  for (int port : ports) set.elements.push_back({be16(port)});
  return set;
}

// Intervals as the kernel's interval sets hold them: each range's start,
// then an end element one past its last address; an end element at 0.0.0.0
// first when the first range does not start there.
AnonymousSet address_set(const std::vector<AddressRange>& ranges) {
  AnonymousSet set{kTypeIpv4Addr, 4, kBigEndian, true, {}};
  if (!ranges.empty() && ranges.front().first.value != 0) set.elements.push_back({be32(0), true});
  for (const auto& range : ranges) {
    bool to_top = range.last.value == 0xffffffffu;
    set.elements.push_back({be32(range.first.value), false, to_top});
    if (!to_top) set.elements.push_back({be32(range.last.value + 1), true});
  }
  return set;
}

nftnl_expr* meta(std::uint32_t key) {
  nftnl_expr* e = nftnl_expr_alloc("meta");
  nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
  nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG_1);
  return e;
}

nftnl_expr* cmp(std::uint32_t op, const Bytes& data) {
  nftnl_expr* e = nftnl_expr_alloc("cmp");
  nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
  nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
  nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data.data(), data.size());
  return e;
}

nftnl_expr* payload(std::uint32_t base, std::uint32_t offset, std::uint32_t len) {
  nftnl_expr* e = nftnl_expr_alloc("payload");
  nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
  nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
  nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, offset);
  nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
  return e;
}

nftnl_expr* bitwise(const Bytes& mask) {
  nftnl_expr* e = nftnl_expr_alloc("bitwise");
  Bytes zero(mask.size(), 0);
  nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
  nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
  nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, static_cast<std::uint32_t>(mask.size()));
  nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, mask.data(), mask.size());
  nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, zero.data(), zero.size());
  return e;
}

nftnl_expr* lookup(std::uint32_t set_id) {
  nftnl_expr* e = nftnl_expr_alloc("lookup");
  nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
  nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, "__set%d");
  nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SET_ID, set_id);
  return e;
}

nftnl_expr* ct_state() {
  nftnl_expr* e = nftnl_expr_alloc("ct");
  nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, NFT_CT_STATE);
  nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, NFT_REG_1);
  return e;
}

nftnl_expr* verdict(Verdict v) {
  nftnl_expr* e = nftnl_expr_alloc("immediate");
  nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
  nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, v == Verdict::accept ? NF_ACCEPT : NF_DROP);
  return e;
}

std::string chain_name(Chain chain) { return chain == Chain::forward ? "forward" : "input"; }

}  // namespace

// Appends messages to a PolicyBatch, numbering them and remembering what
// each one does for error messages.
class PolicyBatchWriter {
 public:
  PolicyBatchWriter(PolicyBatch& batch, const Policy& policy, bool replace)
      : batch_(batch), policy_(policy), replace_(replace) {}

  Status write() {
    std::uint32_t seq = batch_.first_seq_;
    nftnl_batch_begin(static_cast<char*>(nftnl_batch_buffer(batch_.batch_)), seq);
    nftnl_batch_update(batch_.batch_);
    if (replace_) {  // create (so that the delete cannot fail), delete, create
      write_table(NFT_MSG_NEWTABLE, NLM_F_CREATE, "create table");
      write_table(NFT_MSG_DELTABLE, 0, "replace table");
    }
    write_table(NFT_MSG_NEWTABLE, NLM_F_CREATE | (replace_ ? 0 : NLM_F_EXCL), "create table");
    write_chain(Chain::forward);
    write_chain(Chain::input);
    for (const auto& rule : policy_.rules)
      if (Status status = write_rule(rule); !status) return status;
    nftnl_batch_end(static_cast<char*>(nftnl_batch_buffer(batch_.batch_)), next_seq());
    nftnl_batch_update(batch_.batch_);
    return {};
  }

 private:
  std::uint32_t next_seq() const { return batch_.first_seq_ + 1 + static_cast<std::uint32_t>(batch_.what_.size()); }

  nlmsghdr* header(std::uint16_t type, std::uint16_t flags, std::string what) {
    std::uint32_t seq = next_seq();
    batch_.what_.push_back(std::move(what));
    return nftnl_nlmsg_build_hdr(static_cast<char*>(nftnl_batch_buffer(batch_.batch_)), type, NFPROTO_INET,
                                 flags | NLM_F_ACK, seq);
  }

  void write_table(std::uint16_t type, std::uint16_t flags, const std::string& what) {
    TablePtr table(nftnl_table_alloc());
    nftnl_table_set_str(table.get(), NFTNL_TABLE_NAME, policy_.table.c_str());
    nftnl_table_set_u32(table.get(), NFTNL_TABLE_FAMILY, NFPROTO_INET);
    nftnl_table_nlmsg_build_payload(header(type, flags, what + " inet " + policy_.table), table.get());
    nftnl_batch_update(batch_.batch_);
  }

  void write_chain(Chain chain) {
    ChainPtr c(nftnl_chain_alloc());
    nftnl_chain_set_str(c.get(), NFTNL_CHAIN_TABLE, policy_.table.c_str());
    nftnl_chain_set_str(c.get(), NFTNL_CHAIN_NAME, chain_name(chain).c_str());
    nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_HOOKNUM, chain == Chain::forward ? NF_INET_FORWARD : NF_INET_LOCAL_IN);
    nftnl_chain_set_s32(c.get(), NFTNL_CHAIN_PRIO, 0);  // "priority filter"
    nftnl_chain_set_str(c.get(), NFTNL_CHAIN_TYPE, "filter");
    nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_POLICY, chain == Chain::forward ? NF_DROP : NF_ACCEPT);
    nftnl_chain_nlmsg_build_payload(header(NFT_MSG_NEWCHAIN, NLM_F_CREATE, "create chain " + chain_name(chain)), c.get());
    nftnl_batch_update(batch_.batch_);
  }

  // A set goes into the batch before the rule that looks it up; the rule
  // names it by its batch-local id.
  Result<std::uint32_t> write_set(const AnonymousSet& spec, const std::string& rule_what) {
    std::uint32_t id = ++set_id_;
    SetPtr set(nftnl_set_alloc());
    nftnl_set_set_str(set.get(), NFTNL_SET_TABLE, policy_.table.c_str());
    nftnl_set_set_str(set.get(), NFTNL_SET_NAME, "__set%d");
    nftnl_set_set_u32(set.get(), NFTNL_SET_FAMILY, NFPROTO_INET);
    nftnl_set_set_u32(set.get(), NFTNL_SET_ID, id);
    nftnl_set_set_u32(set.get(), NFTNL_SET_FLAGS,
                      NFT_SET_ANONYMOUS | NFT_SET_CONSTANT | (spec.interval ? NFT_SET_INTERVAL : 0));
    nftnl_set_set_u32(set.get(), NFTNL_SET_KEY_TYPE, spec.key_type);
    nftnl_set_set_u32(set.get(), NFTNL_SET_KEY_LEN, spec.key_len);
    nftnl_set_set_u32(set.get(), NFTNL_SET_DESC_SIZE, static_cast<std::uint32_t>(spec.elements.size()));
    UdataPtr udata(nftnl_udata_buf_alloc(64));
    if (!nftnl_udata_put_u32(udata.get(), NFTNL_UDATA_SET_KEYBYTEORDER, spec.byteorder))
      return make_error("cannot describe a set of " + rule_what);
    nftnl_set_set_data(set.get(), NFTNL_SET_USERDATA, nftnl_udata_buf_data(udata.get()), nftnl_udata_buf_len(udata.get()));
    for (const auto& element : spec.elements) add_element(set.get(), element);
    nftnl_set_nlmsg_build_payload(header(NFT_MSG_NEWSET, NLM_F_CREATE, "set of " + rule_what), set.get());
    nftnl_batch_update(batch_.batch_);
    nftnl_set_elems_nlmsg_build_payload(header(NFT_MSG_NEWSETELEM, NLM_F_CREATE, "elements of the set of " + rule_what), set.get());
    nftnl_batch_update(batch_.batch_);
    return id;
  }

  static void add_element(nftnl_set* set, const SetElement& element) {
    nftnl_set_elem* e = nftnl_set_elem_alloc();
    nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, element.key.data(), element.key.size());
    if (element.interval_end) nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_FLAGS, NFT_SET_ELEM_INTERVAL_END);
    if (element.open_interval) {
      UdataPtr udata(nftnl_udata_buf_alloc(16));
      nftnl_udata_put_u32(udata.get(), NFTNL_UDATA_SET_ELEM_FLAGS, NFTNL_SET_ELEM_F_INTERVAL_OPEN);
      nftnl_set_elem_set(e, NFTNL_SET_ELEM_USERDATA, nftnl_udata_buf_data(udata.get()), nftnl_udata_buf_len(udata.get()));
    }
    nftnl_set_elem_add(set, e);
  }

  // `meta KEY` compared with one value, or looked up in a set of several.
  Status match(nftnl_rule* rule, nftnl_expr* load, const std::vector<Bytes>& values, const AnonymousSet& set,
               const std::string& what) {
    nftnl_rule_add_expr(rule, load);
    if (values.size() == 1) {
      nftnl_rule_add_expr(rule, cmp(NFT_CMP_EQ, values[0]));
      return {};
    }
    auto id = write_set(set, what);
    if (!id) return id.error();
    nftnl_rule_add_expr(rule, lookup(*id));
    return {};
  }

  Status match_sources(nftnl_rule* rule, const std::vector<AddressRange>& sources, const std::string& what) {
    nftnl_rule_add_expr(rule, meta(NFT_META_NFPROTO));
    nftnl_rule_add_expr(rule, cmp(NFT_CMP_EQ, {NFPROTO_IPV4}));
    nftnl_rule_add_expr(rule, payload(NFT_PAYLOAD_NETWORK_HEADER, kIpv4SourceOffset, 4));
    int prefix = sources.size() == 1 ? range_prefix(sources[0]) : -1;
    if (prefix == 32) {
      nftnl_rule_add_expr(rule, cmp(NFT_CMP_EQ, be32(sources[0].first.value)));
    } else if (prefix >= 0) {
      std::uint32_t mask = prefix == 0 ? 0 : ~std::uint32_t{0} << (32 - prefix);
      nftnl_rule_add_expr(rule, bitwise(be32(mask)));
      nftnl_rule_add_expr(rule, cmp(NFT_CMP_EQ, be32(sources[0].first.value)));
    } else {
      auto id = write_set(address_set(sources), what);
      if (!id) return id.error();
      nftnl_rule_add_expr(rule, lookup(*id));
    }
    return {};
  }

  Status match_proto(nftnl_rule* rule, const RuleSpec& spec, const std::string& what) {
    if (*spec.proto == Proto::icmp) {
      if (spec.sources.empty()) {  // `icmp` in an inet table implies IPv4
        nftnl_rule_add_expr(rule, meta(NFT_META_NFPROTO));
        nftnl_rule_add_expr(rule, cmp(NFT_CMP_EQ, {NFPROTO_IPV4}));
      }
      nftnl_rule_add_expr(rule, meta(NFT_META_L4PROTO));
      nftnl_rule_add_expr(rule, cmp(NFT_CMP_EQ, {IPPROTO_ICMP}));
      nftnl_rule_add_expr(rule, payload(NFT_PAYLOAD_TRANSPORT_HEADER, 0, 1));
      nftnl_rule_add_expr(rule, cmp(NFT_CMP_EQ, {kIcmpEchoRequest}));
      return {};
    }
    std::uint8_t number = *spec.proto == Proto::tcp ? IPPROTO_TCP : IPPROTO_UDP;
    nftnl_rule_add_expr(rule, meta(NFT_META_L4PROTO));
    nftnl_rule_add_expr(rule, cmp(NFT_CMP_EQ, {number}));
    if (spec.dports.empty()) return {};
    std::vector<Bytes> ports;
    for (int port : spec.dports) ports.push_back(be16(port));
    return match(rule, payload(NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2), ports, port_set(spec.dports), what);
  }

  void match_ct(nftnl_rule* rule, CtState state) {
    std::uint32_t bits = state == CtState::new_connection ? kCtStateNew : kCtStateEstablished | kCtStateRelated;
    nftnl_rule_add_expr(rule, ct_state());
    nftnl_rule_add_expr(rule, bitwise(host32(bits)));
    nftnl_rule_add_expr(rule, cmp(NFT_CMP_NEQ, host32(0)));
  }

  Status write_rule(const RuleSpec& spec) {
    const std::string what = "rule '" + spec.comment + "' in chain " + chain_name(spec.chain);
    RulePtr rule(nftnl_rule_alloc());
    nftnl_rule_set_str(rule.get(), NFTNL_RULE_TABLE, policy_.table.c_str());
    nftnl_rule_set_str(rule.get(), NFTNL_RULE_CHAIN, chain_name(spec.chain).c_str());
    nftnl_rule_set_u32(rule.get(), NFTNL_RULE_FAMILY, NFPROTO_INET);
    if (Status s = match_names(rule.get(), NFT_META_IIFNAME, spec.iifnames, what); !s) return s;
    if (Status s = match_names(rule.get(), NFT_META_OIFNAME, spec.oifnames, what); !s) return s;
    if (spec.from_loopback) {
      nftnl_rule_add_expr(rule.get(), meta(NFT_META_IIF));
      nftnl_rule_add_expr(rule.get(), cmp(NFT_CMP_EQ, host32(1)));  // lo is ifindex 1 in every namespace
    }
    if (!spec.sources.empty())
      if (Status s = match_sources(rule.get(), spec.sources, what); !s) return s;
    if (spec.proto)
      if (Status s = match_proto(rule.get(), spec, what); !s) return s;
    if (spec.ct != CtState::any) match_ct(rule.get(), spec.ct);
    nftnl_rule_add_expr(rule.get(), nftnl_expr_alloc("counter"));
    nftnl_rule_add_expr(rule.get(), verdict(spec.verdict));
    if (!spec.comment.empty()) {
      if (spec.comment.size() >= NFTNL_UDATA_COMMENT_MAXLEN) return make_error("comment too long: " + spec.comment);
      UdataPtr udata(nftnl_udata_buf_alloc(NFTNL_UDATA_COMMENT_MAXLEN + 8));
      nftnl_udata_put_strz(udata.get(), NFTNL_UDATA_RULE_COMMENT, spec.comment.c_str());
      nftnl_rule_set_data(rule.get(), NFTNL_RULE_USERDATA, nftnl_udata_buf_data(udata.get()), nftnl_udata_buf_len(udata.get()));
    }
    nftnl_rule_nlmsg_build_payload(header(NFT_MSG_NEWRULE, NLM_F_APPEND | NLM_F_CREATE, what), rule.get());
    nftnl_batch_update(batch_.batch_);
    return {};
  }

  Status match_names(nftnl_rule* rule, std::uint32_t key, const std::vector<std::string>& names, const std::string& what) {
    if (names.empty()) return {};
    std::vector<Bytes> values;
    for (const auto& name : names) values.push_back(ifname_bytes(name));
    return match(rule, meta(key), values, ifname_set(names), what);
  }

  PolicyBatch& batch_;
  const Policy& policy_;
  bool replace_;
  std::uint32_t set_id_ = 0;
};

Result<PolicyBatch> PolicyBatch::build(const Policy& policy, std::uint32_t first_seq, bool replace) {
  nftnl_batch* raw = nftnl_batch_alloc(kPageSize, kPageOverrun);
  if (raw == nullptr) return make_error("cannot allocate an nftables batch");
  PolicyBatch batch(raw, first_seq);
  PolicyBatchWriter writer(batch, policy, replace);
  if (Status status = writer.write(); !status) return status.error();
  return batch;
}

PolicyBatch::PolicyBatch(PolicyBatch&& other) noexcept
    : batch_(std::exchange(other.batch_, nullptr)), first_seq_(other.first_seq_), what_(std::move(other.what_)) {}

PolicyBatch::~PolicyBatch() {
  if (batch_ != nullptr) nftnl_batch_free(batch_);
}

std::vector<iovec> PolicyBatch::pages() const {
  std::vector<iovec> pages(nftnl_batch_iovec_len(batch_));
  nftnl_batch_iovec(batch_, pages.data(), static_cast<std::uint32_t>(pages.size()));
  return pages;
}

std::string PolicyBatch::describe(std::uint32_t seq) const {
  if (seq == first_seq_) return "batch begin";
  std::uint32_t index = seq - first_seq_ - 1;
  if (index < what_.size()) return what_[index];
  return "batch message " + std::to_string(seq);
}

}  // namespace meros::net
