// Attacks through the judging path (issue #6 item 3): hostile sources, compilers,
// checkers, interactors, solutions, names and problem packages against the real Judger
// and a real Sandbox. Every attack must end with a clear verdict (or a Validate error
// that says what is wrong), within its limits; no byte of a host secret may reach the
// JobResult, nothing may be written on the host, no process may stay behind, and the
// same Judger must then judge a normal job correctly.
//
// The secrets: a marker file in a host temp dir (world-readable, so that only the
// container boundary protects it), an environment variable of this process (a
// container's /proc/1 must not show the judge's environment) and the real /etc/shadow.
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "client/local_job.h"
#include "common/file_util.h"
#include "tests/sandbox/test_util.h"
#include "worker/judging.h"

namespace judge::testing {
namespace {

constexpr long long kMiB = 1 << 20;
constexpr uint32_t kFirstRunUid = 2000000000u;
const char kEnvName[] = "JUDGE_ATTACK_ENV_SECRET";

std::string RandomHex() {
  unsigned char bytes[12];
  std::ifstream("/dev/urandom", std::ios::binary)
      .read(reinterpret_cast<char*>(bytes), sizeof bytes);
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out += kDigits[b >> 4];
    out += kDigits[b & 15];
  }
  return out;
}

// The environment's secret, set before the first container exists.
const std::string& EnvSecret() {
  static const std::string* secret = new std::string("ENV-" + RandomHex());
  return *secret;
}

// The lines of the host's /etc/shadow (we are root); none may appear in a result.
const std::vector<std::string>& ShadowLines() {
  static const std::vector<std::string>* lines = [] {
    auto* out = new std::vector<std::string>;
    std::ifstream in("/etc/shadow");
    for (std::string line; std::getline(in, line);) {
      if (line.size() >= 8) out->push_back(line);
    }
    return out;
  }();
  return *lines;
}

struct ProcInfo {
  int ppid = 0;
  uint32_t uid = 0;
  std::string comm;
};

std::map<int, ProcInfo> Processes() {
  std::map<int, ProcInfo> out;
  DIR* d = ::opendir("/proc");
  if (!d) return out;
  while (struct dirent* e = ::readdir(d)) {
    const int pid = std::atoi(e->d_name);
    if (pid <= 0) continue;
    std::ifstream in(std::string("/proc/") + e->d_name + "/status");
    ProcInfo p;
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("Name:", 0) == 0) p.comm = line.substr(6);
      if (line.rfind("PPid:", 0) == 0) p.ppid = std::atoi(line.c_str() + 5);
      if (line.rfind("Uid:", 0) == 0)
        p.uid = static_cast<uint32_t>(std::strtoul(line.c_str() + 4, nullptr, 10));
    }
    if (in.eof()) out[pid] = p;
  }
  ::closedir(d);
  return out;
}

// Processes of a run's uid that descend from this process. Between our jobs there is
// none: every run of ours has ended. (Other judges on this machine run containers of
// their own at the same time; those are not our descendants.)
std::string OurRunsAlive() {
  std::map<int, ProcInfo> procs = Processes();
  const int self = ::getpid();
  std::string found;
  for (const auto& [pid, p] : procs) {
    if (p.uid < kFirstRunUid) continue;
    int up = p.ppid;
    for (int hops = 0; up > 1 && up != self && hops < 64; ++hops) {
      auto it = procs.find(up);
      up = it == procs.end() ? 0 : it->second.ppid;
    }
    if (up == self) found += std::to_string(pid) + " " + p.comm + "; ";
  }
  return found;
}

std::vector<std::string> ListNames(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return out;
  while (struct dirent* e = ::readdir(d)) {
    const std::string n = e->d_name;
    if (n != "." && n != "..") out.push_back(n);
  }
  ::closedir(d);
  return out;
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

std::string Replace(std::string text, const std::string& key, const std::string& value) {
  for (size_t pos; (pos = text.find(key)) != std::string::npos;)
    text.replace(pos, key.size(), value);
  return text;
}

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// The languages, with variants an attack needs: C++ with tight compile limits (a bomb
// is stopped in 2 s instead of the real profile's 15), and "attack-sh", whose compiler
// is the submission itself, a shell script: the way to test a compiler that forks,
// leaves daemons or plants links, since a real compiler does none of that on purpose.
LanguageRegistry& Languages() {
  static LanguageRegistry* r = [] {
    auto* reg = new LanguageRegistry(std::move(LanguageRegistry::Builtin()).value());
    v1::LanguageProfile tight = *reg->Find("cpp17").value();
    tight.set_name("cpp-tight");
    tight.clear_extensions();
    tight.mutable_compile_limits()->set_cpu_time_s(2);
    tight.mutable_compile_limits()->set_wall_time_s(6);
    tight.mutable_compile_limits()->set_memory_bytes(256 * kMiB);
    reg->Add(tight);
    v1::LanguageProfile sh = *reg->Find("c").value();
    sh.set_name("attack-sh");
    sh.clear_extensions();
    sh.set_source_name("main.sh");
    sh.clear_toolchain();
    sh.add_toolchain("/bin/sh");
    sh.clear_compile();
    sh.add_compile("/bin/sh");
    sh.add_compile("main.sh");
    sh.mutable_compile_limits()->set_cpu_time_s(2);
    sh.mutable_compile_limits()->set_wall_time_s(5);
    sh.mutable_compile_limits()->set_memory_bytes(256 * kMiB);
    reg->Add(sh);
    return reg;
  }();
  return *r;
}

// Checks that hold after the whole binary: no run of ours is alive, and no process of
// a run's uid was left to the host's init (an escaped process).
class Leftovers : public ::testing::Environment {
 public:
  void SetUp() override { ::setenv(kEnvName, EnvSecret().c_str(), 1); }
  void TearDown() override {
    if (!SandboxUnavailableReason().empty()) return;
    TestSandbox().Settle();
    EXPECT_EQ(OurRunsAlive(), "");
    std::string orphans;
    // A container's init dies with its supervisor; allow a moment for any in flight.
    for (int i = 0; i < 30; ++i) {
      orphans.clear();
      for (const auto& [pid, p] : Processes()) {
        if (p.uid >= kFirstRunUid && p.ppid == 1)
          orphans += std::to_string(pid) + " " + p.comm + "; ";
      }
      if (orphans.empty()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    EXPECT_EQ(orphans, "") << "processes of a run's uid left to the host's init";
  }
};
const auto* const kLeftovers = ::testing::AddGlobalTestEnvironment(new Leftovers);

const char kSumC[] = R"SRC(
#include <stdio.h>
int main(void) {
  long long a, b;
  if (scanf("%lld %lld", &a, &b) != 2) return 1;
  printf("%lld\n", a + b);
  return 0;
}
)SRC";

// The guess-the-number interactor of examples/guess, in C (compiles in a fraction of
// the C++ one's time). INPUT holds the secret.
const char kGuessInteractorC[] = R"SRC(
#include <signal.h>
#include <stdio.h>
int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  long long secret, guess;
  FILE* f = argc > 1 ? fopen(argv[1], "r") : NULL;
  if (!f || fscanf(f, "%lld", &secret) != 1) return 3;
  for (int n = 1;; ++n) {
    if (scanf("%lld", &guess) != 1) { fprintf(stderr, "no guess %d\n", n); return 1; }
    if (n > 31 || guess < 1 || guess > 1000000000) {
      fprintf(stderr, "bad guess %d\n", n);
      return 1;
    }
    if (guess == secret) { printf("=\n"); fflush(stdout); return 0; }
    printf(secret < guess ? "<\n" : ">\n");
    fflush(stdout);
  }
}
)SRC";

