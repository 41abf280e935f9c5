// judge-worker against a broker played by the test: a ROUTER socket of its own, real
// ZeroMQ over TCP, the real judge-worker binary judging in real containers. Waits are
// polls with deadlines; nothing sleeps to synchronise.
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <set>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "protocol/frame.h"
#include "protocol/judge.pb.h"
#include "protocol/wire.h"
#include "tests/sandbox/test_util.h"
#include "worker/judging.h"
#include "worker/languages.h"

namespace judge::testing {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using namespace std::chrono_literals;

// Judging in containers on a busy 2-core machine: deadlines for "it happens" are long,
// those for "it does not happen" short.
constexpr auto kJudged = 60s;
constexpr auto kStarted = 30s;

struct Msg {
  std::string peer;  // the worker connection's routing id
  std::string verb;
  std::string encoding;
  std::string body;
  template <typename M>
  M As() const {
    M m;
    Frame f{verb, encoding, body};
    Status st = DecodeBody(f, &m);
    EXPECT_TRUE(st.ok()) << verb << ": " << st.ToString();
    return m;
  }
};

// The broker's side of docs/PROTOCOL.md, as far as a test needs it.
class TestBroker {
 public:
  TestBroker() : socket_(context_, zmq::socket_type::router) {
    socket_.set(zmq::sockopt::linger, 0);
    socket_.bind("tcp://127.0.0.1:*");
    endpoint_ = LastEndpoint(socket_);
  }
  const std::string& endpoint() const { return endpoint_; }

  // Heartbeats are counted and not returned by Next; answered while `answer` is true
  // (only those of `answer_peer`, when it is set).
  bool answer = true;
  std::string answer_peer;
  int heartbeats = 0;

  // The next message other than a heartbeat, or nothing by the deadline.
  std::optional<Msg> Next(Clock::duration timeout) {
    const auto deadline = Clock::now() + timeout;
    while (true) {
      std::vector<std::string> parts;
      if (!RecvParts(socket_, &parts, zmq::recv_flags::dontwait)) {
        const auto left = deadline - Clock::now();
        if (left <= 0s) return std::nullopt;
        zmq::pollitem_t item = {socket_.handle(), 0, ZMQ_POLLIN, 0};
        zmq::poll(&item, 1, std::chrono::ceil<milliseconds>(left));
        continue;
      }
      EXPECT_GE(parts.size(), 2u);
      if (parts.size() < 2) continue;
      std::string peer = parts[0];
      parts.erase(parts.begin());
      auto frame = ParseFrame(std::move(parts), size_t{1} << 30);
      EXPECT_TRUE(frame.ok()) << frame.status().ToString();
      if (!frame.ok()) continue;
      if (frame->verb == verb::kHeartbeat) {
        ++heartbeats;
        if (answer && (answer_peer.empty() || answer_peer == peer)) {
          Send(peer, verb::kHeartbeat, v1::Empty());
        }
        continue;
      }
      return Msg{peer, frame->verb, frame->encoding, frame->body};
    }
  }

  // The next message with this verb; any other fails the test.
  Msg Expect(std::string_view verb, Clock::duration timeout) {
    auto m = Next(timeout);
    if (!m) {
      ADD_FAILURE() << "no " << verb << " in time";
      return Msg{};
    }
    EXPECT_EQ(m->verb, verb) << "a " << m->verb << " came instead of " << verb;
    return *m;
  }

  void Send(const std::string& peer, std::string_view verb, const google::protobuf::Message& m,
            std::string_view encoding = kEncodingProtobuf) {
    ASSERT_TRUE(SendMessage(socket_, peer, verb, encoding, m).ok());
  }
  void SendRaw(std::vector<std::string> parts) { SendParts(socket_, parts); }

