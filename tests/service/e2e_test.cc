// The whole service end to end: real judge-broker, judge-worker and judge (CLI)
// processes on loopback, judging real submissions (examples/) in real sandboxes. The
// failures it provokes are real too: kill -9 of a worker or of the broker mid-job, and
// a worker drained by SIGTERM. Needs root and compilers (NO_VM: the VM has none).
#include <dirent.h>
#include <fcntl.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tests/sandbox/test_util.h"
#include "tests/service/service_util.h"

namespace judge::testing {
namespace {

constexpr int kHeartbeatMs = 200;  // on both sides: a silent peer is presumed gone in 600 ms
constexpr uid_t kFirstRunUid = 2000000000;  // the host uid of sandbox slot 0

std::string Examples(const std::string& path) {
  return std::string(JUDGE_SOURCE_DIR) + "/examples/" + path;
}

struct CommandResult {
  int status = -1;  // wait status
  std::string out, err;
  bool timed_out = false;
  int exit_code() const { return WIFEXITED(status) ? WEXITSTATUS(status) : -1; }
};

// Runs argv to its end with stdout and stderr collected (a Process collects only
// stderr); killed past `timeout`, so that a hung client fails the test instead of
// hanging it.
CommandResult RunCommand(std::vector<std::string> argv, Clock::duration timeout = 60s) {
  CommandResult r;
  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) != 0) return r;
  if (pipe2(err, O_CLOEXEC) != 0) {
    close(out[0]);
    close(out[1]);
    return r;
  }
  std::vector<char*> args;
  for (std::string& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], 1);
    dup2(err[1], 2);
    // The test runner's threads may block signals; the child must not inherit that.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  close(out[1]);
  close(err[1]);
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  std::string* sinks[2] = {&r.out, &r.err};
  const auto deadline = Clock::now() + timeout;
  int open = pid > 0 ? 2 : 0;
  while (open > 0) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      r.timed_out = true;
      break;
    }
    if (poll(fds, 2, static_cast<int>(left.count())) < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buf[4096];
      const ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        sinks[i]->append(buf, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open;
      }
    }
  }
  for (pollfd& p : fds) {
    if (p.fd >= 0) close(p.fd);
  }
  if (pid > 0) {
    if (r.timed_out) kill(pid, SIGKILL);
    waitpid(pid, &r.status, 0);
  }
  return r;
}

CommandResult Cli(std::vector<std::string> args) {
  args.insert(args.begin(), CliBin());
  return RunCommand(std::move(args));
}

// The message in `text`, which must be exactly one line holding one JSON object (what
// `--json` promises); nullopt, with the reason as a test failure, otherwise.
template <typename M>
std::optional<M> OneJsonLine(const std::string& text) {
  if (text.empty() || text.front() != '{' || text.find('\n') != text.size() - 1) {
    ADD_FAILURE() << "not one line of JSON: '" << text << "'";
    return std::nullopt;
  }
  M m;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  auto st = google::protobuf::util::JsonStringToMessage(text, &m, options);
  if (!st.ok()) {
    ADD_FAILURE() << "cannot parse '" << text << "': " << st.ToString();
    return std::nullopt;
  }
  return m;
}

// Sleeps as many milliseconds as its input says, then prints "ok": a test that takes
// real wall time but next to no CPU, so that it runs as long on a busy machine.
constexpr char kSleeper[] = R"(#include <stdio.h>
#include <time.h>
int main(void) {
  long ms = 0;
  if (scanf("%ld", &ms) != 1) return 1;
  struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&t, &t) != 0) {
  }
  puts("ok");
  return 0;
}
)";

