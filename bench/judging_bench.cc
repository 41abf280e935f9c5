// Per-test overhead of the judging pipeline: the time a trivial accepted C++ test
// costs beyond the program's own run in a container.
//
//   build/bench/judging_bench [TESTS]      (default 100 tests)
//
// It judges examples/sum/submissions/ac.cpp twice, with 1 test and with 1 + TESTS
// tests: the difference over TESTS is the time per test. It also runs the compiled
// program TESTS times through the bare engine (same container, no pipeline), before
// and after. The overhead per test is the difference of the two.
//
// It also prints the solution's own run (its wall time from the go to exit, the mean of
// the tests') and what each test costs beyond it.
//
// Resubmission: the same 1-test job judged a second time by a Judger with the compile
// cache (a fresh cache directory, so the first judge fills it) and by one without.
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include "client/local_job.h"
#include "worker/judging.h"

namespace {

double Seconds(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

}  // namespace

int main(int argc, char** argv) {
  using namespace judge;
  const int tests = argc > 1 ? std::atoi(argv[1]) : 100;
  // As judge-worker runs it: with warm containers (each test's made while the test
  // before runs); and each container made on demand, for comparison.
  SandboxOptions warm;
  warm.warm = 2;
  auto sandbox = Sandbox::Create(warm);
  auto on_demand = Sandbox::Create();
  auto languages = LanguageRegistry::Builtin();
  if (!sandbox.ok() || !on_demand.ok() || !languages.ok()) {
    std::fprintf(stderr, "judging_bench: %s\n",
                 (!sandbox.ok()     ? sandbox.status()
                  : !on_demand.ok() ? on_demand.status()
                                    : languages.status())
                     .ToString()
                     .c_str());
    return 1;
  }
  JudgeOptions no_cache;
  no_cache.compile_cache_dir = "";
  Judger judger(**sandbox, *languages, no_cache);
  auto source = LoadFile(std::string(JUDGE_SOURCE_DIR) + "/examples/sum/submissions/ac.cpp", 1 << 20);
  if (!source.ok()) return 1;
  auto make_job = [&](int n) {
    v1::Job job;
    job.set_language("cpp17");
    *job.add_sources() = *source;
    for (int i = 0; i <= n; ++i) {
      v1::Test* t = job.add_tests();
      t->set_name(std::to_string(i));
      t->set_input("1 2\n");
      t->set_answer("3\n");
    }
    return job;
  };
  // The same program through the bare engine: compile it once by hand.
  auto profile = LoadSandboxProfile("default");
  auto seccomp = LoadAndCompileSeccomp("default", (*sandbox)->seccomp_notify());
  char dir[] = "/tmp/judge-bench-XXXXXX";
  if (!::mkdtemp(dir) || ::chmod(dir, 0755) != 0) return 1;  // bound at /job: readable
  const std::string src = std::string(dir) + "/main.cpp";
  FILE* f = std::fopen(src.c_str(), "w");
  std::fwrite(source->content().data(), 1, source->content().size(), f);
  std::fclose(f);
  const std::string bin = std::string(dir) + "/main";
  const std::string input = std::string(dir) + "/in";
  f = std::fopen(input.c_str(), "w");
  std::fputs("1 2\n", f);
  std::fclose(f);
  if (std::system(("g++ -O2 -o " + bin + " " + src).c_str()) != 0) return 1;
  RunSpec spec = SpecFromProfile(*profile);
  spec.argv = {"/job/main"};
  spec.seccomp = &*seccomp;
  spec.binds.push_back({dir, "/job", false});
  spec.stdin_stream = Stream::File(input);
  spec.stdout_stream = Stream::Capture();
  // Bare runs before and after the judged jobs, so that drift in the machine's state
  // does not land on one side.
  std::string bare_error;
  auto bare = [&] {
    auto a = std::chrono::steady_clock::now();
    for (int i = 0; i < tests; ++i) {
      RunResult r = (*sandbox)->Run(spec);
      if (r.status != RunStatus::kOk || r.stdout_data != "3\n") bare_error = r.message;
    }
    return Seconds(a, std::chrono::steady_clock::now()) / tests;
  };
  const double bare_before = bare();
  // A job of 1 + TESTS tests against one of 1 test: compile + 1 test, the time per
  // test judged (their difference over TESTS), and the solution's own run (its wall
  // time from the go to exit, as each test reports it). Nullopt when a job is not AC.
  struct Judged {
    double compile_and_one_s, per_test_s, own_run_ms;
  };
  auto judge_job = [&](Judger& j) -> std::optional<Judged> {
    auto t0 = std::chrono::steady_clock::now();
    v1::JobResult one = j.Judge(make_job(0));
    auto t1 = std::chrono::steady_clock::now();
    v1::JobResult many = j.Judge(make_job(tests));
    auto t2 = std::chrono::steady_clock::now();
    if (one.verdict() != v1::AC || many.verdict() != v1::AC) {
      std::fprintf(stderr, "judging_bench: not AC: %s\n", many.message().c_str());
      return std::nullopt;
    }
    double own = 0;
    for (const v1::TestResult& t : many.tests()) own += t.wall_time_ms();
    return Judged{Seconds(t0, t1), (Seconds(t1, t2) - Seconds(t0, t1)) / tests,
                  own / many.tests_size()};
  };
  const std::optional<Judged> warm_run = judge_job(judger);
  // The same with every container made on demand. With warm containers the next
  // test's container is made while a test runs and slows its run; on demand, nothing
  // is made beside it, so its wall time is the solution's own.
  Judger judger_on_demand(**on_demand, *languages, no_cache);
  const std::optional<Judged> demand_run = judge_job(judger_on_demand);
  if (!warm_run || !demand_run) return 1;
  const double first_compile_and_one = warm_run->compile_and_one_s;
  const double per_test_judged = warm_run->per_test_s, own_ms = warm_run->own_run_ms;
  const double per_test_on_demand = demand_run->per_test_s;
  const double own_ms_alone = demand_run->own_run_ms;

  // Resubmission, with and without the compile cache.
  char cache_root[] = "/tmp/judge-bench-cache-XXXXXX";
  if (!::mkdtemp(cache_root)) return 1;
  JudgeOptions with_cache;
  with_cache.compile_cache_dir = std::string(cache_root) + "/cache";
  Judger cached(**sandbox, *languages, with_cache);
  if (cached.compile_cache() == nullptr) {
    std::fprintf(stderr, "judging_bench: the compile cache cannot be made in %s\n", cache_root);
    return 1;
  }
  auto timed = [&](Judger& j) {
    auto a = std::chrono::steady_clock::now();
    v1::JobResult r = j.Judge(make_job(0));
    if (r.verdict() != v1::AC) std::fprintf(stderr, "judging_bench: not AC: %s\n", r.message().c_str());
    return Seconds(a, std::chrono::steady_clock::now());
  };
  const double cached_first = timed(cached);
  const double cached_again = timed(cached);
  const double uncached_again = timed(judger);
  const bool hit = cached.compile_cache_hits() == 1 && cached.compiles_run() == 1;
  std::system(("rm -rf " + std::string(cache_root)).c_str());

  const double per_run = (bare_before + bare()) / 2;
  std::system(("rm -rf " + std::string(dir)).c_str());
  if (!bare_error.empty()) {
    std::fprintf(stderr, "judging_bench: the bare run failed: %s\n", bare_error.c_str());
    return 1;
  }

  std::printf("tests                         %d\n", tests);
  std::printf("compile + 1 test              %.1f ms\n", first_compile_and_one * 1e3);
  std::printf("per test, judged              %.3f ms\n", per_test_judged * 1e3);
  std::printf("per run, bare engine          %.3f ms\n", per_run * 1e3);
  std::printf("judging overhead per test     %.3f ms\n", (per_test_judged - per_run) * 1e3);
  std::printf("solution's own run (wall)     %.3f ms\n", own_ms);
  std::printf("per test beyond its own run   %.3f ms   (engine start-up and teardown + judging)\n",
              per_test_judged * 1e3 - own_ms);
  std::printf("per test, containers made on demand\n");
  std::printf("  per test, judged            %.3f ms\n", per_test_on_demand * 1e3);
  std::printf("  solution's own run (wall)   %.3f ms   (nothing made beside it)\n", own_ms_alone);
  std::printf("  beyond its own run          %.3f ms\n", per_test_on_demand * 1e3 - own_ms_alone);
  std::printf("warm, beyond the run alone    %.3f ms   (per test judged - the on-demand own run)\n",
              per_test_judged * 1e3 - own_ms_alone);
  std::printf("resubmission, cache filled    %.1f ms\n", cached_first * 1e3);
  std::printf("resubmission, cache hit       %.1f ms%s\n", cached_again * 1e3,
              hit ? "" : "  (not a hit!)");
  std::printf("resubmission, no cache        %.1f ms\n", uncached_again * 1e3);
  return 0;
}