 private:
  zmq::context_t context_;
  zmq::socket_t socket_;
  std::string endpoint_;
};

// The judge-worker binary as a child process, killed and reaped when it goes out of
// scope; its stdout and stderr go to a file, shown when the test failed.
class WorkerProcess {
 public:
  explicit WorkerProcess(std::vector<std::string> args) : log_(dir_.path() + "/worker.log") {
    args.insert(args.begin(), JUDGE_WORKER_BIN);
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const int out = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    const int in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    pid_ = ::fork();
    if (pid_ == 0) {
      // Dies with the test, whatever happens to it.
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      ::dup2(in, 0);
      ::dup2(out, 1);
      ::dup2(out, 2);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(out);
    ::close(in);
    pidfd_ = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
  }
  ~WorkerProcess() {
    if (!status_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (pidfd_ >= 0) ::close(pidfd_);
    if (::testing::Test::HasFailure()) std::cerr << "judge-worker's output:\n" << Log();
  }
  WorkerProcess(const WorkerProcess&) = delete;
  WorkerProcess& operator=(const WorkerProcess&) = delete;

  void Signal(int sig) { ::kill(pid_, sig); }

  // The exit status, once it exited within the timeout.
  std::optional<int> WaitExit(Clock::duration timeout) {
    if (status_) return status_;
    struct pollfd p = {pidfd_, POLLIN, 0};
    const int ms = static_cast<int>(std::chrono::ceil<milliseconds>(timeout).count());
    if (::poll(&p, 1, ms) != 1) return std::nullopt;
    int status = 0;
    if (::waitpid(pid_, &status, 0) != pid_) return std::nullopt;
    status_ = status;
    return status_;
  }
  // The exit status, while the broker keeps answering heartbeats; any other message
  // fails the test, but for PROGRESS when it may come.
  std::optional<int> WaitExit(TestBroker& broker, Clock::duration timeout,
                              bool progress_may_come = false) {
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      if (auto st = WaitExit(0s)) return st;
      auto m = broker.Next(20ms);
      if (m && !(progress_may_come && m->verb == verb::kProgress)) {
        ADD_FAILURE() << "an unexpected " << m->verb;
      }
    }
    return std::nullopt;
  }

  std::string Log() const { return ReadFileOrDie(log_); }

 private:
  TempDir dir_;
  std::string log_;
  pid_t pid_ = -1;
  int pidfd_ = -1;
  std::optional<int> status_;
};

v1::Job PythonJob(const std::string& id, const std::string& source) {
  v1::Job job;
  job.set_id(id);
  job.set_language("python3");
  v1::File* f = job.add_sources();
  f->set_name("main.py");
  f->set_content(source);
  job.mutable_limits()->set_cpu_time_s(5);
  job.mutable_limits()->set_wall_time_s(20);
  return job;
}

// Two tests, the second one's answer wrong: AC then WA.
v1::Job SumJob(const std::string& id) {
  v1::Job job = PythonJob(id, "a, b = map(int, input().split())\nprint(a + b)\n");
  v1::Test* t = job.add_tests();
  t->set_name("1");
  t->set_input("1 2\n");
  t->set_answer("3\n");
  t = job.add_tests();
  t->set_name("2");
  t->set_input("2 2\n");
  t->set_answer("5\n");
  return job;
}

// `tests` tests that each sleep `seconds` of wall time (little CPU) and pass.
v1::Job SleepJob(const std::string& id, double seconds, int tests = 1) {
  v1::Job job =
      PythonJob(id, "import time\ntime.sleep(" + std::to_string(seconds) + ")\nprint(input())\n");
  for (int i = 0; i < tests; ++i) {
    v1::Test* t = job.add_tests();
    t->set_name(std::to_string(i + 1));
    t->set_input("ok\n");
    t->set_answer("ok\n");
  }
  return job;
}

bool DirIsEmpty(const std::string& path) {
  DIR* d = ::opendir(path.c_str());
  if (!d) return false;
  int n = 0;
  while (struct dirent* e = ::readdir(d)) {
    if (std::string(e->d_name) != "." && std::string(e->d_name) != "..") ++n;
  }
  ::closedir(d);
  return n == 0;
}

class WorkerServiceTest : public ::testing::Test {
 protected:
  void SetUp() override { JUDGE_REQUIRE_SANDBOX(); }