const char kGuessSolutionC[] = R"SRC(
#include <stdio.h>
int main(void) {
  long long lo = 1, hi = 1000000000;
  char reply[8];
  while (lo <= hi) {
    long long mid = lo + (hi - lo) / 2;
    printf("%lld\n", mid);
    fflush(stdout);
    if (scanf("%7s", reply) != 1 || reply[0] == '=') return 0;
    if (reply[0] == '<') hi = mid - 1; else lo = mid + 1;
  }
  return 0;
}
)SRC";

class Attacks : public ::testing::Test {
 protected:
  void SetUp() override {
    JUDGE_REQUIRE_SANDBOX();
    token_ = RandomHex();
    secret_ = "SECRET-" + RandomHex();
    secret_path_ = secrets_.Write("secret.txt", secret_ + "\n", 0644);
    planted_ = {"/tmp/judge-attack-" + token_, root_.path() + "/planted-" + token_,
                secrets_.path() + "/planted-" + token_};
    JudgeOptions options;
    options.work_root = root_.path();
    options.worker_name = "attacks";
    judger_ = std::make_unique<Judger>(TestSandbox(), Languages(), options);
  }

  // Whatever the attack did, the same Judger judges a normal job right, and the host
  // is as it was.
  void TearDown() override {
    if (!judger_) return;
    v1::JobResult r = judger_->Judge(CJob(kSumC));
    EXPECT_EQ(v1::Verdict_Name(r.verdict()), "AC")
        << "the Judger is no longer usable: " << r.message() << r.compile().log();
    ExpectHostUntouched();
  }

  // The test's host paths and tokens in an attack's text: @SECRET@ the marker file,
  // @ATTACK@ a /tmp path to create, @ROOT@ the Judger's work root (the job directory's
  // parent), @HOSTDIR@ the marker's directory, @TOKEN@ this test's token.
  std::string Sub(std::string text) const {
    const std::pair<const char*, std::string> keys[] = {{"@SECRET@", secret_path_},
                                                        {"@ATTACK@", planted_[0]},
                                                        {"@ROOT@", root_.path()},
                                                        {"@HOSTDIR@", secrets_.path()},
                                                        {"@TOKEN@", token_}};
    for (const auto& [key, value] : keys) text = Replace(std::move(text), key, value);
    return text;
  }

  // A job of one source (its name is the language's source name) and one test of the
  // sum problem, with small limits.
  v1::Job CJob(const std::string& source, const std::string& language = "c") const {
    v1::Job job;
    job.set_id("attack-" + token_);
    job.set_language(language);
    v1::File* f = job.add_sources();
    f->set_name("main.c");
    f->set_content(Sub(source));
    v1::Test* t = job.add_tests();
    t->set_name("1");
    t->set_input("1 2\n");
    t->set_answer("3\n");
    job.mutable_limits()->set_cpu_time_s(0.5);
    job.mutable_limits()->set_memory_bytes(64 * kMiB);
    return job;
  }

  v1::Job WithChecker(v1::Job job, const std::string& checker,
                      v1::Checker::Interface interface = v1::Checker::TESTLIB) const {
    v1::Checker* c = job.mutable_checker();
    c->set_kind(v1::Checker::CUSTOM);
    c->set_interface(interface);
    c->mutable_program()->set_name("checker.c");
    c->mutable_program()->set_content(Sub(checker));
    return job;
  }

  v1::Job GuessJob(const std::string& solution, const std::string& interactor) const {
    v1::Job job = CJob(solution);
    job.mutable_interactor()->set_name("interactor.c");
    job.mutable_interactor()->set_content(Sub(interactor));
    job.mutable_tests(0)->set_input("123456789\n");
    job.mutable_tests(0)->set_answer("");
    return job;
  }

  // Judges with the limits' worth of patience, and checks the result and the host.
  v1::JobResult JudgeWithin(const v1::Job& job, double max_seconds) {
    const auto start = std::chrono::steady_clock::now();
    v1::JobResult r = judger_->Judge(job);
    const double took = SecondsSince(start);
    EXPECT_LT(took, max_seconds) << "the job took " << took << " s";
    // ATTACKS_VERBOSE=1: each attack's outcome, for the record.
    if (std::getenv("ATTACKS_VERBOSE") != nullptr) {
      std::string what = r.message() + " | " + r.compile().log().substr(0, 160);
      for (const v1::TestResult& t : r.tests()) what += " | " + t.checker_message().substr(0, 160);
      for (char& c : what) c = c == '\n' ? ' ' : c;
      std::printf("  %s in %.1f s: %s\n", Verdict(r).c_str(), took, what.c_str());
    }
    ExpectNoLeak(r);
    ExpectHostUntouched();
    return r;
  }

  // No byte of a secret in any field of the result.
  void ExpectNoLeak(const v1::JobResult& r) const {
    const std::string all = r.SerializeAsString();
    EXPECT_EQ(all.find(secret_), std::string::npos)
        << "the marker file leaked: " << r.DebugString();
    EXPECT_EQ(all.find(EnvSecret()), std::string::npos)
        << "the environment leaked: " << r.DebugString();
    for (const std::string& line : ShadowLines()) {
      EXPECT_EQ(all.find(line), std::string::npos) << "a line of /etc/shadow leaked";
    }
  }

