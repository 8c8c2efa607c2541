#include "net/rule_index.h"

#include <charconv>
#include <optional>
#include <utility>

namespace meros::net {
namespace {

constexpr std::size_t kMaxSourceBytes = 16u << 20;

bool is_family(std::string_view word) {
  return word == "ip" || word == "ip6" || word == "inet" || word == "arp" || word == "bridge" || word == "netdev";
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; }

std::string_view trim(std::string_view text) {
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

std::string unquoted(std::string_view word) {
  if (word.size() >= 2 && word.front() == '"' && word.back() == '"') return std::string(word.substr(1, word.size() - 2));
  return std::string(word);
}

std::string key_of(std::string_view family, std::string_view table, std::string_view chain) {
  std::string key;
  key.reserve(family.size() + table.size() + chain.size() + 2);
  key.append(family).push_back('\0');
  key.append(table).push_back('\0');
  key.append(chain);
  return key;
}

std::string rule_key(std::string_view family, std::string_view table, std::uint64_t handle) {
  return key_of(family, table, std::to_string(handle));
}

// ---- the listing: one line at a time -------------------------------------

// A listing line split at its first '#' outside quotes.
struct ListingLine {
  std::string_view code;
  std::string_view comment;  // from the '#', "" if none
};

ListingLine split_comment(std::string_view line) {
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    if (line[i] == '"') quoted = !quoted;
    if (line[i] == '#' && !quoted) return {line.substr(0, i), line.substr(i)};
  }
  return {line, {}};
}

// Words separated by whitespace; a quoted string is one word. At most
// `limit` words, so a hostile line costs no more than its length.
std::vector<std::string_view> words_of(std::string_view code, std::size_t limit) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < code.size() && out.size() < limit) {
    while (i < code.size() && is_space(code[i])) ++i;
    if (i == code.size()) break;
    std::size_t start = i;
    bool quoted = false;
    while (i < code.size() && (quoted || !is_space(code[i]))) {
      if (code[i] == '"') quoted = !quoted;
      ++i;
    }
    out.push_back(code.substr(start, i - start));
  }
  return out;
}

// Opening minus closing braces outside quotes.
long brace_balance(std::string_view code) {
  long balance = 0;
  bool quoted = false;
  for (char c : code) {
    if (c == '"') quoted = !quoted;
    if (quoted) continue;
    if (c == '{') ++balance;
    if (c == '}') --balance;
  }
  return balance;
}

// N from "# handle N", the only comments nft -a prints.
std::optional<std::uint64_t> handle_of(std::string_view comment) {
  constexpr std::string_view prefix = "# handle ";
  comment = trim(comment);
  if (comment.substr(0, prefix.size()) != prefix) return std::nullopt;
  std::string_view digits = comment.substr(prefix.size());
  std::uint64_t value = 0;
  auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (error != std::errc() || end != digits.data() + digits.size() || digits.empty()) return std::nullopt;
  return value;
}

// The text of a rule's `comment "..."`, or "".
std::string comment_of(std::string_view rule_text) {
  auto words = words_of(rule_text, kMaxListingLineBytes);
  for (std::size_t i = 0; i + 1 < words.size(); ++i) {
    if (words[i] == "comment" && words[i + 1].size() >= 2 && words[i + 1].front() == '"') return unquoted(words[i + 1]);
  }
  return "";
}

bool valid_name(std::string_view name) { return !name.empty() && name.size() <= kMaxNftNameBytes + 2; }

}  // namespace

// Reads the listing line by line with a small state machine; a block it
// does not know (set, map, flowtable, object, or garbage) is skipped by
// counting braces, so nesting costs a counter, never recursion.
class RuleIndex::ListingParser {
 public:
  explicit ListingParser(RuleIndex& index) : index_(index) {}

  void line(std::string_view raw) {
    ListingLine parts = split_comment(raw);
    long balance = brace_balance(parts.code);
    if (where_ == Where::skip) {
      skip_depth_ += balance;
      if (skip_depth_ <= 0) where_ = skip_return_;
      return;
    }
    if (raw.size() > kMaxListingLineBytes) return unknown(balance);
    switch (where_) {
      case Where::top: return top_line(parts, balance);
      case Where::table: return table_line(parts, balance);
      case Where::chain: return chain_line(parts, balance);
      case Where::skip: return;
    }
  }

