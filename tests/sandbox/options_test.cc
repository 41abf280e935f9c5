// `judge-sandbox run` option parsing (INTERFACES.md section 1) without running
// anything: sizes, times, every option, the profile's defaults, and the errors.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "sandbox/options.h"
#include "tests/sandbox/test_util.h"

namespace judge::testing {
namespace {

RunOptions ParseOk(const std::vector<std::string>& args) {
  auto r = ParseRunOptions(args);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : RunOptions{};
}

std::string ParseError(const std::vector<std::string>& args) {
  auto r = ParseRunOptions(args);
  return r.ok() ? "<parsed>" : r.status().ToString();
}

// ---------------------------------------------------------------- sizes and times

TEST(ParseBytes, Suffixes) {
  EXPECT_EQ(*ParseBytes("64M"), 64ll << 20);
  EXPECT_EQ(*ParseBytes("512K"), 512ll << 10);
  EXPECT_EQ(*ParseBytes("1G"), 1ll << 30);
  EXPECT_EQ(*ParseBytes("100"), 100);
  EXPECT_EQ(*ParseBytes("64m"), 64ll << 20);
  EXPECT_EQ(*ParseBytes("2g"), 2ll << 30);
  EXPECT_EQ(*ParseBytes("8k"), 8192);
  EXPECT_EQ(*ParseBytes("64MB"), 64ll << 20);
  EXPECT_EQ(*ParseBytes("100B"), 100);
  EXPECT_EQ(*ParseBytes("1.5K"), 1536);
  EXPECT_EQ(*ParseBytes("16G"), 16ll << 30);
}

TEST(ParseBytes, BadInputs) {
  for (const char* bad : {"", "abc", "M", "-1", "-64M", "0", "0K", "64X", "64 M", "64MiB",
                          "1e30", "nan", "inf", "12KK"}) {
    auto r = ParseBytes(bad);
    EXPECT_FALSE(r.ok()) << "'" << bad << "' -> " << (r.ok() ? std::to_string(*r) : "");
    if (!r.ok()) EXPECT_HAS(r.status().message(), "size");
  }
}

// "0.5" is positive but rounds to 0 bytes, which for --tmpfs means an unlimited tmpfs
// (size=0). Enable when ParseBytes refuses sizes below one byte.
TEST(ParseBytes, FractionsBelowOneByteAreRefused) {
  auto r = ParseBytes("0.5");
  EXPECT_FALSE(r.ok() && *r <= 0) << "0.5 parsed as " << *r;
}

TEST(ParseSeconds, Values) {
  EXPECT_DOUBLE_EQ(*ParseSeconds("2"), 2);
  EXPECT_DOUBLE_EQ(*ParseSeconds("1.5"), 1.5);
  EXPECT_DOUBLE_EQ(*ParseSeconds("0.25"), 0.25);
  EXPECT_DOUBLE_EQ(*ParseSeconds("600"), 600);
  for (const char* bad : {"", "0", "-1", "abc", "1s", "1.5.2", "nan", "inf", "1e9", " "}) {
    auto r = ParseSeconds(bad);
    EXPECT_FALSE(r.ok()) << "'" << bad << "'";
    if (!r.ok()) EXPECT_HAS(r.status().message(), "bad time");
  }
}

// ---------------------------------------------------------------- defaults

TEST(RunOptions, DefaultsComeFromTheDefaultProfile) {
  RunOptions o = ParseOk({"--", "/bin/echo", "hi"});
  EXPECT_EQ(o.profile, "default");
  EXPECT_EQ(o.seccomp, "default");
  EXPECT_EQ(o.result_path, "");
  const RunSpec& s = o.spec;
  EXPECT_EQ(s.argv, (std::vector<std::string>{"/bin/echo", "hi"}));
  EXPECT_DOUBLE_EQ(s.limits.cpu_time_s, 2);
  EXPECT_DOUBLE_EQ(s.limits.wall_time_s, 0) << "0 stands for 2 x cpu-time + 1";
  EXPECT_EQ(s.limits.memory_bytes, 256ll << 20);
  EXPECT_EQ(s.limits.pids, 64);
  EXPECT_EQ(s.limits.output_bytes, 64ll << 20);
  EXPECT_EQ(s.limits.tmpfs_bytes, 64ll << 20);
  EXPECT_EQ(s.env, std::vector<std::string>{"PATH=/usr/local/bin:/usr/bin:/bin"});
  EXPECT_EQ(s.cwd, "/box");
  EXPECT_FALSE(s.loopback);
  EXPECT_EQ(s.cpus, "");
  EXPECT_TRUE(s.binds.empty());
  EXPECT_TRUE(s.layers.empty());
  EXPECT_FALSE(s.host_dirs.empty()) << "rootfs from the host's system directories";
  EXPECT_EQ(s.stdin_stream.kind, Stream::kNull);
  EXPECT_EQ(s.stdout_stream.kind, Stream::kNull);
  EXPECT_EQ(s.stderr_stream.kind, Stream::kNull);
  EXPECT_EQ(s.seccomp, nullptr) << "compiled by the caller";
}

TEST(RunOptions, ProfileFileGivesOtherDefaultsAndOptionsStillWin) {
  TempDir dir;
  std::string path = dir.Write("p.textproto",
                               "name: \"p\"\nseccomp: \"strict\"\nnetwork: LOOPBACK\n"
                               "limits { cpu_time_s: 5 memory_bytes: 134217728 pids: 8 }\n"
                               "env: \"PATH=/opt/bin\" env: \"LANG=C\"\n");
  RunOptions o = ParseOk({"--profile", path, "--", "prog"});
  EXPECT_EQ(o.profile, path);
  EXPECT_EQ(o.seccomp, "strict");
  EXPECT_DOUBLE_EQ(o.spec.limits.cpu_time_s, 5);
  EXPECT_EQ(o.spec.limits.memory_bytes, 128ll << 20);
  EXPECT_EQ(o.spec.limits.pids, 8);
  EXPECT_TRUE(o.spec.loopback);
  EXPECT_EQ(o.spec.env, (std::vector<std::string>{"PATH=/opt/bin", "LANG=C"}));

  // Options override the profile wherever they stand, even before --profile.
  o = ParseOk({"--memory", "64M", "--seccomp", "none", "--network", "none", "--profile", path,
               "--", "prog"});
  EXPECT_EQ(o.spec.limits.memory_bytes, 64ll << 20);
  EXPECT_EQ(o.seccomp, "none");
  EXPECT_FALSE(o.spec.loopback);
  EXPECT_EQ(o.spec.limits.pids, 8);
}

TEST(RunOptions, BadProfile) {
  EXPECT_HAS(ParseError({"--profile", "nosuch", "--", "prog"}), "unknown sandbox profile 'nosuch'");
  TempDir dir;
  std::string path = dir.Write("bad.textproto", "name: \"b\"\nlimits { pids: many }\n");
  EXPECT_HAS(ParseError({"--profile", path, "--", "prog"}), path + ":2: 'pids' takes an integer");
}

// ---------------------------------------------------------------- each option

TEST(RunOptions, EveryOption) {
  RunOptions o = ParseOk({"--cpu-time", "1.5", "--wall-time", "10", "--memory", "64M",
                          "--pids", "10", "--output", "1K", "--tmpfs", "128M",
                          "--stdin", "/tmp/in", "--stdout", "/tmp/out", "--stderr", "/tmp/err",
                          "--dir", "/src:/dst:rw", "--dir", "/ro:/mnt/ro", "--chdir", "/work",
                          "--env", "A=1", "--layer", "/layers/top", "--layer", "/layers/base",
                          "--cpus", "0-1,3", "--network", "loopback", "--seccomp", "none",
                          "--result", "/tmp/result.json", "--", "/bin/prog", "arg1", "--memory"});
  const RunSpec& s = o.spec;
  EXPECT_DOUBLE_EQ(s.limits.cpu_time_s, 1.5);
  EXPECT_DOUBLE_EQ(s.limits.wall_time_s, 10);
  EXPECT_EQ(s.limits.memory_bytes, 64ll << 20);
  EXPECT_EQ(s.limits.pids, 10);
  EXPECT_EQ(s.limits.output_bytes, 1024);
  EXPECT_EQ(s.limits.tmpfs_bytes, 128ll << 20);
  EXPECT_EQ(s.stdin_stream.kind, Stream::kFile);
  EXPECT_EQ(s.stdin_stream.path, "/tmp/in");
  EXPECT_EQ(s.stdout_stream.kind, Stream::kFile);
  EXPECT_EQ(s.stdout_stream.path, "/tmp/out");
  EXPECT_EQ(s.stderr_stream.kind, Stream::kFile);
  EXPECT_EQ(s.stderr_stream.path, "/tmp/err");
  ASSERT_EQ(s.binds.size(), 2u);
  EXPECT_EQ(s.binds[0].source, "/src");
  EXPECT_EQ(s.binds[0].target, "/dst");
  EXPECT_TRUE(s.binds[0].writable);
  EXPECT_EQ(s.binds[1].source, "/ro");
  EXPECT_EQ(s.binds[1].target, "/mnt/ro");
  EXPECT_FALSE(s.binds[1].writable);
  EXPECT_EQ(s.cwd, "/work");
  EXPECT_EQ(s.env, (std::vector<std::string>{"PATH=/usr/local/bin:/usr/bin:/bin", "A=1"}));
  EXPECT_EQ(s.layers, (std::vector<std::string>{"/layers/top", "/layers/base"}));
  EXPECT_EQ(s.cpus, "0-1,3");
  EXPECT_TRUE(s.loopback);
  EXPECT_EQ(o.seccomp, "none");
  EXPECT_EQ(o.result_path, "/tmp/result.json");
  EXPECT_EQ(s.argv, (std::vector<std::string>{"/bin/prog", "arg1", "--memory"}))
      << "everything after -- belongs to the program";
}

TEST(RunOptions, EqualsForm) {
  RunOptions o = ParseOk({"--memory=64M", "--pids=7", "--env=A=B=C", "--dir=/a:/b:rw",
                          "--network=loopback", "--cpu-time=0.5", "--", "prog"});
  EXPECT_EQ(o.spec.limits.memory_bytes, 64ll << 20);
  EXPECT_EQ(o.spec.limits.pids, 7);
  EXPECT_EQ(o.spec.env.back(), "A=B=C");
  ASSERT_EQ(o.spec.binds.size(), 1u);
  EXPECT_TRUE(o.spec.binds[0].writable);
  EXPECT_TRUE(o.spec.loopback);
  EXPECT_DOUBLE_EQ(o.spec.limits.cpu_time_s, 0.5);
}

TEST(RunOptions, EnvOverridesPathInPlace) {
  RunOptions o = ParseOk({"--env", "LANG=C", "--env", "PATH=/x", "--env", "LANG=C.UTF-8", "--", "p"});
  EXPECT_EQ(o.spec.env, (std::vector<std::string>{"PATH=/x", "LANG=C.UTF-8"}));
  o = ParseOk({"--env", "EMPTY=", "--", "p"});
  EXPECT_EQ(o.spec.env.back(), "EMPTY=");
}

TEST(RunOptions, DirForms) {
  RunOptions o = ParseOk({"--dir", "/s:/d:ro", "--dir", "/s2:/deep/er/d", "--dir", "/s3:/d3:rw", "--", "p"});
  ASSERT_EQ(o.spec.binds.size(), 3u);
  EXPECT_EQ(o.spec.binds[0].target, "/d");
  EXPECT_FALSE(o.spec.binds[0].writable);
  EXPECT_EQ(o.spec.binds[1].target, "/deep/er/d");
  EXPECT_FALSE(o.spec.binds[1].writable);
  EXPECT_EQ(o.spec.binds[2].source, "/s3");
  EXPECT_TRUE(o.spec.binds[2].writable);
}

TEST(RunOptions, ProgramWithoutDoubleDash) {
  RunOptions o = ParseOk({"--memory", "64M", "/bin/echo", "--memory", "x"});
  EXPECT_EQ(o.spec.argv, (std::vector<std::string>{"/bin/echo", "--memory", "x"}));
  EXPECT_EQ(o.spec.limits.memory_bytes, 64ll << 20);
  o = ParseOk({"sh", "-c", "exit 3"});
  EXPECT_EQ(o.spec.argv, (std::vector<std::string>{"sh", "-c", "exit 3"}));
}

TEST(RunOptions, LaterValueWins) {
  RunOptions o = ParseOk({"--memory", "64M", "--memory", "32M", "--chdir", "/a", "--chdir", "/", "--", "p"});
  EXPECT_EQ(o.spec.limits.memory_bytes, 32ll << 20);
  EXPECT_EQ(o.spec.cwd, "/");
}

// ---------------------------------------------------------------- errors

TEST(RunOptions, UnknownOption) {
  std::string e = ParseError({"--bogus", "--", "prog"});
  EXPECT_HAS(e, "unknown option --bogus");
  EXPECT_HAS(ParseError({"-x", "prog"}), "unknown option -x");
  EXPECT_HAS(ParseError({"--bogus=1", "prog"}), "unknown option --bogus=1");
}

TEST(RunOptions, MissingValue) {
  EXPECT_HAS(ParseError({"--memory"}), "--memory needs a value");
  EXPECT_HAS(ParseError({"--cpu-time", "1", "--result"}), "--result needs a value");
}

TEST(RunOptions, NoProgram) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {}, {"--"}, {"--memory", "64M"}, {"--memory", "64M", "--"}}) {
    std::string e = ParseError(args);
    EXPECT_HAS(e, "no program given");
  }
}