// A C job whose test i sleeps sleeps_ms[i], under limits far above that.
v1::Job SleeperJob(const std::string& id, const std::vector<int>& sleeps_ms) {
  v1::Job job = TinyJob(id, static_cast<int>(sleeps_ms.size()));
  job.mutable_sources(0)->set_content(kSleeper);
  for (size_t i = 0; i < sleeps_ms.size(); ++i) {
    job.mutable_tests(static_cast<int>(i))->set_input(std::to_string(sleeps_ms[i]) + "\n");
  }
  job.mutable_limits()->set_cpu_time_s(2);
  job.mutable_limits()->set_wall_time_s(15);
  return job;
}

// A process on the host, as /proc shows it; `start` (in clock ticks since boot) tells
// it from a later process that got the same pid.
struct Proc {
  pid_t pid = 0, ppid = 0;
  unsigned long long start = 0;
  uid_t uid = 0;
  char state = '?';
  std::string comm;
};

std::optional<Proc> ReadProc(pid_t pid) {
  const std::string dir = "/proc/" + std::to_string(pid);
  std::ifstream in(dir + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  struct stat st;
  const size_t open = stat.find('('), close = stat.rfind(')');
  if (open == std::string::npos || close == std::string::npos || ::stat(dir.c_str(), &st) != 0) {
    return std::nullopt;
  }
  Proc p;
  p.pid = pid;
  p.uid = st.st_uid;
  p.comm = stat.substr(open + 1, close - open - 1);
  // After "(comm) ": state, ppid, then 17 more fields up to starttime (proc(5)).
  std::istringstream rest(stat.substr(close + 2));
  std::string skip;
  rest >> p.state >> p.ppid;
  for (int i = 0; i < 17; ++i) rest >> skip;
  rest >> p.start;
  if (!rest) return std::nullopt;
  return p;
}

std::vector<Proc> AllProcs() {
  std::vector<Proc> all;
  DIR* d = opendir("/proc");
  if (!d) return all;
  while (dirent* e = readdir(d)) {
    const int pid = std::atoi(e->d_name);
    if (pid <= 0) continue;
    if (std::optional<Proc> p = ReadProc(pid)) all.push_back(*p);
  }
  closedir(d);
  return all;
}

// Every process below `root` (its children, theirs, ...).
std::vector<Proc> Descendants(pid_t root) {
  std::multimap<pid_t, Proc> by_parent;
  for (const Proc& p : AllProcs()) by_parent.emplace(p.ppid, p);
  std::vector<Proc> out;
  std::vector<pid_t> todo = {root};
  while (!todo.empty()) {
    const pid_t parent = todo.back();
    todo.pop_back();
    auto [begin, end] = by_parent.equal_range(parent);
    for (auto it = begin; it != end; ++it) {
      out.push_back(it->second);
      todo.push_back(it->second.pid);
    }
  }
  return out;
}

// Those of `procs` still there (the same process, not a reused pid).
std::vector<Proc> StillThere(const std::vector<Proc>& procs) {
  std::vector<Proc> left;
  for (const Proc& p : procs) {
    std::optional<Proc> now = ReadProc(p.pid);
    if (now && now->start == p.start) left.push_back(*now);
  }
  return left;
}

std::string Describe(const std::vector<Proc>& procs) {
  std::string s;
  for (const Proc& p : procs) {
    s += std::to_string(p.pid) + " " + p.comm + " uid " + std::to_string(p.uid) + " state " +
         p.state + "; ";
  }
  return s.empty() ? "none" : s;
}

size_t CountOf(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// What one client heard of its jobs.
struct Heard {
  int accepted = 0, progress = 0, errors = 0;
  std::vector<v1::JobResult> results;
  void Take(const Frame& f) {
    if (f.verb == verb::kAccepted) {
      ++accepted;
    } else if (f.verb == verb::kProgress) {
      ++progress;
    } else if (f.verb == verb::kResult) {
      results.push_back(Decode<v1::JobResult>(f));
    } else {
      ++errors;
    }
  }
  // Takes messages until `results` has n, or the timeout passes.
  void UntilResults(Client& c, size_t n, Clock::duration timeout) {
    const auto deadline = Clock::now() + timeout;
    while (results.size() < n && Clock::now() < deadline) {
      if (std::optional<Frame> f = c.Recv(deadline - Clock::now())) Take(*f);
    }
  }
  // Takes whatever else arrives for `quiet`: a second RESULT would show here.
  void ListenFor(Client& c, Clock::duration quiet) {
    const auto deadline = Clock::now() + quiet;
    while (Clock::now() < deadline) {
      if (std::optional<Frame> f = c.Recv(deadline - Clock::now())) Take(*f);
    }
  }
};

class E2eTest : public ::testing::Test {
 protected:
  void SetUp() override { JUDGE_REQUIRE_SANDBOX(); }

  void TearDown() override {
    // Drained rather than killed, however the test ended: a worker killed mid-run
    // leaves its run's cgroup for the next sandbox to remove.
    for (auto& w : workers_) w->process->Signal(SIGTERM);
    for (auto& w : workers_) {
      if (w->process->running()) w->process->Wait(10s);
    }
    workers_.clear();  // kills and reaps any that did not exit
    broker_.reset();
  }

  std::string db() const { return dir_.path() + "/judge.db"; }

  void StartBroker() {
    broker_ = std::make_unique<BrokerProcess>(
        db(), std::vector<std::string>{"--heartbeat-ms", std::to_string(kHeartbeatMs)});
    ASSERT_FALSE(broker_->clients.empty()) << broker_->process->Stderr();
  }

  // kill -9, and the same endpoints and journal again (as BrokerTest::Restart).
  void KillAndRestartBroker() {
    const std::string c = broker_->clients, w = broker_->workers;
    broker_->process->Signal(SIGKILL);
    ASSERT_TRUE(broker_->process->Wait().has_value());
    broker_ = std::make_unique<BrokerProcess>(
        db(), std::vector<std::string>{"--heartbeat-ms", std::to_string(kHeartbeatMs)}, c, w);
    ASSERT_EQ(broker_->clients, c) << broker_->process->Stderr();
  }

  // A worker the broker has registered (its "worker NAME ready" line), or nullptr with
  // a failure. Job directories go to a TempDir of the test's, not /tmp.
  WorkerProcess* StartWorker(const std::string& name, int slots = 1) {
    workers_.push_back(
        std::make_unique<WorkerProcess>(broker_->workers, name, slots, kHeartbeatMs, work_.path()));
    WorkerProcess* w = workers_.back().get();
    if (!w->connected) {
      ADD_FAILURE() << "worker " << name << " did not start: " << w->process->Stderr();
      return nullptr;
    }
    if (!broker_->process->AwaitLine("worker " + name + " ready:")) {
      ADD_FAILURE() << "the broker did not register " << name << ": " << broker_->process->Stderr();
      return nullptr;
    }
    return w;
  }

  // Submits and reads the ACCEPTED and the PROGRESS of test 0: the job then runs its
  // next test on a worker.
  void SubmitAndAwaitFirstTest(Client& c, const v1::Job& job, Heard* heard) {
    c.Send(verb::kSubmit, job);
    std::optional<Frame> f = c.Recv(10s);
    ASSERT_TRUE(f && f->verb == verb::kAccepted) << (f ? f->verb : "nothing");
    heard->Take(*f);
    f = c.Recv(30s);
    ASSERT_TRUE(f && f->verb == verb::kProgress) << (f ? f->verb : "nothing");
    heard->Take(*f);
    ASSERT_EQ(Decode<v1::TestResult>(*f).index(), 0);
  }

  TempDir dir_, work_;
  zmq::context_t ctx_;
  std::unique_ptr<BrokerProcess> broker_;
  std::vector<std::unique_ptr<WorkerProcess>> workers_;
};

// 1. judge submit / status / stats against the real broker and worker, both encodings.
TEST_F(E2eTest, CliSubmitsInBothEncodingsThenAsksStatusAndStats) {
  ASSERT_NO_FATAL_FAILURE(StartBroker());
  ASSERT_NE(StartWorker("w1"), nullptr);
  const std::string ep = broker_->clients;
  auto submit = [&](const std::string& source, const std::string& encoding, const std::string& id) {
    return Cli({"submit", "--broker", ep, "--source", Examples("sum/submissions/" + source),
                "--tests", Examples("sum/tests"), "--json", "--encoding", encoding, "--id", id,
                "--timeout", "60"});
  };
  for (const std::string encoding : {"pb", "mp"}) {
    SCOPED_TRACE(encoding);
    const std::string id = "cli-ac-" + encoding;
    CommandResult r = submit("ac.cpp", encoding, id);
    EXPECT_EQ(r.exit_code(), 0) << r.err;
    std::optional<v1::JobResult> result = OneJsonLine<v1::JobResult>(r.out);
    ASSERT_TRUE(result);
    EXPECT_EQ(result->job_id(), id);
    EXPECT_EQ(result->verdict(), v1::AC) << r.out;
    EXPECT_EQ(result->tests_size(), 3);
    EXPECT_EQ(result->worker(), "w1/0");
  }

  CommandResult wa = submit("wa.cpp", "pb", "cli-wa");
  EXPECT_EQ(wa.exit_code(), 1) << wa.err;
  std::optional<v1::JobResult> result = OneJsonLine<v1::JobResult>(wa.out);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->verdict(), v1::WA) << wa.out;
  EXPECT_EQ(result->worker(), "w1/0");

  CommandResult ce = submit("ce.cpp", "mp", "cli-ce");
  EXPECT_EQ(ce.exit_code(), 1) << ce.err;
  result = OneJsonLine<v1::JobResult>(ce.out);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->verdict(), v1::CE) << ce.out;
  EXPECT_EQ(result->compile().status(), v1::CompileResult::CE);
  EXPECT_FALSE(result->compile().log().empty());

  CommandResult status = Cli({"status", "cli-ac-pb", "--broker", ep, "--json", "--encoding", "mp"});
  EXPECT_EQ(status.exit_code(), 0) << status.err;
  std::optional<v1::JobStatus> st = OneJsonLine<v1::JobStatus>(status.out);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->state(), v1::JobStatus::DONE);
  EXPECT_EQ(st->result().verdict(), v1::AC);
  EXPECT_EQ(st->result().worker(), "w1/0");

  CommandResult stats = Cli({"stats", "--broker", ep, "--json"});
  EXPECT_EQ(stats.exit_code(), 0) << stats.err;
  std::optional<v1::Stats> s = OneJsonLine<v1::Stats>(stats.out);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->workers(), 1);
  EXPECT_EQ(s->queued(), 0);
  EXPECT_EQ(s->running(), 0);
  EXPECT_EQ(s->jobs_done(), 4);
  EXPECT_EQ(s->verdicts().at("AC"), 2) << stats.out;
  EXPECT_EQ(s->verdicts().at("WA"), 1) << stats.out;
  EXPECT_EQ(s->verdicts().at("CE"), 1) << stats.out;
}

