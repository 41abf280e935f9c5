// Warm containers (SandboxOptions::warm): containers made ahead of their runs, on the
// real kernel. The engine's other tests run again through warm containers ("warm.*"
// in CTest); these cover what only the pool does: which run gets which container,
// that one run leaves nothing for the next, replaced bind sources, several threads,
// starved builders, and a pool that is dropped.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <future>
#include <sstream>
#include <thread>

#include "common/file_util.h"
#include "tests/sandbox/test_util.h"

namespace judge::testing {
namespace {

std::unique_ptr<Sandbox> WarmSandbox(int warm = 2) {
  SandboxOptions options;
  options.warm = warm;
  auto sb = Sandbox::Create(options);
  if (!sb.ok()) {
    ADD_FAILURE() << sb.status().ToString();
    return nullptr;
  }
  // A warm engine has its spawner here (sandbox/spawner.h).
  for (const std::string& w : (*sb)->warnings())
    EXPECT_EQ(w.find("spawner"), std::string::npos) << w;
  return std::move(sb).value();
}

// This process's live children (of any of its threads) named `comm`.
std::vector<int> ChildrenNamed(const std::string& comm) {
  std::vector<int> out;
  UniqueFd task_dir(::open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!task_dir) return out;
  auto tasks = ListDirectory(task_dir.get());
  if (!tasks.ok()) return out;
  for (const std::string& tid : *tasks) {
    auto children = ReadFile("/proc/self/task/" + tid + "/children");
    if (!children.ok()) continue;
    std::istringstream in(*children);
    std::string child;
    while (in >> child) {
      auto stat = ReadFile("/proc/" + child + "/stat");
      if (!stat.ok()) continue;
      const size_t open = stat->find('('), close = stat->rfind(')');
      if (open == std::string::npos || close == std::string::npos) continue;
      if (stat->compare(close, 3, ") Z") == 0) continue;
      if (stat->substr(open + 1, close - open - 1) == comm) out.push_back(std::stoi(child));
    }
  }
  return out;
}

// A field of /proc/PID/status in kB (RssAnon, ...), or -1.
long StatusKb(int pid, const std::string& field) {
  auto status = ReadFile("/proc/" + std::to_string(pid) + "/status");
  if (!status.ok()) return -1;
  const size_t at = status->find("\n" + field + ":");
  return at == std::string::npos
             ? -1
             : std::strtol(status->c_str() + at + field.size() + 2, nullptr, 10);
}

bool TookWarm(const RunResult& r) {
  for (const auto& [phase, ms] : r.trace.phases_ms) {
    if (phase == "take") return true;
  }
  return false;
}

// Runs `spec` announced ahead, so that it waits for its warm container.
RunResult RunWarm(Sandbox& sb, RunSpec spec, const std::string& input = "") {
  UniqueFd in;
  if (!input.empty()) {
    auto fd = SealedMemfd("judge-warm-test", input);
    if (!fd.ok()) ADD_FAILURE() << fd.status().ToString();
    in = std::move(fd).value();
    spec.stdin_stream = Stream::Fd(in.get());
  }
  sb.Expect(spec);
  return sb.Run(spec);
}

// Processes (of any uid, zombies not counted) that descend from this process: warm
// inits and runs.
std::vector<int> Descendants() {
  std::vector<int> out;
  const std::string self = std::to_string(::getpid());
  std::vector<std::string> frontier = {self};
  while (!frontier.empty()) {
    std::string pid = frontier.back();
    frontier.pop_back();
    UniqueFd task_dir(
        ::open(("/proc/" + pid + "/task").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!task_dir) continue;
    auto tasks = ListDirectory(task_dir.get());
    if (!tasks.ok()) continue;
    for (const std::string& tid : *tasks) {
      auto children = ReadFile("/proc/" + pid + "/task/" + tid + "/children");
      if (!children.ok()) continue;
      std::istringstream in(*children);
      std::string child;
      while (in >> child) {
        auto stat = ReadFile("/proc/" + child + "/stat");
        const size_t paren = stat.ok() ? stat->rfind(')') : std::string::npos;
        if (paren == std::string::npos || stat->compare(paren, 3, ") Z") == 0) continue;
        out.push_back(std::stoi(child));
        frontier.push_back(child);
      }
    }
  }
  return out;
}

// Descendants(), once there are `n` (the engine's thread makes them), or after 10 s.
std::vector<int> AwaitDescendants(size_t n) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  std::vector<int> now = Descendants();
  while (now.size() < n && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    now = Descendants();
  }
  return now;
}

TEST(Warm, EachRunGetsItsOwnStreamsAndResult) {
  JUDGE_REQUIRE_SANDBOX();
  auto sb = WarmSandbox();
  ASSERT_TRUE(sb);
  // One shape; what each run does comes from its stdin.
  RunSpec spec = ShellSpec("read n; echo \"got $n\"; echo \"err $n\" >&2; exit $n");
  for (int n = 0; n < 6; ++n) {
    RunResult r = RunWarm(*sb, spec, std::to_string(n) + "\n");
    EXPECT_TRUE(TookWarm(r)) << n << ": " << r.trace.Json();
    EXPECT_EQ(r.status, n == 0 ? RunStatus::kOk : RunStatus::kRuntimeError) << r.message;
    EXPECT_EQ(r.exit_code, n);
    EXPECT_EQ(r.stdout_data, "got " + std::to_string(n) + "\n");
    EXPECT_EQ(r.stderr_data, "err " + std::to_string(n) + "\n");
  }
}

// Warm containers are made by a thread at SCHED_BATCH; the program runs with the
// normal policy (field 41 of /proc/PID/stat: 0 is SCHED_OTHER, 3 SCHED_BATCH).
TEST(Warm, TheProgramRunsWithTheNormalSchedulingPolicy) {
  JUDGE_REQUIRE_SANDBOX();
  auto sb = WarmSandbox();
  ASSERT_TRUE(sb);
  for (int i = 0; i < 3; ++i) {
    RunResult r = RunWarm(*sb, ShellSpec("awk '{print $41}' /proc/self/stat /proc/1/stat"));
    EXPECT_TRUE(TookWarm(r)) << r.trace.Json();
    EXPECT_EQ(r.stdout_data, "0\n0\n") << r.message << r.stderr_data;
  }
}

// A warm container is made by the engine's thread, whose CPUs may be another slot's: the
// program runs on the CPUs of the thread that runs it, as one made on demand would
// (judge-worker pins each slot's thread to its CPU).
TEST(Warm, TheProgramRunsOnTheCallersCpus) {
  JUDGE_REQUIRE_SANDBOX();
  cpu_set_t all;
  ASSERT_EQ(::sched_getaffinity(0, sizeof all, &all), 0);
  std::vector<int> cpus;
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (CPU_ISSET(c, &all)) cpus.push_back(c);
  }
  if (cpus.size() < 2) GTEST_SKIP() << "needs two CPUs to pin threads apart";
  auto sb = WarmSandbox(4);
  ASSERT_TRUE(sb);
  auto pinned = [&](int cpu, const RunSpec& spec, int runs) {
    std::vector<std::string> seen;
    std::thread t([&] {
      cpu_set_t one;
      CPU_ZERO(&one);
      CPU_SET(cpu, &one);
      if (::sched_setaffinity(0, sizeof one, &one) != 0) return;
      for (int i = 0; i < runs; ++i) {
        RunResult r = RunWarm(*sb, spec);
        seen.push_back(r.stdout_data + (TookWarm(r) ? "" : " (on demand)"));
      }
    });
    t.join();
    return seen;
  };
  // The first runs start the engine's thread from a thread pinned to one CPU.
  const std::string query = "grep Cpus_allowed_list /proc/self/status | cut -f2";
  pinned(cpus[0], ShellSpec(query + "; true"), 2);
  const std::string mine = std::to_string(cpus[1]) + "\n";
  for (const std::string& out : pinned(cpus[1], ShellSpec(query), 3)) EXPECT_EQ(out, mine);
  // Made on demand (a run with files copied in never takes a warm container), its init
  // cloned by the spawner, which has every CPU: the same.
  TempDir dir;
  RunSpec copy = ShellSpec(query);
  copy.copy_in.push_back({dir.Write("f", "x"), "/box/f"});
  for (const std::string& out : pinned(cpus[1], copy, 2)) EXPECT_EQ(out, mine + " (on demand)");
}

// Whatever a run leaves in its container (files, processes) is gone for the next run
// of the same shape: each container serves one run.
TEST(Warm, ARunLeavesNothingForTheNext) {
  JUDGE_REQUIRE_SANDBOX();
  auto sb = WarmSandbox();
  ASSERT_TRUE(sb);
  RunSpec spec = ShellSpec(
      "ls -A /tmp /box /dev/shm; cat /proc/[0-9]*/comm | grep -c sleep; echo $$; "
      "touch /tmp/left /box/left /dev/shm/left; (sleep 60 &)");
  std::string first;
  for (int i = 0; i < 4; ++i) {
    RunResult r = RunWarm(*sb, spec);
    ASSERT_EQ(r.status, RunStatus::kOk) << r.message << r.stderr_data;
    EXPECT_TRUE(TookWarm(r)) << r.trace.Json();
    // Empty directories, no sleep left by a run before, the shell is pid 2.
    if (i == 0) first = r.stdout_data;
    EXPECT_EQ(r.stdout_data, first);
    EXPECT_EQ(first.find("left"), std::string::npos) << first;
  }
  EXPECT_NE(first.find("\n0\n2\n"), std::string::npos) << first;
}

// A warm container has its binds mounted; a run whose bind source is no longer that
// file (removed and made again under the same name) gets a container made for it.
TEST(Warm, AReplacedBindSourceIsNotServedFromAnOldContainer) {
  JUDGE_REQUIRE_SANDBOX();
  auto sb = WarmSandbox();
  ASSERT_TRUE(sb);
  TempDir dir;
  const std::string data = dir.path() + "/data";
  ASSERT_EQ(::mkdir(data.c_str(), 0755), 0);
  dir.Write("data/v", "one\n");
  RunSpec spec = ShellSpec("cat /data/v");
  spec.binds.push_back({data, "/data", false});
  RunResult r = RunWarm(*sb, spec);
  ASSERT_EQ(r.stdout_data, "one\n") << r.message;
  r = RunWarm(*sb, spec);
  ASSERT_EQ(r.stdout_data, "one\n") << r.message;
  EXPECT_TRUE(TookWarm(r));
  // Containers for the next runs are made now, with the first directory bound.
  sb->Expect(spec);
  RemoveTree(data);
  ASSERT_EQ(::mkdir(data.c_str(), 0755), 0);
  dir.Write("data/v", "two\n");
  for (int i = 0; i < 3; ++i) {
    r = sb->Run(spec);
    EXPECT_EQ(r.status, RunStatus::kOk) << r.message << r.stderr_data;
    EXPECT_EQ(r.stdout_data, "two\n") << i;
  }
}

TEST(Warm, OnlyARunOfTheSameShapeTakesAContainer) {
  JUDGE_REQUIRE_SANDBOX();
  auto sb = WarmSandbox(4);
  ASSERT_TRUE(sb);
  RunSpec a = ShellSpec("echo a");
  RunResult r = RunWarm(*sb, a);
  EXPECT_TRUE(TookWarm(r)) << r.trace.Json();
  // Streams, callbacks and the copy-out are the run's own: the same shape.
  RunSpec same = a;
  same.stdout_stream = Stream::Capture(100);
  same.cancelled = [] { return false; };
  r = sb->Run(same);
  EXPECT_TRUE(TookWarm(r)) << r.trace.Json();
  EXPECT_EQ(r.stdout_data, "a\n");
  // Each differs from `a` in one thing that goes into the container.
  std::vector<RunSpec> others(6, a);
  others[0].argv.back() = "echo b";
  others[1].env.push_back("EXTRA=1");
  others[2].limits.memory_bytes += 4096;
  others[3].hostname = "other";
  others[4].binds.push_back({JUDGE_TEST_PROGRAMS_DIR, "/more", false});
  others[5].seccomp = nullptr;
  for (size_t i = 0; i < others.size(); ++i) {
    r = sb->Run(others[i]);  // not announced: nothing of its shape is made ahead
    EXPECT_EQ(r.status, RunStatus::kOk) << i << ": " << r.message;
    EXPECT_FALSE(TookWarm(r)) << i << " ran in a container made for another shape";
  }
  // Runs that need their own slot or files copied in are always made on demand.
  RunSpec copy = a;
  TempDir dir;
  copy.copy_in.push_back({dir.Write("f", "x"), "/box/f"});
  r = RunWarm(*sb, copy);
  EXPECT_EQ(r.status, RunStatus::kOk) << r.message;
  EXPECT_FALSE(TookWarm(r));
}

// A stream given as the caller's fd (a pipe) reaches the warm container's program,
// and on_started tells the caller it may close its ends.
TEST(Warm, PipesAndOnStarted) {
  JUDGE_REQUIRE_SANDBOX();
  auto sb = WarmSandbox();
  ASSERT_TRUE(sb);
  for (int i = 0; i < 3; ++i) {
    int in[2];
    ASSERT_EQ(::pipe2(in, O_CLOEXEC), 0);
    RunSpec spec = Spec({"/bin/cat"});
    spec.stdin_stream = Stream::Fd(in[0]);
    std::atomic<bool> started{false};
    spec.on_started = [&] {
      started = true;
      ::close(in[0]);
      const std::string line = "line " + std::to_string(i) + "\n";
      EXPECT_EQ(::write(in[1], line.data(), line.size()), static_cast<ssize_t>(line.size()));
      ::close(in[1]);
    };
    sb->Expect(spec);
    RunResult r = sb->Run(spec);
    EXPECT_TRUE(started);
    EXPECT_EQ(r.status, RunStatus::kOk) << r.message;
    EXPECT_EQ(r.stdout_data, "line " + std::to_string(i) + "\n");
  }
}

TEST(Warm, ThreadsRunTheSameShapeAtOnce) {
  JUDGE_REQUIRE_SANDBOX();
  auto sb = WarmSandbox(4);
  ASSERT_TRUE(sb);
  const RunSpec spec = ShellSpec("read x; echo \"$x\"");
  std::atomic<int> wrong{0}, warm{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        const std::string token = "t" + std::to_string(t) + "-" + std::to_string(i);
        RunResult r = RunWarm(*sb, spec, token + "\n");
        if (r.status != RunStatus::kOk || r.stdout_data != token + "\n") ++wrong;
        if (TookWarm(r)) ++warm;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(wrong, 0);
  // A run may find the container its announcement asked for taken by the other
  // thread's run, and make its own; most are warm.
  EXPECT_GT(warm, 25);
}

// A run waits for the container being made for it (rather than make another), and
// a busy machine does not starve the making (at the engine's own priority).
TEST(Warm, ARunWaitingForItsContainerIsNotStarvedByABusyMachine) {
  JUDGE_REQUIRE_SANDBOX();
  auto sb = WarmSandbox();
  ASSERT_TRUE(sb);
  std::atomic<bool> stop{false};
  std::vector<std::thread> hogs;
  const unsigned cpus = std::max(1u, std::thread::hardware_concurrency());
  for (unsigned i = 0; i < cpus; ++i) {
    hogs.emplace_back([&] {
      while (!stop) {
      }
    });
  }
  const RunSpec spec = ShellSpec("echo ok");
  int warm = 0;
  for (int i = 0; i < 5; ++i) {
    RunResult r = RunWarm(*sb, spec);
    EXPECT_EQ(r.stdout_data, "ok\n") << r.message;
    warm += TookWarm(r) ? 1 : 0;
  }
  stop = true;
  for (std::thread& t : hogs) t.join();
  // Starved (at idle priority, some ms of making take a good part of a second here),
  // a run gives up waiting after 100 ms and makes its own container.
  EXPECT_EQ(warm, 5);
}

// A container not taken goes after a while (2 s): it holds a slot, a cgroup and its
// namespaces.
TEST(Warm, AContainerNotTakenGoes) {
  JUDGE_REQUIRE_SANDBOX();
  auto sb = WarmSandbox();
  ASSERT_TRUE(sb);
  const std::vector<int> before = Descendants();
  RunResult r = RunWarm(*sb, ShellSpec("true"));  // then two more are made
  ASSERT_EQ(r.status, RunStatus::kOk) << r.message;
  sb->Settle();  // the run's own init reaped: what is left are warm containers
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  bool seen = false;
  while (std::chrono::steady_clock::now() < deadline) {
    const size_t n = Descendants().size();
    if (n > before.size()) seen = true;
    if (seen && n == before.size()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(seen) << "no warm container was made";
  EXPECT_EQ(Descendants(), before) << "the unused containers are still there after 20 s";
}

// The program's process of a warm container waits for the go; killed meanwhile (from
// outside: it does nothing itself), its run is an SE that says so, not a hang, and
// the next run is fine.
TEST(Warm, AProgramProcessKilledBeforeItsGoMakesAnSe) {
  JUDGE_REQUIRE_SANDBOX();
  auto sb = WarmSandbox(1);
  ASSERT_TRUE(sb);
  const std::vector<int> before = Descendants();  // the spawner among them
  const RunSpec spec = ShellSpec("echo ran");
  ASSERT_EQ(RunWarm(*sb, spec).status, RunStatus::kOk);
  sb->Settle();
  // The next container of the shape: its init and the program's process.
  const std::vector<int> now = AwaitDescendants(before.size() + 2);
  ASSERT_EQ(now.size(), before.size() + 2) << "the warm container was not made";
  int waiting = 0;
  for (int pid : now) {  // the new one whose parent is another descendant
    if (std::find(before.begin(), before.end(), pid) != before.end()) continue;
    const std::string proc = "/proc/" + std::to_string(pid);
    auto stat = ReadFile(proc + "/stat");
    if (!stat.ok()) continue;
    const int ppid = std::atoi(stat->c_str() + stat->rfind(')') + 4);
    if (std::find(now.begin(), now.end(), ppid) == now.end()) continue;
    // Once it waits for the go (blocked in futex) and its init for the streams (in
    // recvmsg), the container is ready: killed earlier, the container would fail while
    // being made, and the run make its own.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    auto in = [](const std::string& proc_dir, long nr) {
      auto call = ReadFile(proc_dir + "/syscall");
      return call.ok() && call->rfind(std::to_string(nr) + " ", 0) == 0;
    };
    const std::string init = "/proc/" + std::to_string(ppid);
    while (!(in(proc, SYS_futex) && in(init, SYS_recvmsg)) &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ASSERT_TRUE(in(proc, SYS_futex) && in(init, SYS_recvmsg)) << "the container never got ready";
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    // Dead (a zombie until its init reaps it) before the run comes.
    do {
      stat = ReadFile(proc + "/stat");
    } while (stat.ok() && stat->compare(stat->rfind(')'), 3, ") Z") != 0 &&
             std::chrono::steady_clock::now() < deadline);
    ++waiting;
  }
  ASSERT_EQ(waiting, 1);
  RunResult r = sb->Run(spec);
  EXPECT_TRUE(TookWarm(r)) << r.trace.Json();
  EXPECT_EQ(r.status, RunStatus::kSandboxError);
  EXPECT_HAS(r.message, "ended before its start");
  r = RunWarm(*sb, spec);
  EXPECT_EQ(r.status, RunStatus::kOk) << r.message;
  EXPECT_EQ(r.stdout_data, "ran\n");
}

// A warm engine's inits are cloned by its spawner, a small process of their own, not
// from the engine: the engine's memory is not copied into each of them (a worker that
// holds a big job would pay for it on every test, and every init would hold the job),
// and they are the engine's children all the same (CLONE_PARENT).
TEST(Warm, InitsAreClonedFromTheSpawnerNotFromTheEngine) {
  JUDGE_REQUIRE_SANDBOX();
  std::vector<char> heap(64 << 20, 'x');  // touched: in every init cloned from here
  auto sb = WarmSandbox(1);
  ASSERT_TRUE(sb);
  const std::vector<int> spawner = ChildrenNamed("judge-spawner");
  ASSERT_EQ(spawner.size(), 1u);
  EXPECT_LT(StatusKb(spawner[0], "RssAnon"), 16 << 10);
  // It holds its socket, its own network namespace and /dev/null: nothing of this
  // process's (this test's stdout and stderr included).
  const std::string fd_dir = "/proc/" + std::to_string(spawner[0]) + "/fd";
  UniqueFd fds(::open(fd_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  ASSERT_TRUE(fds);
  auto names = ListDirectory(fds.get());
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(names->size(), 5u);
  for (const char* std_fd : {"/0", "/1", "/2"}) {
    char target[64] = {};
    EXPECT_GT(::readlink((fd_dir + std_fd).c_str(), target, sizeof target - 1), 0);
    EXPECT_STREQ(target, "/dev/null") << std_fd;
  }
  ASSERT_EQ(RunWarm(*sb, ShellSpec("true")).status, RunStatus::kOk);
  sb->Settle();
  // The next container's init, waiting for its run.
  std::vector<int> inits;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while ((inits = ChildrenNamed("judge-init")).empty() &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_FALSE(inits.empty()) << "no warm container, or its init is not this process's child";
  for (int pid : inits) {
    const long kb = StatusKb(pid, "RssAnon");
    EXPECT_GE(kb, 0);
    EXPECT_LT(kb, 16 << 10) << "init " << pid << " holds this process's 64 MiB: cloned from here";
  }
  EXPECT_EQ(heap[heap.size() / 2], 'x');
  // The run taken in it is as any other.
  RunResult r = RunWarm(*sb, ShellSpec("echo ran"));
  EXPECT_EQ(r.status, RunStatus::kOk) << r.message;
  EXPECT_EQ(r.stdout_data, "ran\n");
}

// A spawner that dies (killed from outside) is not needed: the engine clones its inits
// itself from then on, and says nothing to the runs.
TEST(Warm, AnEngineWhoseSpawnerDiedClonesItsInitsItself) {
  JUDGE_REQUIRE_SANDBOX();
  auto sb = WarmSandbox(1);
  ASSERT_TRUE(sb);
  const std::vector<int> spawner = ChildrenNamed("judge-spawner");
  ASSERT_EQ(spawner.size(), 1u);
  ASSERT_EQ(::kill(spawner[0], SIGKILL), 0);
  for (int i = 0; i < 4; ++i) {
    RunResult r = RunWarm(*sb, ShellSpec("echo ran"));
    EXPECT_EQ(r.status, RunStatus::kOk) << r.message;
    EXPECT_EQ(r.stdout_data, "ran\n");
  }
  EXPECT_TRUE(ChildrenNamed("judge-spawner").empty());
}

// Dropping a warm engine does not wait for a child this process forked meanwhile
// (which holds copies of the engine's fds) to end.
TEST(Warm, DroppingThePoolDoesNotWaitForAForkedChild) {
  JUDGE_REQUIRE_SANDBOX();
  auto sb = WarmSandbox(1);
  ASSERT_TRUE(sb);
  ASSERT_EQ(RunWarm(*sb, ShellSpec("true")).status, RunStatus::kOk);
  int hold[2];
  ASSERT_EQ(::pipe(hold), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {  // every fd of this process's, until the test lets it go
    char c;
    ::close(hold[1]);
    while (::read(hold[0], &c, 1) < 0 && errno == EINTR) {
    }
    ::_exit(0);
  }
  ::close(hold[0]);
  auto dropped = std::async(std::launch::async, [&] { sb.reset(); });
  const bool done = dropped.wait_for(std::chrono::seconds(30)) == std::future_status::ready;
  ::close(hold[1]);  // the child goes
  ::waitpid(child, nullptr, 0);
  dropped.wait();
  EXPECT_TRUE(done) << "~Sandbox waited for the forked child";
}

// A pool dropped with containers ready and on their way leaves no process behind (and
// the leftovers check after the suite finds no mount or cgroup of theirs).
TEST(Warm, DroppingThePoolLeavesNothing) {
  JUDGE_REQUIRE_SANDBOX();
  const std::vector<int> before = Descendants();
  {
    auto sb = WarmSandbox(4);
    ASSERT_TRUE(sb);
    const RunSpec spec = ShellSpec("true");
    RunResult r = RunWarm(*sb, spec);
    ASSERT_EQ(r.status, RunStatus::kOk) << r.message;
    sb->Expect(ShellSpec("echo other"));
    sb->Settle();  // the run's own init reaped: what is left are warm containers
    // Two more of the run's shape and the announced one, each an init and its
    // program's process waiting for the go, and the spawner: wait (up to 10 s).
    const size_t made = before.size() + 3 * 2 + 1;
    EXPECT_EQ(AwaitDescendants(made).size(), made) << "the warm containers were not made";
  }
  EXPECT_EQ(Descendants(), before);
}

}  // namespace
}  // namespace judge::testing
