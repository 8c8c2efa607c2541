#include "net/nftables.h"

#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <nftables/libnftables.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <nlohmann/json.hpp>

#include "net/nft_batch.h"
#include "net/sys_error.h"
#include "util/process.h"
#include "util/debug_log.h"

namespace meros::net {

namespace {

// Long enough for the kernel to answer a batch even when it first has to
// load an nftables module.
constexpr int kAckTimeoutMs = 5000;

void grow_buffer(int fd, int option_force, int option, std::size_t bytes) {
  int size = static_cast<int>(std::min<std::size_t>(bytes, 64u << 20));
  if (::setsockopt(fd, SOL_SOCKET, option_force, &size, sizeof size) != 0)
    (void)::setsockopt(fd, SOL_SOCKET, option, &size, sizeof size);
}

// What the kernel answered to a batch: one ack or error per message.
struct BatchAnswer {
  std::size_t answers = 0;
  std::vector<std::string> errors;
};

Status read_answers(int fd, const PolicyBatch& batch, BatchAnswer& answer) {
  std::vector<char> buffer(MNL_SOCKET_BUFFER_SIZE * 4);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kAckTimeoutMs);
  while (answer.answers < batch.message_count()) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd pfd{fd, POLLIN, 0};
    int ready = ::poll(&pfd, 1, static_cast<int>(std::max<long>(0, left.count())));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) return sys_error("poll on the nftables socket", errno);
    if (ready == 0) return make_error("the kernel answered " + std::to_string(answer.answers) + " of " +
                                      std::to_string(batch.message_count()) + " nftables messages");
    ssize_t length = ::recv(fd, buffer.data(), buffer.size(), 0);
    if (length < 0 && errno == EINTR) continue;
    if (length < 0) return sys_error("reading the kernel's answer to the nftables batch", errno);
    int remaining = static_cast<int>(length);
    for (auto* nlh = reinterpret_cast<const nlmsghdr*>(buffer.data()); mnl_nlmsg_ok(nlh, remaining);
         nlh = mnl_nlmsg_next(nlh, &remaining)) {
      if (nlh->nlmsg_type != NLMSG_ERROR) continue;
      ++answer.answers;
      const auto* error = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
      if (error->error != 0) answer.errors.push_back(batch.describe(nlh->nlmsg_seq) + ": " + std::strerror(-error->error));
    }
  }
  return {};
}

}  // namespace

NamespaceNftables::NamespaceNftables(const NetworkNamespace& ns, mnl_socket* socket, nft_ctx* context)
    : ns_(ns), socket_(socket), context_(context),
      next_seq_(static_cast<std::uint32_t>(std::chrono::system_clock::now().time_since_epoch().count())) {}

NamespaceNftables::~NamespaceNftables() {
  nft_ctx_free(context_);
  mnl_socket_close(socket_);
}

Result<std::unique_ptr<NamespaceNftables>> NamespaceNftables::open(const NetworkNamespace& ns) {
  using Handles = std::pair<mnl_socket*, nft_ctx*>;
  auto handles = ns.call_inside([&]() -> Result<Handles> {
    // Close-on-exec: a child holding it would keep the namespace alive and
    // could rewrite this scenario's rules.
    mnl_socket* socket = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
    if (socket == nullptr) return sys_error("cannot open an nftables socket in network namespace " + ns.name(), errno);
    if (mnl_socket_bind(socket, 0, MNL_SOCKET_AUTOPID) < 0) {
      int error = errno;
      mnl_socket_close(socket);
      return sys_error("cannot bind the nftables socket in network namespace " + ns.name(), error);
    }
    // libnftables opens its own netlink socket, without SOCK_CLOEXEC.
    auto before = open_descriptors();
    nft_ctx* context = nft_ctx_new(NFT_CTX_DEFAULT);
    mark_new_descriptors_cloexec(before);
    if (context == nullptr) {
      mnl_socket_close(socket);
      return make_error("cannot create a libnftables context");
    }
    nft_ctx_buffer_output(context);
    nft_ctx_buffer_error(context);
    return Handles{socket, context};
  });
  if (!handles) return handles.error();
  return std::unique_ptr<NamespaceNftables>(new NamespaceNftables(ns, handles->first, handles->second));
}

Status NamespaceNftables::apply(const Policy& policy) {
  auto batch = PolicyBatch::build(policy, next_seq_, applied_tables_.count(policy.table) != 0);
  if (!batch) return batch.error();
  next_seq_ = batch->next_seq();
  std::vector<iovec> pages = batch->pages();
  std::size_t bytes = 0;
  for (const auto& page : pages) bytes += page.iov_len;
  int fd = mnl_socket_get_fd(socket_);
  grow_buffer(fd, SO_SNDBUFFORCE, SO_SNDBUF, bytes + (64u << 10));
  grow_buffer(fd, SO_RCVBUFFORCE, SO_RCVBUF, batch->message_count() * 2048 + (64u << 10));
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  msghdr message{};
  message.msg_name = &kernel;
  message.msg_namelen = sizeof kernel;
  message.msg_iov = pages.data();
  message.msg_iovlen = pages.size();
  if (::sendmsg(fd, &message, 0) < 0) return sys_error("cannot send the nftables policy to " + ns_.name(), errno);
  BatchAnswer answer;
  Status status = read_answers(fd, *batch, answer);
  if (!answer.errors.empty()) {
    std::string text;
    for (const auto& error : answer.errors) text += (text.empty() ? "" : "; ") + error;
    return make_error("nftables in network namespace " + ns_.name() + " refused the policy: " + text);
  }
  if (status) applied_tables_.insert(policy.table);
  debug_log::write("nft", ns_.name() + ": table " + policy.table + ", " + std::to_string(batch->message_count()) + " messages, " +
                              std::to_string(bytes) + " bytes: " + (status ? "applied" : status.error().message));
  return status;
}

