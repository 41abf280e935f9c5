#include "worker/languages.h"

#include <gtest/gtest.h>

#include "tests/sandbox/test_util.h"

namespace judge::testing {
namespace {

TEST(Languages, BuiltinProfilesLoadAndTheRequiredOnesExist) {
  auto r = LanguageRegistry::Builtin();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::vector<std::string> all = r->Available();
  for (const std::string& m : r->Missing()) all.push_back(m);
  for (const char* name : {"c", "cpp17", "cpp20", "python3", "java", "rust", "pascal", "go"}) {
    EXPECT_NE(std::find(all.begin(), all.end(), name), all.end()) << name;
  }
}

TEST(Languages, ForFileGoesByEnding) {
  auto r = LanguageRegistry::Builtin();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r->ForFile("a.cpp"), "cpp17");
  EXPECT_EQ(*r->ForFile("sol.c"), "c");
  EXPECT_EQ(*r->ForFile("x.py"), "python3");
  EXPECT_EQ(*r->ForFile("Main.java"), "java");
  EXPECT_FALSE(r->ForFile("notes.txt").ok());
}

TEST(Languages, MissingToolchainIsNamed) {
  LanguageRegistry r;
  v1::LanguageProfile p;
  p.set_name("imaginary");
  p.set_source_name("main.im");
  p.add_run("/job/main");
  p.add_toolchain("/usr/bin/no-such-compiler-judge");
  r.Add(p);
  auto f = r.Find("imaginary");
  ASSERT_FALSE(f.ok());
  EXPECT_HAS(f.status().ToString(), "/usr/bin/no-such-compiler-judge is missing");
  EXPECT_EQ(r.Missing(), std::vector<std::string>{"imaginary"});
  EXPECT_HAS(r.Find("klingon").status().ToString(), "unknown language 'klingon'");
}

TEST(Languages, BadProfilesAreRefusedWithFileAndLine) {
  auto bad_field = ParseLanguageProfile("name: \"x\"\nsource_name: \"a\"\nbogus: 1\n", "x.textproto");
  ASSERT_FALSE(bad_field.ok());
  EXPECT_HAS(bad_field.status().ToString(), "x.textproto:3:");
  EXPECT_HAS(bad_field.status().ToString(), "bogus");
  auto bad_type = ParseLanguageProfile("name: 12\n", "y.textproto");
  EXPECT_HAS(bad_type.status().ToString(), "y.textproto:1:");
  auto no_run = ParseLanguageProfile("name: \"z\"\nsource_name: \"a\"\n", "z.textproto");
  EXPECT_HAS(no_run.status().ToString(), "no run command");
  auto path_name = ParseLanguageProfile("name: \"z\"\nsource_name: \"a/b\"\nrun: \"x\"\n", "z.textproto");
  EXPECT_HAS(path_name.status().ToString(), "plain file name");
}

}  // namespace
}  // namespace judge::testing
