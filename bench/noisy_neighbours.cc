// Noisy neighbours (issue #6 item 4): does a hostile run on one CPU change the CPU time
// the judge measures for a well-behaved run on another?
//
//   build/bench/noisy_neighbours [RUNS]     (default 15 runs per phase)
//
// The well-behaved run is a C program doing a fixed amount of pure computation (some
// 250 ms), pinned to CPU 0 (RunSpec.cpus, and the calling thread, as a worker pins its
// slots). It runs RUNS times on an otherwise idle judge, then RUNS times while every
// other CPU is kept busy by hostile runs through the same Sandbox, each in a thread of
// its own pinned to that CPU and restarted as soon as it ends: a fork bomb, a memory
// hog, a tmpfs flood and a CPU spinner, each with the C language's run limits. Then
// RUNS more idle, so that drift of the machine does not land on one side. It prints
// the medians and busy / idle; it asserts nothing (speed is measured, not timed).
#include <pthread.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/file_util.h"
#include "sandbox/profile.h"
#include "sandbox/sandbox.h"
#include "sandbox/seccomp.h"
#include "worker/languages.h"

namespace {

using judge::RunResult;
using judge::RunSpec;
using judge::RunStatus;

// xorshift steps: a dependency chain in registers, the same work every run. The sum is
// printed so that the compiler cannot drop the loop.
const char kWellBehaved[] = R"SRC(
#include <stdio.h>
int main(void) {
  unsigned long long x = 88172645463325252ull, sum = 0;
  for (long i = 0; i < 160000000L; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    sum += x;
  }
  printf("%llu\n", sum);
  return 0;
}
)SRC";

struct Hostile {
  const char* name;
  const char* source;
};

const Hostile kHostile[] = {
    {"fork bomb", "#include <unistd.h>\nint main(void) { for (;;) fork(); }\n"},
    {"memory hog", R"SRC(
#include <stdlib.h>
#include <string.h>
int main(void) {
  for (;;) {
    char* p = malloc(1 << 20);
    if (!p) return 1;
    memset(p, 1, 1 << 20);
  }
}
)SRC"},
    {"tmpfs flood", R"SRC(
#include <signal.h>
#include <stdio.h>
#include <string.h>
static char buf[1 << 20];
int main(void) {
  signal(SIGXFSZ, SIG_IGN);
  memset(buf, 'x', sizeof buf);
  for (int i = 0;; ++i) {
    char name[64];
    snprintf(name, sizeof name, "/tmp/flood%d", i);
    FILE* f = fopen(name, "w");
    if (!f) break;
    size_t n = fwrite(buf, 1, sizeof buf, f);
    if (fclose(f) != 0 || n != sizeof buf) break;
  }
  return 0;
}
)SRC"},
    {"cpu spinner", "int main(void) { for (;;) {} }\n"},
};

void PinThread(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  int rc = ::pthread_setaffinity_np(::pthread_self(), sizeof set, &set);
  if (rc != 0) std::fprintf(stderr, "noisy_neighbours: cannot pin to CPU %d\n", cpu);
}

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

struct Phase {
  std::vector<double> cpu_ms, wall_ms;
};

}  // namespace

