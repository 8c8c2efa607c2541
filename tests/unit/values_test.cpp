#include <gtest/gtest.h>
#include "manifest/values.h"
using namespace meros;
TEST(Values, ParsesDuration) { EXPECT_EQ(parse_duration("1m30s")->count(), 90000); }
