#include "common/status.h"

#include <gtest/gtest.h>

#include "common/file_util.h"

namespace judge {
namespace {

Result<int> Half(int x) {
  if (x % 2) return Status::Error("odd: " + std::to_string(x));
  return x / 2;
}

Result<int> Quarter(int x) {
  ASSIGN_OR_RETURN(int h, Half(x));
  ASSIGN_OR_RETURN(int q, Half(h));
  return q;
}

TEST(Status, OkAndError) {
  EXPECT_TRUE(Status::Ok().ok());
  Status s = Status::Error("open x", ENOENT);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.err(), ENOENT);
  EXPECT_EQ(s.ToString(), "open x: No such file or directory");
  s.Context("loading profile");
  EXPECT_EQ(s.message(), "loading profile: open x");
}

TEST(Result, PropagatesFirstError) {
  EXPECT_EQ(*Quarter(8), 2);
  Result<int> r = Quarter(6);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "odd: 3");
}

TEST(FileUtil, ParseInt) {
  EXPECT_EQ(*ParseInt(" 42\n"), 42);
  EXPECT_EQ(*ParseInt("-7"), -7);
  EXPECT_FALSE(ParseInt("").ok());
  EXPECT_FALSE(ParseInt("12abc").ok());
  EXPECT_FALSE(ReadFile("/nonexistent/judge").ok());
}

}  // namespace
}  // namespace judge
