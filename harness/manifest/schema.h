// The JSON Schema of a scenario manifest (`meros-test schema`), for editors
// (yaml-language-server, VS Code, IntelliJ) and CI linters. Generated from
// the parser's key table (manifest_key_table()): every section of the table
// becomes a definition with exactly its keys, each typed by the annotations
// in schema.cpp, so a key the parser accepts cannot be missing here.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace meros {

// The schema as JSON (draft-07, which every editor plugin supports).
nlohmann::json manifest_json_schema();

// "section.key" for every key of the key table that has no type
// annotation (it appears in the schema as accepting anything); empty when
// the two are in step. A unit test keeps it empty.
std::vector<std::string> untyped_manifest_keys();

}  // namespace meros
