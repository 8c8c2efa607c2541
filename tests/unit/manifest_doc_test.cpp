// docs/manifest.md documents every key the parser accepts and no other:
// one "### `section`" heading per section of manifest_key_table(), each
// followed by a table whose rows start with "| `key` |".
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "manifest/parser.h"

namespace {

struct DocSection {
  int line = 0;
  std::vector<std::string> keys;
};

// The text between the first pair of backticks in text, or "".
std::string first_code_span(const std::string& text) {
  auto open = text.find('`');
  if (open == std::string::npos) return "";
  auto close = text.find('`', open + 1);
  if (close == std::string::npos) return "";
  return text.substr(open + 1, close - open - 1);
}

std::multimap<std::string, DocSection> read_doc_sections() {
  std::multimap<std::string, DocSection> sections;
  std::ifstream in(std::string(MEROS_DOCS_DIR) + "/manifest.md");
  EXPECT_TRUE(in) << "cannot read " << MEROS_DOCS_DIR << "/manifest.md";
  DocSection* current = nullptr;
  int number = 0;
  bool in_code = false;
  for (std::string line; std::getline(in, line);) {
    ++number;
    if (line.starts_with("```")) in_code = !in_code;
    if (in_code) continue;
    if (line.starts_with("#")) {
      current = nullptr;
      if (line.starts_with("### ")) {
        std::string section = first_code_span(line);
        EXPECT_FALSE(section.empty()) << "manifest.md:" << number << ": a ### heading without a `section`";
        current = &sections.emplace(section, DocSection{number, {}})->second;
      }
      continue;
    }
    if (current && line.starts_with("| `")) current->keys.push_back(first_code_span(line));
  }
  return sections;
}

TEST(ManifestDoc, DocumentsEverySectionOnce) {
  auto documented = read_doc_sections();
  for (const auto& [section, keys] : meros::manifest_key_table())
    EXPECT_EQ(documented.count(section), 1u) << "docs/manifest.md needs exactly one \"### `" << section << "`\" heading";
  for (const auto& [section, doc] : documented)
    EXPECT_TRUE(meros::manifest_key_table().count(section))
        << "docs/manifest.md:" << doc.line << ": section `" << section << "` is not a section of the manifest";
}

TEST(ManifestDoc, DocumentsEveryKeyAndNoOther) {
  auto documented = read_doc_sections();
  for (const auto& [section, keys] : meros::manifest_key_table()) {
    auto doc = documented.find(section);
    if (doc == documented.end()) continue;  // reported above
    std::set<std::string> known(keys.begin(), keys.end()), seen;
    for (const auto& key : doc->second.keys) {
      EXPECT_TRUE(known.count(key)) << "docs/manifest.md, section `" << section << "`: documents `" << key
                                    << "`, which the parser does not accept";
      EXPECT_TRUE(seen.insert(key).second) << "docs/manifest.md, section `" << section << "`: `" << key << "` twice";
    }
    for (const auto& key : keys)
      EXPECT_TRUE(seen.count(key)) << "docs/manifest.md, section `" << section << "`: key `" << key
                                   << "` is not documented (add a row \"| `" << key << "` | type | default | rules |\")";
  }
}

}  // namespace
