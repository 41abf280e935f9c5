// The judging pipeline on the real kernel, with the repo's examples/ as problems and
// submissions: each example gets the verdict examples/README.md promises.
#include "worker/judging.h"

#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <memory>

#include "client/local_job.h"
#include "tests/sandbox/test_util.h"

namespace judge::testing {
namespace {

const std::string kExamples = std::string(JUDGE_SOURCE_DIR) + "/examples/";

struct Case {
  std::string submission;  // below examples/
  std::string tests;       // tests dir below examples/ ("" with a problem)
  std::string problem;     // problem package below examples/
  std::string checker;     // --checker value, "" for the default
  std::string interactor;  // below examples/
  v1::Verdict verdict;
};

// Unique per case: CTest names the discovered tests after it.
std::ostream& operator<<(std::ostream& os, const Case& c) {
  return os << c.submission << (c.checker.empty() ? "" : "@" + c.checker);
}

LanguageRegistry& Languages() {
  static LanguageRegistry* r = new LanguageRegistry(std::move(LanguageRegistry::Builtin()).value());
  return *r;
}

Judger& TheJudger() {
  static Judger* j = new Judger(TestSandbox(), Languages());
  return *j;
}

v1::Job MakeJob(const Case& c) {
  v1::Job job;
  job.set_id("test");
  auto src = LoadFile(kExamples + c.submission, 1 << 20);
  EXPECT_TRUE(src.ok()) << src.status().ToString();
  *job.add_sources() = *src;
  auto lang = Languages().ForFile(src->name());
  EXPECT_TRUE(lang.ok()) << lang.status().ToString();
  job.set_language(*lang);
  Status st = c.problem.empty() ? AddTestsDir(kExamples + c.tests, "", &job)
                                : LoadProblemPackage(kExamples + c.problem, Languages(), &job);
  EXPECT_TRUE(st.ok()) << st.ToString();
  if (!c.checker.empty()) {
    std::string spec = c.checker.find('.') != std::string::npos && c.checker.rfind("float", 0) != 0
                           ? kExamples + c.checker
                           : c.checker;
    st = ParseChecker(spec, "", job.mutable_checker());
    EXPECT_TRUE(st.ok()) << st.ToString();
  }
  if (!c.interactor.empty()) {
    auto f = LoadFile(kExamples + c.interactor, 1 << 20);
    EXPECT_TRUE(f.ok());
    *job.mutable_interactor() = *f;
  }
  job.mutable_limits()->set_cpu_time_s(1);
  return job;
}

class Examples : public ::testing::TestWithParam<Case> {};

TEST_P(Examples, GetTheVerdictTheReadmePromises) {
  JUDGE_REQUIRE_SANDBOX();
  const Case& c = GetParam();
  v1::Job job = MakeJob(c);
  ASSERT_TRUE(TheJudger().Validate(job).ok()) << TheJudger().Validate(job).ToString();
  v1::JobResult r = TheJudger().Judge(job);
  EXPECT_EQ(v1::Verdict_Name(r.verdict()), v1::Verdict_Name(c.verdict))
      << r.message() << "\ncompile: " << r.compile().log() << "\n"
      << (r.tests().empty() ? "" : r.tests(0).checker_message());
  if (c.verdict == v1::CE) {
    EXPECT_EQ(r.compile().status(), v1::CompileResult::CE);
    EXPECT_FALSE(r.compile().log().empty());
    EXPECT_EQ(r.tests_size(), 0);
  } else {
    EXPECT_EQ(r.tests_size(), job.tests_size());
  }
}

INSTANTIATE_TEST_SUITE_P(
    Sum, Examples,
    ::testing::Values(Case{"sum/submissions/ac.c", "sum/tests", "", "", "", v1::AC},
                      Case{"sum/submissions/ac.cpp", "sum/tests", "", "", "", v1::AC},
                      Case{"sum/submissions/ac.py", "sum/tests", "", "", "", v1::AC},
                      Case{"sum/submissions/ac_spaces.py", "sum/tests", "", "", "", v1::AC},
                      Case{"sum/submissions/wa.cpp", "sum/tests", "", "", "", v1::WA},
                      Case{"sum/submissions/natural_order.py", "sum/tests", "", "", "", v1::WA},
                      Case{"sum/submissions/tle.cpp", "sum/tests", "", "", "", v1::TLE},
                      Case{"sum/submissions/tle.py", "sum/tests", "", "", "", v1::TLE},
                      Case{"sum/submissions/mle.cpp", "sum/tests", "", "", "", v1::MLE},
                      Case{"sum/submissions/mle.py", "sum/tests", "", "", "", v1::MLE},
                      Case{"sum/submissions/ole.cpp", "sum/tests", "", "", "", v1::OLE},
                      Case{"sum/submissions/re.cpp", "sum/tests", "", "", "", v1::RE},
                      Case{"sum/submissions/re.py", "sum/tests", "", "", "", v1::RE},
                      Case{"sum/submissions/re_exit.c", "sum/tests", "", "", "", v1::RE},
                      Case{"sum/submissions/ce.cpp", "sum/tests", "", "", "", v1::CE},
                      Case{"sum/submissions/ce.c", "sum/tests", "", "", "", v1::CE},
                      Case{"sum/submissions/sv.c", "sum/tests", "", "", "", v1::SV},
                      Case{"sum/submissions/sv.cpp", "sum/tests", "", "", "", v1::SV},
                      Case{"sum/submissions/sv.py", "sum/tests", "", "", "", v1::SV},
                      Case{"sum/submissions/wa.c", "sum/tests", "", "", "", v1::WA},
                      Case{"sum/submissions/wa.py", "sum/tests", "", "", "", v1::WA},
                      Case{"sum/submissions/pe.c", "sum/tests", "", "", "", v1::PE},
                      Case{"sum/submissions/pe.cpp", "sum/tests", "", "", "", v1::PE},
                      Case{"sum/submissions/pe.py", "sum/tests", "", "", "", v1::PE},
                      Case{"sum/submissions/tle.c", "sum/tests", "", "", "", v1::TLE},
                      Case{"sum/submissions/mle.c", "sum/tests", "", "", "", v1::MLE},
                      Case{"sum/submissions/ole.c", "sum/tests", "", "", "", v1::OLE},
                      Case{"sum/submissions/ole.py", "sum/tests", "", "", "", v1::OLE},
                      Case{"sum/submissions/ce.py", "sum/tests", "", "", "", v1::CE}));

INSTANTIATE_TEST_SUITE_P(
    Checkers, Examples,
    ::testing::Values(
        Case{"float/submissions/ac.cpp", "float/tests", "", "float:1e-6", "", v1::AC},
        Case{"float/submissions/wa.cpp", "float/tests", "", "float:1e-6", "", v1::WA},
        Case{"float/submissions/ac.cpp", "float/tests", "", "", "", v1::WA},
        Case{"tokens/submissions/ac.py", "tokens/tests", "", "tokens", "", v1::AC},
        Case{"tokens/submissions/ac.py", "tokens/tests", "", "", "", v1::PE},
        Case{"tokens/submissions/wa.py", "tokens/tests", "", "tokens", "", v1::WA},
        Case{"testlib_checker/submissions/ac.cpp", "testlib_checker/tests", "", "testlib_checker/checker.cpp", "", v1::AC},
        Case{"testlib_checker/submissions/ac2.cpp", "testlib_checker/tests", "", "testlib_checker/checker.cpp", "", v1::AC},
        Case{"testlib_checker/submissions/wa.cpp", "testlib_checker/tests", "", "testlib_checker/checker.cpp", "", v1::WA},
        Case{"testlib_checker/submissions/pe.cpp", "testlib_checker/tests", "", "testlib_checker/checker.cpp", "", v1::PE}));

INSTANTIATE_TEST_SUITE_P(
    Interactive, Examples,
    ::testing::Values(Case{"guess/submissions/ac.cpp", "guess/tests", "", "", "guess/interactor.cpp", v1::AC},
                      Case{"guess/submissions/wa.cpp", "guess/tests", "", "", "guess/interactor.cpp", v1::WA},
                      Case{"guess/submissions/tle.cpp", "guess/tests", "", "", "guess/interactor.cpp", v1::TLE}));

INSTANTIATE_TEST_SUITE_P(
    Kattis, Examples,
    ::testing::Values(
        Case{"kattis_hello/submissions/accepted/hello.py", "", "kattis_hello", "", "", v1::AC},
        Case{"kattis_hello/submissions/accepted/hello.c", "", "kattis_hello", "", "", v1::AC},
        Case{"kattis_hello/submissions/wrong_answer/wrong.py", "", "kattis_hello", "", "", v1::WA},
        Case{"kattis_custom/submissions/accepted/sorted.py", "", "kattis_custom", "", "", v1::AC},
        Case{"kattis_custom/submissions/accepted/reversed.py", "", "kattis_custom", "", "", v1::AC},
        Case{"kattis_custom/submissions/wrong_answer/dup.py", "", "kattis_custom", "", "", v1::WA},
        Case{"kattis_guess/submissions/accepted/binary_search.py", "", "kattis_guess", "", "", v1::AC},
        Case{"kattis_guess/submissions/wrong_answer/linear.py", "", "kattis_guess", "", "", v1::WA}));

TEST(Judging, TestsRunInNaturalOrderAndTheFirstFailureDecides) {
  JUDGE_REQUIRE_SANDBOX();
  v1::JobResult r = TheJudger().Judge(MakeJob({"sum/submissions/natural_order.py", "sum/tests", "", "", "", v1::WA}));
  ASSERT_EQ(r.tests_size(), 3);
  EXPECT_EQ(r.tests(0).name(), "1");
  EXPECT_EQ(r.tests(1).name(), "2");
  EXPECT_EQ(r.tests(2).name(), "10");
  EXPECT_EQ(r.tests(1).verdict(), v1::WA);
  EXPECT_EQ(r.tests(2).verdict(), v1::RE);
  EXPECT_EQ(r.verdict(), v1::WA);
}

TEST(Judging, StopOnFailureSkipsTheRestAndProgressSeesEveryTest) {
  JUDGE_REQUIRE_SANDBOX();
  v1::Job job = MakeJob({"sum/submissions/natural_order.py", "sum/tests", "", "", "", v1::WA});
  job.set_stop_on_failure(true);
  std::vector<std::string> seen;
  v1::JobResult r = TheJudger().Judge(job, [&](const v1::TestResult& t) {
    seen.push_back(t.name() + ":" + v1::Verdict_Name(t.verdict()));
  });
  EXPECT_EQ(seen, (std::vector<std::string>{"1:AC", "2:WA", "10:SKIPPED"}));
  EXPECT_EQ(r.verdict(), v1::WA);
}

TEST(Judging, MeasurementsReachTheResult) {
  JUDGE_REQUIRE_SANDBOX();
  v1::JobResult r = TheJudger().Judge(MakeJob({"sum/submissions/tle.cpp", "sum/tests", "", "", "", v1::TLE}));
  ASSERT_GE(r.tests_size(), 1);
  EXPECT_GE(r.tests(0).cpu_time_ms(), 1000);
  EXPECT_GE(r.max_cpu_time_ms(), 1000);
  EXPECT_GT(r.max_memory_bytes(), 0);
  EXPECT_EQ(r.compile().status(), v1::CompileResult::OK);
}

TEST(Judging, UnknownLanguageAndMissingToolchainAreRefusedClearly) {
  JUDGE_REQUIRE_SANDBOX();
  v1::Job job = MakeJob({"sum/submissions/ac.c", "sum/tests", "", "", "", v1::AC});
  job.set_language("cobol-2099");
  Status st = TheJudger().Validate(job);
  EXPECT_FALSE(st.ok());
  EXPECT_HAS(st.ToString(), "unknown language 'cobol-2099'");
  EXPECT_EQ(TheJudger().Judge(job).verdict(), v1::IE);
  for (const std::string& missing : Languages().Missing()) {
    job.set_language(missing);
    st = TheJudger().Validate(job);
    EXPECT_HAS(st.ToString(), "is not available on this machine");
  }
}

TEST(Judging, UnsafeNamesAreRefused) {
  JUDGE_REQUIRE_SANDBOX();
  v1::Job job = MakeJob({"sum/submissions/ac.c", "sum/tests", "", "", "", v1::AC});
  job.mutable_sources(0)->set_name("../evil.c");
  EXPECT_HAS(TheJudger().Validate(job).ToString(), "not a plain file name");
  job = MakeJob({"sum/submissions/ac.c", "sum/tests", "", "", "", v1::AC});
  job.mutable_tests(0)->set_name(std::string("a\0b", 3));
  EXPECT_FALSE(TheJudger().Validate(job).ok());
  // gcc reads "@file" as options and "-..." as an option (e.g. -wrapper).
  for (const char* name : {"@x", "-wrapper"}) {
    job = MakeJob({"sum/submissions/ac.c", "sum/tests", "", "", "", v1::AC});
    job.mutable_sources(0)->set_name(name);
    EXPECT_HAS(TheJudger().Validate(job).ToString(), "starts with '-' or '@'");
  }
}

// What a submission prints is quoted in checker messages; the result's strings stay
// valid UTF-8 (protobuf refuses to decode anything else).
TEST(Judging, MessagesAreValidUtf8WhateverTheProgramPrints) {
  JUDGE_REQUIRE_SANDBOX();
  v1::Job job = MakeJob({"sum/submissions/ac.py", "sum/tests", "", "tokens", "", v1::AC});
  job.mutable_sources(0)->set_content("import sys\nsys.stdout.buffer.write(b'\\xff\\xfe\\n')\n");
  v1::JobResult r = TheJudger().Judge(job);
  ASSERT_EQ(r.verdict(), v1::WA) << r.message();
  const std::string& m = r.tests(0).checker_message();
  EXPECT_HAS(m, "\xef\xbf\xbd");
  EXPECT_EQ(m.find('\xff'), std::string::npos) << m;
  std::string wire;
  ASSERT_TRUE(r.SerializeToString(&wire));
  v1::JobResult back;
  EXPECT_TRUE(back.ParseFromString(wire));
}

// A compiler bomb (the preprocessor reading /dev/zero for ever) ends in CE within the
// language's compile limits; it does not hang the judge.
TEST(Judging, CompilerBombIsCompilationError) {
  JUDGE_REQUIRE_SANDBOX();
  auto base = Languages().Find("cpp17");
  ASSERT_TRUE(base.ok());
  v1::LanguageProfile tight = **base;
  tight.set_name("cpp17-tight");
  tight.mutable_compile_limits()->set_cpu_time_s(1);
  tight.mutable_compile_limits()->set_memory_bytes(128 << 20);
  Languages().Add(tight);
  v1::Job job = MakeJob({"sum/submissions/ac.cpp", "sum/tests", "", "", "", v1::AC});
  job.set_language("cpp17-tight");
  job.mutable_sources(0)->set_content("#include </dev/zero>\nint main() {}\n");
  v1::JobResult r = TheJudger().Judge(job);
  EXPECT_EQ(r.verdict(), v1::CE) << r.message() << r.compile().log();
  EXPECT_HAS(r.compile().log(), "compilation stopped");
}

// A judge that crashed left its job directory; the next Judger removes it, but not a
// directory a live job holds.
TEST(Judging, StaleJobDirectoriesAreRemovedAtStart) {
  JUDGE_REQUIRE_SANDBOX();
  TempDir root;
  for (const char* name : {"judge-job-stale", "judge-job-live"}) {
    ASSERT_EQ(::mkdir((root.path() + "/" + name).c_str(), 0700), 0);
    root.Write(std::string(name) + "/answer", "42\n");
    struct timespec old[2] = {{::time(nullptr) - 3600, 0}, {::time(nullptr) - 3600, 0}};
    ASSERT_EQ(::utimensat(AT_FDCWD, (root.path() + "/" + name).c_str(), old, 0), 0);
  }
  int live = ::open((root.path() + "/judge-job-live").c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_EQ(::flock(live, LOCK_EX), 0);
  JudgeOptions options;
  options.work_root = root.path();
  Judger judger(TestSandbox(), Languages(), options);
  struct stat st;
  EXPECT_NE(::stat((root.path() + "/judge-job-stale").c_str(), &st), 0);
  EXPECT_EQ(::stat((root.path() + "/judge-job-live/answer").c_str(), &st), 0);
  ::close(live);
}

}  // namespace
}  // namespace judge::testing