  // Nothing created at the host paths the attacks aim at, the job directory gone with
  // nothing beside it, the marker as it was, no run of ours alive.
  void ExpectHostUntouched() const {
    for (const std::string& p : planted_) EXPECT_FALSE(Exists(p)) << p << " was created";
    for (const std::string& n : ListNames("/tmp")) {
      EXPECT_EQ(n.find(token_), std::string::npos) << "/tmp/" << n << " was created";
    }
    EXPECT_EQ(ListNames(root_.path()), std::vector<std::string>{}) << "left in the work root";
    EXPECT_EQ(ListNames(secrets_.path()), std::vector<std::string>{"secret.txt"});
    EXPECT_EQ(ReadFileOrDie(secret_path_), secret_ + "\n");
    TestSandbox().Settle();  // the last run's init is reaped off its critical path
    EXPECT_EQ(OurRunsAlive(), "");
    EXPECT_EQ(HostPidsMatching(token_), std::vector<int>{});
  }

  // A message that quotes a hostile name must still print as one line of text.
  static void ExpectPrintable(const std::string& message) {
    for (unsigned char c : message) {
      EXPECT_FALSE(c < 0x20 || c == 0x7f) << "control character " << int(c) << " in the message";
    }
  }

  static std::string Verdict(const v1::JobResult& r) { return v1::Verdict_Name(r.verdict()); }
  static std::string Explain(const v1::JobResult& r) {
    return "message: " + r.message() + "\ncompile log: " + r.compile().log().substr(0, 2000) +
           "\nchecker: " + (r.tests().empty() ? "" : r.tests(0).checker_message());
  }

  TempDir root_;     // the Judger's work root: the job directories' parent
  TempDir secrets_;  // holds the marker file
  std::string token_, secret_, secret_path_;
  std::vector<std::string> planted_;
  std::unique_ptr<Judger> judger_;
};

// ---------------------------------------------------------------------------------
// Compile time

// Including a host secret reads the container's file system: there is no /etc/shadow,
// no marker file, and the container's init (PID 1) is not readable.
TEST_F(Attacks, IncludeOfHostFilesIsCompilationError) {
  for (const char* path : {"/etc/shadow", "@SECRET@", "/proc/1/environ", "/proc/1/root/etc/shadow",
                           "/proc/1/cwd/@SECRET@", "/proc/self/root/@SECRET@"}) {
    SCOPED_TRACE(path);
    v1::JobResult r =
        JudgeWithin(CJob("#include \"" + std::string(path) + "\"\nint main(void) {}\n"), 10);
    EXPECT_EQ(Verdict(r), "CE") << Explain(r);
    EXPECT_EQ(r.compile().status(), v1::CompileResult::CE);
    EXPECT_EQ(r.tests_size(), 0);
    EXPECT_TRUE(r.compile().log().find("No such file") != std::string::npos ||
                r.compile().log().find("Permission denied") != std::string::npos)
        << r.compile().log();
  }
}

// /dev/urandom is an endless stream of stray bytes: a compile bomb stopped by the
// compile limits (CPU, memory or output), never a hang.
TEST_F(Attacks, IncludeOfDevUrandomIsCompilationError) {
  v1::JobResult r = JudgeWithin(CJob("#include </dev/urandom>\nint main() {}\n", "cpp-tight"), 15);
  EXPECT_EQ(Verdict(r), "CE") << Explain(r);
  EXPECT_EQ(r.compile().status(), v1::CompileResult::CE);
  EXPECT_LE(r.compile().log().size(), 16384u + 100);
}

// 2^40 distinct instantiations (every path of choices is a type of its own): stopped
// by the compile limits (memory, then CPU).
TEST_F(Attacks, TemplateBombIsCompilationError) {
  const char kSource[] = R"SRC(
template <typename A, typename B> struct Pair {};
template <int N, typename T> struct Bomb {
  static constexpr long value =
      Bomb<N - 1, Pair<T, int>>::value + Bomb<N - 1, Pair<T, long>>::value;
};
template <typename T> struct Bomb<0, T> { static constexpr long value = 1; };
int main() { return static_cast<int>(Bomb<40, int>::value); }
)SRC";
  v1::JobResult r = JudgeWithin(CJob(kSource, "cpp-tight"), 15);
  EXPECT_EQ(Verdict(r), "CE") << Explain(r);
  EXPECT_HAS(r.compile().log(), "compilation stopped");
}

// 4 * 10^10 steps of constant evaluation, each loop below GCC's per-loop limit.
TEST_F(Attacks, ConstexprBombIsCompilationError) {
  const char kSource[] = R"SRC(
constexpr long long Spin(long long n) {
  long long s = 0;
  for (long long i = 0; i < n; ++i)
    for (long long j = 0; j < n; ++j) s += i ^ j;
  return s;
}
constexpr long long kValue = Spin(200000);
int main() { return static_cast<int>(kValue & 1); }
)SRC";
  v1::JobResult r = JudgeWithin(CJob(kSource, "cpp-tight"), 15);
  EXPECT_EQ(Verdict(r), "CE") << Explain(r);
  EXPECT_EQ(r.compile().status(), v1::CompileResult::CE);
}

// Two lines of 50000 stray characters: 100000 errors, each quoting its 50 KB line,
// some 5 GB of diagnostics. The real C++ profile stops it at its output limit, and the
// log keeps its bound.
TEST_F(Attacks, CompilerOutputFloodIsCompilationErrorWithABoundedLog) {
  const std::string line(50000, '@');
  v1::JobResult r = JudgeWithin(CJob(line + "\n" + line + "\nint main() {}\n", "cpp17"), 25);
  EXPECT_EQ(Verdict(r), "CE") << Explain(r);
  EXPECT_HAS(r.compile().log(), "compilation stopped: output limit exceeded");
  EXPECT_HAS(r.compile().log(), "(truncated)");
  EXPECT_LE(r.compile().log().size(), 16384u + 100);
}

// A compiler that forks without end: stopped by its limits (pids, then CPU), CE.
TEST_F(Attacks, CompilerForkBombIsCompilationError) {
  const char kSource[] = R"SRC(
bomb() { bomb | bomb & }
bomb
while :; do :; done  # @TOKEN@
)SRC";
  v1::JobResult r = JudgeWithin(CJob(kSource, "attack-sh"), 10);
  EXPECT_EQ(Verdict(r), "CE") << Explain(r);
  EXPECT_EQ(r.compile().status(), v1::CompileResult::CE);
}

