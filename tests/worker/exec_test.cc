// Exec jobs on the real kernel (worker/exec_job.cc through the library, the `judge exec`
// CLI, and the CLI through a real judge-broker and judge-worker): the example C and
// Python projects, refused archives, planted links among the artifacts, log floods,
// daemons, and the limits of a step and of a job.
#include <fcntl.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <memory>

#include "client/exec_command.h"
#include "common/file_util.h"
#include "protocol/codec.h"
#include "protocol/frame.h"
#include "tests/sandbox/test_util.h"
#include "tests/service/service_util.h"
#include "worker/exec_job.h"
#include "worker/tar.h"

namespace judge::testing {
namespace {

const std::string kProjects = std::string(JUDGE_SOURCE_DIR) + "/examples/ci/";

ExecRunner& Runner() {
  static ExecRunner* r = ExecRunner::Create(TestSandbox()).value().release();
  return *r;
}

v1::ExecStep* AddStep(v1::ExecJob* job, std::vector<std::string> argv) {
  v1::ExecStep* s = job->add_steps();
  for (std::string& a : argv) s->add_argv(std::move(a));
  return s;
}

v1::ExecJob ProjectJob(const std::string& project) {
  v1::ExecJob job;
  auto tar = TarDirectory(kProjects + project, 1 << 20);
  EXPECT_TRUE(tar.ok()) << tar.status().ToString();
  job.set_archive(*tar);
  return job;
}

// What the callbacks saw.
struct Seen {
  std::string out[2];
  std::vector<std::string> steps;
  ExecRunner::Callbacks Callbacks() {
    ExecRunner::Callbacks cb;
    cb.output = [this](int, v1::ExecOutput::Stream s, std::string_view d) {
      out[s == v1::ExecOutput::STDERR].append(d);
    };
    cb.step_done = [this](int, const v1::ExecStepResult& r) { steps.push_back(r.status()); };
    return cb;
  }
};

struct CommandResult {
  int exit_code = -1;
  std::string out, err;
};

// `judge exec ARGS` in `cwd`, stdout and stderr in files (their output is bounded by
// the steps the tests give).
CommandResult JudgeExec(const std::string& cwd, const std::vector<std::string>& args) {
  TempDir io;
  std::string cmd = "cd '" + cwd + "' && '" + CliBin() + "' exec";
  for (const std::string& a : args) cmd += " '" + a + "'";
  cmd += " >" + io.path() + "/out 2>" + io.path() + "/err";
  CommandResult r;
  int status = std::system(cmd.c_str());
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = ReadFileOrDie(io.path() + "/out");
  r.err = ReadFileOrDie(io.path() + "/err");
  return r;
}

TEST(Exec, CProjectBuildsPassesAndFails) {
  JUDGE_REQUIRE_SANDBOX();
  v1::ExecJob job = ProjectJob("c-project");
  AddStep(&job, {"make"});
  AddStep(&job, {"make", "test-pass"});
  AddStep(&job, {"make", "test-fail"});
  AddStep(&job, {"echo", "never"});
  job.add_artifacts("build/*");
  Seen seen;
  v1::ExecResult r = Runner().Run(job, seen.Callbacks());
  ASSERT_EQ(r.steps_size(), 4) << r.message();
  EXPECT_EQ(r.steps(0).status(), "OK") << r.steps(0).stderr();
  EXPECT_EQ(r.steps(1).status(), "OK") << r.steps(1).stderr();
  EXPECT_EQ(r.steps(2).status(), "RE");
  EXPECT_EQ(r.steps(2).exit_code(), 2);
  EXPECT_HAS(r.steps(2).stderr(), "test-fail");
  EXPECT_EQ(r.steps(3).status(), "SKIPPED");
  EXPECT_EQ(r.status(), "RE");
  EXPECT_EQ(r.exit_code(), 2);
  EXPECT_EQ(seen.steps, (std::vector<std::string>{"OK", "OK", "RE", "SKIPPED"}));
  EXPECT_HAS(seen.out[0], "cc -O2 -Wall -o build/sum src/sum.c");
  ASSERT_EQ(r.artifacts_size(), 2);
  EXPECT_EQ(r.artifacts(0).name(), "build/report.txt");
  EXPECT_EQ(r.artifacts(0).content(), "test-pass: ok\n");
  EXPECT_EQ(r.artifacts(1).name(), "build/sum");
  EXPECT_EQ(r.artifacts(1).mode() & 0100, 0100u);
}

TEST(Exec, CProjectThroughTheCli) {
  JUDGE_REQUIRE_SANDBOX();
  TempDir dir;
  CommandResult r = JudgeExec(dir.path(), {"--archive", kProjects + "c-project", "--artifact",
                                           "build/sum", "--out", "artifacts", "--", "make",
                                           "--step", "make", "test-pass"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_HAS(r.out, "cc -O2 -Wall");  // the step's own output, live
  EXPECT_HAS(r.out, "status OK  exit 0");
  struct stat st;
  ASSERT_EQ(::stat((dir.path() + "/artifacts/build/sum").c_str(), &st), 0);
  EXPECT_TRUE(st.st_mode & 0100);

  r = JudgeExec(dir.path(), {"--archive", kProjects + "c-project", "--json", "--", "make",
                             "test-fail", "--step", "true"});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  v1::ExecResult parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(r.out, &parsed).ok()) << r.out;
  EXPECT_EQ(parsed.status(), "RE");
  ASSERT_EQ(parsed.steps_size(), 2);
  EXPECT_EQ(parsed.steps(0).argv(1), "test-fail");
  EXPECT_EQ(parsed.steps(1).status(), "SKIPPED");
}

// The names and types of INTERFACES.md section 5, in the text `judge exec --json` prints.
TEST(Exec, JsonHasTheFieldsOfTheInterface) {
  JUDGE_REQUIRE_SANDBOX();
  TempDir dir;
  CommandResult r = JudgeExec(dir.path(), {"--json", "--artifact", "a.txt", "--out", "o", "--",
                                           "echo hi > a.txt"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.out.rfind("{\"status\":\"OK\",\"steps\":[{\"argv\":[\"/bin/sh\",\"-c\",", 0), 0u) << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
  for (const char* field : {"\"status\":\"OK\",\"exit_code\":0,", "\"cpu_time_ms\":",
                            "\"wall_time_ms\":", "\"stdout\":\"\",\"stderr\":\"\",\"truncated\":false",
                            "\"artifacts\":[{\"name\":\"a.txt\",\"size\":3}]"}) {
    EXPECT_HAS(r.out, field);
  }
  // Numbers are JSON numbers, not strings (memory_peak_bytes is an int64).
  const size_t at = r.out.find("\"memory_peak_bytes\":");
  ASSERT_NE(at, std::string::npos) << r.out;
  EXPECT_TRUE(std::isdigit(static_cast<unsigned char>(r.out[at + 20]))) << r.out.substr(at);
  const size_t cpu = r.out.find("\"cpu_time_ms\":");
  EXPECT_TRUE(std::isdigit(static_cast<unsigned char>(r.out[cpu + 14]))) << r.out.substr(cpu);
}

TEST(Exec, PythonProjectRunsItsUnittests) {
  JUDGE_REQUIRE_SANDBOX();
  v1::ExecJob job = ProjectJob("python-project");
  AddStep(&job, {"python3 -m unittest discover -s tests -v"});
  // A failing test, added as an inline file in a subdirectory.
  v1::File* f = job.add_files();
  f->set_name("more/test_wrong.py");
  f->set_content("import unittest\nfrom calc import add\n"
                 "class T(unittest.TestCase):\n  def test_wrong(self): self.assertEqual(add(2, 2), 5)\n");
  AddStep(&job, {"python3", "-m", "unittest", "discover", "-s", "more"})->add_env("PYTHONPATH=/box");
  v1::ExecResult r = Runner().Run(job);
  ASSERT_EQ(r.steps_size(), 2) << r.message();
  EXPECT_EQ(r.steps(0).status(), "OK") << r.steps(0).stderr();
  EXPECT_HAS(r.steps(0).stderr(), "Ran 2 tests");
  EXPECT_EQ(r.steps(1).status(), "RE");
  EXPECT_EQ(r.steps(1).exit_code(), 1);
  EXPECT_HAS(r.steps(1).stderr(), "FAILED (failures=1)");
  EXPECT_EQ(r.exit_code(), 1);
}

TEST(Exec, RefusesArchivesThatLeaveTheBox) {
  JUDGE_REQUIRE_SANDBOX();
  TarWriter dotdot;
  dotdot.AddFile("../escape.txt", "x", 0644);
  TarWriter link;
  link.AddSymlink("etc", "/etc");
  for (auto [tar, why] : {std::pair{dotdot.Finish(), std::string("'..'")},
                          std::pair{link.Finish(), std::string("outside /box")}}) {
    v1::ExecJob job;
    job.set_archive(tar);
    AddStep(&job, {"true"});
    v1::ExecResult r = Runner().Run(job);
    EXPECT_EQ(r.status(), "SE");
    EXPECT_EQ(r.exit_code(), 125);
    EXPECT_HAS(r.message(), why);
    EXPECT_EQ(r.message().find('\n'), std::string::npos);
    EXPECT_EQ(r.steps_size(), 0);
  }
  // The CLI says so on one line and exits 125.
  TempDir dir;
  TarWriter again;
  again.AddFile("../escape.txt", "x", 0644);
  dir.Write("bad.tar", again.Finish());
  CommandResult c = JudgeExec(dir.path(), {"--archive", "bad.tar", "--", "true"});
  EXPECT_EQ(c.exit_code, 125);
  EXPECT_HAS(c.err, "judge: archive entry '../escape.txt'");
}

TEST(Exec, ArtifactsNeverFollowPlantedLinks) {
  JUDGE_REQUIRE_SANDBOX();
  v1::ExecJob job;
  AddStep(&job, {"mkdir -p out && echo real > out/real.txt && ln -s /etc/passwd out/passwd.txt "
                 "&& ln -s / out/root && ln -s /etc out/etc"});
  job.add_artifacts("out/*");
  job.add_artifacts("**/passwd");
  v1::ExecResult r = Runner().Run(job);
  ASSERT_EQ(r.status(), "OK") << r.message() << r.steps(0).stderr();
  ASSERT_EQ(r.artifacts_size(), 1);
  EXPECT_EQ(r.artifacts(0).name(), "out/real.txt");
  EXPECT_EQ(r.artifacts(0).content(), "real\n");

  // Nor does the CLI write through a link already in --out.
  TempDir out, elsewhere;
  ASSERT_EQ(::mkdir((out.path() + "/out").c_str(), 0755), 0);
  ASSERT_EQ(::symlink((elsewhere.path() + "/x").c_str(), (out.path() + "/out/real.txt").c_str()), 0);
  EXPECT_FALSE(WriteArtifacts(r, out.path()).ok());
  struct stat st;
  EXPECT_NE(::stat((elsewhere.path() + "/x").c_str(), &st), 0);
}

TEST(Exec, ArtifactNamesTheResultCannotCarryAreSkipped) {
  JUDGE_REQUIRE_SANDBOX();
  v1::Job job;
  job.set_id("names");
  AddStep(job.mutable_exec(), {"mkdir o && echo b > \"o/$(printf '\\377')\" && echo c > \"o/x$(printf '\\ny')\" "
                               "&& echo good > o/good"});
  job.mutable_exec()->add_artifacts("o/*");
  v1::JobResult r = RunExecJob(Runner(), job, "w", nullptr, nullptr);
  ASSERT_EQ(r.verdict(), v1::AC) << r.message() << r.exec().message();
  ASSERT_EQ(r.exec().artifacts_size(), 1);
  EXPECT_EQ(r.exec().artifacts(0).name(), "o/good");
  EXPECT_HAS(r.exec().message(), "were skipped: ");
  EXPECT_HAS(r.exec().message(), "o/\\xff");
  EXPECT_HAS(r.exec().message(), "o/x\\x0ay");
  // What the broker receives decodes, in both encodings.
  for (const char* encoding : {"pb", "mp"}) {
    Result<std::string> body = EncodeBody(encoding, r);
    ASSERT_TRUE(body.ok()) << body.status().ToString();
    v1::JobResult back;
    EXPECT_TRUE(DecodeBody(Frame{"DONE", encoding, *body}, &back).ok()) << encoding;
  }
}

TEST(Exec, TheEncodedResultFitsItsBudget) {
  JUDGE_REQUIRE_SANDBOX();
  // Bytes that are not UTF-8 triple in the result (U+FFFD): 2 x 400 KB of them, and a
  // 300 KB artifact, against a budget of 1 MiB.
  v1::Job job;
  job.set_id("big");
  AddStep(job.mutable_exec(), {"head -c 300000 /dev/zero > a.bin && head -c 400000 /dev/zero | "
                               "tr '\\0' '\\377' > s && cat s && cat s >&2"});
  job.mutable_exec()->add_artifacts("a.bin");
  job.mutable_exec()->mutable_limits()->set_log_bytes(1 << 20);
  for (const char* encoding : {"pb", "mp"}) {
    ResultBudget budget{encoding, 1 << 20};
    v1::JobResult r = RunExecJob(Runner(), job, "w", nullptr, nullptr, budget);
    ASSERT_EQ(r.verdict(), v1::AC) << r.exec().message() << r.exec().steps(0).message();
    Result<std::string> body = EncodeBody(encoding, r);
    ASSERT_TRUE(body.ok());
    EXPECT_LE(body->size(), budget.max_bytes) << encoding;
    ASSERT_EQ(r.exec().steps_size(), 1);
    const v1::ExecStepResult& s = r.exec().steps(0);
    EXPECT_TRUE(s.truncated());
    EXPECT_GT(s.stdout().size(), 100000u);  // cut, not dropped
    EXPECT_EQ(s.stdout_bytes(), 400000);
    ASSERT_EQ(r.exec().artifacts_size(), 1);
    EXPECT_FALSE(r.exec().artifacts(0).has_content());
    EXPECT_HAS(r.exec().message(), "1 artifact(s) were not kept");
    EXPECT_HAS(r.exec().message(), "the kept logs were cut");
  }
}

TEST(Exec, OutputLimitIsStdoutAndStderrNotFiles) {
  JUDGE_REQUIRE_SANDBOX();
  v1::ExecJob job;
  job.mutable_step_limits()->set_output_bytes(1 << 20);
  AddStep(&job, {"head -c 2000000 /dev/zero > /box/f && test $(wc -c < /box/f) = 2000000"});
  v1::ExecResult r = Runner().Run(job);
  ASSERT_EQ(r.steps_size(), 1) << r.message();
  EXPECT_EQ(r.steps(0).status(), "OK") << r.steps(0).message() << r.steps(0).stderr();
}

TEST(Exec, ArtifactsOfManyDirectoriesHoldOneDirectoryOpen) {
  JUDGE_REQUIRE_SANDBOX();
  v1::ExecJob job;
  AddStep(&job, {"for i in $(seq 600); do mkdir d$i && echo $i > d$i/keep; done"});
  job.add_artifacts("d*/keep");
  job.mutable_limits()->set_artifact_files(1000);
  // Fewer fds than directories: the collection must not keep one open per directory.
  struct rlimit old;
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &old), 0);
  struct rlimit low = {300, old.rlim_max};
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
  v1::ExecResult r = Runner().Run(job);
  ::setrlimit(RLIMIT_NOFILE, &old);
  ASSERT_EQ(r.status(), "OK") << r.message();
  EXPECT_EQ(r.artifacts_size(), 600) << r.message();
  EXPECT_EQ(r.message(), "");
}

TEST(Exec, GlobsSkipHiddenNamesUnlessThePatternNamesThem) {
  struct Case {
    const char* glob;
    const char* path;
    bool matches;
  };
  for (const Case& c : {Case{"*", "a.txt", true}, Case{"*", ".env", false},
                        Case{"*", "d/a.txt", false}, Case{".*", ".env", true},
                        Case{"**", "d/e/a.txt", true}, Case{"**", ".git/config", false},
                        Case{"**/*.log", "d/.cache/x.log", false}, Case{"**/*.log", "d/.x.log", false},
                        Case{"**/*.log", "x.log", true}, Case{"**/*.log", "d/e/x.log", true},
                        Case{".cache/**", ".cache/d/x", true}, Case{"build/*", "build/sum", true},
                        Case{"build/*", "build/sub/sum", false},
                        Case{"build/**/*.xml", "build/a/b/r.xml", true},
                        Case{"build/**/*.xml", "other/r.xml", false}}) {
    EXPECT_EQ(ArtifactGlobMatches(c.glob, c.path), c.matches) << c.glob << " " << c.path;
  }
}

TEST(Exec, TheCliKeepsExistingFilesAndWritesTheOtherArtifacts) {
  v1::ExecResult r;
  for (const char* name : {"a.txt", "bad/../x", "b/c.txt"}) {
    v1::Artifact* a = r.add_artifacts();
    a->set_name(name);
    a->set_content(std::string("new ") + name);
  }
  TempDir out;
  out.Write("a.txt", "mine");
  Status st = WriteArtifacts(r, out.path());
  EXPECT_FALSE(st.ok());
  EXPECT_HAS(st.message(), "2 of 3 artifacts were not written");
  EXPECT_HAS(st.message(), "a.txt exists (--force replaces it)");
  EXPECT_HAS(st.message(), "'bad/../x'");
  EXPECT_EQ(st.message().find('\n'), std::string::npos);
  EXPECT_EQ(ReadFileOrDie(out.path() + "/a.txt"), "mine");
  EXPECT_EQ(ReadFileOrDie(out.path() + "/b/c.txt"), "new b/c.txt");
  r.mutable_artifacts()->DeleteSubrange(1, 1);
  EXPECT_TRUE(WriteArtifacts(r, out.path(), /*force=*/true).ok());
  EXPECT_EQ(ReadFileOrDie(out.path() + "/a.txt"), "new a.txt");
}

TEST(Exec, LogFloodIsBoundedAndMarkedTruncated) {
  JUDGE_REQUIRE_SANDBOX();
  v1::ExecJob job;
  AddStep(&job, {"head -c 10000000 /dev/zero | tr '\\0' a; echo done >&2"});
  job.mutable_limits()->set_log_bytes(64 << 10);
  Seen seen;
  v1::ExecResult r = Runner().Run(job, seen.Callbacks());
  ASSERT_EQ(r.steps_size(), 1) << r.message();
  const v1::ExecStepResult& s = r.steps(0);
  EXPECT_EQ(s.status(), "OK") << s.message();
  EXPECT_TRUE(s.truncated());
  EXPECT_EQ(s.stdout_bytes(), 10000000);
  EXPECT_EQ(s.stdout().size(), 64u << 10);
  EXPECT_EQ(s.stderr(), "done\n");
  EXPECT_EQ(seen.out[0].size(), 64u << 10);  // live: no more than is kept

  // Past the step's output limit the step is stopped: OLE.
  job.mutable_step_limits()->set_output_bytes(1 << 20);
  r = Runner().Run(job);
  ASSERT_EQ(r.steps_size(), 1) << r.message();
  EXPECT_EQ(r.steps(0).status(), "OLE") << r.steps(0).message();
  EXPECT_EQ(r.exit_code(), 153);
}

TEST(Exec, ADaemonDiesWithItsStep) {
  JUDGE_REQUIRE_SANDBOX();
  v1::ExecJob job;
  // Left behind by step 1, the daemon would make the flag during step 2.
  AddStep(&job, {"(sleep 1; touch /box/flag) >/dev/null 2>&1 & echo started"});
  AddStep(&job, {"sleep", "2"});
  AddStep(&job, {"test ! -e /box/flag"});
  job.mutable_step_limits()->set_wall_time_s(30);
  v1::ExecResult r = Runner().Run(job);
  ASSERT_EQ(r.steps_size(), 3) << r.message();
  EXPECT_EQ(r.steps(0).status(), "OK");
  EXPECT_LT(r.steps(0).wall_time_ms(), 1000);  // not the daemon's time
  EXPECT_EQ(r.steps(1).status(), "OK");
  EXPECT_EQ(r.steps(2).status(), "OK") << "the daemon outlived its step";
}

// A rootfs layer of /bin/sh and the libraries it needs, copied from the host.
std::string MakeShellLayer(const TempDir& dir) {
  const std::string root = dir.path() + "/layer";
  std::vector<std::string> files = {"/bin/sh"};
  char real[4096];
  const ssize_t n = ::readlink("/bin/sh", real, sizeof real - 1);
  if (n > 0) files.push_back(std::string("/bin/") + std::string(real, static_cast<size_t>(n)));
  const std::string libs = dir.path() + "/libs";
  EXPECT_EQ(std::system(("ldd /bin/sh | grep -o '/[^ ]*' > " + libs).c_str()), 0);
  std::string text = ReadFileOrDie(libs);
  for (size_t pos = 0, nl; (nl = text.find('\n', pos)) != std::string::npos; pos = nl + 1) {
    files.push_back(text.substr(pos, nl - pos));
  }
  for (const std::string& f : files) {
    const std::string cmd = "mkdir -p '" + root + "' && cp -L --parents '" + f + "' '" + root + "'";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }
  return root;
}

TEST(Exec, StepsOnALayerShareItsWritableLayer) {
  JUDGE_REQUIRE_SANDBOX();
  TempDir dir;
  v1::ExecJob job;
  job.add_layers(MakeShellLayer(dir));
  AddStep(&job, {"echo one > /box/a && echo two > /tmp/b && echo three > /c && echo x > /dev/null"});
  AddStep(&job, {"read a < /box/a && read b < /tmp/b && read c < /c && echo $a $b $c"});
  AddStep(&job, {"read a < /box/a && echo $a >&2 < /dev/null"});
  v1::ExecResult r = Runner().Run(job);
  ASSERT_EQ(r.steps_size(), 3) << r.message();
  EXPECT_EQ(r.steps(0).status(), "OK") << r.steps(0).message() << r.steps(0).stderr();
  EXPECT_EQ(r.steps(1).status(), "OK") << r.steps(1).message() << r.steps(1).stderr();
  EXPECT_EQ(r.steps(1).stdout(), "one two three\n");
  EXPECT_EQ(r.steps(2).stderr(), "one\n");
  EXPECT_EQ(r.status(), "OK") << r.message();
}

TEST(Exec, ASandboxErrorOfAStepSaysWhy) {
  JUDGE_REQUIRE_SANDBOX();
  TempDir dir;
  const std::string layer = MakeShellLayer(dir);
  dir.Write("layer/dev", "not a directory");  // /dev cannot be made there
  v1::ExecJob job;
  job.add_layers(layer);
  AddStep(&job, {"true"});
  v1::ExecResult r = Runner().Run(job);
  ASSERT_EQ(r.steps_size(), 1) << r.message();
  EXPECT_EQ(r.steps(0).status(), "SE");
  EXPECT_EQ(r.status(), "SE");
  EXPECT_EQ(r.exit_code(), 125);
  EXPECT_HAS(r.message(), "step 1: ");
  EXPECT_HAS(r.message(), r.steps(0).message());
  EXPECT_FALSE(r.steps(0).message().empty());
}

TEST(Exec, TheWritableLayerCarriesOverBetweenSteps) {
  JUDGE_REQUIRE_SANDBOX();
  v1::ExecJob job;
  AddStep(&job, {"echo box > /box/a && echo tmp > /tmp/b && mkdir -p /box/d/e && id -u"});
  AddStep(&job, {"cat /box/a /tmp/b && ls /box/d && echo more >> /box/a && cat /box/a"});
  v1::ExecResult r = Runner().Run(job);
  ASSERT_EQ(r.steps_size(), 2) << r.message();
  EXPECT_EQ(r.steps(0).stdout(), "0\n");
  EXPECT_EQ(r.steps(1).status(), "OK") << r.steps(1).stderr();
  EXPECT_EQ(r.steps(1).stdout(), "box\ntmp\ne\nbox\nmore\n");
  // A second job starts from nothing.
  v1::ExecJob other;
  AddStep(&other, {"test ! -e /box/a && test ! -e /tmp/b"});
  EXPECT_EQ(Runner().Run(other).status(), "OK");
}

TEST(Exec, StepTimeLimit) {
  JUDGE_REQUIRE_SANDBOX();
  v1::ExecJob job;
  AddStep(&job, {"while :; do :; done"})->mutable_limits()->set_cpu_time_s(0.3);
  AddStep(&job, {"true"});
  v1::ExecResult r = Runner().Run(job);
  ASSERT_EQ(r.steps_size(), 2) << r.message();
  EXPECT_EQ(r.steps(0).status(), "TLE");
  EXPECT_EQ(r.steps(1).status(), "SKIPPED");
  EXPECT_EQ(r.exit_code(), 124);
  // continue_on_failure runs the next step; the job still fails.
  job.mutable_steps(0)->set_continue_on_failure(true);
  r = Runner().Run(job);
  ASSERT_EQ(r.steps_size(), 2) << r.message();
  EXPECT_EQ(r.steps(1).status(), "OK");
  EXPECT_EQ(r.status(), "TLE");
}

TEST(Exec, JobWallTimeLimit) {
  JUDGE_REQUIRE_SANDBOX();
  v1::ExecJob job;
  job.mutable_limits()->set_wall_time_s(1);
  AddStep(&job, {"true"});
  AddStep(&job, {"while :; do :; done"})->set_continue_on_failure(true);
  AddStep(&job, {"true"});
  v1::ExecResult r = Runner().Run(job);
  ASSERT_EQ(r.steps_size(), 3) << r.message();
  EXPECT_EQ(r.steps(0).status(), "OK");
  EXPECT_EQ(r.steps(1).status(), "TLE");
  EXPECT_HAS(r.steps(1).message(), "job's wall time limit");
  EXPECT_EQ(r.steps(2).status(), "SKIPPED");  // even with continue_on_failure
  EXPECT_EQ(r.exit_code(), 124);
}

TEST(Exec, WritableLayerBytesLimit) {
  JUDGE_REQUIRE_SANDBOX();
  v1::ExecJob job;
  job.mutable_limits()->set_writable_bytes(8 << 20);
  AddStep(&job, {"head -c 20000000 /dev/zero > /box/big"});
  v1::ExecResult r = Runner().Run(job);
  ASSERT_EQ(r.steps_size(), 1) << r.message();
  EXPECT_EQ(r.steps(0).status(), "RE");
  EXPECT_HAS(r.steps(0).stderr(), "No space left on device");
  // Files larger than the layer are refused before anything runs.
  v1::File* f = job.add_files();
  f->set_name("huge");
  f->set_content(std::string(9 << 20, 'x'));
  r = Runner().Run(job);
  EXPECT_EQ(r.status(), "SE");
  EXPECT_HAS(r.message(), "larger than the writable layer");
}

TEST(Exec, NoNetworkAndACommandThatIsNotThere) {
  JUDGE_REQUIRE_SANDBOX();
  v1::ExecJob job;
  AddStep(&job, {"python3 -c \"import socket; socket.create_connection(('127.0.0.1', 1), 1)\""});
  AddStep(&job, {"no-such-command-here"});
  v1::ExecResult r = Runner().Run(job);
  ASSERT_EQ(r.steps_size(), 2) << r.message();
  EXPECT_EQ(r.steps(0).status(), "RE");
  EXPECT_HAS(r.steps(0).stderr(), "unreachable");
  job.mutable_steps(0)->set_continue_on_failure(true);
  r = Runner().Run(job);
  EXPECT_EQ(r.steps(1).status(), "RE");
  EXPECT_EQ(r.steps(1).exit_code(), 127);
  // Not through a shell: the engine's execve fails, and the step is a shell's 127 too.
  job.mutable_steps(1)->clear_argv();
  job.mutable_steps(1)->add_argv("/no/such/program");
  job.mutable_steps(1)->add_argv("an argument");
  r = Runner().Run(job);
  ASSERT_EQ(r.steps_size(), 2) << r.message();
  EXPECT_EQ(r.steps(1).status(), "RE") << r.steps(1).message();
  EXPECT_EQ(r.steps(1).exit_code(), 127);
  EXPECT_HAS(r.steps(1).message(), "cannot execute '/no/such/program'");
}

// Cancelled while a step runs (its limits far off): the step stops at once, the job
// ends there, and the steps after it do not run.
TEST(Exec, CancellingStopsTheRunningStep) {
  JUDGE_REQUIRE_SANDBOX();
  v1::ExecJob job;
  AddStep(&job, {"echo started; sleep 60"})->mutable_limits()->set_wall_time_s(120);
  AddStep(&job, {"touch /box/second"});
  std::atomic<bool> started{false};
  ExecRunner::Callbacks cb;
  cb.output = [&](int, v1::ExecOutput::Stream, std::string_view d) {
    if (d.find("started") != std::string_view::npos) started = true;
  };
  std::vector<std::string> ended;
  cb.step_done = [&](int, const v1::ExecStepResult& s) { ended.push_back(s.status()); };
  cb.cancelled = [&] { return started.load(); };
  const auto t0 = std::chrono::steady_clock::now();
  v1::ExecResult r = Runner().Run(job, cb);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(r.status(), "SE") << r.message();
  EXPECT_HAS(r.message(), "cancelled");
  EXPECT_LT(s, 30);  // not the step's 60 s
  EXPECT_TRUE(ended.empty()) << ended.size() << " steps reported as done";
}

TEST(Exec, ValidationSaysWhatIsWrong) {
  JUDGE_REQUIRE_SANDBOX();
  v1::ExecJob job;
  EXPECT_HAS(Runner().Validate(job).message(), "no steps");
  AddStep(&job, {"true"});
  job.set_network("internet");
  EXPECT_HAS(Runner().Validate(job).message(), "network 'internet'");
  job.clear_network();
  job.add_artifacts("../x");
  EXPECT_HAS(Runner().Validate(job).message(), "artifact glob");
  job.clear_artifacts();
  job.add_files()->set_name("/etc/x");
  EXPECT_HAS(Runner().Validate(job).message(), "absolute path");
  job.clear_files();
  job.add_layers("relative");
  EXPECT_HAS(Runner().Validate(job).message(), "absolute path");
  EXPECT_TRUE(Runner().Validate(ProjectJob("c-project")).message().find("no steps") != std::string::npos);
}

TEST(Exec, AWorkerBoundsTheWritableLayerAndKeepsItsOwnDirectories) {
  JUDGE_REQUIRE_SANDBOX();
  TempDir root;
  ASSERT_EQ(::mkdir((root.path() + "/judge-exec-other").c_str(), 0700), 0);
  ASSERT_EQ(::mkdir((root.path() + "/image").c_str(), 0755), 0);
  ExecOptions options;
  options.work_root = root.path();
  options.layer_root = root.path();
  options.max_writable_bytes = 512 << 20;
  auto runner = ExecRunner::Create(TestSandbox(), options);
  ASSERT_TRUE(runner.ok()) << runner.status().ToString();
  v1::ExecJob job;
  AddStep(&job, {"true"});
  job.add_layers("image");
  EXPECT_TRUE((*runner)->Validate(job).ok()) << (*runner)->Validate(job).ToString();
  job.mutable_limits()->set_writable_bytes(1 << 30);
  Status st = (*runner)->Validate(job);
  EXPECT_HAS(st.message(), "judge-worker --exec-max-writable");
  EXPECT_EQ(st.message().find('\n'), std::string::npos);
  job.mutable_limits()->clear_writable_bytes();
  job.set_layers(0, "judge-exec-other");
  EXPECT_HAS((*runner)->Validate(job).message(), "names starting with judge- are the judge's own");
}

TEST(Exec, ALayerLeftByACrashIsRemovedAtStart) {
  JUDGE_REQUIRE_SANDBOX();
  TempDir root;
  const std::string path = root.path() + "/judge-exec-crashed";
  ASSERT_EQ(::mkdir(path.c_str(), 0700), 0);
  // Mounted just now (a worker restarted at once after a crash), locked by nobody.
  ASSERT_EQ(::mount("judge-exec", path.c_str(), "tmpfs", 0, "size=1m,mode=0700"), 0);
  ExecOptions options;
  options.work_root = root.path();
  ASSERT_TRUE(ExecRunner::Create(TestSandbox(), options).ok());
  struct stat st;
  EXPECT_NE(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(ReadFileOrDie("/proc/self/mountinfo").find(path), std::string::npos);
}

// In a world-writable work root, only directories of the judge's own (owned by it,
// 0700), never a link, and never one still locked.
TEST(Exec, StaleDirectoriesAreOnlyTheJudgesOwn) {
  JUDGE_REQUIRE_SANDBOX();
  TempDir root, victim;
  ASSERT_EQ(::chmod(root.path().c_str(), 01777), 0);
  const std::string r = root.path() + "/judge-exec-";
  const struct timespec old[2] = {{1, 0}, {1, 0}};
  auto make = [&](const std::string& name, mode_t mode, uid_t uid) {
    const std::string path = r + name;
    EXPECT_EQ(::mkdir(path.c_str(), mode), 0);
    EXPECT_EQ(::chmod(path.c_str(), mode), 0);
    EXPECT_EQ(::chown(path.c_str(), uid, uid), 0);
    EXPECT_EQ(::utimensat(AT_FDCWD, path.c_str(), old, 0), 0);
    return path;
  };
  const std::string stale = make("stale", 0700, 0);
  const std::string others = make("others", 0700, 65534);
  const std::string open = make("open", 0755, 0);
  const std::string young = r + "young";
  ASSERT_EQ(::mkdir(young.c_str(), 0700), 0);
  const std::string locked = make("locked", 0700, 0);
  UniqueFd lock(::open(locked.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  ASSERT_EQ(::flock(lock.get(), LOCK_EX), 0);
  victim.Write("keep", "x");
  ASSERT_EQ(::symlink(victim.path().c_str(), (r + "link").c_str()), 0);
  // A mount reached through a link is not unmounted either.
  ASSERT_EQ(::mount("judge-victim", victim.path().c_str(), "tmpfs", 0, "size=1m,mode=0700"), 0);
  RemoveStaleDirs(root.path(), "judge-exec-", /*unmount=*/true);
  const std::string mountinfo = ReadFileOrDie("/proc/self/mountinfo");
  ::umount2(victim.path().c_str(), MNT_DETACH);
  EXPECT_NE(mountinfo.find(victim.path()), std::string::npos);
  struct stat st;
  EXPECT_NE(::stat(stale.c_str(), &st), 0);
  for (const std::string& kept : {others, open, young, locked, r + "link"}) {
    EXPECT_EQ(::lstat(kept.c_str(), &st), 0) << kept;
  }
  EXPECT_EQ(ReadFileOrDie(victim.path() + "/keep"), "x");
}

// The same jobs through judge-broker and a judge-worker: queued under "exec", the logs
// relayed live as PROGRESS, the result and artifacts back to the CLI.
class ExecService : public ::testing::Test {
 protected:
  void SetUp() override {
    JUDGE_REQUIRE_SANDBOX();
    broker_ = std::make_unique<BrokerProcess>(dir_.path() + "/judge.db");
    worker_ = std::make_unique<WorkerProcess>(broker_->workers, "xw", 1, 200, work_.path(),
                                              std::vector<std::string>{"--exec-layers", work_.path()});
    ASSERT_TRUE(worker_->connected) << worker_->process->Stderr();
    ASSERT_TRUE(broker_->process->AwaitLine("worker xw ready:")) << broker_->process->Stderr();
  }
  void TearDown() override {
    if (!worker_) return;
    worker_->process->Signal(SIGTERM);
    EXPECT_TRUE(worker_->process->Wait().has_value());
  }
  CommandResult Exec(std::vector<std::string> args) {
    args.insert(args.begin(), {"--broker", broker_->clients});
    return JudgeExec(dir_.path(), args);
  }

  TempDir dir_, work_;
  std::unique_ptr<BrokerProcess> broker_;
  std::unique_ptr<WorkerProcess> worker_;
};

TEST_F(ExecService, CProject) {
  CommandResult r = Exec({"--archive", kProjects + "c-project", "--artifact", "build/*", "--out",
                          "out", "--", "make", "--step", "make", "test-pass", "--step", "make",
                          "test-fail"});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_HAS(r.out, "cc -O2 -Wall -o build/sum src/sum.c");  // relayed live
  EXPECT_HAS(r.err, "judge: step 3 RE: exit code 2");
  EXPECT_HAS(r.out, "status RE  exit 2");
  EXPECT_EQ(ReadFileOrDie(dir_.path() + "/out/build/report.txt"), "test-pass: ok\n");
  struct stat st;
  EXPECT_EQ(::stat((dir_.path() + "/out/build/sum").c_str(), &st), 0);

  r = Exec({"--archive", kProjects + "c-project", "--json", "--encoding", "mp", "--", "make",
            "test-pass"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  v1::ExecResult parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(r.out, &parsed).ok()) << r.out;
  EXPECT_EQ(parsed.status(), "OK");
  ASSERT_EQ(parsed.steps_size(), 1);
  EXPECT_HAS(parsed.steps(0).stdout(), "echo \"test-pass: ok\"");
}

// A file name that is not UTF-8 among the artifacts: the job still ends (it stayed
// RUNNING when the broker could not read the result).
TEST_F(ExecService, AnArtifactNameThatIsNotUtf8DoesNotHangTheJob) {
  CommandResult r = Exec({"--artifact", "o/*", "--out", "out", "--timeout", "60", "--",
                          "mkdir o; echo b > \"o/$(printf \"\\377\")\"; echo good > o/good"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_HAS(r.out, "o/\\xff");
  EXPECT_EQ(ReadFileOrDie(dir_.path() + "/out/o/good"), "good\n");
}

TEST_F(ExecService, TheWorkerOffersExecAndBoundsTheWritableLayer) {
  const std::string log = worker_->process->Stderr();
  const size_t line = log.find("languages: ");
  ASSERT_NE(line, std::string::npos) << log;
  EXPECT_NE(log.substr(line, log.find('\n', line) - line).find("exec"), std::string::npos) << log;
  CommandResult r = Exec({"--writable", "2G", "--", "true"});
  EXPECT_EQ(r.exit_code, 125) << r.out << r.err;
  EXPECT_HAS(r.err, "judge-worker --exec-max-writable");
}

TEST_F(ExecService, PythonProject) {
  CommandResult r = Exec({"--archive", kProjects + "python-project", "--",
                          "python3 -m unittest discover -s tests -v"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_HAS(r.err, "test_add (test_calc.CalcTest.test_add) ... ok");
}

TEST_F(ExecService, LayersOnlyByNameFromTheWorkersDirectory) {
  CommandResult r = Exec({"--layer", "/", "--", "true"});
  EXPECT_EQ(r.exit_code, 125) << r.out << r.err;
  EXPECT_HAS(r.err, "must be the name of a directory in " + work_.path());
}

}  // namespace
}  // namespace judge::testing