TEST(RunOptions, BadValues) {
  struct Case {
    std::vector<std::string> args;
    const char* error;
  } cases[] = {
      {{"--network", "host", "--", "p"}, "--network takes none or loopback"},
      {{"--network=", "--", "p"}, "--network takes none or loopback"},
      {{"--dir", "/nocolon", "--", "p"}, "--dir takes SRC:DST[:rw]"},
      {{"--dir", "rel:/dst", "--", "p"}, "--dir source must be an absolute host path"},
      {{"--dir", ":/dst", "--", "p"}, "--dir source must be an absolute host path"},
      {{"--dir", "/src:dst", "--", "p"}, "--dir destination must be absolute"},
      {{"--dir", "/src:/a/../b", "--", "p"}, "--dir destination must not contain"},
      {{"--dir", "/src:/", "--", "p"}, "--dir destination cannot be /"},
      {{"--dir", "/src:rw", "--", "p"}, "--dir destination must be absolute"},
      {{"--memory", "1M", "--", "p"}, "--memory must be at least 4M"},
      {{"--memory", "lots", "--", "p"}, "bad size 'lots'"},
      {{"--output", "0", "--", "p"}, "bad size '0'"},
      {{"--tmpfs", "-1M", "--", "p"}, "bad size '-1M'"},
      {{"--cpu-time", "0", "--", "p"}, "bad time '0'"},
      {{"--wall-time", "soon", "--", "p"}, "bad time 'soon'"},
      {{"--pids", "0", "--", "p"}, "bad --pids '0'"},
      {{"--pids", "ten", "--", "p"}, "bad --pids 'ten'"},
      {{"--pids", "10.5", "--", "p"}, "bad --pids '10.5'"},
      {{"--env", "NOVALUE", "--", "p"}, "--env takes NAME=VALUE"},
      {{"--env", "=x", "--", "p"}, "--env takes NAME=VALUE"},
      {{"--chdir", "work", "--", "p"}, "--chdir must be absolute"},
      {{"--layer", "layers/x", "--", "p"}, "--layer takes an absolute directory"},
      {{"--cpus", "all", "--", "p"}, "bad --cpus 'all'"},
      {{"--cpus", "", "--", "p"}, "bad --cpus ''"},
  };
  for (const auto& c : cases) {
    std::string e = ParseError(c.args);
    EXPECT_HAS(e, c.error);
  }
}

TEST(RunOptions, UsageListsEveryOption) {
  const std::string usage = kRunUsage;
  for (const char* opt : {"--profile", "--cpu-time", "--wall-time", "--memory", "--pids", "--output",
                          "--tmpfs", "--stdin", "--stdout", "--stderr", "--dir", "--chdir", "--env",
                          "--layer", "--cpus", "--network", "--seccomp", "--result"}) {
    EXPECT_HAS(usage, opt);
  }
}

}  // namespace
}  // namespace judge::testing