// A compiler that produces a good program but leaves daemons behind (one detached
// with setsid, one spinning), meant to write on the host later: they die with the
// compile's container, and the job is judged as usual.
TEST_F(Attacks, CompilerDaemonsDieWithTheCompile) {
  const std::string script = std::string(R"SRC(
cat > prog.c <<'EOF'
)SRC") + kSumC + R"SRC(
EOF
gcc -O2 -o main prog.c || exit 1
setsid sh -c 'sleep 3; echo pwned > @ATTACK@; echo pwned > @ROOT@/planted-@TOKEN@ # @TOKEN@' \
  </dev/null >/dev/null 2>&1 &
nohup sh -c 'while :; do :; done # @TOKEN@' </dev/null >/dev/null 2>&1 &
cat @SECRET@ /etc/shadow /proc/1/environ
echo pwned > @ATTACK@
exit 0
)SRC";
  v1::JobResult r = JudgeWithin(CJob(script, "attack-sh"), 10);
  EXPECT_EQ(Verdict(r), "AC") << Explain(r);
  // The daemon had 3 s to write: give it that long to prove it cannot.
  std::this_thread::sleep_for(std::chrono::milliseconds(3500));
  ExpectHostUntouched();
}

// The compiler's /box is copied out as regular files only: links to host secrets and
// FIFOs are not followed or copied, so "main" is missing and the test cannot run: IE,
// saying so (the compiler claimed success; a real one does not do that).
TEST_F(Attacks, CompilerPlantedLinksAreNotFollowed) {
  const char kSource[] = R"SRC(
ln -s /etc/shadow main
ln -s @SECRET@ secret
ln -s /proc/1/environ environ
mkfifo fifo
exit 0
)SRC";
  v1::JobResult r = JudgeWithin(CJob(kSource, "attack-sh"), 10);
  EXPECT_EQ(Verdict(r), "IE") << Explain(r);
  EXPECT_EQ(r.compile().status(), v1::CompileResult::OK);
  ASSERT_EQ(r.tests_size(), 1);
  EXPECT_HAS(r.tests(0).checker_message(), "cannot execute '/job/main'");
}

// What a compiler hands back is bounded in bytes and in files.
TEST_F(Attacks, CompilerOutputFilesAreBounded) {
  v1::JobResult r =
      JudgeWithin(CJob("truncate -s 130M a && truncate -s 130M b\n", "attack-sh"), 10);
  EXPECT_EQ(Verdict(r), "CE") << Explain(r);
  EXPECT_HAS(r.compile().log(), "the compiler's output cannot be used");
  r = JudgeWithin(CJob("i=0; while [ $i -lt 1100 ]; do : > f$i; i=$((i+1)); done\n", "attack-sh"),
                  10);
  EXPECT_EQ(Verdict(r), "CE") << Explain(r);
  EXPECT_HAS(r.compile().log(), "more than 1000");
}

// ---------------------------------------------------------------------------------
// Checkers

// A checker that spins and one that sleeps for ever, judged at once by the same
// Judger: each is stopped by the checker limits (10 s CPU, 20 s wall) and is IE, the
// judge's problem, not the submission's.
TEST_F(Attacks, CheckerThatHangsIsInternalError) {
  v1::Job spin = WithChecker(CJob(kSumC), "int main(void) { for (;;) {} }\n");
  v1::Job sleep =
      WithChecker(CJob(kSumC), "#include <unistd.h>\nint main(void) { for (;;) pause(); }\n");
  v1::JobResult spun, slept;
  const auto start = std::chrono::steady_clock::now();
  std::thread other([&] { spun = judger_->Judge(spin); });
  slept = judger_->Judge(sleep);
  other.join();
  EXPECT_LT(SecondsSince(start), 30);
  for (const v1::JobResult* r : {&spun, &slept}) {
    ExpectNoLeak(*r);
    EXPECT_EQ(Verdict(*r), "IE") << Explain(*r);
    ASSERT_EQ(r->tests_size(), 1);
    EXPECT_HAS(r->tests(0).checker_message(), "the checker failed: ");
  }
  EXPECT_HAS(spun.tests(0).checker_message(), "cpu time limit exceeded");
  EXPECT_HAS(slept.tests(0).checker_message(), "wall time limit exceeded");
}

TEST_F(Attacks, CheckerThatCrashesIsInternalError) {
  const char kChecker[] = R"SRC(
#include <stdlib.h>
int main(void) { abort(); }
)SRC";
  v1::JobResult r = JudgeWithin(WithChecker(CJob(kSumC), kChecker), 10);
  EXPECT_EQ(Verdict(r), "IE") << Explain(r);
  EXPECT_HAS(r.tests(0).checker_message(), "the checker failed: killed by SIGABRT");
}

// Gigabytes on stdout and on stderr: the checker's output limit stops it, IE, and the
// message keeps its bound.
TEST_F(Attacks, CheckerThatPrintsGigabytesIsBounded) {
  for (const char* stream : {"stdout", "stderr"}) {
    SCOPED_TRACE(stream);
    const char kChecker[] = R"SRC(
#include <stdio.h>
#include <string.h>
static char buf[1 << 16];
int main(void) {
  memset(buf, 'x', sizeof buf);
  for (long i = 0; i < 16384; ++i) fwrite(buf, 1, sizeof buf, @STREAM@);
  return 1;
}
)SRC";
    v1::JobResult r =
        JudgeWithin(WithChecker(CJob(kSumC), Replace(kChecker, "@STREAM@", stream)), 10);
    EXPECT_EQ(Verdict(r), "IE") << Explain(r);
    ASSERT_EQ(r.tests_size(), 1);
    EXPECT_HAS(r.tests(0).checker_message(), "output limit exceeded");
    EXPECT_LE(r.tests(0).checker_message().size(), 1024u + 200);
  }
}

// A checker that reads host secrets and writes host paths, reporting what it got: it
// gets nothing, writes nothing, and its own verdict (WA) stands.
TEST_F(Attacks, CheckerCannotReachTheHost) {
  const char kChecker[] = R"SRC(
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
static int got = 0;
static void Try(const char* path) {
  char buf[512];
  int fd = open(path, O_RDONLY);
  ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf);
  if (n > 0) { ++got; fwrite(buf, 1, (size_t)n, stderr); }
  if (fd >= 0) close(fd);
}
static int Write(const char* path) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0666);
  int wrote = fd >= 0 && write(fd, "pwned\n", 6) == 6;
  if (fd >= 0) close(fd);
  return wrote;
}
int main(void) {
  Try("@SECRET@"); Try("/etc/shadow"); Try("/proc/1/environ"); Try("/proc/1/root/etc/shadow");
  Try("/proc/1/root@SECRET@");
  got += Write("@ROOT@/planted-@TOKEN@") + Write("/data/answer") + Write("/job/main") +
         Write("/proc/1/root@ATTACK@");
  Write("@ATTACK@");  /* the container's own /tmp: allowed, and gone with it */
  fprintf(stderr, "got %d\n", got);
  return 1;
}
)SRC";
  v1::JobResult r = JudgeWithin(WithChecker(CJob(kSumC), kChecker), 10);
  EXPECT_EQ(Verdict(r), "WA") << Explain(r);
  ASSERT_EQ(r.tests_size(), 1);
  EXPECT_EQ(r.tests(0).checker_message(), "got 0\n");
}

