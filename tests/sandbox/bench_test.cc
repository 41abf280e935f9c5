#include "sandbox/bench.h"

#include <gtest/gtest.h>

namespace judge {
namespace {

TEST(BenchQuantile, NearestRank) {
  const std::vector<double> v = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  EXPECT_EQ(Quantile(v, 0), 1);
  EXPECT_EQ(Quantile(v, 0.5), 5);
  EXPECT_EQ(Quantile(v, 0.9), 9);
  EXPECT_EQ(Quantile(v, 0.99), 10);
  EXPECT_EQ(Quantile(v, 1), 10);
  EXPECT_EQ(Quantile({7}, 0.5), 7);
  EXPECT_EQ(Quantile({}, 0.5), 0);
  const std::vector<double> odd = {1, 2, 3};
  EXPECT_EQ(Quantile(odd, 0.5), 2);
}

}  // namespace
}  // namespace judge
