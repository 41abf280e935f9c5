// The compile cache (issue #7): SHA-256 against FIPS 180-4's vectors, the cache's
// store / lookup / eviction on its own, and the Judger with real containers. That a
// judge did not compile is shown by Judger::compiles_run(), counted where the compile
// container runs (no timing).
#include "worker/compile_cache.h"

#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <thread>
#include <vector>

#include "client/local_job.h"
#include "common/file_util.h"
#include "tests/sandbox/test_util.h"
#include "worker/judging.h"

namespace judge::testing {
namespace {

const std::string kExamples = std::string(JUDGE_SOURCE_DIR) + "/examples/";

TEST(Sha256, Fips180Vectors) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(Sha256Hex("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
                      "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu"),
            "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
  EXPECT_EQ(Sha256Hex(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  // Fed in pieces: the same digest.
  Sha256 s;
  for (int i = 0; i < 1000; ++i) s.Update(std::string(1000, 'a'));
  EXPECT_EQ(s.HexDigest(), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  EXPECT_NE(CompileKey().Add("ab").Add("c").Hex(), CompileKey().Add("a").Add("bc").Hex());
}

std::string Key(const std::string& s) { return CompileKey().Add(s).Hex(); }

v1::CompileResult Ok(double ms) {
  v1::CompileResult r;
  r.set_status(v1::CompileResult::OK);
  r.set_cpu_time_ms(ms);
  r.set_log("warning: " + std::to_string(ms));
  return r;
}

int Entries(const std::string& root) {
  int n = 0;
  DIR* d = ::opendir(root.c_str());
  while (struct dirent* e = ::readdir(d)) n += std::string(e->d_name).size() == 64;
  ::closedir(d);
  return n;
}

TEST(CompileCache, StoresLooksUpAndCreatesItsRootPrivate) {
  TempDir t;
  const std::string root = t.path() + "/cache";
  auto cache = CompileCache::Open(root, 1 << 20);
  ASSERT_TRUE(cache.ok()) << cache.status().ToString();
  struct stat st;
  ASSERT_EQ(::stat(root.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  ::mkdir((t.path() + "/src").c_str(), 0755);
  t.Write("src/main", "binary", 0755);
  t.Write("src/data.txt", "text", 0644);
  ASSERT_EQ(::mkdir((t.path() + "/dest").c_str(), 0755), 0);
  v1::CompileResult got;
  EXPECT_FALSE((*cache)->Lookup(Key("a"), t.path() + "/dest", &got));
  {
    Status st = (*cache)->Store(Key("a"), t.path() + "/src", Ok(12));
    ASSERT_TRUE(st.ok()) << st.ToString();
  }
  ASSERT_TRUE((*cache)->Lookup(Key("a"), t.path() + "/dest", &got));
  EXPECT_EQ(got.cpu_time_ms(), 12);
  EXPECT_EQ(got.log(), "warning: 12.000000");
  EXPECT_EQ(ReadFileOrDie(t.path() + "/dest/main"), "binary");
  ASSERT_EQ(::stat((t.path() + "/dest/main").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u);
  ASSERT_EQ(::stat((t.path() + "/dest/data.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0644u);
  // The entry is read-only, root's, and nothing is left in temp dirs.
  ASSERT_EQ(::stat((root + "/" + Key("a") + "/files/main").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0444u);
  EXPECT_EQ(st.st_uid, ::geteuid());
  ASSERT_EQ(::stat((root + "/" + Key("a")).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0555u);
  EXPECT_EQ(Entries(root), 1);
}

TEST(CompileCache, DamagedEntryIsAMissAndIsRemoved) {
  TempDir t;
  auto cache = CompileCache::Open(t.path() + "/cache", 1 << 20);
  ASSERT_TRUE(cache.ok());
  ::mkdir((t.path() + "/src").c_str(), 0755);
  t.Write("src/main", "binary", 0755);
  t.Write("src/other", "x", 0644);
  ASSERT_EQ(::mkdir((t.path() + "/dest").c_str(), 0755), 0);
  ASSERT_TRUE((*cache)->Store(Key("a"), t.path() + "/src", Ok(1)).ok());
  ASSERT_EQ(::unlink((t.path() + "/cache/" + Key("a") + "/files/main").c_str()), 0);
  v1::CompileResult got;
  EXPECT_FALSE((*cache)->Lookup(Key("a"), t.path() + "/dest", &got));
  EXPECT_EQ(Entries(t.path() + "/cache"), 0);
  // A truncated file (same names, wrong size) is damaged too.
  ASSERT_TRUE((*cache)->Store(Key("a"), t.path() + "/src", Ok(1)).ok());
  ASSERT_EQ(::truncate((t.path() + "/cache/" + Key("a") + "/files/main").c_str(), 2), 0);
  EXPECT_FALSE((*cache)->Lookup(Key("a"), t.path() + "/dest", &got));
  // A copy that fails half-way ("main" copied, then "other" cannot be made) is a miss
  // that leaves dest empty.
  ASSERT_TRUE((*cache)->Store(Key("a"), t.path() + "/src", Ok(1)).ok());
  ASSERT_EQ(::mkdir((t.path() + "/dest/other").c_str(), 0755), 0);
  EXPECT_FALSE((*cache)->Lookup(Key("a"), t.path() + "/dest", &got));
  struct stat st;
  EXPECT_NE(::stat((t.path() + "/dest/main").c_str(), &st), 0) << "a miss leaves dest empty";
}

TEST(CompileCache, EvictsLeastRecentlyUsedWithinBudget) {
  TempDir t;
  ::mkdir((t.path() + "/src").c_str(), 0755);
  t.Write("src/main", std::string(1000, 'x'), 0755);
  // Room for about three entries (each ~1000 bytes of file + manifest + result).
  auto cache = CompileCache::Open(t.path() + "/cache", 3500);
  ASSERT_TRUE(cache.ok());
  ASSERT_EQ(::mkdir((t.path() + "/dest").c_str(), 0755), 0);
  v1::CompileResult got;
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE((*cache)->Store(Key(std::to_string(i)), t.path() + "/src", Ok(i)).ok());
    EXPECT_LE((*cache)->TotalBytes(), 3500);
    // Entry 0 is used after every store: it stays.
    ::usleep(10000);  // mtimes apart
    ASSERT_TRUE((*cache)->Lookup(Key("0"), t.path() + "/dest", &got)) << i;
    RemoveTree(t.path() + "/dest");
    ASSERT_EQ(::mkdir((t.path() + "/dest").c_str(), 0755), 0);
    ::usleep(10000);
  }
  EXPECT_EQ(Entries(t.path() + "/cache"), 3);
  EXPECT_TRUE((*cache)->Lookup(Key("9"), t.path() + "/dest", &got));
  EXPECT_FALSE((*cache)->Lookup(Key("1"), t.path() + "/dest", &got));
}

TEST(CompileCache, ConcurrentWritersOfOneKeyBothSucceed) {
  TempDir t;
  ::mkdir((t.path() + "/src").c_str(), 0755);
  t.Write("src/main", std::string(100000, 'x'), 0755);
  auto cache = CompileCache::Open(t.path() + "/cache", 1 << 30);
  ASSERT_TRUE(cache.ok());
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      if ((*cache)->Store(Key("same"), t.path() + "/src", Ok(5)).ok()) ++ok;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok, 8);
  EXPECT_EQ(Entries(t.path() + "/cache"), 1);
  DIR* d = ::opendir((t.path() + "/cache").c_str());
  while (struct dirent* e = ::readdir(d)) {
    EXPECT_NE(std::string(e->d_name).rfind("judge-compile-tmp-", 0), 0u) << e->d_name;
  }
  ::closedir(d);
}

// With real containers.

LanguageRegistry& Languages() {
  static LanguageRegistry* r = new LanguageRegistry(std::move(LanguageRegistry::Builtin()).value());
  return *r;
}

v1::Job MakeJob(const std::string& submission) {
  v1::Job job;
  job.set_id("cache");
  auto src = LoadFile(kExamples + submission, 1 << 20);
  EXPECT_TRUE(src.ok());
  *job.add_sources() = *src;
  job.set_language(*Languages().ForFile(src->name()));
  EXPECT_TRUE(AddTestsDir(kExamples + "sum/tests", "", &job).ok());
  job.mutable_limits()->set_cpu_time_s(1);
  return job;
}

std::vector<std::string> Verdicts(const v1::JobResult& r) {
  std::vector<std::string> v = {v1::Verdict_Name(r.verdict())};
  for (const auto& t : r.tests()) v.push_back(t.name() + ":" + v1::Verdict_Name(t.verdict()));
  return v;
}

JudgeOptions CacheOptions(const std::string& dir) {
  JudgeOptions o;
  o.compile_cache_dir = dir;
  return o;
}

TEST(CompileCacheJudging, AResubmissionIsNotCompiledAgain) {
  JUDGE_REQUIRE_SANDBOX();
  TempDir t;
  Judger judger(TestSandbox(), Languages(), CacheOptions(t.path() + "/cache"));
  ASSERT_NE(judger.compile_cache(), nullptr);
  struct stat st;
  ASSERT_EQ(::stat((t.path() + "/cache").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  v1::Job job = MakeJob("sum/submissions/ac.c");
  v1::JobResult first = judger.Judge(job);
  ASSERT_EQ(first.verdict(), v1::AC) << first.message() << first.compile().log();
  EXPECT_EQ(judger.compiles_run(), 1);
  v1::JobResult second = judger.Judge(job);
  EXPECT_EQ(judger.compiles_run(), 1) << "the second judge compiled";
  EXPECT_EQ(judger.compile_cache_hits(), 1);
  EXPECT_EQ(Verdicts(second), Verdicts(first));
  // The stored CompileResult, as it was.
  EXPECT_EQ(second.compile().SerializeAsString(), first.compile().SerializeAsString());
  EXPECT_EQ(Entries(t.path() + "/cache"), 1);

  // Another Judger on the same directory (a second slot) hits too.
  Judger other(TestSandbox(), Languages(), CacheOptions(t.path() + "/cache"));
  EXPECT_EQ(Verdicts(other.Judge(job)), Verdicts(first));
  EXPECT_EQ(other.compiles_run(), 0);

  // A different source misses.
  v1::Job changed = job;
  changed.mutable_sources(0)->mutable_content()->append("\n/* changed */\n");
  EXPECT_EQ(judger.Judge(changed).verdict(), v1::AC);
  EXPECT_EQ(judger.compiles_run(), 2);

  // A different profile (other compile limits) misses.
  v1::LanguageProfile c = **Languages().Find(job.language());
  c.set_name("c-cache-test");
  c.mutable_compile_limits()->set_cpu_time_s(c.compile_limits().cpu_time_s() + 1);
  Languages().Add(c);
  v1::Job other_lang = job;
  other_lang.set_language("c-cache-test");
  EXPECT_EQ(judger.Judge(other_lang).verdict(), v1::AC);
  EXPECT_EQ(judger.compiles_run(), 3);
  EXPECT_EQ(Entries(t.path() + "/cache"), 3);

  // A damaged entry is found out and compiled again.
  DIR* d = ::opendir((t.path() + "/cache").c_str());
  std::vector<std::string> keys;
  while (struct dirent* e = ::readdir(d)) {
    if (std::string(e->d_name).size() == 64) keys.push_back(e->d_name);
  }
  ::closedir(d);
  for (const std::string& k : keys) {
    const std::string files = t.path() + "/cache/" + k + "/files";
    DIR* fd = ::opendir(files.c_str());
    std::vector<std::string> names;
    while (struct dirent* e = ::readdir(fd)) {
      if (e->d_name[0] != '.') names.push_back(e->d_name);
    }
    ::closedir(fd);
    for (const std::string& n : names) ::unlink((files + "/" + n).c_str());
  }
  v1::JobResult again = judger.Judge(job);
  EXPECT_EQ(Verdicts(again), Verdicts(first)) << again.message();
  EXPECT_EQ(judger.compiles_run(), 4);
}

TEST(CompileCacheJudging, CompilationErrorsAreNotCached) {
  JUDGE_REQUIRE_SANDBOX();
  TempDir t;
  Judger judger(TestSandbox(), Languages(), CacheOptions(t.path() + "/cache"));
  v1::Job job = MakeJob("sum/submissions/ce.c");
  EXPECT_EQ(judger.Judge(job).verdict(), v1::CE);
  EXPECT_EQ(judger.Judge(job).verdict(), v1::CE);
  EXPECT_EQ(judger.compiles_run(), 2);
  EXPECT_EQ(judger.compile_cache_hits(), 0);
  EXPECT_EQ(Entries(t.path() + "/cache"), 0);
}

TEST(CompileCacheJudging, ConcurrentJudgersOfOneJobBothSucceed) {
  JUDGE_REQUIRE_SANDBOX();
  TempDir t;
  Judger a(TestSandbox(), Languages(), CacheOptions(t.path() + "/cache"));
  Judger b(TestSandbox(), Languages(), CacheOptions(t.path() + "/cache"));
  v1::Job job = MakeJob("sum/submissions/ac.c");
  v1::JobResult ra, rb;
  std::thread ta([&] { ra = a.Judge(job); });
  std::thread tb([&] { rb = b.Judge(job); });
  ta.join();
  tb.join();
  EXPECT_EQ(ra.verdict(), v1::AC) << ra.message();
  EXPECT_EQ(rb.verdict(), v1::AC) << rb.message();
  EXPECT_EQ(Entries(t.path() + "/cache"), 1);
  Judger c(TestSandbox(), Languages(), CacheOptions(t.path() + "/cache"));
  EXPECT_EQ(c.Judge(job).verdict(), v1::AC);
  EXPECT_EQ(c.compiles_run(), 0);
}

TEST(CompileCacheJudging, AnEmptyDirectoryDisablesTheCache) {
  JUDGE_REQUIRE_SANDBOX();
  Judger judger(TestSandbox(), Languages(), CacheOptions(""));
  EXPECT_EQ(judger.compile_cache(), nullptr);
  v1::Job job = MakeJob("sum/submissions/ac.c");
  EXPECT_EQ(judger.Judge(job).verdict(), v1::AC);
  EXPECT_EQ(judger.Judge(job).verdict(), v1::AC);
  EXPECT_EQ(judger.compiles_run(), 2);
}

}  // namespace
}  // namespace judge::testing