// A Kattis validator's feedback directory is copied out as regular files only: a
// judgemessage.txt that links to a secret is not followed (the message falls back to
// stderr), and a huge one is bounded by the validator's tmpfs and not copied (over the
// feedback's 1 MiB): the exit code's verdict stands, without a message.
TEST_F(Attacks, KattisValidatorFeedbackLinksAndFloodsAreHarmless) {
  const char kChecker[] = R"SRC(
#include <stdio.h>
#include <unistd.h>
int main(int argc, char** argv) {
  char path[256];
  snprintf(path, sizeof path, "%s/judgemessage.txt", argv[3]);
  symlink("@SECRET@", path);
  snprintf(path, sizeof path, "%s/teammessage.txt", argv[3]);
  symlink("/etc/shadow", path);
  fputs("plain stderr\n", stderr);
  return 43;
}
)SRC";
  v1::JobResult r = JudgeWithin(WithChecker(CJob(kSumC), kChecker, v1::Checker::KATTIS), 10);
  EXPECT_EQ(Verdict(r), "WA") << Explain(r);
  EXPECT_EQ(r.tests(0).checker_message(), "plain stderr\n");

  const char kChecker2[] = R"SRC(
#include <stdio.h>
#include <string.h>
static char buf[1 << 16];
int main(int argc, char** argv) {
  char path[256];
  snprintf(path, sizeof path, "%s/judgemessage.txt", argv[3]);
  FILE* f = fopen(path, "w");
  memset(buf, 'x', sizeof buf);
  for (long i = 0; f && i < 16384; ++i) fwrite(buf, 1, sizeof buf, f);
  return 42;
}
)SRC";
  r = JudgeWithin(WithChecker(CJob(kSumC), kChecker2, v1::Checker::KATTIS), 10);
  EXPECT_EQ(Verdict(r), "AC") << Explain(r);
  EXPECT_EQ(r.tests(0).checker_message(), "");
}

// ---------------------------------------------------------------------------------
// Interactors

TEST_F(Attacks, InteractorThatCrashesIsInternalError) {
  v1::JobResult r = JudgeWithin(GuessJob(kGuessSolutionC,
                                         "#include <stdlib.h>\n"
                                         "int main(void) { abort(); }\n"),
                                10);
  // The solution sees the end of its input at once and exits 0: the interactor's crash
  // is what went wrong.
  EXPECT_EQ(Verdict(r), "IE") << Explain(r);
  EXPECT_HAS(r.tests(0).checker_message(), "the interactor failed: killed by SIGABRT");
}

// An interactor that never answers: the solution waits for its reply until its wall
// limit. The judge cannot tell this from a solution that forgot to flush (both sides
// wait to read), so it is the solution's TLE, as for examples/guess/submissions/tle.cpp.
TEST_F(Attacks, InteractorThatNeverAnswersEndsInTimeLimit) {
  v1::JobResult r = JudgeWithin(GuessJob(kGuessSolutionC,
                                         "#include <unistd.h>\n"
                                         "int main(void) { for (;;) pause(); }\n"),
                                10);
  EXPECT_EQ(Verdict(r), "TLE") << Explain(r);
}

// An interactor that answers right but never exits: stopped by its own wall limit, and
// IE, since the solution did everything right.
TEST_F(Attacks, InteractorThatHangsAtTheEndIsInternalError) {
  std::string interactor = kGuessInteractorC;
  interactor.replace(interactor.find("return 0; }"), 11, "for (;;) pause(); }");
  interactor = "#include <unistd.h>\n" + interactor;
  v1::JobResult r = JudgeWithin(GuessJob(kGuessSolutionC, interactor), 10);
  EXPECT_EQ(Verdict(r), "IE") << Explain(r);
  EXPECT_HAS(r.tests(0).checker_message(), "the interactor failed: wall time limit exceeded");
}

// An interactor that floods its stderr (kept to 4 KiB): its output limit stops it, IE.
TEST_F(Attacks, InteractorThatFloodsStderrIsInternalError) {
  v1::JobResult r = JudgeWithin(GuessJob(kGuessSolutionC, R"SRC(
#include <stdio.h>
#include <string.h>
static char buf[1 << 16];
int main(void) {
  memset(buf, 'x', sizeof buf);
  for (;;) fwrite(buf, 1, sizeof buf, stderr);
}
)SRC"),
                                10);
  EXPECT_EQ(Verdict(r), "IE") << Explain(r);
  EXPECT_HAS(r.tests(0).checker_message(), "output limit exceeded");
  EXPECT_LE(r.tests(0).checker_message().size(), 1024u + 200);
}

// The interactor reads host secrets and writes host paths, and says what it got as its
// message (WA): nothing.
TEST_F(Attacks, InteractorCannotReachTheHost) {
  v1::JobResult r = JudgeWithin(GuessJob(kGuessSolutionC, R"SRC(
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
int main(void) {
  const char* reads[] = {"@SECRET@", "/etc/shadow", "/proc/1/environ", "/proc/1/root@SECRET@"};
  int got = 0;
  char buf[512];
  for (int i = 0; i < 4; ++i) {
    int fd = open(reads[i], O_RDONLY);
    ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf);
    if (n > 0) { ++got; fwrite(buf, 1, (size_t)n, stderr); }
  }
  const char* writes[] = {"@ROOT@/planted-@TOKEN@", "/data/answer", "/job/main"};
  for (int i = 0; i < 3; ++i) {
    int fd = open(writes[i], O_WRONLY | O_CREAT | O_TRUNC, 0666);
    if (fd >= 0) ++got;
  }
  fprintf(stderr, "got %d\n", got);
  return 1;
}
)SRC"),
                                10);
  EXPECT_EQ(Verdict(r), "WA") << Explain(r);
  EXPECT_EQ(r.tests(0).checker_message(), "got 0\n");
}

// ---------------------------------------------------------------------------------
// A solution against the interactor's pipes

// Binary garbage instead of a guess: the interactor says WA.
TEST_F(Attacks, SolutionWritingGarbageToTheInteractorIsWrongAnswer) {
  const char kSolution[] = R"SRC(
#include <stdio.h>
int main(void) {
  for (unsigned i = 0; i < 1u << 20; ++i) putchar((i * 7919u) & 0xff);
  return 0;
}
)SRC";
  v1::JobResult r = JudgeWithin(GuessJob(kSolution, kGuessInteractorC), 10);
  EXPECT_EQ(Verdict(r), "WA") << Explain(r);
}