  // Starts a worker on the test broker (job directories in a work root of the test's).
  void Start(std::vector<std::string> args, int heartbeat_ms = 100) {
    // No compile cache: every job compiles, and nothing stays on the machine.
    args.insert(args.end(), {"--broker", broker_.endpoint(), "--work-root", work_.path(),
                             "--heartbeat-ms", std::to_string(heartbeat_ms),
                             "--compile-cache", ""});
    worker_.emplace(std::move(args));
  }

  // The first READY of a connection.
  Msg FirstReady() {
    Msg m = broker_.Expect(verb::kReady, kStarted);
    EXPECT_FALSE(m.As<v1::WorkerReady>().name().empty()) << "not a first READY";
    return m;
  }

  // SIGTERM with nothing running: READY draining, DISCONNECT, exit 0, nothing left.
  void StopGracefully() {
    worker_->Signal(SIGTERM);
    v1::WorkerReady ready = broker_.Expect(verb::kReady, kStarted).As<v1::WorkerReady>();
    EXPECT_TRUE(ready.draining());
    EXPECT_EQ(ready.free_slots(), 0);
    broker_.Expect(verb::kDisconnect, kStarted);
    ExpectCleanExit();
  }

  void ExpectCleanExit() {
    auto status = worker_->WaitExit(broker_, kStarted);
    ASSERT_TRUE(status.has_value()) << "judge-worker did not exit";
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << "status " << *status;
    EXPECT_TRUE(DirIsEmpty(work_.path())) << "job directories left in " << work_.path();
  }

  TestBroker broker_;
  TempDir work_;
  std::optional<WorkerProcess> worker_;
};

// The hook CANCEL uses: asked before each test, it stops the job there.
TEST(JudgerCancelTest, StopsBeforeTheNextTest) {
  JUDGE_REQUIRE_SANDBOX();
  auto languages = LanguageRegistry::Builtin();
  ASSERT_TRUE(languages.ok()) << languages.status().ToString();
  TempDir work;
  JudgeOptions options;
  options.work_root = work.path();
  Judger judger(TestSandbox(), *languages, options);
  int progressed = 0;
  v1::JobResult r = judger.Judge(
      SleepJob("stop", 0, 5), [&](const v1::TestResult&) { ++progressed; },
      [&] { return progressed >= 2; });
  EXPECT_EQ(progressed, 2);
  EXPECT_EQ(r.verdict(), v1::IE);
  EXPECT_HAS(r.message(), "cancelled");
  EXPECT_EQ(r.tests_size(), 2) << "only the tests judged before";
  EXPECT_TRUE(DirIsEmpty(work.path()));
  // Cancelled before it starts: nothing is compiled.
  r = judger.Judge(SumJob("never"), nullptr, [] { return true; });
  EXPECT_EQ(r.verdict(), v1::IE);
  EXPECT_EQ(r.compile().status(), v1::CompileResult::STATUS_UNSPECIFIED);
}

TEST(WorkerOptionsTest, BadOptionsExit2WithOneLine) {
  for (std::vector<std::string> args : {std::vector<std::string>{"--slots", "0"},
                                        {"--encoding", "xml"},
                                        {"--bogus"},
                                        {"--heartbeat-ms"},
                                        {"--work-root", "/nonexistent/dir"},
                                        {"--broker", "tcp://nowhere"},
                                        {"--exec-max-writable", "lots"},
                                        {"extra"}}) {
    WorkerProcess w(args);
    auto status = w.WaitExit(kStarted);
    ASSERT_TRUE(status.has_value());
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 2) << args[0];
    const std::string log = w.Log();
    EXPECT_EQ(log.rfind("judge-worker: ", 0), 0u) << log;
    EXPECT_EQ(std::count(log.begin(), log.end(), '\n'), 1) << log;
  }
}

TEST(WorkerOptionsTest, HelpListsTheOptions) {
  WorkerProcess w({"--help"});
  auto status = w.WaitExit(kStarted);
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0);
  for (const char* o :
       {"--broker", "--slots", "--name", "--heartbeat-ms", "--work-root", "--encoding",
        "--exec-max-writable"}) {
    EXPECT_HAS(w.Log(), o);
  }
}