// 2. examples/clients/submit.py: msgpack from Python, no code generation.
TEST_F(E2eTest, PythonMsgpackClientGetsAcAndWa) {
  CommandResult probe = RunCommand({"/usr/bin/python3", "-c", "import zmq, msgpack"}, 30s);
  if (probe.exit_code() != 0) {
    GTEST_SKIP() << "/usr/bin/python3 cannot import zmq and msgpack (apt-get install "
                    "python3-zmq python3-msgpack): "
                 << probe.err;
  }
  ASSERT_NO_FATAL_FAILURE(StartBroker());
  ASSERT_NE(StartWorker("py"), nullptr);
  for (const auto& [source, verdict] : {std::pair{"ac.c", v1::AC}, std::pair{"wa.c", v1::WA}}) {
    SCOPED_TRACE(source);
    CommandResult r =
        RunCommand({"/usr/bin/python3", Examples("clients/submit.py"), broker_->clients, "c",
                    Examples(std::string("sum/submissions/") + source), Examples("sum/tests")});
    EXPECT_EQ(r.exit_code(), verdict == v1::AC ? 0 : 1) << r.err;
    // The last line is the RESULT; PROGRESS went to stderr.
    std::string last = r.out;
    if (!last.empty() && last.back() == '\n') last.pop_back();
    last = last.substr(last.rfind('\n') == std::string::npos ? 0 : last.rfind('\n') + 1) + "\n";
    std::optional<v1::JobResult> result = OneJsonLine<v1::JobResult>(last);
    ASSERT_TRUE(result);
    EXPECT_EQ(result->verdict(), verdict) << r.out;
    EXPECT_EQ(result->tests_size(), 3);
    EXPECT_EQ(result->worker(), "py/0");
    EXPECT_EQ(CountOf(r.err, "test "), 3u) << r.err;  // one line per PROGRESS
  }
}

