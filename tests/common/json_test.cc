#include "common/json.h"

#include <gtest/gtest.h>

namespace judge {
namespace {

TEST(Json, EscapesControlAndQuotes) {
  EXPECT_EQ(JsonEscape("a\"b\\c\n\x01"), "\"a\\\"b\\\\c\\n\\u0001\"");
}

TEST(Json, NumbersHaveAtMostThreeDecimals) {
  EXPECT_EQ(JsonObject().Num("a", 1.5).Num("b", 2.0).Num("c", 0.12345).Int("d", -3).Done(),
            "{\"a\":1.5,\"b\":2,\"c\":0.123,\"d\":-3}");
}

}  // namespace
}  // namespace judge