 private:
  enum class Where { top, table, chain, skip };

  void top_line(const ListingLine& parts, long balance) {
    auto words = words_of(parts.code, 5);
    if (words.size() == 4 && words[0] == "table" && is_family(words[1]) && valid_name(words[2]) && words[3] == "{") {
      family_ = std::string(words[1]);
      table_ = unquoted(words[2]);
      where_ = Where::table;
      return;
    }
    unknown(balance);
  }

  void table_line(const ListingLine& parts, long balance) {
    auto words = words_of(parts.code, 4);
    if (words.size() == 1 && words[0] == "}") {
      where_ = Where::top;
      return;
    }
    if (words.size() == 3 && words[0] == "chain" && valid_name(words[1]) && words[2] == "{") {
      chain_ = unquoted(words[1]);
      where_ = Where::chain;
      index_.add_chain(ChainInfo{family_, table_, chain_, "", ""});
      return;
    }
    unknown(balance);
  }

  void chain_line(const ListingLine& parts, long balance) {
    std::string_view code = trim(parts.code);
    if (code == "}") {
      where_ = Where::table;
      return;
    }
    if (auto handle = handle_of(parts.comment); handle && balance == 0 && !code.empty()) {
      index_.add_rule(IndexedRule{family_, table_, chain_, *handle, std::string(code), comment_of(code), "", 0});
      return;
    }
    auto words = words_of(code, 64);
    if (!words.empty() && (words[0] == "type" || words[0] == "policy") && balance == 0) return chain_config(words);
    unknown(balance);
  }

  // "type filter hook forward priority filter; policy drop;"
  void chain_config(const std::vector<std::string_view>& words) {
    auto it = index_.chain_by_name_.find(key_of(family_, table_, chain_));
    if (it == index_.chain_by_name_.end()) return;
    ChainInfo& chain = index_.chains_[it->second];
    for (std::size_t i = 0; i + 1 < words.size(); ++i) {
      std::string_view value = words[i + 1];
      if (!value.empty() && value.back() == ';') value.remove_suffix(1);
      if (words[i] == "hook") chain.hook = std::string(value);
      if (words[i] == "policy") chain.policy = std::string(value);
    }
  }

  // A line this parser does not understand: if it opens a block, the
  // block is skipped; if it closes more than it opens, one level is left.
  void unknown(long balance) {
    if (balance > 0) {
      skip_return_ = where_;
      skip_depth_ = balance;
      where_ = Where::skip;
    } else if (balance < 0) {  // one level a closing brace
      if (where_ == Where::chain) where_ = balance == -1 ? Where::table : Where::top;
      else where_ = Where::top;
    }
  }

  RuleIndex& index_;
  Where where_ = Where::top;
  Where skip_return_ = Where::top;
  long skip_depth_ = 0;
  std::string family_, table_, chain_;
};

RuleIndex RuleIndex::from_listing(std::string_view listing) {
  RuleIndex index;
  ListingParser parser(index);
  listing = listing.substr(0, kMaxListingBytes);
  while (!listing.empty()) {
    std::size_t end = listing.find('\n');
    parser.line(listing.substr(0, end));
    if (end == std::string_view::npos) break;
    listing.remove_prefix(end + 1);
  }
  return index;
}

void RuleIndex::add_chain(ChainInfo chain) {
  if (chains_.size() >= kMaxIndexedChains) return;
  std::string key = key_of(chain.family, chain.table, chain.chain);
  if (chain_by_name_.count(key) != 0) return;  // listed twice: the first one counts
  chain_by_name_.emplace(std::move(key), chains_.size());
  chains_.push_back(std::move(chain));
}

void RuleIndex::add_rule(IndexedRule rule) {
  if (rules_.size() >= kMaxIndexedRules) return;
  std::string key = rule_key(rule.family, rule.table, rule.handle);
  if (rule_by_handle_.count(key) != 0) return;  // handles are unique per table; a repeat is garbage
  rule_by_handle_.emplace(std::move(key), rules_.size());
  rules_.push_back(std::move(rule));
}

