// Limits and accounting on the real kernel (ARCHITECTURE.md, "The container, step by
// step", 6): hostile programs from tests/programs/lim_*.c hit each limit, and the
// measurements of well-behaved ones land where they should. Every run that could
// leak checks the host afterwards: none of its processes, none of its files.
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>

#include <atomic>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <sstream>
#include <string>

#include "common/file_util.h"
#include "tests/sandbox/test_util.h"

namespace judge {
// gtest prints statuses by name.
static void PrintTo(RunStatus s, std::ostream* os) { *os << RunStatusName(s); }
}  // namespace judge

namespace judge::testing {
namespace {

// Runs use host uids from here up (SandboxOptions::uid_base).
constexpr unsigned long kRunUidBase = 2000000000ul;
constexpr long long kMiB = 1ll << 20;

std::string Describe(const RunResult& r) {
  std::ostringstream s;
  s << RunStatusName(r.status) << " exit=" << r.exit_code << " signal=" << r.signal << " ("
    << r.signal_name << ") cpu=" << r.cpu_time_ms << "ms wall=" << r.wall_time_ms
    << "ms mem=" << r.memory_peak_bytes << " (" << r.memory_peak_bytes / kMiB
    << " MiB) out=" << r.output_bytes << " msg='" << r.message << "'";
  return s.str();
}

// A run and how long the whole Run() call took, setup and teardown included.
struct Timed {
  RunResult r;
  double elapsed_ms = 0;
};

Timed RunTimed(const RunSpec& spec) {
  auto t0 = std::chrono::steady_clock::now();
  Timed t;
  t.r = RunIt(spec);
  t.elapsed_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  // The figures are part of the report: print them for every run.
  std::printf("[ measured ] %s elapsed=%.1fms\n", Describe(t.r).c_str(), t.elapsed_ms);
  return t;
}

// Host processes of one run: every lim_* program here gets a unique token among its
// arguments, which its forked children keep (a zombie has no command line, but
// could only be left with a live parent of the run, which has). Matching the token
// rather than every run uid keeps the check exact while other suites, or another
// copy of this one, run containers at the same time.
std::string LeftoverRunProcesses(const std::string& token) {
  std::string found;
  DIR* d = ::opendir("/proc");
  if (!d) return "cannot open /proc";
  while (struct dirent* e = ::readdir(d)) {
    if (std::atoi(e->d_name) <= 0) continue;
    const std::string dir = std::string("/proc/") + e->d_name;
    auto cmd = ReadFile(dir + "/cmdline");
    if (!cmd.ok() || cmd->find(token) == std::string::npos) continue;
    std::ifstream in(dir + "/status");
    std::string line, desc = dir;
    while (std::getline(in, line)) {
      if (line.rfind("Name:", 0) == 0 || line.rfind("State:", 0) == 0 ||
          line.rfind("Uid:", 0) == 0) {
        desc += " " + line;
      }
    }
    found += desc + "\n";
  }
  ::closedir(d);
  return found;
}

// A name no other run or test uses, for files a program creates.
std::string Token() {
  static int counter = 0;
  return "lim-" + std::to_string(::getpid()) + "-" +
         std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()) + "-" +
         std::to_string(++counter);
}

// Entries of host directory `dir` whose name contains `needle` ("" if none or no dir).
std::string HostEntriesContaining(const std::string& dir, const std::string& needle) {
  std::string found;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return found;
  while (struct dirent* e = ::readdir(d)) {
    if (std::string(e->d_name).find(needle) != std::string::npos) {
      found += dir + "/" + e->d_name + "\n";
    }
  }
  ::closedir(d);
  return found;
}

// Where a file a program wrote inside could turn up on the host if the rootfs leaked.
std::string HostFilesNamed(const std::string& token) {
  std::string found;
  for (const char* dir : {"/tmp", "/dev/shm", "/box", "/", "/var/tmp"}) {
    found += HostEntriesContaining(dir, token);
  }
  return found;
}

bool StatusIn(RunStatus s, std::initializer_list<RunStatus> allowed) {
  for (RunStatus a : allowed)
    if (s == a) return true;
  return false;
}

// ---- Crashes ------------------------------------------------------------------------

TEST(SandboxLimits, ExitCodeIsRuntimeError) {
  JUDGE_REQUIRE_SANDBOX();
  Timed t = RunTimed(ProgSpec("lim_crash", {"exit", "3"}));
  EXPECT_EQ(t.r.status, RunStatus::kRuntimeError) << Describe(t.r);
  EXPECT_EQ(t.r.end, RunEnd::kExited);
  EXPECT_EQ(t.r.exit_code, 3);
  EXPECT_EQ(t.r.signal, 0);
  EXPECT_EQ(t.r.signal_name, "");
}

TEST(SandboxLimits, NullDereferenceIsSigsegv) {
  JUDGE_REQUIRE_SANDBOX();
  Timed t = RunTimed(ProgSpec("lim_crash", {"segv"}));
  EXPECT_EQ(t.r.status, RunStatus::kRuntimeError) << Describe(t.r);
  EXPECT_EQ(t.r.end, RunEnd::kExited);
  EXPECT_EQ(t.r.signal, 11);
  EXPECT_EQ(t.r.signal_name, "SIGSEGV");
  EXPECT_EQ(t.r.exit_code, 0);
}

TEST(SandboxLimits, AbortIsSigabrt) {
  JUDGE_REQUIRE_SANDBOX();
  Timed t = RunTimed(ProgSpec("lim_crash", {"abort"}));
  EXPECT_EQ(t.r.status, RunStatus::kRuntimeError) << Describe(t.r);
  EXPECT_EQ(t.r.signal, 6);
  EXPECT_EQ(t.r.signal_name, "SIGABRT");
}

// ---- Processes and threads ----------------------------------------------------------

TEST(SandboxLimits, ForkBombEndsWithinItsLimitsAndLeavesNothing) {
  JUDGE_REQUIRE_SANDBOX();
  const std::string token = Token();
  RunSpec spec = ProgSpec("lim_forkbomb", {token});
  spec.limits.pids = 64;
  spec.limits.cpu_time_s = 1;
  spec.limits.wall_time_s = 3;
  Timed t = RunTimed(spec);
  EXPECT_TRUE(
      StatusIn(t.r.status, {RunStatus::kRuntimeError, RunStatus::kTimeLimit, RunStatus::kOk}))
      << Describe(t.r);
  EXPECT_LE(t.r.wall_time_ms, 3000 + 300) << Describe(t.r);
  // Setup and teardown of 64 processes on top of the wall limit.
  EXPECT_LT(t.elapsed_ms, 3000 + 2000);
  EXPECT_EQ(LeftoverRunProcesses(token), "");
}

TEST(SandboxLimits, ThreadBombStopsAtPidsLimit) {
  JUDGE_REQUIRE_SANDBOX();
  const std::string token = Token();
  RunSpec spec = ProgSpec("lim_threadbomb", {token});
  spec.limits.pids = 32;
  Timed t = RunTimed(spec);
  ASSERT_EQ(t.r.status, RunStatus::kOk) << Describe(t.r) << " stderr: " << t.r.stderr_data;
  int threads = -1;
  char err[32] = "";
  ASSERT_EQ(std::sscanf(t.r.stdout_data.c_str(), "threads %d errno %31s", &threads, err), 2)
      << t.r.stdout_data;
  // The main thread and the new ones are the program's tasks: at most `pids` of them,
  // and the pids limit (not memory, say) is what stopped it.
  EXPECT_LE(threads + 1, spec.limits.pids) << t.r.stdout_data;
  EXPECT_GE(threads + 1, spec.limits.pids - 2) << t.r.stdout_data;
  EXPECT_STREQ(err, "EAGAIN");
  EXPECT_EQ(LeftoverRunProcesses(token), "");
}

TEST(SandboxLimits, DaemonDoesNotOutliveTheRun) {
  JUDGE_REQUIRE_SANDBOX();
  const std::string token = Token();
  Timed t = RunTimed(ProgSpec("lim_daemon", {token}));
  EXPECT_EQ(t.r.status, RunStatus::kOk) << Describe(t.r);
  EXPECT_EQ(t.r.stdout_data, "daemon ready\n");
  // The daemon holds stdout open: the run must end with the main program anyway.
  EXPECT_LT(t.r.wall_time_ms, 1000);
  EXPECT_LT(t.elapsed_ms, 2000);
  EXPECT_EQ(LeftoverRunProcesses(token), "");
}

TEST(SandboxLimits, ManyZombiesAreHarmless) {
  JUDGE_REQUIRE_SANDBOX();
  const std::string token = Token();
  Timed t = RunTimed(ProgSpec("lim_zombies", {"50", token}));
  EXPECT_EQ(t.r.status, RunStatus::kOk) << Describe(t.r);
  EXPECT_EQ(t.r.stdout_data, "forked 50\n");
  EXPECT_EQ(LeftoverRunProcesses(token), "");
}

// ---- Time ---------------------------------------------------------------------------

TEST(SandboxLimits, SpinningThreadsHitCpuLimitBeforeWall) {
  JUDGE_REQUIRE_SANDBOX();
  const std::string token = Token();
  RunSpec spec = ProgSpec("lim_spin_threads", {"8", token});
  spec.limits.cpu_time_s = 1;
  spec.limits.wall_time_s = 10;
  Timed t = RunTimed(spec);
  EXPECT_EQ(t.r.status, RunStatus::kTimeLimit) << Describe(t.r);
  EXPECT_EQ(t.r.end, RunEnd::kCpuTime);
  EXPECT_NE(t.r.message.find("cpu"), std::string::npos) << t.r.message;
  EXPECT_GE(t.r.cpu_time_ms, 1000);
  // CPU time of all threads together: 1 s of it takes ~0.5 s on 2 cores, far from 8 s.
  EXPECT_LT(t.r.wall_time_ms, 4000);
  EXPECT_LT(t.elapsed_ms, 5000);
  EXPECT_EQ(LeftoverRunProcesses(token), "");
}

TEST(SandboxLimits, SleepForeverHitsWallLimit) {
  JUDGE_REQUIRE_SANDBOX();
  const std::string token = Token();
  RunSpec spec = ProgSpec("lim_sleep", {"forever", token});
  spec.limits.cpu_time_s = 1;
  spec.limits.wall_time_s = 1;
  Timed t = RunTimed(spec);
  EXPECT_EQ(t.r.status, RunStatus::kTimeLimit) << Describe(t.r);
  EXPECT_EQ(t.r.end, RunEnd::kWallTime);
  EXPECT_NE(t.r.message.find("wall"), std::string::npos) << t.r.message;
  EXPECT_GE(t.r.wall_time_ms, 1000);
  EXPECT_LT(t.r.wall_time_ms, 1500);
  EXPECT_LT(t.r.cpu_time_ms, 200);  // sleeping, not spinning (emulated VMs are slow)
  EXPECT_LT(t.elapsed_ms, 2500);
  EXPECT_EQ(LeftoverRunProcesses(token), "");
}

TEST(SandboxLimits, CancelEndsARunLongBeforeItsLimits) {
  JUDGE_REQUIRE_SANDBOX();
  const std::string token = Token();
  RunSpec spec = ProgSpec("lim_sleep", {"forever", token});
  spec.limits.cpu_time_s = 30;
  spec.limits.wall_time_s = 30;
  // Cancelled as soon as the container exists, as a job cancelled mid-test would be.
  std::atomic<bool> started{false};
  spec.on_started = [&] { started = true; };
  spec.cancelled = [&] { return started.load(); };
  Timed t = RunTimed(spec);
  EXPECT_EQ(t.r.status, RunStatus::kSandboxError) << Describe(t.r);
  EXPECT_EQ(t.r.end, RunEnd::kCancelled);
  EXPECT_EQ(t.r.message, "cancelled");
  EXPECT_LT(t.elapsed_ms, 10000);
  EXPECT_EQ(LeftoverRunProcesses(token), "");
}

TEST(SandboxLimits, CpuTimeOfHalfSecondSpin) {
  JUDGE_REQUIRE_SANDBOX();
  Timed t = RunTimed(ProgSpec("lim_cpu_spin", {"0.5"}));
  ASSERT_EQ(t.r.status, RunStatus::kOk) << Describe(t.r);
  EXPECT_GE(t.r.cpu_time_ms, 400);
  EXPECT_LE(t.r.cpu_time_ms, 800);
  EXPECT_GE(t.r.wall_time_ms, t.r.cpu_time_ms * 0.9);
  EXPECT_NEAR(t.r.user_time_ms + t.r.system_time_ms, t.r.cpu_time_ms, 1);
}

// ---- A supervisor that is late -------------------------------------------------------
//
// On a busy worker the thread that supervises a run is not always on a CPU when the
// container reports that the program starts or ends. The watcher below makes that
// happen for certain: a separate process that stops this whole test process with
// SIGSTOP as soon as the run's init has taken its host uid (so the parent has already
// said "go"), and continues it once the init has exited (so the program has run and
// ended meanwhile). Only async-signal-safe calls: it is forked from a test process.

int64_t MonoNs() {
  struct timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

// Reads a small /proc file into buf (NUL-terminated); false if it is gone.
bool ReadSmall(const char* path, char* buf, size_t size) {
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  ssize_t n = ::read(fd, buf, size - 1);
  ::close(fd);
  if (n < 0) return false;
  buf[n] = '\0';
  return true;
}

// Exit code 0: it stopped the parent while the run started and continued it after.
[[noreturn]] void WatchAndStall(pid_t parent) {
  const int64_t deadline = MonoNs() + 3'000'000'000LL;
  char path[96], buf[4096];
  std::snprintf(path, sizeof path, "/proc/%d/task/%d/children", parent, parent);
  pid_t init = 0;
  while (init == 0) {  // the run's init: the parent's child that is not this process
    if (MonoNs() > deadline) ::_exit(2);
    if (!ReadSmall(path, buf, sizeof buf)) ::_exit(3);
    for (char* p = buf; *p;) {
      long pid = std::strtol(p, &p, 10);
      if (pid > 0 && pid != ::getpid()) init = static_cast<pid_t>(pid);
      while (*p == ' ') ++p;
      if (pid == 0) break;
    }
  }
  // Real-time while it waits for the moment (the parent writing the id maps and saying
  // "go": well under a millisecond, or some ms when the cgroup v1 migration is slow),
  // so that a busy machine does not make it miss it.
  struct sched_param rt = {};
  rt.sched_priority = 1;
  (void)::sched_setscheduler(0, SCHED_FIFO, &rt);
  std::snprintf(path, sizeof path, "/proc/%d/status", init);
  for (;;) {  // until it has switched to the run's uid: the parent said "go"
    if (MonoNs() > deadline || !ReadSmall(path, buf, sizeof buf)) ::_exit(4);
    const char* uid = std::strstr(buf, "\nUid:");
    if (uid && std::strtoul(uid + 5, nullptr, 10) >= kRunUidBase) break;
  }
  ::kill(parent, SIGSTOP);
  struct sched_param normal = {};
  (void)::sched_setscheduler(0, SCHED_OTHER, &normal);
  // Until the program (the init's child) has exited, or the init itself has.
  char init_stat[64], children[96], program_stat[64] = "";
  std::snprintf(init_stat, sizeof init_stat, "/proc/%d/stat", init);
  std::snprintf(children, sizeof children, "/proc/%d/task/%d/children", init, init);
  auto exited = [](const char* stat) {
    char b[4096];
    if (!ReadSmall(stat, b, sizeof b)) return true;
    const char* close_paren = std::strrchr(b, ')');
    return close_paren && close_paren[1] == ' ' && close_paren[2] == 'Z';
  };
  while (MonoNs() < deadline && !exited(init_stat)) {
    if (program_stat[0] == '\0') {
      long pid = ReadSmall(children, buf, sizeof buf) ? std::strtol(buf, nullptr, 10) : 0;
      if (pid > 0) std::snprintf(program_stat, sizeof program_stat, "/proc/%ld/stat", pid);
    } else if (exited(program_stat)) {
      break;
    }
  }
  ::kill(parent, SIGCONT);
  ::_exit(0);
}

// The wall time runs from the go (just before execve) to exit, so it covers every moment main()
// ran, which the program measures itself on the host's CLOCK_MONOTONIC (there is no time namespace)
// - however late the supervisor gets round to reading the messages.
TEST(SandboxLimits, WallTimeCoversTheProgramEvenWhenTheSupervisorIsLate) {
  JUDGE_REQUIRE_SANDBOX();
  // The watcher finds the init among this thread's children when it switches uid; a
  // warm container's init is the engine thread's, and switched long before the run.
  if (WarmMode()) GTEST_SKIP() << "follows an init made on demand by this thread";
  TestSandbox();  // created before the watcher looks for children
  const pid_t self = ::getpid();
  ASSERT_EQ(::gettid(), self) << "the watcher expects Run on the main thread";
  pid_t watcher = ::fork();
  ASSERT_GE(watcher, 0);
  if (watcher == 0) WatchAndStall(self);
  Timed t = RunTimed(ProgSpec("lim_wall_spin", {"20"}));
  int ws = 0;
  ::waitpid(watcher, &ws, 0);
  ASSERT_TRUE(WIFEXITED(ws) && WEXITSTATUS(ws) == 0)
      << "the watcher did not stall the run (wait status " << ws << ")";
  ASSERT_EQ(t.r.status, RunStatus::kOk) << Describe(t.r);
  long long ran_us = -1;
  ASSERT_EQ(std::sscanf(t.r.stdout_data.c_str(), "ran %lld us", &ran_us), 1) << t.r.stdout_data;
  EXPECT_GE(t.r.wall_time_ms, ran_us / 1000.0)
      << "main() alone ran " << ran_us << " us by the program's own clock";
  EXPECT_LE(t.r.wall_time_ms, ran_us / 1000.0 + 100);
  // One thread: it cannot have used more CPU than the time it existed.
  EXPECT_GE(t.r.wall_time_ms + 1, t.r.cpu_time_ms);
}

TEST(SandboxLimits, WallTimeOfSleep) {
  JUDGE_REQUIRE_SANDBOX();
  Timed t = RunTimed(Spec({"sleep", "0.3"}));
  ASSERT_EQ(t.r.status, RunStatus::kOk) << Describe(t.r);
  EXPECT_GE(t.r.wall_time_ms, 290);
  EXPECT_LE(t.r.wall_time_ms, 1000);
  EXPECT_LT(t.r.cpu_time_ms, 200);  // sleeping, not spinning (emulated VMs are slow)
}

// Teardown is not the program's time either: a program that leaves 200 MiB in its
// /tmp is charged what it spent writing them (its own CPU clock says how much), not
// the freeing of the tmpfs when the container is torn down after it exited.
TEST(SandboxLimits, TeardownTimeIsNotCharged) {
  JUDGE_REQUIRE_SANDBOX();
  RunSpec spec = ProgSpec("lim_file_hog", {"/tmp/leftover", "200"});
  spec.limits.tmpfs_bytes = 256 * kMiB;
  spec.limits.memory_bytes = 512 * kMiB;
  spec.limits.output_bytes = 1024 * kMiB;
  spec.limits.cpu_time_s = 20;  // about accounting, not limits: room for an emulated VM
  Timed t = RunTimed(spec);
  ASSERT_EQ(t.r.status, RunStatus::kOk) << Describe(t.r);
  long long wrote = -1, self_us = -1;
  ASSERT_EQ(std::sscanf(t.r.stdout_data.c_str(), "wrote %lld bytes cpu %lld us", &wrote, &self_us),
            2)
      << t.r.stdout_data;
  EXPECT_EQ(wrote, 200 * kMiB);
  // The program's own clock also counts its time before execve, which the engine
  // leaves out; the slack is for execve, the dynamic loader, exit and noise, and grows
  // by 1% on slow machines (an emulated VM). Freeing 200 MiB of tmpfs costs ~25 ms here.
  EXPECT_LE(t.r.cpu_time_ms, self_us / 1000.0 * 1.01 + 8)
      << "the program measured " << self_us << " us";
}

TEST(SandboxLimits, SetupTimeIsNotCharged) {
  JUDGE_REQUIRE_SANDBOX();
  Timed t = RunTimed(Spec({"/bin/true"}));
  ASSERT_EQ(t.r.status, RunStatus::kOk) << Describe(t.r);
  EXPECT_LT(t.r.cpu_time_ms, 20);
  EXPECT_GE(t.r.cpu_time_ms, 0);
  EXPECT_LT(t.r.wall_time_ms, 100);
}

// ---- Memory -------------------------------------------------------------------------

TEST(SandboxLimits, MemoryPeakOf100MiB) {
  JUDGE_REQUIRE_SANDBOX();
  RunSpec spec = ProgSpec("lim_touch", {"100"});
  spec.limits.memory_bytes = 256 * kMiB;
  Timed t = RunTimed(spec);
  ASSERT_EQ(t.r.status, RunStatus::kOk) << Describe(t.r);
  EXPECT_GE(t.r.memory_peak_bytes, 100 * kMiB);
  EXPECT_LE(t.r.memory_peak_bytes, 120 * kMiB);
}

// A program that never stops asking for memory: memory limit or a crash, never OK or
// a sandbox error, and the peak reached the limit.
void ExpectMemoryHogStopped(const Timed& t, long long limit, const std::string& token) {
  EXPECT_TRUE(StatusIn(t.r.status, {RunStatus::kMemoryLimit, RunStatus::kRuntimeError}))
      << Describe(t.r);
  EXPECT_GE(t.r.memory_peak_bytes, limit * 9 / 10) << Describe(t.r);
  EXPECT_LT(t.elapsed_ms, 5000);
  EXPECT_EQ(LeftoverRunProcesses(token), "");
}

TEST(SandboxLimits, MallocHogIsMemoryLimit) {
  JUDGE_REQUIRE_SANDBOX();
  const std::string token = Token();
  RunSpec spec = ProgSpec("lim_malloc_hog", {token});
  spec.limits.memory_bytes = 64 * kMiB;
  Timed t = RunTimed(spec);
  EXPECT_EQ(t.r.status, RunStatus::kMemoryLimit) << Describe(t.r);
  EXPECT_EQ(t.r.end, RunEnd::kMemory);
  ExpectMemoryHogStopped(t, spec.limits.memory_bytes, token);
}

TEST(SandboxLimits, MmapHogIsMemoryLimit) {
  JUDGE_REQUIRE_SANDBOX();
  const std::string token = Token();
  RunSpec spec = ProgSpec("lim_mmap_hog", {token});
  spec.limits.memory_bytes = 64 * kMiB;
  Timed t = RunTimed(spec);
  EXPECT_EQ(t.r.status, RunStatus::kMemoryLimit) << Describe(t.r);
  ExpectMemoryHogStopped(t, spec.limits.memory_bytes, token);
}

TEST(SandboxLimits, DeepRecursionIsMemoryLimitOrRuntimeError) {
  JUDGE_REQUIRE_SANDBOX();
  const std::string token = Token();
  RunSpec spec = ProgSpec("lim_recurse", {token});
  spec.limits.memory_bytes = 64 * kMiB;
  Timed t = RunTimed(spec);
  EXPECT_TRUE(StatusIn(t.r.status, {RunStatus::kMemoryLimit, RunStatus::kRuntimeError}))
      << Describe(t.r);
  EXPECT_EQ(t.r.stdout_data, "");
  EXPECT_LT(t.elapsed_ms, 5000);
  EXPECT_EQ(LeftoverRunProcesses(token), "");
}

// tmpfs pages are the run's memory: with a large tmpfs and little memory, filling /tmp
// or /dev/shm hits the memory limit, and nothing reaches the host's directories.
TEST(SandboxLimits, TmpfsHogHitsMemoryLimit) {
  JUDGE_REQUIRE_SANDBOX();
  for (const char* dir : {"/tmp", "/dev/shm"}) {
    SCOPED_TRACE(dir);
    const std::string token = Token();
    RunSpec spec = ProgSpec("lim_file_hog", {std::string(dir) + "/" + token});
    spec.limits.memory_bytes = 48 * kMiB;
    spec.limits.tmpfs_bytes = 512 * kMiB;
    spec.limits.output_bytes = 1024 * kMiB;  // RLIMIT_FSIZE out of the way
    Timed t = RunTimed(spec);
    EXPECT_EQ(t.r.status, RunStatus::kMemoryLimit) << Describe(t.r) << " " << t.r.stdout_data;
    EXPECT_GE(t.r.memory_peak_bytes, spec.limits.memory_bytes * 9 / 10);
    EXPECT_EQ(HostFilesNamed(token), "");
    EXPECT_EQ(LeftoverRunProcesses(token), "");
  }
}

// With a small tmpfs, the write fails with ENOSPC inside and the program sees it.
TEST(SandboxLimits, SmallTmpfsGivesEnospc) {
  JUDGE_REQUIRE_SANDBOX();
  for (const char* dir : {"/tmp", "/dev/shm", "/box"}) {
    SCOPED_TRACE(dir);
    const std::string token = Token();
    RunSpec spec = ProgSpec("lim_file_hog", {std::string(dir) + "/" + token, "32"});
    spec.limits.memory_bytes = 256 * kMiB;
    spec.limits.tmpfs_bytes = 8 * kMiB;
    Timed t = RunTimed(spec);
    EXPECT_EQ(t.r.status, RunStatus::kOk) << Describe(t.r);
    long long written = -1;
    char err[32] = "";
    ASSERT_EQ(std::sscanf(t.r.stdout_data.c_str(), "error %31s after %lld bytes", err, &written), 2)
        << t.r.stdout_data;
    EXPECT_STREQ(err, "ENOSPC");
    EXPECT_LE(written, spec.limits.tmpfs_bytes);
    EXPECT_GE(written, spec.limits.tmpfs_bytes / 2);
    EXPECT_EQ(HostFilesNamed(token), "");
  }
}

// ---- Output -------------------------------------------------------------------------

TEST(SandboxLimits, StdoutFloodIsOutputLimit) {
  JUDGE_REQUIRE_SANDBOX();
  const std::string token = Token();
  RunSpec spec = ProgSpec("lim_flood_stdout", {token});
  spec.limits.output_bytes = 1 * kMiB;
  Timed t = RunTimed(spec);
  EXPECT_EQ(t.r.status, RunStatus::kOutputLimit) << Describe(t.r);
  EXPECT_EQ(t.r.end, RunEnd::kOutput);
  EXPECT_GT(t.r.output_bytes, spec.limits.output_bytes);
  // Captured up to the limit, not past it.
  EXPECT_EQ(static_cast<long long>(t.r.stdout_data.size()), spec.limits.output_bytes);
  EXPECT_EQ(t.r.stdout_data.find_first_not_of('x'), std::string::npos);
  EXPECT_LT(t.elapsed_ms, 3000);
  EXPECT_EQ(LeftoverRunProcesses(token), "");
}

TEST(SandboxLimits, FileFloodIsOutputLimit) {
  JUDGE_REQUIRE_SANDBOX();
  const std::string token = Token();
  RunSpec spec = ProgSpec("lim_file_hog", {"/box/" + token});
  spec.limits.output_bytes = 1 * kMiB;
  Timed t = RunTimed(spec);
  EXPECT_EQ(t.r.status, RunStatus::kOutputLimit) << Describe(t.r) << " " << t.r.stdout_data;
  EXPECT_EQ(t.r.signal, SIGXFSZ);
  EXPECT_EQ(t.r.signal_name, "SIGXFSZ");
  EXPECT_EQ(HostFilesNamed(token), "");
  EXPECT_EQ(LeftoverRunProcesses(token), "");
}

// INTERFACES.md: --output is the most bytes written to stdout + stderr + files, all
// together. Each part here is under the limit; the sum is not.
TEST(SandboxLimits, OutputLimitCountsStdoutAndFilesTogether) {
  JUDGE_REQUIRE_SANDBOX();
  RunSpec spec = ShellSpec(
      "head -c 700000 /dev/zero; head -c 700000 /dev/zero > /box/a; "
      "head -c 700000 /dev/zero > /tmp/b");
  spec.limits.output_bytes = 1 * kMiB;
  Timed t = RunTimed(spec);
  EXPECT_EQ(t.r.status, RunStatus::kOutputLimit) << Describe(t.r);
  EXPECT_GE(t.r.output_bytes, 700000);  // stdout alone
}

TEST(SandboxLimits, StdoutToHostFileGetsExactBytes) {
  JUDGE_REQUIRE_SANDBOX();
  TempDir dir;
  const std::string out = dir.path() + "/stdout";
  constexpr long long kBytes = 300000;
  RunSpec spec = ProgSpec("lim_bytes", {std::to_string(kBytes)});
  spec.stdout_stream = Stream::File(out);
  Timed t = RunTimed(spec);
  ASSERT_EQ(t.r.status, RunStatus::kOk) << Describe(t.r);
  EXPECT_EQ(t.r.output_bytes, kBytes);
  EXPECT_EQ(t.r.stdout_data, "");
  std::string expected(kBytes, '\0');
  for (long long i = 0; i < kBytes; ++i) expected[i] = static_cast<char>((i * 7 + 3) & 255);
  std::string got = ReadFileOrDie(out);
  EXPECT_EQ(got.size(), expected.size());
  EXPECT_TRUE(got == expected) << "the host file differs from the program's bytes";
}

}  // namespace
}  // namespace judge::testing
