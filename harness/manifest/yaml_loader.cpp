#include "manifest/yaml_loader.h"
#include "util/text.h"

#include <yaml-cpp/eventhandler.h>

#include <fstream>
#include <map>
#include <sstream>
#include <vector>

namespace meros {
namespace {

// A place in the raw text, 1-based.
struct TextPos {
  int line = 0;
  int column = 0;
};

// What a look at the raw text finds before yaml-cpp sees it: yaml-cpp's
// parser recurses, accepts a quoted string left open at the end of the
// file, and says little about where a bracket was opened.
struct TextScan {
  std::optional<TextPos> too_deep;            // where nesting first exceeds the limit
  std::optional<TextPos> unclosed_quote;      // a quoted string still open at the end
  std::vector<std::pair<char, TextPos>> open_flows;  // '[' and '{' not closed where the scan stopped
  std::optional<TextPos> first_indent_tab;    // the first tab in a line's indentation
};

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

// How much of a line comes before its first node: a byte order mark at
// the start of the file and a document marker ("---" or "...") followed
// by a blank or the end of the line. yaml-cpp skips both, so the node
// after them may open nesting on the same line ("--- [[[", "--- - - -").
std::size_t prefix_length(std::string_view line, bool first_line) {
  std::size_t bom = first_line && line.starts_with("\xEF\xBB\xBF") ? 3 : 0;
  std::string_view rest = line.substr(bom);
  bool marker = (rest.starts_with("---") || rest.starts_with("...")) && (rest.size() == 3 || is_blank(rest[3]));
  return bom + (marker ? 3 : 0);
}

// True when line[i] starts a node, so that a quote there opens a quoted
// scalar and a bracket a flow collection, rather than being characters of
// a plain scalar ("don't", "echo [x"): it must follow the start of the line,
// a flow indicator, a "key: ", "- " or "? " indicator, possibly with an
// anchor or tag in between.
bool starts_node(std::string_view line, std::size_t i, bool in_flow) {
  std::size_t j = i;
  while (true) {
    std::size_t k = j;
    while (k > 0 && is_blank(line[k - 1])) --k;
    bool spaced = k < j;
    if (k == 0) return true;
    char before = line[k - 1];
    if (before == '[' || before == '{' || before == ',') return true;
    if (before == ':') return spaced || in_flow;
    if (before == '-' || before == '?') return spaced && (k == 1 || is_blank(line[k - 2]));
    // An anchor or tag token: look past it.
    std::size_t start = k;
    while (start > 0 && !is_blank(line[start - 1])) --start;
    if (!spaced || (line[start] != '&' && line[start] != '!')) return false;
    j = start;
  }
}

// Scans text up to byte offset stop. Nesting is estimated conservatively:
// one level per indentation step, per "- "/"? " opener and per open
// bracket.
TextScan scan_text(std::string_view text, int max_depth, std::size_t stop = std::string_view::npos) {
  TextScan scan;
  std::vector<std::size_t> indents{0};
  std::optional<std::size_t> block_scalar_indent;
  char quote = 0;
  TextPos quote_pos;
  std::size_t line_start = 0;
  for (int line_number = 1; line_start <= text.size() && line_start < stop; ++line_number) {
    std::size_t line_end = text.find('\n', line_start);
    if (line_end == std::string_view::npos) line_end = text.size();
    std::string_view line = text.substr(line_start, std::min(line_end, stop) - line_start);
    std::size_t next_start = line_end + 1;
    auto pos = [&](std::size_t i) { return TextPos{line_number, static_cast<int>(i) + 1}; };

    std::size_t i = 0;
    int markers = 0;
    if (!quote) {
      std::size_t indent = 0;
      while (indent < line.size() && line[indent] == ' ') ++indent;
      std::size_t content = indent;
      while (content < line.size() && is_blank(line[content])) ++content;
      if (std::size_t prefix = prefix_length(line, line_start == 0); indent == 0 && prefix) {
        content = prefix;
        while (content < line.size() && is_blank(line[content])) ++content;
      }
      bool blank = content == line.size() || line[content] == '#';
      if (blank) {
        line_start = next_start;
        continue;
      }
      if (block_scalar_indent && indent > *block_scalar_indent) {
        line_start = next_start;
        continue;
      }
      block_scalar_indent.reset();
      if (!scan.first_indent_tab && content > indent && line.substr(indent, content - indent).find('\t') != std::string_view::npos)
        scan.first_indent_tab = pos(line.find('\t', indent));
      if (scan.open_flows.empty()) {
        while (indents.size() > 1 && indents.back() > indent) indents.pop_back();
        if (indents.back() < indent) indents.push_back(indent);
      }
      i = content;
      while (i < line.size() && (line[i] == '-' || line[i] == '?') && (i + 1 == line.size() || is_blank(line[i + 1]))) {
        if (++markers + static_cast<int>(indents.size() + scan.open_flows.size()) > max_depth && !scan.too_deep)
          scan.too_deep = pos(i);
        ++i;
        while (i < line.size() && is_blank(line[i])) ++i;
      }
    }
    int peak_flow = static_cast<int>(scan.open_flows.size());
    TextPos peak_pos = pos(i);
    auto open_flow = [&](char c, TextPos at) {
      scan.open_flows.emplace_back(c, at);
      if (static_cast<int>(scan.open_flows.size()) > peak_flow) {
        peak_flow = static_cast<int>(scan.open_flows.size());
        peak_pos = at;
      }
    };
    bool in_plain = false, block_header = false;
    for (; i < line.size(); ++i) {
      char c = line[i];
      if (quote == '\'') {
        if (c == '\'') {
          if (i + 1 < line.size() && line[i + 1] == '\'') ++i;
          else quote = 0;
        }
        continue;
      }
      if (quote == '"') {
        if (c == '\\') ++i;
        else if (c == '"') quote = 0;
        continue;
      }
      if (c == '#' && (i == 0 || is_blank(line[i - 1]))) break;
      bool indicator_follows = i + 1 == line.size() || is_blank(line[i + 1]);
      if (scan.open_flows.empty()) {
        // Block context: a plain scalar runs to a ": " or a comment, and
        // brackets and quotes inside it are text ("run: echo [x", "don't").
        if (in_plain) {
          if (c == ':' && indicator_follows) in_plain = false;
          continue;
        }
        if (is_blank(c) || ((c == '-' || c == '?' || c == ':') && indicator_follows)) continue;
        if (c == '|' || c == '>') {  // a block scalar: the lines indented below are text
          block_header = true;
          in_plain = true;
          continue;
        }
        if (c == '&' || c == '!') {  // an anchor or a tag before the node
          while (i + 1 < line.size() && !is_blank(line[i + 1])) ++i;
          continue;
        }
        if (c == '\'' || c == '"') {
          quote = c;
          quote_pos = pos(i);
        } else if (c == '[' || c == '{') {
          open_flow(c, pos(i));
        } else {
          in_plain = true;
        }
        continue;
      }
      if ((c == '\'' || c == '"') && starts_node(line, i, true)) {
        quote = c;
        quote_pos = pos(i);
      } else if (c == '[' || c == '{') {
        open_flow(c, pos(i));
      } else if (c == ']' || c == '}') {
        scan.open_flows.pop_back();
      }
    }
    int depth = static_cast<int>(indents.size()) + markers + peak_flow;
    if (depth > max_depth && !scan.too_deep) scan.too_deep = peak_pos;
    if (block_header && !quote && scan.open_flows.empty()) {
      std::size_t indent = 0;
      while (indent < line.size() && line[indent] == ' ') ++indent;
      block_scalar_indent = indent;
    }
    line_start = next_start;
  }
  if (quote && stop >= text.size()) scan.unclosed_quote = quote_pos;
  return scan;
}

// Thrown by the event handler to stop reading as soon as a limit is hit.
struct StopReading {
  YAML::Mark mark;
  std::string message;
  enum Why { limit, second_document, no_progress } why = limit;
};

// Walks the parser's events before any node is built: counts documents,
// refuses an alias of a node that contains it (a cycle), and adds up the
// size the document has with every alias expanded, so a "billion laughs"
// file is refused before anything walks it.
class ExpansionCounter : public YAML::EventHandler {
 public:
  int documents = 0;

