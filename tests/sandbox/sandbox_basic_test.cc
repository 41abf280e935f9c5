// The engine's basic behaviours on the real kernel: statuses and measurements.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sstream>

#include "sandbox/seccomp.h"
#include "tests/sandbox/test_util.h"

namespace judge::testing {
namespace {

TEST(SandboxBasic, HelloWorldExactOutput) {
  JUDGE_REQUIRE_SANDBOX();
  RunResult r = RunIt(ProgSpec("hello"));
  EXPECT_EQ(r.status, RunStatus::kOk) << r.message;
  EXPECT_EQ(r.end, RunEnd::kExited);
  EXPECT_EQ(r.stdout_data, "hello, world\n");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.output_bytes, 13);
  EXPECT_GT(r.memory_peak_bytes, 0);
}

TEST(SandboxBasic, CpusPinsTheRun) {
  JUDGE_REQUIRE_SANDBOX();
  RunSpec spec = ShellSpec("grep Cpus_allowed_list /proc/self/status");
  spec.cpus = "0";
  RunResult r = RunIt(spec);
  ASSERT_EQ(r.status, RunStatus::kOk) << r.message;
  EXPECT_EQ(r.stdout_data, "Cpus_allowed_list:\t0\n");
}

TEST(SandboxBasic, CpusOutsideTheMachineIsASandboxError) {
  JUDGE_REQUIRE_SANDBOX();
  RunSpec spec = ShellSpec("true");
  spec.cpus = "4095";
  RunResult r = RunIt(spec);
  EXPECT_EQ(r.status, RunStatus::kSandboxError);
  EXPECT_EQ(r.end, RunEnd::kSandboxFailed);
  EXPECT_HAS(r.message, "--cpus 4095");
}

TEST(SandboxBasic, MissingProgramIsASandboxErrorThatSaysWhy) {
  JUDGE_REQUIRE_SANDBOX();
  RunResult r = RunIt(Spec({"no-such-program-here"}));
  EXPECT_EQ(r.status, RunStatus::kSandboxError);
  EXPECT_EQ(r.end, RunEnd::kExecFailed);
  EXPECT_HAS(r.message, "no-such-program-here");
  EXPECT_HAS(r.message, "not found");
}

// Bind sources are opened with the caller's uid, so they may lie below a directory
// that only root may enter (mkdtemp makes it 0700), as a worker's job directory does.
TEST(SandboxBasic, BindSourceBelowARootOnlyDirectory) {
  JUDGE_REQUIRE_SANDBOX();
  TempDir dir;
  ASSERT_EQ(::mkdir((dir.path() + "/data").c_str(), 0755), 0);
  dir.Write("data/note.txt", "reachable\n");
  RunSpec spec = ShellSpec("cat /data/note.txt");
  spec.binds.push_back({dir.path() + "/data", "/data", false});
  RunResult r = RunIt(spec);
  ASSERT_EQ(r.status, RunStatus::kOk) << r.message << r.stderr_data;
  EXPECT_EQ(r.stdout_data, "reachable\n");
}

// vsock reaches past the network namespace (to the hypervisor); it and other rare
// families fail with EAFNOSUPPORT, while unix, inet, inet6 and netlink work.
TEST(SandboxBasic, OnlyCommonSocketFamilies) {
  JUDGE_REQUIRE_SANDBOX();
  RunResult r = RunIt(ProgSpec("sock_family", {"1", "2", "10", "16", "40", "38", "17", "3"}));
  ASSERT_EQ(r.status, RunStatus::kOk) << r.message;
  EXPECT_EQ(r.stdout_data, "1 ok\n2 ok\n10 ok\n16 ok\n40 97\n38 97\n17 97\n3 97\n");
}

// A stdin that is a directory would hand the program the host's tree through
// /proc/self/fd/0; it is refused.
TEST(SandboxBasic, DirectoryAsStdinIsRefused) {
  JUDGE_REQUIRE_SANDBOX();
  RunSpec spec = ShellSpec("cat /proc/self/fd/0/etc/hostname");
  spec.stdin_stream = Stream::File("/");
  RunResult r = RunIt(spec);
  EXPECT_EQ(r.status, RunStatus::kSandboxError);
  EXPECT_HAS(r.message, "is not a file");
}

// Files in, files out: what the program leaves in /box comes back to the host, but only
// regular files directly in it (no links, no subdirectories).
TEST(SandboxBasic, CopyInAndCopyOut) {
  JUDGE_REQUIRE_SANDBOX();
  TempDir dir;
  const std::string in = dir.Write("in.txt", "from the host\n");
  ASSERT_EQ(::mkdir((dir.path() + "/out").c_str(), 0755), 0);
  RunSpec spec = ShellSpec(
      "cat /box/in.txt > /box/out.txt && ln -s /etc/passwd /box/link && mkdir /box/sub && "
      "echo y > /box/sub/y");
  spec.copy_in.push_back({in, "/box/in.txt"});
  spec.copy_out = CopyOut{"/box", dir.path() + "/out"};
  RunResult r = RunIt(spec);
  ASSERT_EQ(r.status, RunStatus::kOk) << r.message << r.stderr_data;
  EXPECT_EQ(r.copy_out_error, "");
  EXPECT_EQ(r.copied_out, (std::vector<std::string>{"in.txt", "out.txt"}));
  EXPECT_EQ(ReadFileOrDie(dir.path() + "/out/out.txt"), "from the host\n");
  struct stat st;
  EXPECT_NE(::lstat((dir.path() + "/out/link").c_str(), &st), 0);
  EXPECT_NE(::lstat((dir.path() + "/out/sub").c_str(), &st), 0);
}

TEST(SandboxBasic, CopyOutIsBounded) {
  JUDGE_REQUIRE_SANDBOX();
  TempDir dir;
  RunSpec spec = ShellSpec("head -c 1000000 /dev/zero > /box/a; head -c 1000000 /dev/zero > /box/b");
  spec.copy_out = CopyOut{"/box", dir.path(), 1500000, 10};
  RunResult r = RunIt(spec);
  ASSERT_EQ(r.status, RunStatus::kOk) << r.message;
  EXPECT_HAS(r.copy_out_error, "more than 1500000 bytes");
  EXPECT_LE(r.copied_out.size(), 1u);
}

// A program that replaces /box by a link to the container's /etc (or anything) gets
// nothing copied: the host never follows a link the program planted.
TEST(SandboxBasic, CopyOutDoesNotFollowAPlantedLink) {
  JUDGE_REQUIRE_SANDBOX();
  TempDir dir;
  RunSpec spec = ShellSpec("cd / && rm -rf /box && ln -s /etc /box");
  spec.copy_out = CopyOut{"/box", dir.path()};
  RunResult r = RunIt(spec);
  ASSERT_EQ(r.status, RunStatus::kOk) << r.message << r.stderr_data;
  EXPECT_HAS(r.copy_out_error, "cannot be opened");
  EXPECT_TRUE(r.copied_out.empty());
}

// A stream given as an fd that is not open is the caller's mistake, said at once.
TEST(SandboxBasic, AStreamFdThatIsNotOpenIsASandboxErrorThatSaysWhich) {
  JUDGE_REQUIRE_SANDBOX();
  RunSpec spec = Spec({"/bin/true"});
  spec.stdout_stream = Stream::Fd(987);
  RunResult r = RunIt(spec);
  EXPECT_EQ(r.status, RunStatus::kSandboxError);
  EXPECT_HAS(r.message, "stdout fd 987");
}

// When Run returns, nothing in the container holds the program's streams any more: a
// reader of its stdout pipe gets everything and then EOF (interactors rely on it).
// (With warm containers, one being made at that moment may still hold a copy of the
// caller's fds, as any process forked then would: until its init's first system call,
// which closes them. There the reader waits for EOF, up to 10 s.)
TEST(SandboxBasic, AStdoutPipeIsAtEofWhenRunReturns) {
  JUDGE_REQUIRE_SANDBOX();
  for (int i = 0; i < 5; ++i) {
    int p[2];
    ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
    RunSpec spec = ShellSpec("echo out");
    spec.stdout_stream = Stream::Fd(p[1]);
    RunResult r = RunIt(spec);
    ::close(p[1]);
    ASSERT_EQ(r.status, RunStatus::kOk) << r.message;
    ASSERT_EQ(::fcntl(p[0], F_SETFL, O_NONBLOCK), 0);
    char buf[64];
    ssize_t n = ::read(p[0], buf, sizeof buf);
    EXPECT_EQ(std::string(buf, n > 0 ? static_cast<size_t>(n) : 0), "out\n");
    if (WarmMode()) {
      struct pollfd pfd = {p[0], POLLIN, 0};
      EXPECT_EQ(::poll(&pfd, 1, 10000), 1);
    }
    n = ::read(p[0], buf, sizeof buf);
    EXPECT_EQ(n, 0) << "a writer is still alive (errno " << errno << ")";
    ::close(p[0]);
  }
}

// The program's process waits for the go with futex and measures itself with
// getrusage; a policy that refuses either is loaded after the go instead (or the
// process would be killed while it waits), and still applies to the program.
TEST(SandboxBasic, FilterThatRefusesTheWaitingCallsStillWorks) {
  JUDGE_REQUIRE_SANDBOX();
  for (const char* call : {"futex", "getrusage"}) {
    auto policy = LoadSeccompPolicy("default");
    ASSERT_TRUE(policy.ok());
    SeccompRule kill;  // kills the process (no notification: the parent would wait)
    kill.action = SeccompAction::kKill;
    kill.syscalls = {call};
    policy->rules.push_back(kill);
    auto filter = CompileSeccomp(*policy, /*use_notify=*/false);
    ASSERT_TRUE(filter.ok()) << filter.status().ToString();
    ASSERT_FALSE(filter->allows_waiting) << call;
    RunSpec spec = Spec({"/bin/true"});
    spec.seccomp = &*filter;
    RunResult r = RunIt(spec);
    EXPECT_EQ(r.status, RunStatus::kOk) << call << ": " << r.message;
    // ... and the filter is the program's: mkdir's errno is seen by the shell.
    spec = Spec({"/bin/sh", "-c", "mkdir /tmp/x 2>/dev/null || echo refused"});
    SeccompRule refuse;
    refuse.action = SeccompAction::kErrno;
    refuse.errno_value = EPERM;
    refuse.syscalls = {"mkdir", "mkdirat"};
    policy->rules.push_back(refuse);
    filter = CompileSeccomp(*policy, /*use_notify=*/false);
    ASSERT_TRUE(filter.ok());
    spec.seccomp = &*filter;
    r = RunIt(spec);
    EXPECT_EQ(r.status, RunStatus::kOk) << call << ": " << r.message;
    EXPECT_EQ(r.stdout_data, "refused\n") << call;
  }
}

// Once its filter is loaded, the program's process makes no call but futex, getrusage
// and execve: the init reports for it. A policy that refuses sending on a socket
// (notified to the parent, which only listens once the run has started) does not
// stall a failed execve's report.
TEST(SandboxBasic, FailedExecveIsReportedWhateverThePolicyRefuses) {
  JUDGE_REQUIRE_SANDBOX();
  auto policy = LoadSeccompPolicy("default");
  ASSERT_TRUE(policy.ok());
  SeccompRule kill;
  kill.action = SeccompAction::kKill;
  kill.syscalls = {"sendto", "sendmsg", "write"};
  policy->rules.push_back(kill);
  auto filter = CompileSeccomp(*policy, SeccompNotifySupported());
  ASSERT_TRUE(filter.ok()) << filter.status().ToString();
  RunSpec spec = Spec({"/no/such/program"});
  spec.seccomp = &*filter;
  RunResult r = RunIt(spec);  // (before, after 30 s: "setup did not finish")
  EXPECT_EQ(r.status, RunStatus::kSandboxError);
  EXPECT_EQ(r.end, RunEnd::kExecFailed);
  EXPECT_HAS(r.message, "cannot execute '/no/such/program'");
}

TEST(SandboxBasic, TraceNamesEveryPhaseInOrder) {
  JUDGE_REQUIRE_SANDBOX();
  RunResult r = RunIt(Spec({"/bin/true"}));
  ASSERT_EQ(r.status, RunStatus::kOk) << r.message;
  std::vector<std::string> names;
  double total = 0;
  for (const auto& [name, ms] : r.trace.phases_ms) {
    names.push_back(name);
    EXPECT_GE(ms, 0) << name;
    total += ms;
  }
  if (WarmMode()) {
    // The container was made ahead: the run takes it, waits until it is built, and
    // lets its program go.
    EXPECT_EQ(names, (std::vector<std::string>{"take", "ready", "exec", "run", "measure",
                                               "teardown", "handoff"}));
  } else {
    EXPECT_EQ(names, (std::vector<std::string>{"slot", "cgroup", "plan", "clone", "ids", "setup",
                                               "exec", "run", "measure", "teardown", "handoff"}));
    EXPECT_HAS(r.trace.Json(), "{\"trace_ms\":{\"slot\":");
  }
  EXPECT_GE(total, r.wall_time_ms * 0.5);  // the phases cover the run
}

// Network namespaces are made ahead but each serves one run: the next run finds
// nothing the previous one listened on, and no trace of its traffic (lo's counters,
// TIME_WAIT sockets) either.
TEST(SandboxBasic, NextRunInTheSlotFindsNothingListening) {
  JUDGE_REQUIRE_SANDBOX();
  RunSpec first = ProgSpec("listen_probe", {"listen"});
  first.loopback = true;
  RunResult r1 = RunIt(first);
  ASSERT_EQ(r1.status, RunStatus::kOk) << r1.message << r1.stderr_data;
  ASSERT_EQ(r1.stdout_data, "listening\n");
  RunSpec second = ProgSpec("listen_probe", {"connect"});
  second.loopback = true;
  RunResult r2 = RunIt(second);
  ASSERT_EQ(r2.status, RunStatus::kOk) << r2.message << r2.stderr_data;
  EXPECT_EQ(r2.stdout_data.find("connected"), std::string::npos) << r2.stdout_data;
  EXPECT_HAS(r2.stdout_data, "refused");
  RunSpec third = ShellSpec("grep lo: /proc/net/dev; grep -c ' 06 ' /proc/net/tcp || true");
  third.loopback = true;
  RunResult r3 = RunIt(third);
  ASSERT_EQ(r3.status, RunStatus::kOk) << r3.message << r3.stderr_data;
  std::istringstream lo(r3.stdout_data);
  std::string name;
  long long rx_bytes = -1;
  lo >> name >> rx_bytes;
  EXPECT_EQ(name, "lo:");
  EXPECT_EQ(rx_bytes, 0) << r3.stdout_data;
  EXPECT_HAS(r3.stdout_data, "\n0\n");  // no TIME_WAIT socket
}

}  // namespace
}  // namespace judge::testing
