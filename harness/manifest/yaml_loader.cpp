#include "manifest/yaml_loader.h"

#include <fstream>
#include <sstream>
#include <vector>

namespace meros {
namespace {

std::size_t leading_spaces(std::string_view line) {
  std::size_t n = 0;
  while (n < line.size() && line[n] == ' ') ++n;
  return n;
}

// A line that opens a block scalar ("run: |", "- >-") makes the lines
// indented below it plain text, not structure.
bool opens_block_scalar(std::string_view line) {
  while (!line.empty() && (line.back() == ' ' || line.back() == '\r')) line.remove_suffix(1);
  std::size_t i = line.size();
  while (i > 0 && (line[i - 1] == '-' || line[i - 1] == '+' || (line[i - 1] >= '1' && line[i - 1] <= '9'))) --i;
  if (i == 0 || (line[i - 1] != '|' && line[i - 1] != '>')) return false;
  return i == 1 || line[i - 2] == ' ';
}

struct LineScan {
  int markers = 0;     // "- " and "? " openers at the start of the line
  int peak_flow = 0;   // deepest [ { reached on the line
  int peak_column = 0;
};

LineScan scan_line(std::string_view line, std::size_t indent, int& flow_depth) {
  LineScan scan;
  std::size_t i = indent;
  while (i < line.size() && (line[i] == '-' || line[i] == '?') &&
         (i + 1 == line.size() || line[i + 1] == ' ')) {
    ++scan.markers;
    i += 2;
    while (i < line.size() && line[i] == ' ') ++i;
  }
  char quote = 0;
  scan.peak_flow = flow_depth;
  for (; i < line.size(); ++i) {
    char c = line[i];
    if (quote) {
      if (c == quote) quote = 0;
      continue;
    }
    if (c == '\'' || c == '"') quote = c;
    else if (c == '#' && (i == 0 || line[i - 1] == ' ')) break;
    else if (c == '[' || c == '{') {
      if (++flow_depth > scan.peak_flow) {
        scan.peak_flow = flow_depth;
        scan.peak_column = static_cast<int>(i) + 1;
      }
    } else if ((c == ']' || c == '}') && flow_depth > 0) --flow_depth;
  }
  if (scan.peak_column == 0) scan.peak_column = static_cast<int>(indent) + 1;
  return scan;
}

}  // namespace

std::optional<std::pair<int, int>> find_excessive_nesting(std::string_view text, int max_depth) {
  std::vector<std::size_t> indents{0};
  int flow_depth = 0;
  std::optional<std::size_t> block_scalar_indent;
  int line_number = 0;
  std::istringstream in{std::string(text)};
  for (std::string line; std::getline(in, line);) {
    ++line_number;
    std::size_t indent = leading_spaces(line);
    bool blank = indent == line.size() || line[indent] == '#' || line[indent] == '\r';
    if (blank) continue;
    if (block_scalar_indent && indent > *block_scalar_indent) continue;
    block_scalar_indent.reset();
    if (flow_depth == 0) {
      while (indents.size() > 1 && indents.back() > indent) indents.pop_back();
      if (indents.back() < indent) indents.push_back(indent);
    }
    LineScan scan = scan_line(line, indent, flow_depth);
    int depth = static_cast<int>(indents.size()) + scan.markers + scan.peak_flow;
    if (depth > max_depth) return std::make_pair(line_number, scan.peak_column);
    if (opens_block_scalar(line)) block_scalar_indent = indent;
  }
  return std::nullopt;
}

std::optional<YAML::Node> parse_yaml_text(std::string_view text, const YamlFile& file) {
  if (auto deep = find_excessive_nesting(text, kMaxNestingDepth)) {
    file.error(SourceMark{file.display_name(), deep->first, deep->second},
               "YAML nested deeper than " + std::to_string(kMaxNestingDepth) +
                   " levels: a manifest needs only a few; refusing to parse it");
    return std::nullopt;
  }
  try {
    std::vector<YAML::Node> documents = YAML::LoadAll(std::string(text));
    if (documents.size() > 1) {
      file.error(documents[1], "a manifest holds exactly one YAML document; remove the second '---' document");
      return std::nullopt;
    }
    if (documents.empty()) return YAML::Node(YAML::NodeType::Null);
    return documents.front();
  } catch (const YAML::Exception& e) {
    file.error(file.mark(e.mark), "YAML syntax error: " + e.msg);
  } catch (const std::exception& e) {
    file.error(SourceMark{file.display_name(), 0, 0}, std::string("YAML could not be read: ") + e.what());
  }
  return std::nullopt;
}

std::optional<YAML::Node> load_yaml_file(const std::filesystem::path& path, const YamlFile& file) {
  std::error_code ec;
  auto size = std::filesystem::file_size(path, ec);
  if (ec) {
    file.error(SourceMark{file.display_name(), 0, 0}, "cannot read the file: " + ec.message());
    return std::nullopt;
  }
  if (size > kMaxManifestBytes) {
    file.error(SourceMark{file.display_name(), 0, 0},
               "the file is " + std::to_string(size) + " bytes; a manifest may be at most 1 MiB");
    return std::nullopt;
  }
  std::ifstream in(path, std::ios::binary);
  std::ostringstream content;
  content << in.rdbuf();
  if (!in && !in.eof()) {
    file.error(SourceMark{file.display_name(), 0, 0}, "cannot read the file");
    return std::nullopt;
  }
  return parse_yaml_text(content.str(), file);
}

}  // namespace meros