  // yaml-cpp can start empty documents forever at a character it cannot
  // read (a ',' at the top level), so reading stops at the second one.
  void OnDocumentStart(const YAML::Mark& mark) override {
    if (++documents == 1) {
      first_document_ = mark;
      return;
    }
    if (mark.pos == first_document_.pos) throw StopReading{mark, "", StopReading::no_progress};
    throw StopReading{mark, "", StopReading::second_document};
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override { leaf(mark, anchor, 1); }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    auto it = sizes_.find(anchor);
    if (it == sizes_.end())
      throw StopReading{mark, "this alias refers to a node that contains it; a manifest cannot be circular"};
    add(mark, it->second);
  }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor, const std::string& value) override {
    leaf(mark, anchor, 1 + value.size());
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor, YAML::EmitterStyle::value) override {
    open(mark, anchor);
  }
  void OnSequenceEnd() override { close(); }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor, YAML::EmitterStyle::value) override {
    open(mark, anchor);
  }
  void OnMapEnd() override { close(); }

 private:
  struct Open {
    YAML::anchor_t anchor;
    std::size_t total_before;
  };

  void add(const YAML::Mark& mark, std::size_t size) {
    total_ += size;
    if (total_ > kMaxExpandedSize)
      throw StopReading{mark, "aliases expand this manifest to more than " + std::to_string(kMaxExpandedSize >> 20) +
                                  " MiB (an alias bomb?); refusing to read it"};
  }
  void leaf(const YAML::Mark& mark, YAML::anchor_t anchor, std::size_t size) {
    add(mark, size);
    if (anchor) sizes_[anchor] = size;
  }
  void open(const YAML::Mark& mark, YAML::anchor_t anchor) {
    add(mark, 1);
    open_.push_back({anchor, total_ - 1});
  }
  void close() {
    if (open_.empty()) return;
    Open node = open_.back();
    open_.pop_back();
    if (node.anchor) sizes_[node.anchor] = total_ - node.total_before;
  }