TEST_F(WorkerServiceTest, FirstReadySaysWhoItIsAndHeartbeatsFollow) {
  Start({"--slots", "2", "--name", "tester"});
  v1::WorkerReady ready = FirstReady().As<v1::WorkerReady>();
  EXPECT_EQ(ready.name(), "tester");
  EXPECT_EQ(ready.slots(), 2);
  EXPECT_EQ(ready.free_slots(), 2);
  EXPECT_TRUE(ready.running().empty());
  EXPECT_FALSE(ready.draining());
  std::set<std::string> languages(ready.languages().begin(), ready.languages().end());
  EXPECT_TRUE(languages.count("python3")) << "python3 is on this machine";
  EXPECT_TRUE(languages.count("c")) << "gcc is on this machine";
  EXPECT_TRUE(languages.count("exec")) << "exec jobs run wherever the sandbox does";

  // Heartbeats every 100 ms: about 10 in a second, and nothing else.
  const int before = broker_.heartbeats;
  auto m = broker_.Next(1s);
  EXPECT_FALSE(m.has_value()) << "an unexpected " << m->verb;
  EXPECT_GE(broker_.heartbeats - before, 5);
  EXPECT_HAS(worker_->Log(), "judge-worker: connected to " + broker_.endpoint() + ", 2 slots");
  StopGracefully();
}

class JudgesAJob : public WorkerServiceTest, public ::testing::WithParamInterface<std::string> {};

TEST_P(JudgesAJob, ProgressPerTestThenDoneThenReady) {
  const std::string encoding = GetParam();
  Start({"--slots", "1", "--name", "w", "--encoding", encoding});
  Msg ready = FirstReady();
  EXPECT_EQ(ready.encoding, encoding);
  broker_.Send(ready.peer, verb::kJob, SumJob("sum-1"), encoding);

  for (int index : {0, 1}) {
    Msg m = broker_.Expect(verb::kProgress, kJudged);
    EXPECT_EQ(m.encoding, encoding);
    v1::TestResult t = m.As<v1::TestResult>();
    EXPECT_EQ(t.job_id(), "sum-1");
    EXPECT_EQ(t.index(), index);
    EXPECT_EQ(t.verdict(), index == 0 ? v1::AC : v1::WA);
  }
  v1::JobResult done = broker_.Expect(verb::kDone, kJudged).As<v1::JobResult>();
  EXPECT_EQ(done.job_id(), "sum-1");
  EXPECT_EQ(v1::Verdict_Name(done.verdict()), "WA");
  ASSERT_EQ(done.tests_size(), 2);
  EXPECT_EQ(done.tests(0).verdict(), v1::AC);
  EXPECT_EQ(done.tests(1).verdict(), v1::WA);
  EXPECT_EQ(done.worker(), "w/0");
  v1::WorkerReady credit = broker_.Expect(verb::kReady, kStarted).As<v1::WorkerReady>();
  EXPECT_EQ(credit.free_slots(), 1);
  EXPECT_TRUE(credit.name().empty()) << "only a connection's first READY names the worker";
  EXPECT_HAS(worker_->Log(), "judge-worker: job sum-1 verdict WA in ");
  StopGracefully();
}

INSTANTIATE_TEST_SUITE_P(Encodings, JudgesAJob, ::testing::Values("pb", "mp"));

