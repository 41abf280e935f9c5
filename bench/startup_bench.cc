// Start-up latency of the container engine, measured against the floor: a plain
// fork + execve + wait of the same program from the same process.
//
//   build/bench/startup_bench                 # all, with a ratio summary at the end
//   build/bench/startup_bench --benchmark_filter=Warm
//
// "Cold" runs sleep 50 ms (not timed) before each run: cgroup v1 task migration is
// ~15 ms when no migration happened in the last ~20 ms, which back-to-back runs hide.
#include <benchmark/benchmark.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <thread>

#include "sandbox/profile.h"
#include "sandbox/sandbox.h"
#include "sandbox/seccomp.h"

namespace {

using judge::RunResult;
using judge::RunSpec;
using judge::Sandbox;

const char* kProgram = "/bin/true";

void ForkExec() {
  pid_t pid = ::fork();
  if (pid == 0) {
    char* argv[] = {const_cast<char*>(kProgram), nullptr};
    char* envp[] = {nullptr};
    ::execve(kProgram, argv, envp);
    ::_exit(127);
  }
  int status;
  ::waitpid(pid, &status, 0);
}

struct Engine {
  std::unique_ptr<Sandbox> sandbox;
  judge::SeccompProgram seccomp;
  RunSpec spec;
  std::string error;

  Engine() {
    auto sb = Sandbox::Create();
    if (!sb.ok()) {
      error = sb.status().ToString();
      return;
    }
    sandbox = std::move(sb).value();
    auto profile = judge::LoadSandboxProfile("default");
    auto policy = judge::LoadSeccompPolicy("default");
    auto compiled = judge::CompileSeccomp(*policy, judge::SeccompNotifySupported());
    seccomp = std::move(compiled).value();
    spec = judge::SpecFromProfile(*profile);
    spec.argv = {kProgram};
    spec.seccomp = &seccomp;
  }
  static Engine& Get() {
    static Engine e;
    return e;
  }
};

void Idle(benchmark::State& state, bool cold) {
  if (!cold) return;
  state.PauseTiming();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  state.ResumeTiming();
}

void BM_ForkExec(benchmark::State& state, bool cold) {
  for (auto _ : state) {
    Idle(state, cold);
    ForkExec();
  }
}

void BM_Sandbox(benchmark::State& state, bool cold) {
  Engine& e = Engine::Get();
  if (!e.sandbox) {
    state.SkipWithError(e.error.c_str());
    return;
  }
  for (auto _ : state) {
    Idle(state, cold);
    RunResult r = e.sandbox->Run(e.spec);
    if (r.status != judge::RunStatus::kOk) {
      state.SkipWithError(r.message.c_str());
      return;
    }
  }
}

BENCHMARK_CAPTURE(BM_ForkExec, Warm, false)->Unit(benchmark::kMillisecond)->MinTime(2);
BENCHMARK_CAPTURE(BM_Sandbox, Warm, false)->Unit(benchmark::kMillisecond)->MinTime(2);
BENCHMARK_CAPTURE(BM_ForkExec, Cold, true)->Unit(benchmark::kMillisecond)->Iterations(40);
BENCHMARK_CAPTURE(BM_Sandbox, Cold, true)->Unit(benchmark::kMillisecond)->Iterations(40);

// Prints the usual table, then each engine figure as a ratio to fork+exec.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  RatioReporter() : ConsoleReporter(OO_Tabular) {}
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& r : runs) {
      // "BM_Sandbox/Warm/min_time:2.000" -> "BM_Sandbox/Warm"
      std::string name = r.benchmark_name();
      size_t second = name.find('/', name.find('/') + 1);
      if (!r.error_occurred) times_[name.substr(0, second)] = r.GetAdjustedRealTime();
    }
  }
  void Finalize() override {
    ConsoleReporter::Finalize();
    std::printf("\n%-8s %14s %14s %8s\n", "", "fork+exec ms", "sandbox ms", "ratio");
    for (const char* kind : {"Warm", "Cold"}) {
      auto f = times_.find(std::string("BM_ForkExec/") + kind);
      auto s = times_.find(std::string("BM_Sandbox/") + kind);
      if (f == times_.end() || s == times_.end()) continue;
      std::printf("%-8s %14.3f %14.3f %7.2fx\n", kind, f->second, s->second, s->second / f->second);
    }
  }

 private:
  std::map<std::string, double> times_;
};

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
