// What gc may remove on the word of a run-state file.
#include <gtest/gtest.h>

#include "runner/run_state.h"

namespace meros {
namespace {

TEST(RunPath, PathsARunCreatesMayBeRemoved) {
  EXPECT_TRUE(is_run_path("/var/cache/meros-test/runs/0a1b2c/smoke", "0a1b2c"));
  EXPECT_TRUE(is_run_path("/run/meros-test/0a1b2c/1234abcd", "0a1b2c"));
  EXPECT_TRUE(is_run_path("/run/meros-test/0a1b2c", "0a1b2c"));
  EXPECT_TRUE(is_run_path("/var/cache/meros-test/runs/0a1b2c/smoke", "0a1b2c-smoke")) << "a scenario's state id";
}

TEST(RunPath, AnythingElseIsLeftAlone) {
  EXPECT_FALSE(is_run_path("/etc", "0a1b2c"));
  EXPECT_FALSE(is_run_path("/var/cache/meros-test/runs/ffffff/smoke", "0a1b2c")) << "another run's";
  EXPECT_FALSE(is_run_path("/var/cache/meros-test/runs/0a1b2c/../../..", "0a1b2c"));
  EXPECT_FALSE(is_run_path("/var/cache/meros-test/runs/0a1b2c/./x", "0a1b2c"));
  EXPECT_FALSE(is_run_path("runs/0a1b2c/smoke", "0a1b2c")) << "relative";
  EXPECT_FALSE(is_run_path("/run/meros-test/0a1b2c/", "0a1b2c")) << "no name";
  EXPECT_FALSE(is_run_path("/etc/x", "etc")) << "an id is hex";
  EXPECT_FALSE(is_run_path("/etc/x", "etc-x")) << "so is a scenario's";
  EXPECT_FALSE(is_run_path("/var/cache/meros-test/runs/ffffff/smoke", "0a1b2c-smoke"));
  EXPECT_FALSE(is_run_path("/tmp/x", "")) << "no id";
}

}  // namespace
}  // namespace meros