TEST_F(WorkerServiceTest, JobsItCannotJudgeStillGetAnAnswer) {
  Start({"--slots", "1"});
  Msg ready = FirstReady();
  // A language it does not have: judged as IE, with the reason, and the slot is free.
  v1::Job job = SumJob("cobol-1");
  job.set_language("cobol");
  broker_.Send(ready.peer, verb::kJob, job);
  v1::JobResult done = broker_.Expect(verb::kDone, kJudged).As<v1::JobResult>();
  EXPECT_EQ(done.job_id(), "cobol-1");
  EXPECT_EQ(done.verdict(), v1::IE);
  EXPECT_HAS(done.message(), "cobol");
  EXPECT_EQ(broker_.Expect(verb::kReady, kStarted).As<v1::WorkerReady>().free_slots(), 1);

  // A JOB whose body is not a Job: a line in the log, the credit given back.
  broker_.SendRaw({ready.peer, "JDG1", "JOB", "pb", "\xff\xff\xff"});
  EXPECT_EQ(broker_.Expect(verb::kReady, kStarted).As<v1::WorkerReady>().free_slots(), 1);
  // Not a frame at all: a line in the log, and it goes on.
  broker_.SendRaw({ready.peer, "hello"});
  broker_.Send(ready.peer, verb::kJob, SumJob("sum-2"));
  EXPECT_EQ(broker_.Expect(verb::kProgress, kJudged).As<v1::TestResult>().job_id(), "sum-2");
  EXPECT_EQ(broker_.Expect(verb::kProgress, kJudged).As<v1::TestResult>().job_id(), "sum-2");
  EXPECT_EQ(broker_.Expect(verb::kDone, kJudged).As<v1::JobResult>().verdict(), v1::WA);
  broker_.Expect(verb::kReady, kStarted);
  EXPECT_HAS(worker_->Log(), "a JOB that cannot be taken");
  EXPECT_HAS(worker_->Log(), "a malformed message from the broker");
  StopGracefully();
}

TEST_F(WorkerServiceTest, ReconnectsAfterSilenceAndDeliversWhatFinishedMeanwhile) {
  Start({"--slots", "1"});
  Msg ready = FirstReady();
  broker_.Send(ready.peer, verb::kJob, SleepJob("slow", 1.0));

  // The broker goes silent: after 3 heartbeats (300 ms) the worker drops the connection
  // and comes back on a new one (a new routing id), telling of the job it still runs.
  // It finishes the job meanwhile and sends its DONE to a connection nobody answers.
  broker_.answer = false;
  std::set<std::string> peers = {ready.peer};
  bool told_running = false, done_sent = false;
  const auto deadline = Clock::now() + kJudged;
  while (!done_sent && Clock::now() < deadline) {
    auto m = broker_.Next(deadline - Clock::now());
    if (!m) break;
    const v1::WorkerReady r =
        m->verb == verb::kReady ? m->As<v1::WorkerReady>() : v1::WorkerReady();
    if (!r.name().empty()) {
      EXPECT_TRUE(peers.insert(m->peer).second) << "a first READY on an old connection";
      for (const std::string& id : r.running()) {
        told_running = told_running || id == "slow";
      }
    }
    done_sent = m->verb == verb::kDone;
  }
  ASSERT_TRUE(done_sent) << "the job did not finish";
  EXPECT_GE(peers.size(), 2u) << "the worker did not reconnect";
  EXPECT_TRUE(told_running) << "no first READY listed the running job";

  // Still silent until the next new connection, which the broker then answers: its
  // first READY (nothing running, the slot free), then the DONE on that connection.
  std::optional<Msg> fresh;
  while (!fresh && Clock::now() < deadline) {
    auto m = broker_.Next(deadline - Clock::now());
    if (!m) break;
    if (m->verb == verb::kReady && !peers.count(m->peer)) fresh = m;
  }
  ASSERT_TRUE(fresh.has_value()) << "no new connection";
  broker_.answer = true;
  broker_.answer_peer = fresh->peer;
  v1::WorkerReady first = fresh->As<v1::WorkerReady>();
  EXPECT_FALSE(first.name().empty());
  EXPECT_TRUE(first.running().empty());
  EXPECT_EQ(first.free_slots(), 1);
  Msg done = broker_.Expect(verb::kDone, kStarted);
  EXPECT_EQ(done.peer, fresh->peer);
  v1::JobResult result = done.As<v1::JobResult>();
  EXPECT_EQ(result.job_id(), "slow");
  EXPECT_EQ(v1::Verdict_Name(result.verdict()), "AC");
  EXPECT_HAS(worker_->Log(), "no word from the broker for 3 heartbeats");

  // Settled on the new connection: no more reconnects.
  auto m = broker_.Next(1s);
  EXPECT_FALSE(m.has_value()) << "an unexpected " << m->verb;
  StopGracefully();
}

