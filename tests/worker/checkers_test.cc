#include "worker/checkers.h"

#include <gtest/gtest.h>

#include "worker/judging.h"

namespace judge {
namespace {

TEST(Checkers, ExactIgnoresTrailingWhiteSpaceOnly) {
  EXPECT_EQ(CheckExact("3\n", "3\n").verdict, v1::AC);
  EXPECT_EQ(CheckExact("3  \n\n\n", "3").verdict, v1::AC);
  EXPECT_EQ(CheckExact("1 2\n3\n", "1 2\n3\n").verdict, v1::AC);
  EXPECT_EQ(CheckExact("4\n", "3\n").verdict, v1::WA);
  EXPECT_EQ(CheckExact("", "3\n").verdict, v1::WA);
}

TEST(Checkers, ExactWithRightTokensInOtherWhiteSpaceIsPresentationError) {
  CheckResult r = CheckExact("1\n2\n3\n", "1 2 3\n");
  EXPECT_EQ(r.verdict, v1::PE);
  EXPECT_EQ(CheckExact(" 3\n", "3\n").verdict, v1::PE);
}

TEST(Checkers, TokensIgnoreWhiteSpace) {
  EXPECT_EQ(CheckTokens("1\n2\t3  ", "1 2 3\n").verdict, v1::AC);
  CheckResult r = CheckTokens("1 2 4", "1 2 3");
  EXPECT_EQ(r.verdict, v1::WA);
  EXPECT_NE(r.message.find("token 3"), std::string::npos) << r.message;
  EXPECT_EQ(CheckTokens("1 2", "1 2 3").verdict, v1::WA);
  EXPECT_EQ(CheckTokens("YES", "yes").verdict, v1::WA);
  EXPECT_EQ(CheckTokens("YES", "yes", /*ignore_case=*/true).verdict, v1::AC);
}

TEST(Checkers, FloatWithinAbsoluteOrRelativeTolerance) {
  EXPECT_EQ(CheckFloat("1.4142136", "1.41421356237", 1e-6, 0).verdict, v1::AC);
  EXPECT_EQ(CheckFloat("1.4", "1.41421356237", 1e-6, 1e-6).verdict, v1::WA);
  EXPECT_EQ(CheckFloat("1000001", "1000000", 0, 1e-6).verdict, v1::AC);
  EXPECT_EQ(CheckFloat("1000002", "1000000", 0, 1e-6).verdict, v1::WA);
  EXPECT_EQ(CheckFloat("abc 1.0", "abc 1", 1e-9, 0).verdict, v1::AC);
  EXPECT_EQ(CheckFloat("nan", "nan", 1, 1).verdict, v1::AC);  // equal as text
  EXPECT_EQ(CheckFloat("nan", "1", 1, 1).verdict, v1::WA);
}

TEST(Checkers, BuiltinDispatchesOnKind) {
  v1::Checker c;
  EXPECT_EQ(CheckBuiltin(c, "1 2", "1\n2").verdict, v1::PE);  // default: EXACT
  c.set_kind(v1::Checker::TOKENS);
  EXPECT_EQ(CheckBuiltin(c, "1 2", "1\n2").verdict, v1::AC);
  c.set_kind(v1::Checker::FLOAT);
  c.set_abs_tol(0.01);
  EXPECT_EQ(CheckBuiltin(c, "1.005", "1").verdict, v1::AC);
}

TEST(NaturalOrder, NumbersCompareByValue) {
  EXPECT_TRUE(NaturalLess("2", "10"));
  EXPECT_FALSE(NaturalLess("10", "2"));
  EXPECT_TRUE(NaturalLess("a2", "a10"));
  EXPECT_TRUE(NaturalLess("sample-1", "secret-1"));
  EXPECT_TRUE(NaturalLess("1", "1a"));
  EXPECT_FALSE(NaturalLess("07", "7"));
  EXPECT_FALSE(NaturalLess("7", "07"));
}

}  // namespace
}  // namespace judge