const IndexedRule* RuleIndex::find(std::string_view family, std::string_view table, std::uint64_t handle) const {
  auto it = rule_by_handle_.find(rule_key(family, table, handle));
  return it == rule_by_handle_.end() ? nullptr : &rules_[it->second];
}

const ChainInfo* RuleIndex::find_chain(std::string_view family, std::string_view table, std::string_view chain) const {
  auto it = chain_by_name_.find(key_of(family, table, chain));
  return it == chain_by_name_.end() ? nullptr : &chains_[it->second];
}

// ---- the user's source file ----------------------------------------------

namespace {

struct Token {
  enum class Kind { word, open, close, end };  // end: a newline or ';'
  Kind kind;
  std::string_view text;
  int line;
};

// nft's lexical level: '#' comments to the end of the line (not inside
// quotes), a trailing '\' joins lines, newline and ';' end statements.
class SourceLexer {
 public:
  explicit SourceLexer(std::string_view text) : text_(text) {}

  std::vector<Token> tokens() {
    std::vector<Token> out;
    while (at_ < text_.size()) {
      char c = text_[at_];
      if (c == '\n') {
        out.push_back({Token::Kind::end, {}, line_});
        ++line_;
        ++at_;
      } else if (c == ';') {
        out.push_back({Token::Kind::end, {}, line_});
        ++at_;
      } else if (is_space(c)) {
        ++at_;
      } else if (c == '#') {
        while (at_ < text_.size() && text_[at_] != '\n') ++at_;
      } else if (c == '\\' && continues_line()) {
        skip_to_next_line();
      } else if (c == '{' || c == '}') {
        out.push_back({c == '{' ? Token::Kind::open : Token::Kind::close, text_.substr(at_, 1), line_});
        ++at_;
      } else {
        out.push_back({Token::Kind::word, word(), line_});
      }
    }
    return out;
  }

 private:
  // A '\' followed only by blanks up to the end of the line.
  bool continues_line() const {
    std::size_t i = at_ + 1;
    while (i < text_.size() && (text_[i] == ' ' || text_[i] == '\t' || text_[i] == '\r')) ++i;
    return i == text_.size() || text_[i] == '\n';
  }

  void skip_to_next_line() {
    while (at_ < text_.size() && text_[at_] != '\n') ++at_;
    if (at_ < text_.size()) {
      ++at_;
      ++line_;
    }
  }

  std::string_view word() {
    std::size_t start = at_;
    bool quoted = false;
    while (at_ < text_.size()) {
      char c = text_[at_];
      if (c == '\n') break;  // an unclosed quote ends with its line
      if (c == '"') quoted = !quoted;
      if (!quoted && (is_space(c) || c == ';' || c == '{' || c == '}' || c == '#')) break;
      if (!quoted && c == '\\' && continues_line()) break;
      ++at_;
    }
    return text_.substr(start, at_ - start);
  }

  std::string_view text_;
  std::size_t at_ = 0;
  int line_ = 1;
};

// What a source file does to one chain: the lines of its rules in order,
// unless something (insert, replace, delete, a positioned add, include in
// the chain) makes the order unknowable.
struct SourceChain {
  std::string family, table, chain;
  std::vector<int> lines;
  bool order_known = true;
};

// One statement: its words at brace depth 0 and the line it starts on.
struct Statement {
  std::vector<std::string_view> words;
  int line = 0;
};

// The chains a source file fills and the line of each rule it gives them.
// The file's nesting is fixed (top, table, chain); braces inside a rule,
// set or define are skipped by counting.
class SourceParser {
 public:
  explicit SourceParser(std::vector<Token> tokens) : tokens_(std::move(tokens)) {}

  std::map<std::string, SourceChain> parse() {
    while (!done()) top_statement();
    return std::move(chains_);
  }

 private:
  bool done() const { return at_ >= tokens_.size(); }
  const Token& peek() const { return tokens_[at_]; }

  void skip_ends() {
    while (!done() && peek().kind == Token::Kind::end) ++at_;
  }