  YAML::Mark first_document_;
  std::size_t total_ = 0;
  std::vector<Open> open_;
  std::map<YAML::anchor_t, std::size_t> sizes_;
};

std::string close_of(char open) { return open == '[' ? "]" : "}"; }

// A syntax error in words a user can act on, placed where the fix goes.
void report_syntax_error(std::string_view text, const YAML::ParserException& e, const YamlFile& file) {
  SourceMark at = file.mark(e.mark);
  TextScan whole = scan_text(text, kMaxNestingDepth);
  TextScan upto = scan_text(text, kMaxNestingDepth, e.mark.pos >= 0 ? static_cast<std::size_t>(e.mark.pos) : text.size());
  if (whole.first_indent_tab && (whole.first_indent_tab->line <= at.line || at.line == 0)) {
    file.error(SourceMark{file.display_name(), whole.first_indent_tab->line, whole.first_indent_tab->column},
               "YAML syntax error: a tab in the indentation; YAML indents with spaces only");
    return;
  }
  bool sequence = e.msg == YAML::ErrorMsg::END_OF_SEQ_FLOW, mapping = e.msg == YAML::ErrorMsg::END_OF_MAP_FLOW;
  if (sequence || mapping) {
    char wanted = sequence ? '[' : '{';
    for (auto it = upto.open_flows.rbegin(); it != upto.open_flows.rend(); ++it) {
      if (it->first != wanted) continue;
      file.error(SourceMark{file.display_name(), it->second.line, it->second.column},
                 std::string("YAML syntax error: this '") + wanted + "' is never closed with '" + close_of(wanted) + "'");
      return;
    }
  }
  std::string message = "YAML syntax error: " + e.msg;
  if (e.msg == YAML::ErrorMsg::MAP_VALUE)
    message += " (a ':' where no key can start: check this line's indentation against the lines above, or quote a value that contains ': ')";
  else if (e.msg == YAML::ErrorMsg::END_OF_MAP || e.msg == YAML::ErrorMsg::END_OF_SEQ)
    message += " (this line's indentation matches none of the enclosing keys or list items)";
  else if (e.msg == YAML::ErrorMsg::FLOW_END)
    message += " (a closing bracket without its opening one)";
  file.error(at, message);
}

}  // namespace