// Closing both pipes at once: the interactor sees the end of file, WA. Closing them
// and then sleeping: the solution's wall limit, TLE.
TEST_F(Attacks, SolutionClosingTheInteractorsPipes) {
  const char kSolution[] = R"SRC(
#include <unistd.h>
int main(void) { close(0); close(1); return 0; }
)SRC";
  v1::JobResult r = JudgeWithin(GuessJob(kSolution, kGuessInteractorC), 10);
  EXPECT_EQ(Verdict(r), "WA") << Explain(r);
  const char kSolution2[] = R"SRC(
#include <unistd.h>
int main(void) { close(0); close(1); for (;;) pause(); }
)SRC";
  r = JudgeWithin(GuessJob(kSolution2, kGuessInteractorC), 10);
  EXPECT_EQ(Verdict(r), "TLE") << Explain(r);
}

// Flooding the pipe: with well-formed guesses the interactor stops at guess 32 (WA);
// with white space that never ends in a guess, the solution's time limit ends it (TLE).
TEST_F(Attacks, SolutionFloodingTheInteractorsPipe) {
  const char kSolution[] = R"SRC(
#include <stdio.h>
int main(void) { for (;;) fputs("1\n", stdout); }
)SRC";
  v1::JobResult r = JudgeWithin(GuessJob(kSolution, kGuessInteractorC), 10);
  EXPECT_EQ(Verdict(r), "WA") << Explain(r);
  const char kSolution2[] = R"SRC(
#include <stdio.h>
int main(void) { for (;;) fputs("                ", stdout); }
)SRC";
  r = JudgeWithin(GuessJob(kSolution2, kGuessInteractorC), 10);
  EXPECT_EQ(Verdict(r), "TLE") << Explain(r);
}

// ---------------------------------------------------------------------------------
// Solutions against the host

TEST_F(Attacks, ForkBombIsTimeLimit) {
  const char kSource[] = R"SRC(
#include <unistd.h>
int main(void) { for (;;) fork(); }
)SRC";
  v1::JobResult r = JudgeWithin(CJob(kSource), 10);
  // The pids limit stops the forks; the copies then spin until the CPU limit.
  EXPECT_EQ(Verdict(r), "TLE") << Explain(r);
}

TEST_F(Attacks, MemoryHogIsMemoryLimit) {
  const char kSource[] = R"SRC(
#include <stdlib.h>
#include <string.h>
int main(void) {
  for (;;) {
    char* p = malloc(1 << 20);
    if (!p) return 1;
    memset(p, 1, 1 << 20);
  }
}
)SRC";
  v1::JobResult r = JudgeWithin(CJob(kSource), 10);
  EXPECT_EQ(Verdict(r), "MLE") << Explain(r);
}

// Files in the container's tmpfs (/tmp, /box, /dev/shm) until the writes fail, then
// the right answer: what a run leaves in its tmpfs is output, so past the output limit
// it is OLE whatever it printed. With the languages' default limits the tmpfs (64 MiB)
// is no larger than the output limit (64 MiB): the flood ends in ENOSPC, which the
// program may handle like any error, and its answer decides (AC).
TEST_F(Attacks, TmpfsFloodIsOutputLimit) {
  struct Case {
    const char* dir;
    bool default_limits;
  };
  for (const Case& c :
       {Case{"/tmp", false}, Case{"/box", false}, Case{"/dev/shm", false}, Case{"/tmp", true}}) {
    SCOPED_TRACE(std::string(c.dir) + (c.default_limits ? " with default limits" : ""));
    const char kSource[] = R"SRC(
#include <signal.h>
#include <stdio.h>
#include <string.h>
static char buf[1 << 20];
int main(void) {
  signal(SIGXFSZ, SIG_IGN);
  memset(buf, 'x', sizeof buf);
  for (int i = 0; i < 1000; ++i) {
    char name[64];
    snprintf(name, sizeof name, "@DIR@/flood%d", i);
    FILE* f = fopen(name, "w");
    if (!f) break;
    size_t n = fwrite(buf, 1, sizeof buf, f);
    if (fclose(f) != 0 || n != sizeof buf) break;
  }
  FILE* f = fopen("@ATTACK@", "w");
  if (f) fclose(f);
  long long a, b;
  if (scanf("%lld %lld", &a, &b) != 2) return 1;
  printf("%lld\n", a + b);
  return 0;
}
)SRC";
    v1::Job job = CJob(Replace(kSource, "@DIR@", c.dir));
    job.mutable_limits()->set_memory_bytes(256 * kMiB);
    if (!c.default_limits) job.mutable_limits()->set_output_bytes(16 * kMiB);
    v1::JobResult r = JudgeWithin(job, 10);
    EXPECT_EQ(Verdict(r), c.default_limits ? "AC" : "OLE") << Explain(r);
  }
}

// Everything a solution could try against the host fails, so it prints the right
// answer: AC proves every attempt failed (it prints what it got otherwise).
TEST_F(Attacks, SolutionCannotReachTheHost) {
  const char kSource[] = R"SRC(
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
int main(void) {
  const char* reads[] = {"@SECRET@", "/etc/shadow", "/proc/1/environ", "/proc/1/root/etc/shadow",
                         "/proc/1/root@SECRET@", "/proc/1/cwd/input"};
  int got = 0;
  char buf[512];
  for (int i = 0; i < 6; ++i) {
    int fd = open(reads[i], O_RDONLY);
    ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf);
    if (n > 0) { ++got; fwrite(buf, 1, (size_t)n, stdout); }
  }
  const char* writes[] = {"@ROOT@/planted-@TOKEN@", "/job/main", "/proc/1/root@ATTACK@",
                          "/proc/1/cwd/planted"};
  for (int i = 0; i < 4; ++i) {
    int fd = open(writes[i], O_WRONLY | O_CREAT | O_TRUNC, 0666);
    if (fd >= 0) { ++got; printf("wrote %s\n", writes[i]); }
  }
  int fd = open("@ATTACK@", O_WRONLY | O_CREAT, 0666);  /* the container's own /tmp */
  if (fd >= 0) close(fd);
  long long a, b;
  if (scanf("%lld %lld", &a, &b) != 2) return 1;
  if (got == 0) printf("%lld\n", a + b);
  return 0;
}
)SRC";
  v1::JobResult r = JudgeWithin(CJob(kSource), 10);
  EXPECT_EQ(Verdict(r), "AC") << Explain(r);
}

// ---------------------------------------------------------------------------------
// Oversize sources and tests: refused before anything runs, with the numbers.