// 3. Two workers take jobs from one queue.
TEST_F(E2eTest, TwoWorkersShareOneQueue) {
  ASSERT_NO_FATAL_FAILURE(StartBroker());
  WorkerProcess* w1 = StartWorker("w1");
  WorkerProcess* w2 = StartWorker("w2");
  ASSERT_TRUE(w1 && w2);
  Client client(ctx_, broker_->clients);
  constexpr int kJobs = 4;
  for (int i = 0; i < kJobs; ++i) {
    client.Send(verb::kSubmit, SleeperJob("share-" + std::to_string(i), {300, 300}));
  }
  Heard heard;
  heard.UntilResults(client, kJobs, 60s);
  EXPECT_EQ(heard.accepted, kJobs);
  EXPECT_EQ(heard.errors, 0);
  ASSERT_EQ(heard.results.size(), static_cast<size_t>(kJobs));
  std::set<std::string> ids, workers;
  for (const v1::JobResult& r : heard.results) {
    ids.insert(r.job_id());
    workers.insert(r.worker());
    EXPECT_EQ(r.verdict(), v1::AC) << r.ShortDebugString();
    EXPECT_EQ(r.tests_size(), 2);
  }
  EXPECT_EQ(ids.size(), static_cast<size_t>(kJobs));
  EXPECT_EQ(workers, (std::set<std::string>{"w1/0", "w2/0"}));
  // Each job judged once, by one of them.
  EXPECT_EQ(CountOf(w1->process->Stderr() + w2->process->Stderr(), "job share-"),
            static_cast<size_t>(kJobs));
}