  // Words up to the next '{' or statement end at depth 0; the '{' and the
  // end stay unread.
  Statement head() {
    Statement out;
    out.line = done() ? 0 : peek().line;
    while (!done() && peek().kind == Token::Kind::word) out.words.push_back(tokens_[at_++].text);
    return out;
  }

  // The rest of a statement, nested blocks included; its depth-0 words are
  // appended. Stops before a '}' that closes the enclosing block.
  void rest_of_statement(Statement& statement) {
    long depth = 0;
    while (!done()) {
      const Token& token = peek();
      if (token.kind == Token::Kind::close && depth == 0) return;
      ++at_;
      if (token.kind == Token::Kind::open) ++depth;
      if (token.kind == Token::Kind::close) --depth;
      if (token.kind == Token::Kind::end && depth == 0) return;
      if (token.kind == Token::Kind::word && depth == 0) statement.words.push_back(token.text);
    }
  }

  bool at_open() const { return !done() && peek().kind == Token::Kind::open; }

  void top_statement() {
    skip_ends();
    if (done()) return;
    if (peek().kind != Token::Kind::word) {  // a stray brace
      ++at_;
      return;
    }
    Statement statement = head();
    std::vector<std::string_view>& w = statement.words;
    std::size_t verb = (w[0] == "add" || w[0] == "create") ? 1 : 0;
    std::string_view object = verb < w.size() ? w[verb] : std::string_view();
    bool implicit_add = verb == 1 || w[0] == "table" || w[0] == "chain" || w[0] == "rule";
    if (implicit_add && object == "table") return table_statement(w, verb + 1);
    if (implicit_add && object == "chain") return chain_statement(w, verb + 1);
    rest_of_statement(statement);
    if (implicit_add && object == "rule") return add_rule(w, verb + 1, statement.line);
    command(w);
  }

  // `table [family] name { ... }` or `add table [family] name`.
  void table_statement(const std::vector<std::string_view>& w, std::size_t at) {
    auto [family, name] = family_and_name(w, at);
    if (!at_open()) return skip_statement();
    ++at_;
    table_body(family, name);
  }

  // `[add] chain [family] table name [{ ... }]` at the top level.
  void chain_statement(const std::vector<std::string_view>& w, std::size_t at) {
    auto [family, table] = family_and_name(w, at);
    std::size_t chain_at = at + (at < w.size() && is_family(w[at]) ? 2 : 1);
    if (chain_at >= w.size()) return skip_statement();
    SourceChain& chain = chain_named(family, table, unquoted(w[chain_at]));
    if (!at_open()) return skip_statement();
    ++at_;
    chain_body(chain);
  }

  // `[add] rule [family] table chain [position N|handle N|index N] statement...`
  void add_rule(const std::vector<std::string_view>& w, std::size_t at, int line) {
    auto spec = chain_spec(w, at);
    if (!spec) return;
    SourceChain& chain = chain_named(spec->family, spec->table, spec->chain);
    std::string_view first = spec->next < w.size() ? w[spec->next] : std::string_view();
    if (first == "position" || first == "handle" || first == "index") chain.order_known = false;
    chain.lines.push_back(line);
  }

  // Top-level commands that change what chains hold.
  void command(const std::vector<std::string_view>& w) {
    if (w.size() < 2) return;
    std::string_view verb = w[0], object = w[1];
    if ((verb == "insert" || verb == "replace" || verb == "delete" || verb == "destroy") && object == "rule") {
      if (auto spec = chain_spec(w, 2)) chain_named(spec->family, spec->table, spec->chain).order_known = false;
      return;
    }
    if (verb == "flush" && object == "ruleset") return chains_.clear();
    if (verb == "flush" && object == "chain") {
      if (auto spec = chain_spec(w, 2)) chain_named(spec->family, spec->table, spec->chain).lines.clear();
      return;
    }
    if (verb == "flush" && object == "table") {
      auto [family, table] = family_and_name(w, 2);
      for (auto& [key, chain] : chains_)
        if (chain.family == family && chain.table == table) chain.lines.clear();
      return;
    }
    if ((verb == "delete" || verb == "destroy") && object == "chain") {
      if (auto spec = chain_spec(w, 2)) chains_.erase(key_of(spec->family, spec->table, spec->chain));
      return;
    }
    if ((verb == "delete" || verb == "destroy") && object == "table") {
      auto [family, table] = family_and_name(w, 2);
      std::erase_if(chains_, [&](const auto& entry) { return entry.second.family == family && entry.second.table == table; });
    }
  }