TEST_F(WorkerServiceTest, CancelStopsAJobWithoutDoneAndFreesTheSlot) {
  Start({"--slots", "1"});
  Msg ready = FirstReady();
  broker_.Send(ready.peer, verb::kJob, SleepJob("long", 0.3, 20));  // ~6 s
  EXPECT_EQ(broker_.Expect(verb::kProgress, kJudged).As<v1::TestResult>().job_id(), "long");
  v1::JobRef ref;
  ref.set_job_id("long");
  broker_.Send(ready.peer, verb::kCancel, ref);
  const auto cancelled = Clock::now();

  // The test running when CANCEL came finishes; no other starts. A PROGRESS already on
  // its way may still arrive.
  std::optional<Msg> m;
  do {
    m = broker_.Next(5s);
  } while (m && m->verb == verb::kProgress);
  ASSERT_TRUE(m.has_value()) << "no READY after the CANCEL";
  ASSERT_EQ(m->verb, verb::kReady);
  EXPECT_EQ(m->As<v1::WorkerReady>().free_slots(), 1);
  EXPECT_LT(Clock::now() - cancelled, 3s);
  m = broker_.Next(1s);
  EXPECT_FALSE(m.has_value()) << "an unexpected " << m->verb;
  EXPECT_HAS(worker_->Log(), "judge-worker: job long cancelled after");

  // The slot judges the next job.
  broker_.Send(ready.peer, verb::kJob, SumJob("after"));
  broker_.Expect(verb::kProgress, kJudged);
  broker_.Expect(verb::kProgress, kJudged);
  EXPECT_EQ(broker_.Expect(verb::kDone, kJudged).As<v1::JobResult>().job_id(), "after");
  broker_.Expect(verb::kReady, kStarted);
  StopGracefully();
}

TEST_F(WorkerServiceTest, SigtermDrainsTheRunningJobThenDisconnects) {
  Start({"--slots", "1"});
  Msg ready = FirstReady();
  broker_.Send(ready.peer, verb::kJob, SleepJob("last", 1.0));
  // Whether the signal or the JOB reaches it first, the job is judged and reported.
  worker_->Signal(SIGTERM);
  v1::WorkerReady draining = broker_.Expect(verb::kReady, kStarted).As<v1::WorkerReady>();
  EXPECT_TRUE(draining.draining());
  EXPECT_EQ(draining.free_slots(), 0);
  broker_.Expect(verb::kProgress, kJudged);
  v1::JobResult done = broker_.Expect(verb::kDone, kJudged).As<v1::JobResult>();
  EXPECT_EQ(done.job_id(), "last");
  EXPECT_EQ(v1::Verdict_Name(done.verdict()), "AC");
  // No credit while draining: DISCONNECT comes next.
  broker_.Expect(verb::kDisconnect, kStarted);
  ExpectCleanExit();
}