// The counts the issue asks for (accepted, results, duplicates), printed, and the one
// result checked: job `id`, AC with its 2 tests, judged by `worker`.
void ExpectOneResult(const Heard& heard, const char* what, const std::string& id,
                     const std::string& worker) {
  const int duplicates = std::max(0, static_cast<int>(heard.results.size()) - 1);
  std::printf("%s: %d job accepted, %zu result, %d duplicates\n", what, heard.accepted,
              heard.results.size(), duplicates);
  EXPECT_EQ(heard.accepted, 1);
  EXPECT_EQ(heard.errors, 0);
  ASSERT_EQ(heard.results.size(), 1u);
  const v1::JobResult& r = heard.results[0];
  EXPECT_EQ(r.job_id(), id);
  EXPECT_EQ(r.verdict(), v1::AC) << r.ShortDebugString();
  EXPECT_EQ(r.tests_size(), 2);
  EXPECT_EQ(r.worker(), worker);
}

// 4. kill -9 of a worker mid-job: its runs die with it, another worker judges the job
// again, and the client hears one result.
TEST_F(E2eTest, KillNineOfAWorkerMidJobReRunsTheJobElsewhereWithOneResult) {
  ASSERT_NO_FATAL_FAILURE(StartBroker());
  WorkerProcess* a = StartWorker("wA");
  ASSERT_NE(a, nullptr);
  Client client(ctx_, broker_->clients);
  Heard heard;
  ASSERT_NO_FATAL_FAILURE(SubmitAndAwaitFirstTest(client, SleeperJob("kw", {0, 2000}), &heard));

  // Test 2's program (/job/main, a sandbox uid) is running under the worker.
  std::vector<Proc> below;
  auto running_main = [&] {
    for (const Proc& p : below) {
      if (p.uid >= kFirstRunUid && p.comm == "main") return true;
    }
    return false;
  };
  for (const auto deadline = Clock::now() + 10s; Clock::now() < deadline && !running_main();) {
    below = Descendants(a->process->pid());
    if (!running_main()) usleep(10000);
  }
  ASSERT_TRUE(running_main()) << "below the worker: " << Describe(below);

  a->process->Signal(SIGKILL);
  std::optional<int> status = a->process->Wait(10s);
  ASSERT_TRUE(status && WIFSIGNALED(*status) && WTERMSIG(*status) == SIGKILL);
  // PR_SET_PDEATHSIG: the container's init dies with the worker, the program with it.
  std::vector<Proc> left = StillThere(below);
  for (const auto deadline = Clock::now() + 10s; Clock::now() < deadline && !left.empty();) {
    usleep(10000);
    left = StillThere(below);
  }
  EXPECT_TRUE(left.empty()) << "outlived the worker: " << Describe(left);

  ASSERT_TRUE(broker_->process->AwaitLine("worker wA missed 3 heartbeats"))
      << broker_->process->Stderr();
  WorkerProcess* b = StartWorker("wB");
  ASSERT_NE(b, nullptr);
  heard.UntilResults(client, 1, 30s);
  heard.ListenFor(client, 1s);
  ASSERT_NO_FATAL_FAILURE(ExpectOneResult(heard, "kill -9 worker", "kw", "wB/0"));
  // PROGRESS of test 0 from A, then both tests again from B.
  EXPECT_EQ(heard.progress, 3);
}

