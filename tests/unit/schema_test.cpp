// The JSON Schema is generated from the parser's key table: they cannot
// drift apart (python3-jsonschema checks it against real manifests in
// tests/unit/schema_check.py).
#include "manifest/schema.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "manifest/parser.h"

namespace meros {
namespace {

TEST(ManifestSchema, EveryKeyOfTheKeyTableHasAType) {
  std::vector<std::string> missing = untyped_manifest_keys();
  std::string list;
  for (const auto& key : missing) list += " " + key;
  EXPECT_TRUE(missing.empty()) << "add a type for these keys in harness/manifest/schema.cpp (key_types):" << list;
}

TEST(ManifestSchema, HasExactlyTheKeysOfTheTable) {
  nlohmann::json schema = manifest_json_schema();
  EXPECT_EQ(schema["$schema"], "http://json-schema.org/draft-07/schema#");
  EXPECT_EQ(schema["additionalProperties"], false);
  std::vector<std::string> top;
  for (const auto& [key, _] : schema["properties"].items()) top.push_back(key);
  std::vector<std::string> expected = manifest_keys("top");
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(top, expected);
  const auto& vm = schema["definitions"]["virtual_machines__name_"];
  EXPECT_EQ(vm["properties"].size(), manifest_keys("virtual_machines.<name>").size());
  EXPECT_EQ(vm["additionalProperties"], false);
}

TEST(ManifestSchema, StepDoesExactlyOneAction) {
  nlohmann::json schema = manifest_json_schema();
  const auto& step = schema["definitions"]["tests__"];
  ASSERT_TRUE(step.contains("oneOf"));
  EXPECT_EQ(step["oneOf"].size(), 6u);
}

TEST(ManifestSchema, ValuesMayBeNullAsTheParserTakesThem) {
  nlohmann::json schema = manifest_json_schema();
  const auto& cpus = schema["definitions"]["virtual_machines__name_"]["properties"]["cpus"];
  ASSERT_TRUE(cpus.contains("anyOf"));
  EXPECT_EQ(cpus["anyOf"][0]["minimum"], 1);
  EXPECT_EQ(cpus["anyOf"][0]["maximum"], 64);
  EXPECT_EQ(cpus["anyOf"][1]["type"], "null");
}

}  // namespace
}  // namespace meros
