// Start-up latency of the container engine, measured against the floor: a plain
// fork + execve + wait of the same program from the same process.
//
//   build/bench/startup_bench                 # all, with a ratio summary at the end
//   build/bench/startup_bench --benchmark_filter=Idle
//
// BM_Sandbox makes each container on demand; BM_SandboxWarm is the engine as
// judge-worker runs it, with warm containers (each made while the run before runs).
// "BackToBack" runs follow each other at once; "Idle" ones sleep 50 ms (not timed)
// before each run, as tests that come one by one: cgroup v1 task migration is ~15 ms
// when no migration happened in the last ~20 ms, and a warm container is ready.
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
  std::unique_ptr<Sandbox> sandbox, warm;
  judge::SeccompProgram seccomp;
  RunSpec spec;
  std::string error;

  Engine() {
    auto sb = Sandbox::Create();
    judge::SandboxOptions options;
    options.warm = 2;
    auto warm_sb = Sandbox::Create(options);
    if (!sb.ok() || !warm_sb.ok()) {
      error = (sb.ok() ? warm_sb.status() : sb.status()).ToString();
      return;
    }
    sandbox = std::move(sb).value();
    warm = std::move(warm_sb).value();
    auto profile = judge::LoadSandboxProfile("default");
    auto compiled = judge::LoadAndCompileSeccomp("default", judge::SeccompNotifySupported());
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

void RunEngine(benchmark::State& state, bool cold, bool warm) {
  Engine& e = Engine::Get();
  if (!e.sandbox) {
    state.SkipWithError(e.error.c_str());
    return;
  }
  Sandbox& sb = warm ? *e.warm : *e.sandbox;
  for (auto _ : state) {
    Idle(state, cold);
    RunResult r = sb.Run(e.spec);
    if (r.status != judge::RunStatus::kOk) {
      state.SkipWithError(r.message.c_str());
      return;
    }
  }
}

void BM_Sandbox(benchmark::State& state, bool cold) { RunEngine(state, cold, false); }
void BM_SandboxWarm(benchmark::State& state, bool cold) { RunEngine(state, cold, true); }

BENCHMARK_CAPTURE(BM_ForkExec, BackToBack, false)->Unit(benchmark::kMillisecond)->MinTime(2);
BENCHMARK_CAPTURE(BM_Sandbox, BackToBack, false)->Unit(benchmark::kMillisecond)->MinTime(2);
BENCHMARK_CAPTURE(BM_SandboxWarm, BackToBack, false)->Unit(benchmark::kMillisecond)->MinTime(2);
BENCHMARK_CAPTURE(BM_ForkExec, Idle, true)->Unit(benchmark::kMillisecond)->Iterations(40);
BENCHMARK_CAPTURE(BM_Sandbox, Idle, true)->Unit(benchmark::kMillisecond)->Iterations(40);
BENCHMARK_CAPTURE(BM_SandboxWarm, Idle, true)->Unit(benchmark::kMillisecond)->Iterations(40);

// Prints the usual table, then each engine figure as a ratio to fork+exec.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  RatioReporter() : ConsoleReporter(OO_Tabular) {}
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& r : runs) {
      // "BM_Sandbox/BackToBack/min_time:2.000" -> "BM_Sandbox/BackToBack"
      std::string name = r.benchmark_name();
      size_t second = name.find('/', name.find('/') + 1);
      if (!r.error_occurred) times_[name.substr(0, second)] = r.GetAdjustedRealTime();
    }
  }
  void Finalize() override {
    ConsoleReporter::Finalize();
    std::printf("\n%-11s %13s %22s %22s\n", "", "fork+exec ms", "on demand ms (ratio)",
                "warm ms (ratio)");
    for (const char* kind : {"BackToBack", "Idle"}) {
      auto f = times_.find(std::string("BM_ForkExec/") + kind);
      if (f == times_.end()) continue;
      std::printf("%-11s %13.3f", kind, f->second);
      for (const char* engine : {"BM_Sandbox/", "BM_SandboxWarm/"}) {
        auto s = times_.find(std::string(engine) + kind);
        if (s == times_.end()) {
          std::printf(" %22s", "-");
        } else {
          std::printf(" %13.3f (%5.2fx)", s->second, s->second / f->second);
        }
      }
      std::printf("\n");
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