Result<std::string> NamespaceNftables::run_command(const std::string& command, unsigned output_flags) {
  return ns_.call_inside([&]() -> Result<std::string> {
    nft_ctx_output_set_flags(context_, output_flags);
    // In case libnftables reopens its socket (it does after an error).
    auto before = open_descriptors();
    int failed = nft_run_cmd_from_buffer(context_, command.c_str());
    mark_new_descriptors_cloexec(before);
    std::string output = nft_ctx_get_output_buffer(context_);
    std::string errors = nft_ctx_get_error_buffer(context_);
    if (failed != 0) return make_error("nft " + command + " in network namespace " + ns_.name() + " failed: " + errors);
    return output;
  });
}

Status NamespaceNftables::load_file(const std::filesystem::path& file) {
  return ns_.call_inside([&]() -> Status {
    nft_ctx_output_set_flags(context_, 0);
    auto before = open_descriptors();
    int failed = nft_run_cmd_from_filename(context_, file.c_str());
    mark_new_descriptors_cloexec(before);
    debug_log::write("nft", ns_.name() + ": -f " + file.string() + (failed ? ": failed" : ": loaded"));
    (void)nft_ctx_get_output_buffer(context_);
    std::string errors = nft_ctx_get_error_buffer(context_);
    if (failed != 0) return make_error("cannot load " + file.string() + " into network namespace " + ns_.name() + ":\n" + errors);
    return {};
  });
}

Result<std::string> NamespaceNftables::list_ruleset(ListFormat format) {
  unsigned flags = format == ListFormat::json             ? NFT_CTX_OUTPUT_JSON
                   : format == ListFormat::text_stateless ? NFT_CTX_OUTPUT_STATELESS
                   : format == ListFormat::text_handles   ? NFT_CTX_OUTPUT_STATELESS | NFT_CTX_OUTPUT_HANDLE
                                                          : 0;
  return run_command("list ruleset", flags);
}

Status NamespaceNftables::run_script(const std::string& text) {
  auto output = run_command(text, 0);
  if (!output) return output.error();
  return {};
}

Status FakeNftables::apply(const Policy& policy) {
  if (fail_apply) return make_error("injected failure: apply");
  applied.push_back(policy);
  return {};
}

Status FakeNftables::load_file(const std::filesystem::path& file) {
  loaded_files.push_back(file);
  return {};
}

Status FakeNftables::run_script(const std::string& text) {
  scripts.push_back(text);
  return {};
}

Result<std::string> FakeNftables::list_ruleset(ListFormat format) {
  if (format == ListFormat::json) return json_listing;
  return applied.empty() ? std::string() : render_nft(applied.back());
}

Result<std::vector<RuleCounter>> parse_rule_counters(std::string_view json, std::string_view table) {
  nlohmann::json listing = nlohmann::json::parse(json, nullptr, false);
  if (listing.is_discarded() || !listing.contains("nftables") || !listing["nftables"].is_array())
    return make_error("not an nft -j listing");
  std::vector<RuleCounter> counters;
  for (const auto& entry : listing["nftables"]) {
    if (!entry.contains("rule")) continue;
    const auto& rule = entry["rule"];
    if (rule.value("family", "") != "inet" || rule.value("table", "") != table) continue;
    RuleCounter counter;
    counter.chain = rule.value("chain", "");
    counter.handle = rule.value("handle", std::uint64_t{0});
    counter.comment = rule.value("comment", "");
    for (const auto& expression : rule.value("expr", nlohmann::json::array())) {
      if (!expression.contains("counter")) continue;
      counter.packets = expression["counter"].value("packets", std::uint64_t{0});
      counter.bytes = expression["counter"].value("bytes", std::uint64_t{0});
    }
    counters.push_back(std::move(counter));
  }
  return counters;
}

Result<std::vector<RuleCounter>> read_rule_counters(Nftables& nftables, std::string_view table) {
  auto listing = nftables.list_ruleset(ListFormat::json);
  if (!listing) return listing.error();
  return parse_rule_counters(*listing, table);
}

std::string rule_counters_json(const std::vector<RuleCounter>& counters) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& c : counters)
    out.push_back({{"chain", c.chain}, {"handle", c.handle}, {"comment", c.comment}, {"packets", c.packets}, {"bytes", c.bytes}});
  return out.dump(2);
}

}  // namespace meros::net