int main(int argc, char** argv) {
  const int runs = argc > 1 ? std::atoi(argv[1]) : 15;
  const long ncpus = ::sysconf(_SC_NPROCESSORS_ONLN);
  if (runs < 1 || ncpus < 2) {
    std::fprintf(stderr, "noisy_neighbours: needs RUNS >= 1 and two CPUs or more\n");
    return 1;
  }
  auto sandbox = judge::Sandbox::Create();
  auto languages = judge::LanguageRegistry::Builtin();
  auto profile = judge::LoadSandboxProfile("default");
  auto policy = judge::LoadSeccompPolicy("default");
  if (!sandbox.ok() || !languages.ok() || !profile.ok() || !policy.ok()) {
    std::fprintf(stderr, "noisy_neighbours: %s\n",
                 (!sandbox.ok()     ? sandbox.status()
                  : !languages.ok() ? languages.status()
                  : !profile.ok()   ? profile.status()
                                    : policy.status())
                     .ToString()
                     .c_str());
    return 1;
  }
  auto seccomp = judge::CompileSeccomp(*policy, (*sandbox)->seccomp_notify());
  auto c = languages->Find("c");
  if (!seccomp.ok() || !c.ok()) {
    std::fprintf(stderr, "noisy_neighbours: %s\n",
                 (!seccomp.ok() ? seccomp.status() : c.status()).ToString().c_str());
    return 1;
  }

  // The programs, compiled once on the host with the C profile's compiler flags.
  char dir[] = "/tmp/judge-bench-XXXXXX";
  if (!::mkdtemp(dir) || ::chmod(dir, 0755) != 0) return 1;  // bound at /job: readable
  auto compile = [&](const std::string& name, const std::string& source) {
    const std::string src = std::string(dir) + "/" + name + ".c";
    std::ofstream(src) << source;
    const std::string cmd = "gcc -std=gnu11 -O2 -o " + std::string(dir) + "/" + name + " " + src;
    return std::system(cmd.c_str()) == 0;
  };
  bool compiled = compile("good", kWellBehaved);
  for (size_t i = 0; i < std::size(kHostile); ++i) {
    compiled = compiled && compile("hostile" + std::to_string(i), kHostile[i].source);
  }
  if (!compiled) {
    judge::RemoveTree(dir);
    std::fprintf(stderr, "noisy_neighbours: gcc failed\n");
    return 1;
  }

  // A run as the judge makes it: the default sandbox profile, the C language's run
  // limits, the program bound read-only at /job.
  const judge::v1::Limits& run = (*c)->run_limits();
  auto spec_for = [&](const std::string& program, const std::string& cpus) {
    RunSpec spec = judge::SpecFromProfile(*profile);
    spec.seccomp = &*seccomp;
    spec.limits.cpu_time_s = run.cpu_time_s();
    spec.limits.memory_bytes = run.memory_bytes();
    spec.limits.pids = run.pids();
    spec.limits.output_bytes = run.output_bytes();
    spec.argv = {"/job/" + program};
    spec.binds.push_back({dir, "/job", false});
    spec.stdout_stream = judge::Stream::Capture(4096);
    spec.cpus = cpus;
    return spec;
  };

  PinThread(0);
  const RunSpec good = spec_for("good", "0");
  std::string expected, failure;
  auto measure = [&](Phase* phase) {
    for (int i = 0; i < runs; ++i) {
      RunResult r = (*sandbox)->Run(good);
      if (r.status != RunStatus::kOk) failure = r.message;
      if (expected.empty()) expected = r.stdout_data;
      if (r.stdout_data != expected) failure = "the output changed: " + r.stdout_data;
      phase->cpu_ms.push_back(r.cpu_time_ms);
      phase->wall_ms.push_back(r.wall_time_ms);
    }
  };

  Phase before, busy, after;
  measure(&before);

  // Hostile runs on every other CPU, each kind in a thread of its own per CPU.
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::map<std::string, std::map<std::string, int>> outcomes;  // kind -> status -> count
  std::vector<std::thread> threads;
  for (int cpu = 1; cpu < ncpus; ++cpu) {
    for (size_t i = 0; i < std::size(kHostile); ++i) {
      threads.emplace_back([&, cpu, i] {
        PinThread(cpu);
        const RunSpec spec = spec_for("hostile" + std::to_string(i), std::to_string(cpu));
        while (!stop) {
          RunResult r = (*sandbox)->Run(spec);
          std::lock_guard<std::mutex> lock(mu);
          ++outcomes[kHostile[i].name][judge::RunStatusName(r.status)];
        }
      });
    }
  }
  // Let every hostile kind get going before the first measured run.
  std::this_thread::sleep_for(std::chrono::seconds(1));
  measure(&busy);
  stop = true;
  for (std::thread& t : threads) t.join();

  measure(&after);
  judge::RemoveTree(dir);
  if (!failure.empty()) {
    std::fprintf(stderr, "noisy_neighbours: the well-behaved run failed: %s\n", failure.c_str());
    return 1;
  }

  std::vector<double> idle_cpu = before.cpu_ms, idle_wall = before.wall_ms;
  idle_cpu.insert(idle_cpu.end(), after.cpu_ms.begin(), after.cpu_ms.end());
  idle_wall.insert(idle_wall.end(), after.wall_ms.begin(), after.wall_ms.end());
  std::printf("well-behaved run on CPU 0, hostile runs on CPU 1-%ld, %d runs a phase\n", ncpus - 1,
              runs);
  std::printf("%-20s %14s %14s\n", "phase", "cpu median", "wall median");
  auto row = [](const char* name, const std::vector<double>& cpu, const std::vector<double>& wall) {
    std::printf("%-20s %11.1f ms %11.1f ms\n", name, Median(cpu), Median(wall));
  };
  row("idle, before", before.cpu_ms, before.wall_ms);
  row("busy", busy.cpu_ms, busy.wall_ms);
  row("idle, after", after.cpu_ms, after.wall_ms);
  row("idle, both", idle_cpu, idle_wall);
  const double ratio = Median(busy.cpu_ms) / Median(idle_cpu);
  std::printf("busy / idle cpu time  %.3f (%+.1f%%)\n", ratio, (ratio - 1) * 100);
  std::printf("busy / idle wall time %.3f\n", Median(busy.wall_ms) / Median(idle_wall));
  std::printf("hostile runs while busy:");
  for (const auto& [kind, statuses] : outcomes) {
    std::printf("  %s", kind.c_str());
    for (const auto& [status, count] : statuses) std::printf(" %dx%s", count, status.c_str());
    std::printf(";");
  }
  std::printf("\n");
  return 0;
}