// 5. kill -9 of the broker mid-job: the worker reconnects to the restarted broker and
// reports the job it kept judging; a client that asks gets one result.
TEST_F(E2eTest, KillNineOfTheBrokerMidJobTheWorkerReportsAfterTheRestart) {
  ASSERT_NO_FATAL_FAILURE(StartBroker());
  WorkerProcess* w = StartWorker("wk");
  ASSERT_NE(w, nullptr);
  Heard heard;
  {
    Client before(ctx_, broker_->clients);
    ASSERT_NO_FATAL_FAILURE(SubmitAndAwaitFirstTest(before, SleeperJob("kb", {0, 2000}), &heard));
  }
  ASSERT_NO_FATAL_FAILURE(KillAndRestartBroker());
  // The worker notices: 3 silent heartbeats, or, when the new broker is up sooner, its
  // DISCONNECT to a worker it does not know. Either way it drops the connection.
  ASSERT_TRUE(w->process->AwaitLine("; reconnecting in")) << w->process->Stderr();
  ASSERT_TRUE(broker_->process->AwaitLine("worker wk ready:")) << broker_->process->Stderr();

  // The broker keeps no client across its restart: the client asks again.
  Client after(ctx_, broker_->clients);
  v1::JobRef ref;
  ref.set_job_id("kb");
  after.Send(verb::kWait, ref);
  heard.UntilResults(after, 1, 30s);
  heard.ListenFor(after, 1s);
  ASSERT_NO_FATAL_FAILURE(ExpectOneResult(heard, "kill -9 broker", "kb", "wk/0"));
  // Judged once: the worker kept the job through the restart, nobody ran it again.
  EXPECT_EQ(CountOf(w->process->Stderr(), "job kb verdict"), 1u) << w->process->Stderr();
}

