// The judging pipeline: compile in a container, run each test in a fresh container,
// check (built-in checkers here, custom checkers and interactors sandboxed too), and
// aggregate per INTERFACES.md: the job's verdict is the first non-AC test verdict.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "common/status.h"
#include "protocol/judge.pb.h"
#include "sandbox/sandbox.h"
#include "worker/languages.h"

namespace judge {

struct JudgeOptions {
  // Job directories are made here as judge-job-XXXXXX (mode 0700) and removed after.
  std::string work_root = "/tmp";
  std::string worker_name;          // JobResult.worker
  size_t compile_log_bytes = 16384; // the compiler's output kept in CompileResult.log
  size_t max_source_bytes = 1 << 20;
  size_t max_test_bytes = 256 << 20;
  size_t max_tests = 10000;
  // The compile cache (worker/compile_cache.h): compiled programs kept by the hash of
  // their sources, language profile, sandbox profile, seccomp policy and compile
  // limits. Created mode 0700 if missing; "" (the default, so that a library user or a
  // test leaves nothing on the machine) or a directory that cannot be made disables it.
  // judge-worker turns it on (--compile-cache). Least recently used entries go beyond
  // compile_cache_bytes.
  std::string compile_cache_dir;
  long long compile_cache_bytes = 1ll << 30;
};

class CompileCache;

class Judger {
 public:
  Judger(Sandbox& sandbox, const LanguageRegistry& languages, JudgeOptions options = {});
  ~Judger();

  // Compiles actually run in a container, and compiles answered by the cache, since
  // this Judger was made.
  long long compiles_run() const { return compiles_run_; }
  long long compile_cache_hits() const { return compile_cache_hits_; }
  // nullptr when the cache is disabled.
  CompileCache* compile_cache() const { return cache_.get(); }

  // Refuses a job that cannot be judged here: unknown language or missing toolchain,
  // unsafe or duplicate file names, oversize sources or tests, a custom checker
  // without a program. One sentence that says what and how to fix it.
  Status Validate(const v1::Job& job) const;

  using Progress = std::function<void(const v1::TestResult&)>;
  // Asked before each compile and each test; true stops the job there (a worker's
  // CANCEL). A run already started goes on to its end: the sandbox cannot stop it early.
  using Cancelled = std::function<bool()>;
  // Judges a job; never throws. A job Validate refuses ends as IE with the reason; a
  // cancelled one as IE "the job was cancelled", with the tests judged before.
  v1::JobResult Judge(const v1::Job& job, const Progress& progress = nullptr,
                      const Cancelled& cancelled = nullptr);

 private:
  class JobRun;
  Result<const SeccompProgram*> Seccomp(const std::string& name);
  Result<SandboxProfile> Profile(const std::string& name);

  Sandbox& sandbox_;
  const LanguageRegistry& languages_;
  JudgeOptions options_;
  std::mutex mu_;  // guards the caches
  std::map<std::string, std::unique_ptr<SeccompProgram>> seccomp_;
  std::map<std::string, SandboxProfile> profiles_;
  std::unique_ptr<CompileCache> cache_;
  std::atomic<long long> compiles_run_{0};
  std::atomic<long long> compile_cache_hits_{0};
};

// s with every byte that is not part of a valid UTF-8 sequence replaced by U+FFFD.
std::string ValidUtf8(const std::string& s);

// The natural order of test names: "2" before "10", "a2" before "a10".
bool NaturalLess(const std::string& a, const std::string& b);

}  // namespace judge