TEST_F(WorkerServiceTest, DisconnectMakesItReconnectAndSendAgainWhatMayBeLost) {
  Start({"--slots", "1"}, 1000);
  Msg ready = FirstReady();
  broker_.Send(ready.peer, verb::kJob, SumJob("again"));
  broker_.Expect(verb::kProgress, kJudged);
  broker_.Expect(verb::kProgress, kJudged);
  broker_.Expect(verb::kDone, kJudged);
  broker_.Expect(verb::kReady, kStarted);
  // A broker that does not know the worker (say it restarted) may have dropped the DONE
  // sent a moment ago: the new connection's first READY is followed by it again.
  broker_.Send(ready.peer, verb::kDisconnect, v1::Empty());
  Msg again = FirstReady();
  EXPECT_NE(again.peer, ready.peer);
  EXPECT_EQ(again.As<v1::WorkerReady>().free_slots(), 1);
  Msg done = broker_.Expect(verb::kDone, kStarted);
  EXPECT_EQ(done.peer, again.peer);
  EXPECT_EQ(done.As<v1::JobResult>().job_id(), "again");
  EXPECT_HAS(worker_->Log(), "the broker sent DISCONNECT");
  StopGracefully();
}

TEST_F(WorkerServiceTest, ASecondSignalStopsAtOnce) {
  Start({"--slots", "1"});
  Msg ready = FirstReady();
  broker_.Send(ready.peer, verb::kJob, SleepJob("endless", 0.3, 100));  // ~30 s
  broker_.Expect(verb::kProgress, kJudged);
  worker_->Signal(SIGTERM);
  EXPECT_TRUE(broker_.Expect(verb::kReady, kStarted).As<v1::WorkerReady>().draining());
  worker_->Signal(SIGINT);
  // The test running finishes (0.3 s); the job does not.
  auto status = worker_->WaitExit(broker_, 10s, /*progress_may_come=*/true);
  ASSERT_TRUE(status.has_value()) << "judge-worker did not stop";
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 1) << "status " << *status;
  EXPECT_HAS(worker_->Log(), "stopped by a second signal with 1 result(s) not delivered");
  EXPECT_TRUE(DirIsEmpty(work_.path())) << "job directories left in " << work_.path();
}

TEST_F(WorkerServiceTest, TwoSlotsJudgeTwoJobsAtOnce) {
  Start({"--slots", "2", "--name", "pair"});
  Msg ready = FirstReady();
  EXPECT_EQ(ready.As<v1::WorkerReady>().free_slots(), 2);
  // Two tests of 0.7 s each: judged one after the other, a job's DONE would come
  // before the other's first PROGRESS.
  broker_.Send(ready.peer, verb::kJob, SleepJob("a", 0.7, 2));
  broker_.Send(ready.peer, verb::kJob, SleepJob("b", 0.7, 2));
  std::set<std::string> progressed, workers;
  int dones = 0, credits = 0;
  bool progress_of_both_before_a_done = false;
  const auto deadline = Clock::now() + kJudged;
  while ((dones < 2 || credits < 2) && Clock::now() < deadline) {
    auto m = broker_.Next(deadline - Clock::now());
    if (!m) break;
    if (m->verb == verb::kProgress) {
      progressed.insert(m->As<v1::TestResult>().job_id());
      if (dones == 0 && progressed.size() == 2) progress_of_both_before_a_done = true;
    } else if (m->verb == verb::kDone) {
      ++dones;
      v1::JobResult r = m->As<v1::JobResult>();
      EXPECT_EQ(r.verdict(), v1::AC) << r.job_id();
      workers.insert(r.worker());
    } else if (m->verb == verb::kReady) {
      EXPECT_EQ(m->As<v1::WorkerReady>().free_slots(), 1);
      ++credits;
    } else {
      ADD_FAILURE() << "an unexpected " << m->verb;
    }
  }
  EXPECT_EQ(dones, 2);
  EXPECT_EQ(credits, 2);
  EXPECT_TRUE(progress_of_both_before_a_done) << "the jobs were judged one after the other";
  EXPECT_EQ(workers, (std::set<std::string>{"pair/0", "pair/1"}));
  StopGracefully();
}

}  // namespace
}  // namespace judge::testing