// 6. SIGTERM drains a worker: its running job's result arrives, it takes no new job,
// and it leaves (exit 0) with DISCONNECT.
TEST_F(E2eTest, SigtermDrainsAWorkerItFinishesItsJobAndExitsZero) {
  ASSERT_NO_FATAL_FAILURE(StartBroker());
  WorkerProcess* w = StartWorker("wd");
  ASSERT_NE(w, nullptr);
  Client client(ctx_, broker_->clients);
  Heard heard;
  ASSERT_NO_FATAL_FAILURE(SubmitAndAwaitFirstTest(client, SleeperJob("dr", {0, 1500}), &heard));
  w->process->Signal(SIGTERM);
  ASSERT_TRUE(w->process->AwaitLine("SIGTERM: draining, 1 job(s) to finish"))
      << w->process->Stderr();
  ASSERT_TRUE(broker_->process->AwaitLine("worker wd is draining")) << broker_->process->Stderr();
  // Submitted while the only worker drains: it stays queued.
  Client other(ctx_, broker_->clients);
  other.Send(verb::kSubmit, SleeperJob("after-drain", {0}));
  std::optional<Frame> f = other.Recv();
  ASSERT_TRUE(f && f->verb == verb::kAccepted);

  heard.UntilResults(client, 1, 30s);
  ASSERT_EQ(heard.results.size(), 1u);
  EXPECT_EQ(heard.results[0].verdict(), v1::AC) << heard.results[0].ShortDebugString();
  EXPECT_EQ(heard.results[0].tests_size(), 2);
  EXPECT_EQ(heard.results[0].worker(), "wd/0");
  std::optional<int> status = w->process->Wait(15s);
  ASSERT_TRUE(status) << w->process->Stderr();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0)
      << "wait status " << *status << ": " << w->process->Stderr();
  EXPECT_NE(w->process->Stderr().find("drained, exiting"), std::string::npos);
  EXPECT_EQ(w->process->Stderr().find("after-drain"), std::string::npos);
  // It said goodbye: not presumed dead after 3 silent heartbeats.
  ASSERT_TRUE(broker_->process->AwaitLine("worker wd disconnected", 5s))
      << broker_->process->Stderr();

  CommandResult stats = Cli({"stats", "--broker", broker_->clients, "--json"});
  EXPECT_EQ(stats.exit_code(), 0) << stats.err;
  std::optional<v1::Stats> s = OneJsonLine<v1::Stats>(stats.out);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->workers(), 0) << stats.out;
  EXPECT_EQ(s->running(), 0) << stats.out;
  EXPECT_EQ(s->queued(), 1) << stats.out;
  EXPECT_EQ(s->jobs_done(), 1) << stats.out;
}

// 7. An unknown language is refused (by the broker: no worker offers it) with one line,
// exit status 2, and nothing is queued.
TEST_F(E2eTest, TheCliRefusesAnUnknownLanguage) {
  ASSERT_NO_FATAL_FAILURE(StartBroker());
  CommandResult r = Cli({"submit", "--broker", broker_->clients, "--language", "cobol", "--source",
                         Examples("sum/submissions/ac.c"), "--tests", Examples("sum/tests"),
                         "--json", "--timeout", "10"});
  EXPECT_EQ(r.exit_code(), 2);
  EXPECT_HAS(r.err, "unknown language");
  EXPECT_EQ(r.out, "");
  Client client(ctx_, broker_->clients);
  client.Send(verb::kStats, v1::Empty());
  std::optional<Frame> f = client.Recv();
  ASSERT_TRUE(f && f->verb == verb::kStats);
  v1::Stats s = Decode<v1::Stats>(*f);
  EXPECT_EQ(s.queued() + s.jobs_done(), 0);
}

}  // namespace
}  // namespace judge::testing
