#include "client/local_job.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/sandbox/test_util.h"

namespace judge::testing {
namespace {

std::vector<std::string> Names(const v1::Job& job) {
  std::vector<std::string> out;
  for (const auto& t : job.tests()) out.push_back(t.name());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(LocalJob, TestsDirPairsInWithAnsOrOut) {
  TempDir d;
  d.Write("1.in", "1 2\n");
  d.Write("1.ans", "3\n");
  d.Write("2.in", "2 2\n");
  d.Write("2.out", "4\n");
  v1::Job job;
  ASSERT_TRUE(AddTestsDir(d.path(), "", &job).ok());
  EXPECT_EQ(Names(job), (std::vector<std::string>{"1", "2"}));
  d.Write("3.in", "x\n");
  v1::Job bad;
  EXPECT_HAS(AddTestsDir(d.path(), "", &bad).ToString(), "has no 3.ans");
}

TEST(LocalJob, SymlinksAreRefusedNotFollowed) {
  TempDir d;
  d.Write("1.ans", "3\n");
  ASSERT_EQ(::symlink("/etc/passwd", (d.path() + "/1.in").c_str()), 0);
  v1::Job job;
  Status st = AddTestsDir(d.path(), "", &job);
  EXPECT_HAS(st.ToString(), "symbolic link");
  EXPECT_EQ(job.tests_size(), 0);  // no half-read test left behind
}

TEST(LocalJob, PackageTestGroupsAndErrorsAreNotDropped) {
  TempDir d;
  d.Write("problem.yaml", "name: x\nlimits:\n  memory: 64\n");
  for (const char* dir : {"data", "data/sample", "data/secret", "data/secret/group1"}) {
    ASSERT_EQ(::mkdir((d.path() + "/" + dir).c_str(), 0755), 0);
  }
  d.Write("data/sample/1.in", "1\n");
  d.Write("data/sample/1.ans", "1\n");
  d.Write("data/secret/b.in", "2\n");
  d.Write("data/secret/b.ans", "2\n");
  d.Write("data/secret/group1/a.in", "3\n");
  d.Write("data/secret/group1/a.ans", "3\n");
  auto langs = LanguageRegistry::Builtin();
  ASSERT_TRUE(langs.ok());
  v1::Job job;
  Status st = LoadProblemPackage(d.path(), *langs, &job);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(Names(job), (std::vector<std::string>{"sample-1", "secret-b", "secret-group1-a"}));
  EXPECT_EQ(job.limits().memory_bytes(), 64ll << 20);
  EXPECT_EQ(job.checker().kind(), v1::Checker::TOKENS);
  EXPECT_TRUE(job.checker().ignore_case());

  d.Write("data/secret/c.in", "4\n");  // no answer: an error, not a silently missing test
  v1::Job bad;
  EXPECT_HAS(LoadProblemPackage(d.path(), *langs, &bad).ToString(), "has no c.ans");
}

TEST(LocalJob, DefaultValidatorFlags) {
  TempDir d;
  d.Write("problem.yaml",
          "name: x\nvalidator_flags: float_tolerance 1e-4 case_sensitive\n");
  ASSERT_EQ(::mkdir((d.path() + "/data").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((d.path() + "/data/secret").c_str(), 0755), 0);
  d.Write("data/secret/1.in", "1\n");
  d.Write("data/secret/1.ans", "1\n");
  auto langs = LanguageRegistry::Builtin();
  v1::Job job;
  ASSERT_TRUE(LoadProblemPackage(d.path(), *langs, &job).ok());
  EXPECT_EQ(job.checker().kind(), v1::Checker::FLOAT);
  EXPECT_DOUBLE_EQ(job.checker().abs_tol(), 1e-4);
  EXPECT_DOUBLE_EQ(job.checker().rel_tol(), 1e-4);
  EXPECT_FALSE(job.checker().ignore_case());
}

TEST(LocalJob, CheckerSpecs) {
  v1::Checker c;
  ASSERT_TRUE(ParseChecker("float:1e-3", "", &c).ok());
  EXPECT_EQ(c.kind(), v1::Checker::FLOAT);
  EXPECT_DOUBLE_EQ(c.abs_tol(), 1e-3);
  EXPECT_TRUE(ParseChecker("tokens", "", &c).ok());
  EXPECT_EQ(c.kind(), v1::Checker::TOKENS);
  EXPECT_FALSE(ParseChecker("float:abc", "", &c).ok());
  EXPECT_FALSE(ParseChecker("exact", "weird", &c).ok());
  EXPECT_FALSE(ParseChecker("/no/such/checker.cpp", "", &c).ok());
}

// Found by fuzz/tests_dir_fuzz.cc (fuzz/corpus/tests_dir/regress-*-link): a package whose
// data/ or output_validators/ was a link had the files it leads to read into the job.
TEST(LocalJob, PackageDirectoriesThatAreLinksAreNotFollowed) {
  TempDir d;
  for (const char* dir : {"pkg", "out", "out/sample", "out/v"}) {
    ASSERT_EQ(::mkdir((d.path() + "/" + dir).c_str(), 0755), 0);
  }
  d.Write("out/sample/1.in", "outside\n");
  d.Write("out/sample/1.ans", "outside\n");
  d.Write("out/v/validator.py", "# outside\n");
  d.Write("pkg/problem.yaml", "name: p\n");
  ASSERT_EQ(::symlink("../out", (d.path() + "/pkg/data").c_str()), 0);
  auto langs = LanguageRegistry::Builtin();
  ASSERT_TRUE(langs.ok());
  v1::Job job;
  EXPECT_FALSE(LoadProblemPackage(d.path() + "/pkg", *langs, &job).ok());
  EXPECT_EQ(job.SerializeAsString().find("outside"), std::string::npos) << job.DebugString();

  ASSERT_EQ(::unlink((d.path() + "/pkg/data").c_str()), 0);
  d.Write("pkg/problem.yaml", "name: p\nvalidation: custom\n");
  for (const char* dir : {"pkg/data", "pkg/data/sample"}) {
    ASSERT_EQ(::mkdir((d.path() + "/" + dir).c_str(), 0755), 0);
  }
  d.Write("pkg/data/sample/1.in", "1\n");
  d.Write("pkg/data/sample/1.ans", "1\n");
  ASSERT_EQ(::symlink("../out/v", (d.path() + "/pkg/output_validators").c_str()), 0);
  job.Clear();
  EXPECT_FALSE(LoadProblemPackage(d.path() + "/pkg", *langs, &job).ok());
  EXPECT_EQ(job.SerializeAsString().find("outside"), std::string::npos) << job.DebugString();
}

}  // namespace
}  // namespace judge::testing