TEST_F(Attacks, OversizeSourcesAreRefused) {
  v1::Job job = CJob(kSumC);
  job.mutable_sources(0)->mutable_content()->append((1 << 20) + 1, ' ');
  Status st = judger_->Validate(job);
  EXPECT_HAS(st.ToString(), "more than the 1048576 allowed");
  v1::JobResult r = JudgeWithin(job, 2);
  EXPECT_EQ(Verdict(r), "IE");
  EXPECT_HAS(r.message(), "more than the 1048576 allowed");
  EXPECT_EQ(r.tests_size(), 0);

  // Two sources, each under the limit, together over it.
  job = CJob(kSumC);
  job.mutable_sources(0)->mutable_content()->append(600 << 10, ' ');
  v1::File* second = job.add_sources();
  second->set_name("pad.c");
  second->set_content(std::string(600 << 10, ' '));
  EXPECT_HAS(judger_->Validate(job).ToString(), "allowed");

  // A checker or interactor is a source too.
  job = WithChecker(CJob(kSumC), "int main(void) { return 0; }\n" + std::string(2 << 20, ' '));
  EXPECT_HAS(judger_->Validate(job).ToString(), "the checker has 2097181 bytes, more than the");
  job = GuessJob(kGuessSolutionC, kGuessInteractorC + std::string(2 << 20, ' '));
  EXPECT_HAS(judger_->Validate(job).ToString(), "the interactor has");
  r = JudgeWithin(job, 2);
  EXPECT_EQ(Verdict(r), "IE");
  EXPECT_HAS(r.message(), "more than the 1048576 allowed");
}

TEST_F(Attacks, OversizeTestsAreRefused) {
  // The default bound: 256 MiB of input and answer together.
  v1::Job job = CJob(kSumC);
  job.mutable_tests(0)->mutable_input()->append(128 << 20, '1');
  job.mutable_tests(0)->mutable_answer()->append(128 << 20, '1');
  EXPECT_HAS(judger_->Validate(job).ToString(), "test 1 is larger than 268435456 bytes");
  v1::JobResult r = JudgeWithin(job, 5);
  EXPECT_EQ(Verdict(r), "IE");
  EXPECT_HAS(r.message(), "larger than 268435456 bytes");

  // Smaller bounds of a worker's own, in bytes and in tests.
  JudgeOptions options;
  options.work_root = root_.path();
  options.max_test_bytes = 1000;
  options.max_tests = 3;
  Judger small(TestSandbox(), Languages(), options);
  job = CJob(kSumC);
  job.mutable_tests(0)->set_input(std::string(1001, '1'));
  EXPECT_HAS(small.Validate(job).ToString(), "test 1 is larger than 1000 bytes");
  job = CJob(kSumC);
  for (const char* name : {"2", "3", "4"}) {
    v1::Test* t = job.add_tests();
    *t = job.tests(0);
    t->set_name(name);
  }
  EXPECT_HAS(small.Validate(job).ToString(), "more than 3 tests");
  r = small.Judge(job);
  EXPECT_EQ(Verdict(r), "IE");
  EXPECT_HAS(r.message(), "more than 3 tests");
}

// ---------------------------------------------------------------------------------
// Names

// Every unsafe source name, as the second source (where the name is used as it is) and
// as the only one (where the language's source name replaces it, but it is still
// refused): IE with a message that says what is wrong, before anything is written.
TEST_F(Attacks, UnsafeSourceNamesAreRefused) {
  const std::pair<std::string, std::string> cases[] = {
      {"../../../../tmp/judge-attack-@TOKEN@", "not a plain file name"},
      {"../x.c", "not a plain file name"},
      {"a/b.c", "not a plain file name"},
      {"@ATTACK@", "not a plain file name"},
      {std::string("x\0/../y.c", 9), "control character"},
      {".", "not a plain file name"},
      {"..", "not a plain file name"},
      {"", "not a plain file name"},
      {std::string(256, 'a'), "not a plain file name"},
      {"a\nb.c", "control character"},
      {"-o", "starts with '-' or '@'"},
      {"@args", "starts with '-' or '@'"},
  };
  for (const auto& [raw_name, why] : cases) {
    const std::string name = Sub(raw_name);
    SCOPED_TRACE(name);
    for (bool only : {false, true}) {
      v1::Job job = CJob(kSumC);
      if (only) {
        job.mutable_sources(0)->set_name(name);
      } else {
        v1::File* f = job.add_sources();
        f->set_name(name);
        f->set_content("int pwned;\n");
      }
      EXPECT_HAS(judger_->Validate(job).ToString(), why);
      v1::JobResult r = JudgeWithin(job, 2);
      EXPECT_EQ(Verdict(r), "IE");
      EXPECT_HAS(r.message(), why);
      ExpectPrintable(r.message());
    }
  }
  v1::Job job = CJob(kSumC);
  *job.add_sources() = job.sources(0);
  EXPECT_HAS(judger_->Validate(job).ToString(), "two sources are named main.c");
}

TEST_F(Attacks, UnsafeTestNamesAreRefused) {
  const std::pair<std::string, std::string> cases[] = {
      {"../../../../tmp/judge-attack-@TOKEN@", "not a plain file name"},
      {"a/b", "not a plain file name"},
      {std::string("1\0../x", 6), "control character"},
      {".", "not a plain file name"},
      {"..", "not a plain file name"},
      {"", "not a plain file name"},
      {"a\x1b[2Jb", "control character"},
  };
  for (const auto& [raw_name, why] : cases) {
    const std::string name = Sub(raw_name);
    SCOPED_TRACE(name);
    v1::Job job = CJob(kSumC);
    job.mutable_tests(0)->set_name(name);
    EXPECT_HAS(judger_->Validate(job).ToString(), why);
    v1::JobResult r = JudgeWithin(job, 2);
    EXPECT_EQ(Verdict(r), "IE");
    EXPECT_HAS(r.message(), why);
    ExpectPrintable(r.message());
  }
  v1::Job job = CJob(kSumC);
  *job.add_tests() = job.tests(0);
  EXPECT_HAS(judger_->Validate(job).ToString(), "two tests are named 1");
}

// A checker's or interactor's name only picks its language: the program is saved as
// the language's source name, so a path there leads nowhere.
TEST_F(Attacks, CheckerAndInteractorNamesAreNotPaths) {
  v1::Job job = WithChecker(CJob(kSumC), "int main(void) { return 0; }\n");
  job.mutable_checker()->mutable_program()->set_name(Sub("../../../../tmp/judge-attack-@TOKEN@.c"));
  v1::JobResult r = JudgeWithin(job, 10);
  EXPECT_EQ(Verdict(r), "AC") << Explain(r);
  job = GuessJob(kGuessSolutionC, kGuessInteractorC);
  job.mutable_interactor()->set_name(Sub("../../../../tmp/judge-attack-@TOKEN@.c"));
  r = JudgeWithin(job, 10);
  EXPECT_EQ(Verdict(r), "AC") << Explain(r);
}