std::optional<std::pair<int, int>> find_excessive_nesting(std::string_view text, int max_depth) {
  TextScan scan = scan_text(text, max_depth);
  if (!scan.too_deep) return std::nullopt;
  return std::make_pair(scan.too_deep->line, scan.too_deep->column);
}

std::optional<YAML::Node> parse_yaml_text(std::string_view text, const YamlFile& file) {
  const SourceMark file_start{file.display_name(), 1, 1};
  if (text.size() > kMaxManifestBytes) {
    file.error(file_start, "the file is " + std::to_string(text.size()) + " bytes; a manifest may be at most 1 MiB");
    return std::nullopt;
  }
  TextScan scan = scan_text(text, kMaxNestingDepth);
  if (scan.too_deep) {
    file.error(SourceMark{file.display_name(), scan.too_deep->line, scan.too_deep->column},
               "YAML nested deeper than " + std::to_string(kMaxNestingDepth) +
                   " levels: a manifest needs only a few; refusing to parse it");
    return std::nullopt;
  }
  if (scan.unclosed_quote) {
    file.error(SourceMark{file.display_name(), scan.unclosed_quote->line, scan.unclosed_quote->column},
               "YAML syntax error: this quoted string is never closed");
    return std::nullopt;
  }
  std::string content(text);
  try {
    ExpansionCounter counter;
    std::istringstream in(content);
    YAML::Parser parser(in);
    while (parser.HandleNextDocument(counter)) {
    }
    if (counter.documents == 0) return YAML::Node(YAML::NodeType::Null);
    return YAML::Load(content);
  } catch (const StopReading& stop) {
    std::size_t at = stop.mark.pos >= 0 ? static_cast<std::size_t>(stop.mark.pos) : 0;
    std::string_view rest = text.substr(std::min(at, text.size()));
    if (stop.why == StopReading::limit)
      file.error(file.mark(stop.mark), stop.message);
    else if (stop.why == StopReading::no_progress)
      file.error(file.mark(stop.mark), "YAML syntax error: " + (rest.empty() ? std::string("this") : quote(rest.substr(0, 1))) +
                                           " cannot start a YAML document");
    else if (rest.starts_with("---"))
      file.error(file.mark(stop.mark), "a manifest holds exactly one YAML document; remove the second '---' document");
    else
      file.error(file.mark(stop.mark), "a manifest holds exactly one YAML document; remove everything from here on");
  } catch (const YAML::ParserException& e) {
    report_syntax_error(text, e, file);
  } catch (const YAML::Exception& e) {
    file.error(file.mark(e.mark), "YAML syntax error: " + e.msg);
  } catch (const std::exception& e) {
    file.error(file_start, std::string("YAML could not be read: ") + e.what());
  }
  return std::nullopt;
}

std::optional<YAML::Node> load_yaml_file(const std::filesystem::path& path, const YamlFile& file) {
  const SourceMark file_start{file.display_name(), 1, 1};
  std::error_code ec;
  auto size = std::filesystem::file_size(path, ec);
  if (ec) {
    file.error(file_start, "cannot read the file: " + ec.message());
    return std::nullopt;
  }
  if (size > kMaxManifestBytes) {
    file.error(file_start, "the file is " + std::to_string(size) + " bytes; a manifest may be at most 1 MiB");
    return std::nullopt;
  }
  std::ifstream in(path, std::ios::binary);
  std::ostringstream content;
  content << in.rdbuf();
  if (!in && !in.eof()) {
    file.error(file_start, "cannot read the file");
    return std::nullopt;
  }
  return parse_yaml_text(content.str(), file);
}

}  // namespace meros