  // Past blank ends; true at the end of input or after the block's `}`.
  bool block_ended() {
    skip_ends();
    if (done()) return true;
    if (peek().kind != Token::Kind::close) return false;
    ++at_;
    return true;
  }

  void table_body(const std::string& family, const std::string& table) {
    while (!block_ended()) {
      if (peek().kind == Token::Kind::open) {  // a block with no head: skip it
        Statement ignored;
        rest_of_statement(ignored);
        continue;
      }
      Statement statement = head();
      if (statement.words[0] == "chain" && statement.words.size() >= 2 && at_open()) {
        ++at_;
        chain_body(chain_named(family, table, unquoted(statement.words[1])));
        continue;
      }
      rest_of_statement(statement);  // set, map, flowtable, objects, flags, comment, define
    }
  }

  void chain_body(SourceChain& chain) {
    while (!block_ended()) {
      Statement statement;
      statement.line = peek().line;
      rest_of_statement(statement);
      if (statement.words.empty()) continue;
      std::string_view first = statement.words[0];
      if (first == "type" || first == "policy" || first == "comment" || first == "devices" || first == "define" ||
          first == "redefine" || first == "undefine")
        continue;
      if (first == "include") {
        chain.order_known = false;
        continue;
      }
      chain.lines.push_back(statement.line);
    }
  }

  void skip_statement() {
    Statement ignored;
    rest_of_statement(ignored);
  }

  // [family] name at w[at]; the family is "ip" when left out, as in nft.
  static std::pair<std::string, std::string> family_and_name(const std::vector<std::string_view>& w, std::size_t at) {
    if (at + 1 < w.size() && is_family(w[at])) return {std::string(w[at]), unquoted(w[at + 1])};
    if (at < w.size()) return {"ip", unquoted(w[at])};
    return {"ip", ""};
  }

  struct ChainSpec {
    std::string family, table, chain;
    std::size_t next;  // index of the first word after the spec
  };

  static std::optional<ChainSpec> chain_spec(const std::vector<std::string_view>& w, std::size_t at) {
    bool has_family = at + 2 < w.size() && is_family(w[at]);
    std::size_t table_at = has_family ? at + 1 : at;
    if (table_at + 1 >= w.size()) return std::nullopt;
    return ChainSpec{has_family ? std::string(w[at]) : "ip", unquoted(w[table_at]), unquoted(w[table_at + 1]), table_at + 2};
  }

  SourceChain& chain_named(const std::string& family, const std::string& table, const std::string& chain) {
    auto [it, added] = chains_.try_emplace(key_of(family, table, chain));
    if (added) {
      it->second.family = family;
      it->second.table = table;
      it->second.chain = chain;
    }
    return it->second;
  }

  std::vector<Token> tokens_;
  std::size_t at_ = 0;
  std::map<std::string, SourceChain> chains_;
};

}  // namespace

void RuleIndex::attach_source(std::string_view source_text, const std::string& file_name) {
  source_text = source_text.substr(0, kMaxSourceBytes);
  std::map<std::string, SourceChain> source = SourceParser(SourceLexer(source_text).tokens()).parse();
  std::map<std::string, std::vector<std::size_t>> listed;  // chain key -> its rules in listing order
  for (std::size_t i = 0; i < rules_.size(); ++i) listed[key_of(rules_[i].family, rules_[i].table, rules_[i].chain)].push_back(i);
  for (const auto& [key, chain] : source) {
    auto it = listed.find(key);
    if (!chain.order_known || it == listed.end() || it->second.size() != chain.lines.size()) continue;
    for (std::size_t k = 0; k < chain.lines.size(); ++k) {
      IndexedRule& rule = rules_[it->second[k]];
      rule.file = file_name;
      rule.line = chain.lines[k];
    }
  }
}

}  // namespace meros::net