// ---------------------------------------------------------------------------------
// Problem packages with symbolic links that lead outside

class PackageLinks : public Attacks {
 protected:
  // A package with one test (1: "1 2" -> "3") and a directory beside it whose files
  // hold the secret, in every shape a package could link to.
  void SetUp() override {
    Attacks::SetUp();
    if (IsSkipped()) return;
    for (const char* d : {"pkg", "pkg/data", "pkg/data/sample", "pkg/data/secret", "out", "out/dir",
                          "out/data", "out/data/secret", "out/validators", "out/vdir"}) {
      ASSERT_EQ(::mkdir((dirs_.path() + "/" + d).c_str(), 0755), 0);
    }
    dirs_.Write("pkg/problem.yaml", "name: links\n");
    dirs_.Write("pkg/data/secret/1.in", "1 2\n");
    dirs_.Write("pkg/data/secret/1.ans", "3\n");
    for (const char* f : {"out/secret.in", "out/secret.ans", "out/dir/s.in", "out/dir/s.ans",
                          "out/data/secret/s.in", "out/data/secret/s.ans"}) {
      dirs_.Write(f, secret_ + "\n");
    }
    const std::string validator = "/* " + secret_ + " */\nint main(void) { return 42; }\n";
    dirs_.Write("out/validators/v.c", validator);
    dirs_.Write("out/vdir/v.c", validator);
    dirs_.Write("out/validator.c", validator);
    dirs_.Write("out/problem.yaml", "name: " + secret_ + "\nvalidation: custom\n");
    dirs_.Write("out/timelimit", "0.001\n");
  }

  void Link(const std::string& target, const std::string& link) {
    ASSERT_EQ(
        ::symlink((dirs_.path() + "/" + target).c_str(), (dirs_.path() + "/pkg/" + link).c_str()),
        0)
        << link;
  }

  // Loads the package: it is refused with a message naming the link, or loaded without
  // a byte from outside. Returns the status.
  Status Load(v1::Job* job) {
    job->set_language("c");
    Status st = LoadProblemPackage(dirs_.path() + "/pkg", Languages(), job);
    EXPECT_EQ(job->SerializeAsString().find(secret_), std::string::npos) << job->DebugString();
    return st;
  }

  TempDir dirs_;
};

TEST_F(PackageLinks, LinkedTestFileIsRefused) {
  Link("out/secret.in", "data/secret/2.in");
  dirs_.Write("pkg/data/secret/2.ans", "3\n");
  v1::Job job;
  EXPECT_HAS(Load(&job).ToString(), "is a symbolic link");
}

TEST_F(PackageLinks, LinkedAnswerFileIsRefused) {
  dirs_.Write("pkg/data/secret/2.in", "1 2\n");
  Link("out/secret.ans", "data/secret/2.ans");
  v1::Job job;
  EXPECT_HAS(Load(&job).ToString(), "is a symbolic link");
}

TEST_F(PackageLinks, LinkedDataDirectoryIsRefused) {
  ASSERT_EQ(::rename((dirs_.path() + "/pkg/data").c_str(), (dirs_.path() + "/pkg/mine").c_str()),
            0);
  Link("out/data", "data");
  v1::Job job;
  EXPECT_HAS(Load(&job).ToString(), "is a symbolic link");
}

TEST_F(PackageLinks, LinkedSampleDirectoryIsRefused) {
  ASSERT_EQ(::rmdir((dirs_.path() + "/pkg/data/sample").c_str()), 0);
  Link("out/dir", "data/sample");
  v1::Job job;
  EXPECT_HAS(Load(&job).ToString(), "is a symbolic link");
}

TEST_F(PackageLinks, LinkedTestGroupIsRefused) {
  Link("out/dir", "data/secret/group");
  v1::Job job;
  EXPECT_HAS(Load(&job).ToString(), "is a symbolic link");
}

TEST_F(PackageLinks, LinkedProblemYamlIsRefused) {
  ASSERT_EQ(::unlink((dirs_.path() + "/pkg/problem.yaml").c_str()), 0);
  Link("out/problem.yaml", "problem.yaml");
  v1::Job job;
  EXPECT_HAS(Load(&job).ToString(), "is a symbolic link");
}

// .timelimit is optional: a link there is not read, and the job keeps no time limit of
// the package's.
TEST_F(PackageLinks, LinkedTimeLimitIsIgnored) {
  Link("out/timelimit", ".timelimit");
  v1::Job job;
  Status st = Load(&job);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(job.limits().cpu_time_s(), 0);
  ASSERT_EQ(job.tests_size(), 1);
  EXPECT_EQ(job.tests(0).input(), "1 2\n");
}

TEST_F(PackageLinks, LinkedOutputValidatorsAreRefused) {
  dirs_.Write("pkg/problem.yaml", "name: links\nvalidation: custom\n");
  Link("out/validators", "output_validators");
  v1::Job job;
  EXPECT_HAS(Load(&job).ToString(), "is a symbolic link");

  ASSERT_EQ(::unlink((dirs_.path() + "/pkg/output_validators").c_str()), 0);
  ASSERT_EQ(::mkdir((dirs_.path() + "/pkg/output_validators").c_str(), 0755), 0);
  Link("out/vdir", "output_validators/v");
  job.Clear();
  EXPECT_HAS(Load(&job).ToString(), "is a symbolic link");

  ASSERT_EQ(::unlink((dirs_.path() + "/pkg/output_validators/v").c_str()), 0);
  Link("out/validator.c", "output_validators/v.c");
  job.Clear();
  EXPECT_HAS(Load(&job).ToString(), "is a symbolic link");

  ASSERT_EQ(::unlink((dirs_.path() + "/pkg/output_validators/v.c").c_str()), 0);
  ASSERT_EQ(::mkdir((dirs_.path() + "/pkg/output_validators/v").c_str(), 0755), 0);
  Link("out/validator.c", "output_validators/v/v.c");
  job.Clear();
  EXPECT_HAS(Load(&job).ToString(), "is a symbolic link");
}

// The package with no link loads, and judges: the fixture itself is sound.
TEST_F(PackageLinks, ThePackageWithoutLinksIsJudged) {
  v1::Job job;
  Status st = Load(&job);
  ASSERT_TRUE(st.ok()) << st.ToString();
  job.add_sources()->set_content(kSumC);
  job.mutable_sources(0)->set_name("main.c");
  v1::JobResult r = JudgeWithin(job, 10);
  EXPECT_EQ(Verdict(r), "AC") << Explain(r);
}

}  // namespace
}  // namespace judge::testing
