// `judge submit | wait | status | stats` against a broker played by the test: the real
// `judge` binary as a child, a ROUTER socket here, real ZeroMQ over TCP in between. The
// test reads every request the client sends and answers it (or, to test the Lazy
// Pirate resends, does not).
#include "client/remote.h"

#include <fcntl.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "client/table.h"
#include "common/fd.h"
#include "common/file_util.h"
#include "protocol/frame.h"
#include "protocol/wire.h"
#include "tests/sandbox/test_util.h"
#include "worker/languages.h"

extern char** environ;

namespace judge::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// The `judge` binary with its stdout and stderr in files; killed and reaped if the
// test ends before it does.
class JudgeProcess {
 public:
  JudgeProcess(const std::vector<std::string>& args, const TempDir& dir,
               const std::vector<std::string>& extra_env = {})
      : out_path_(dir.path() + "/stdout." + std::to_string(++count_)),
        err_path_(dir.path() + "/stderr." + std::to_string(count_)) {
    // Everything the child needs is built before fork: the test has ZeroMQ threads.
    std::vector<std::string> argv_s = {JUDGE_CLI_BIN};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<std::string> env_s;
    for (char** e = environ; *e; ++e) {
      if (std::string(*e).rfind("JUDGE_BROKER=", 0) != 0) env_s.push_back(*e);
    }
    env_s.insert(env_s.end(), extra_env.begin(), extra_env.end());
    std::vector<char*> argv, env;
    for (std::string& s : argv_s) argv.push_back(s.data());
    for (std::string& s : env_s) env.push_back(s.data());
    argv.push_back(nullptr);
    env.push_back(nullptr);
    UniqueFd out(::open(out_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    UniqueFd err(::open(err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!out || !err) std::abort();
    pid_ = ::fork();
    if (pid_ < 0) std::abort();
    if (pid_ == 0) {
      if (::dup2(out.get(), 1) < 0 || ::dup2(err.get(), 2) < 0) ::_exit(126);
      ::execve(argv[0], argv.data(), env.data());
      ::_exit(127);
    }
    pidfd_.reset(static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0)));
    if (!pidfd_) std::abort();
  }
  ~JudgeProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  JudgeProcess(const JudgeProcess&) = delete;
  JudgeProcess& operator=(const JudgeProcess&) = delete;

  // The exit code, or -1 if it has not exited within `timeout`.
  int Wait(std::chrono::milliseconds timeout = 15s) {
    if (pid_ <= 0) return code_;
    pollfd p = {pidfd_.get(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) return -1;
    int status = 0;
    if (::waitpid(pid_, &status, 0) != pid_) return -1;
    pid_ = 0;
    code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return code_;
  }
  std::string out() const { return Read(out_path_); }
  std::string err() const { return Read(err_path_); }

 private:
  static std::string Read(const std::string& path) {
    auto r = ReadFile(path);
    return r.ok() ? *r : "";
  }
  static inline int count_ = 0;
  std::string out_path_, err_path_;
  pid_t pid_ = 0;
  UniqueFd pidfd_;
  int code_ = -1;
};

struct Request {
  std::string peer;
  Frame frame;
};

// The broker's client socket: a ROUTER on a free port of 127.0.0.1 (or a given one, to
// play a broker that restarted).
class FakeBroker {
 public:
  explicit FakeBroker(const std::string& endpoint = "tcp://127.0.0.1:*")
      : socket_(context_, zmq::socket_type::router) {
    socket_.set(zmq::sockopt::linger, 0);
    socket_.bind(endpoint);
    endpoint_ = LastEndpoint(socket_);
  }
  const std::string& endpoint() const { return endpoint_; }

  // The next request, or nullopt if none came within `timeout`.
  std::optional<Request> Recv(std::chrono::milliseconds timeout = 10s) {
    std::vector<zmq::pollitem_t> items = {{socket_.handle(), 0, ZMQ_POLLIN, 0}};
    if (zmq::poll(items, timeout) == 0) return std::nullopt;
    std::vector<std::string> parts;
    if (!RecvParts(socket_, &parts) || parts.size() < 2) return std::nullopt;
    std::string peer = parts[0];
    parts.erase(parts.begin());
    Result<Frame> f = ParseFrame(std::move(parts), 1u << 30, kClientVerbs);
    EXPECT_TRUE(f.ok()) << f.status().ToString();
    if (!f.ok()) return std::nullopt;
    return Request{peer, *f};
  }
  // A request with this verb, its body decoded; fails the test otherwise.
  template <typename M>
  std::optional<Request> Expect(std::string_view verb, M* body,
                                std::chrono::milliseconds timeout = 10s) {
    std::optional<Request> r = Recv(timeout);
    EXPECT_TRUE(r.has_value()) << "no " << verb << " within " << timeout.count() << " ms";
    if (!r) return r;
    EXPECT_EQ(r->frame.verb, verb);
    Status st = DecodeBody(r->frame, body);
    EXPECT_TRUE(st.ok()) << st.ToString();
    return r;
  }
  // A reply in the request's encoding.
  void Send(const Request& to, std::string_view verb, const google::protobuf::Message& m) {
    Status st = SendMessage(socket_, to.peer, verb, to.frame.encoding, m);
    ASSERT_TRUE(st.ok()) << st.ToString();
  }

 private:
  zmq::context_t context_{1};
  zmq::socket_t socket_;
  std::string endpoint_;
};

// A port on 127.0.0.1 that refuses connections for as long as this lives: bound, not
// listening, so that nothing else takes it meanwhile.
class DeadPort {
 public:
  DeadPort() : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    sockaddr_in a = {};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (!fd_ || ::bind(fd_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      std::abort();
    }
    endpoint_ = "tcp://127.0.0.1:" + std::to_string(ntohs(a.sin_port));
  }
  const std::string& endpoint() const { return endpoint_; }

 private:
  UniqueFd fd_;
  std::string endpoint_;
};

v1::TestResult Progress(const std::string& job_id, int index, v1::Verdict v, double ms = 3.0) {
  v1::TestResult t;
  t.set_name(std::to_string(index + 1));
  t.set_verdict(v);
  t.set_cpu_time_ms(ms);
  t.set_wall_time_ms(4.2);
  t.set_memory_peak_bytes(1441792);
  t.set_checker_message(v == v1::AC ? "" : "token 1: expected '3', found '2'");
  t.set_job_id(job_id);
  t.set_index(index);
  return t;
}

v1::JobResult Result2(const std::string& job_id, v1::Verdict second) {
  v1::JobResult r;
  r.set_job_id(job_id);
  r.set_verdict(second);
  r.mutable_compile()->set_status(v1::CompileResult::OK);
  r.mutable_compile()->set_cpu_time_ms(120);
  *r.add_tests() = Progress(job_id, 0, v1::AC);
  *r.add_tests() = Progress(job_id, 1, second);
  for (auto& t : *r.mutable_tests()) {
    t.clear_job_id();
    t.clear_index();
  }
  r.set_max_cpu_time_ms(3.0);
  r.set_max_memory_bytes(1441792);
  r.set_worker("host/1");
  return r;
}

v1::JobRef Ref(const std::string& id) {
  v1::JobRef ref;
  ref.set_job_id(id);
  return ref;
}

// Parses one line of JSON into M by the proto field names: unknown keys fail it.
template <typename M>
M ParseJson(const std::string& text) {
  M m;
  EXPECT_EQ(text.find('\n'), text.size() - 1) << "not one line: " << text;
  auto st = google::protobuf::util::JsonStringToMessage(text, &m);
  EXPECT_TRUE(st.ok()) << st.ToString() << " in " << text;
  return m;
}

// A submission, a tests directory with two tests, a checker and an interactor.
class RemoteTest : public ::testing::Test {
 protected:
  RemoteTest() {
    source_ = dir_.Write("a.cpp", "int main() {}\n");
    interactor_ = dir_.Write("inter.cpp", "int main() { return 0; }\n");
    tests_ = dir_.path() + "/tests";
    ::mkdir(tests_.c_str(), 0755);
    dir_.Write("tests/1.in", "1 2\n");
    dir_.Write("tests/1.ans", "3\n");
    dir_.Write("tests/2.in", "2 2\n");
    dir_.Write("tests/2.out", "4\n");
  }
  std::vector<std::string> SubmitArgs(const std::string& endpoint) const {
    return {"submit", "--broker", endpoint, "--source", source_, "--tests", tests_};
  }

  TempDir dir_;
  std::string source_, interactor_, tests_;
};

void ExpectTwoTests(const v1::Job& job) {
  ASSERT_EQ(job.tests_size(), 2);
  std::map<std::string, std::pair<std::string, std::string>> tests;
  for (const auto& t : job.tests()) tests[t.name()] = {t.input(), t.answer()};
  EXPECT_EQ(tests["1"], std::make_pair(std::string("1 2\n"), std::string("3\n")));
  EXPECT_EQ(tests["2"], std::make_pair(std::string("2 2\n"), std::string("4\n")));
}

TEST_F(RemoteTest, SubmitProtobufJsonAccepted) {
  FakeBroker broker;
  auto args = SubmitArgs(broker.endpoint());
  for (const char* a : {"--language", "cpp17", "--time-limit", "1.5", "--memory-limit", "64M",
                        "--checker", "float:1e-3", "--id", "job-1", "--priority", "7", "--json"}) {
    args.push_back(a);
  }
  JudgeProcess judge(args, dir_);

  v1::Job job;
  auto req = broker.Expect(verb::kSubmit, &job);
  ASSERT_TRUE(req);
  EXPECT_EQ(req->frame.encoding, "pb");
  EXPECT_EQ(job.id(), "job-1");
  EXPECT_EQ(job.language(), "cpp17");
  ASSERT_EQ(job.sources_size(), 1);
  EXPECT_EQ(job.sources(0).name(), "a.cpp");
  EXPECT_EQ(job.sources(0).content(), "int main() {}\n");
  ExpectTwoTests(job);
  EXPECT_DOUBLE_EQ(job.limits().cpu_time_s(), 1.5);
  EXPECT_EQ(job.limits().memory_bytes(), 64 << 20);
  EXPECT_EQ(job.checker().kind(), v1::Checker::FLOAT);
  EXPECT_DOUBLE_EQ(job.checker().abs_tol(), 1e-3);
  EXPECT_DOUBLE_EQ(job.checker().rel_tol(), 1e-3);
  EXPECT_EQ(job.priority(), 7);
  EXPECT_FALSE(job.stop_on_failure());

  broker.Send(*req, verb::kAccepted, Ref("job-1"));
  broker.Send(*req, verb::kProgress, Progress("job-1", 0, v1::AC));
  broker.Send(*req, verb::kProgress, Progress("job-1", 1, v1::AC));
  broker.Send(*req, verb::kResult, Result2("job-1", v1::AC));
  ASSERT_EQ(judge.Wait(), 0) << judge.err();
  EXPECT_EQ(judge.err(), "");

  const std::string out = judge.out();
  for (const char* key :
       {"\"job_id\":\"job-1\"", "\"verdict\":\"AC\"", "\"compile\":{", "\"tests\":[{\"name\":\"1\"",
        "\"max_cpu_time_ms\":3", "\"max_memory_bytes\":1441792", "\"worker\":\"host/1\""}) {
    EXPECT_HAS(out, key);
  }
  v1::JobResult got = ParseJson<v1::JobResult>(out);
  EXPECT_EQ(got.job_id(), "job-1");
  EXPECT_EQ(got.verdict(), v1::AC);
  ASSERT_EQ(got.tests_size(), 2);
  EXPECT_EQ(got.tests(1).memory_peak_bytes(), 1441792);
  EXPECT_EQ(got.worker(), "host/1");
}

TEST_F(RemoteTest, SubmitMsgpackTextWrongAnswerExits1) {
  FakeBroker broker;
  auto args = SubmitArgs(broker.endpoint());
  for (const char* a :
       {"--encoding", "mp", "--checker", "tokens", "--stop-on-failure", "--interactor"}) {
    args.push_back(a);
  }
  args.push_back(interactor_);
  JudgeProcess judge(args, dir_);

  v1::Job job;
  auto req = broker.Expect(verb::kSubmit, &job);
  ASSERT_TRUE(req);
  EXPECT_EQ(req->frame.encoding, "mp");
  // Without --language, by the file ending, as `judge run` does.
  auto languages = LanguageRegistry::Builtin();
  ASSERT_TRUE(languages.ok());
  EXPECT_EQ(job.language(), *languages->ForFile("a.cpp"));
  // A random 128-bit id in hex.
  ASSERT_EQ(job.id().size(), 32u) << job.id();
  EXPECT_EQ(job.id().find_first_not_of("0123456789abcdef"), std::string::npos) << job.id();
  EXPECT_EQ(job.sources(0).content(), "int main() {}\n");
  ExpectTwoTests(job);
  EXPECT_EQ(job.checker().kind(), v1::Checker::TOKENS);
  EXPECT_EQ(job.interactor().name(), "inter.cpp");
  EXPECT_EQ(job.interactor().content(), "int main() { return 0; }\n");
  EXPECT_TRUE(job.stop_on_failure());

  const std::string id = job.id();
  broker.Send(*req, verb::kAccepted, Ref(id));
  broker.Send(*req, verb::kProgress, Progress(id, 0, v1::AC));
  broker.Send(*req, verb::kProgress, Progress(id, 1, v1::WA));
  broker.Send(*req, verb::kResult, Result2(id, v1::WA));
  ASSERT_EQ(judge.Wait(), 1) << judge.err();
  EXPECT_EQ(judge.err(), "");
  // Not a terminal: the table once, at the end, then the summary.
  const std::string out = judge.out();
  EXPECT_HAS(out, "test                     verdict");
  EXPECT_HAS(out, "\n2                        WA           3.0 ms      1.4 MiB  token 1: expected");
  EXPECT_HAS(out,
             "verdict WA  max time 3.0 ms  max memory 1.4 MiB  job " + id + "  worker host/1\n");
  EXPECT_EQ(out.find("\033["), std::string::npos) << "no colours in a file";
}

TEST_F(RemoteTest, ResendsSubmitWithTheSameIdUntilAccepted) {
  FakeBroker broker;
  auto args = SubmitArgs(broker.endpoint());
  args.push_back("--no-wait");
  JudgeProcess judge(args, dir_);

  v1::Job first, second;
  auto req1 = broker.Expect(verb::kSubmit, &first);
  ASSERT_TRUE(req1);
  const auto sent = Clock::now();
  auto req2 = broker.Expect(verb::kSubmit, &second, 5s);  // not answered: sent again
  ASSERT_TRUE(req2);
  EXPECT_GE(SecondsSince(sent), 1.5);
  EXPECT_EQ(second.id(), first.id());
  EXPECT_EQ(req2->frame.body, req1->frame.body);
  EXPECT_EQ(req2->peer, req1->peer);  // one socket

  broker.Send(*req2, verb::kAccepted, Ref(first.id()));
  ASSERT_EQ(judge.Wait(), 0) << judge.err();
  EXPECT_EQ(judge.out(), first.id() + "\n");
}

TEST_F(RemoteTest, NoWaitJsonPrintsTheJobId) {
  FakeBroker broker;
  auto args = SubmitArgs(broker.endpoint());
  for (const char* a : {"--no-wait", "--json", "--id", "mine"}) args.push_back(a);
  JudgeProcess judge(args, dir_);
  v1::Job job;
  auto req = broker.Expect(verb::kSubmit, &job);
  ASSERT_TRUE(req);
  broker.Send(*req, verb::kAccepted, Ref("mine"));
  ASSERT_EQ(judge.Wait(), 0) << judge.err();
  EXPECT_EQ(judge.out(), "{\"job_id\":\"mine\"}\n");
  // Nothing more is asked of the broker.
  EXPECT_FALSE(broker.Recv(100ms).has_value());
}

TEST_F(RemoteTest, BrokerErrorIsOneLineOnStderrAndExit2) {
  FakeBroker broker;
  auto args = SubmitArgs(broker.endpoint());
  for (const char* a : {"--language", "cobol"}) args.push_back(a);
  JudgeProcess judge(args, dir_);
  v1::Job job;
  auto req = broker.Expect(verb::kSubmit, &job);
  ASSERT_TRUE(req);
  EXPECT_EQ(job.language(), "cobol");
  v1::Error error;
  error.set_code(v1::Error::UNKNOWN_LANGUAGE);
  error.set_message("unknown language 'cobol' (known: c, cpp17, cpp20, python3)");
  broker.Send(*req, verb::kError, error);
  ASSERT_EQ(judge.Wait(), 2);
  EXPECT_EQ(judge.err(), "judge: unknown language 'cobol' (known: c, cpp17, cpp20, python3)\n");
  EXPECT_EQ(judge.out(), "");
}

TEST_F(RemoteTest, WaitOfAnUnknownJobIsNotFound) {
  FakeBroker broker;
  JudgeProcess judge({"wait", "nope", "--broker", broker.endpoint(), "--encoding", "mp"}, dir_);
  v1::JobRef ref;
  auto req = broker.Expect(verb::kWait, &ref);
  ASSERT_TRUE(req);
  EXPECT_EQ(ref.job_id(), "nope");
  v1::Error error;
  error.set_code(v1::Error::NOT_FOUND);
  error.set_message("no job 'nope' (submit it first)");
  broker.Send(*req, verb::kError, error);
  ASSERT_EQ(judge.Wait(), 2);
  EXPECT_EQ(judge.err(), "judge: no job 'nope' (submit it first)\n");
}

// After 2 s without a word the client asks again (the broker may have restarted and
// forgotten it); a test seen twice is overwritten, as a re-dispatched job starts over.
TEST_F(RemoteTest, WaitIsResentAfterSilence) {
  FakeBroker broker;
  JudgeProcess judge({"wait", "j1", "--json"}, dir_, {"JUDGE_BROKER=" + broker.endpoint()});
  v1::JobRef ref;
  auto req = broker.Expect(verb::kWait, &ref);
  ASSERT_TRUE(req);
  EXPECT_EQ(ref.job_id(), "j1");
  broker.Send(*req, verb::kProgress, Progress("j1", 0, v1::WA));
  const auto last_word = Clock::now();
  auto again = broker.Expect(verb::kWait, &ref, 5s);
  ASSERT_TRUE(again);
  EXPECT_GE(SecondsSince(last_word), 1.5);
  EXPECT_EQ(ref.job_id(), "j1");
  broker.Send(*again, verb::kProgress, Progress("j1", 0, v1::AC));
  broker.Send(*again, verb::kProgress, Progress("j1", 1, v1::AC));
  broker.Send(*again, verb::kResult, Result2("j1", v1::AC));
  ASSERT_EQ(judge.Wait(), 0) << judge.err();
  EXPECT_EQ(ParseJson<v1::JobResult>(judge.out()).verdict(), v1::AC);
}

// A broker that restarts forgets who waits: the client, reconnected, sends WAIT to the
// new one. (The first broker stops after the client's first WAIT, which shows that the
// client got ACCEPTED: closing at once could drop it, and the client would resubmit.)
TEST_F(RemoteTest, SubmitSurvivesABrokerRestart) {
  std::string endpoint;
  std::string id;
  auto args = SubmitArgs("");
  std::optional<JudgeProcess> judge;
  {
    FakeBroker first;
    endpoint = first.endpoint();
    args[2] = endpoint;
    args.push_back("--json");
    judge.emplace(args, dir_);
    v1::Job job;
    auto req = first.Expect(verb::kSubmit, &job);
    ASSERT_TRUE(req);
    id = job.id();
    first.Send(*req, verb::kAccepted, Ref(id));
    first.Send(*req, verb::kProgress, Progress(id, 0, v1::AC));
    v1::JobRef ref;
    ASSERT_TRUE(first.Expect(verb::kWait, &ref, 5s));
  }
  FakeBroker second(endpoint);
  v1::JobRef ref;
  auto req = second.Expect(verb::kWait, &ref, 8s);
  ASSERT_TRUE(req);
  EXPECT_EQ(ref.job_id(), id);
  second.Send(*req, verb::kResult, Result2(id, v1::AC));
  ASSERT_EQ(judge->Wait(), 0) << judge->err();
  EXPECT_EQ(ParseJson<v1::JobResult>(judge->out()).job_id(), id);
}

TEST_F(RemoteTest, CancelledWhileWaitingExits3) {
  FakeBroker broker;
  JudgeProcess text({"wait", "j2", "--broker", broker.endpoint()}, dir_);
  JudgeProcess json({"wait", "j2", "--broker", broker.endpoint(), "--json"}, dir_);
  for (int i = 0; i < 2; ++i) {
    v1::JobRef ref;
    auto req = broker.Expect(verb::kWait, &ref);
    ASSERT_TRUE(req);
    v1::JobStatus status;
    status.set_job_id("j2");
    status.set_state(v1::JobStatus::CANCELLED);
    broker.Send(*req, verb::kStatus, status);
  }
  ASSERT_EQ(text.Wait(), 3) << text.err();
  EXPECT_EQ(text.out(), "cancelled\n");
  ASSERT_EQ(json.Wait(), 3) << json.err();
  v1::JobStatus got = ParseJson<v1::JobStatus>(json.out());
  EXPECT_EQ(got.state(), v1::JobStatus::CANCELLED);
  EXPECT_EQ(got.job_id(), "j2");
}

TEST_F(RemoteTest, TimeoutExits4) {
  FakeBroker broker;
  const auto start = Clock::now();
  JudgeProcess judge({"wait", "slow", "--broker", broker.endpoint(), "--timeout", "0.3"}, dir_);
  v1::JobRef ref;
  ASSERT_TRUE(broker.Expect(verb::kWait, &ref));
  ASSERT_EQ(judge.Wait(5s), 4) << judge.err();
  EXPECT_LT(SecondsSince(start), 3.0);
  EXPECT_HAS(judge.err(), "judge wait slow");
  EXPECT_EQ(judge.out(), "");
}

TEST_F(RemoteTest, StatusTextAndJson) {
  FakeBroker broker;
  JudgeProcess text({"status", "j7", "--broker", broker.endpoint()}, dir_);
  JudgeProcess json({"status", "j7", "--broker", broker.endpoint(), "--json", "--encoding", "mp"},
                    dir_);
  for (int i = 0; i < 2; ++i) {
    v1::JobRef ref;
    auto req = broker.Expect(verb::kStatus, &ref);
    ASSERT_TRUE(req);
    EXPECT_EQ(ref.job_id(), "j7");
    v1::JobStatus status;
    status.set_job_id("j7");
    status.set_state(v1::JobStatus::RUNNING);
    status.set_tests_done(3);
    broker.Send(*req, verb::kStatus, status);
  }
  ASSERT_EQ(text.Wait(), 0) << text.err();
  EXPECT_EQ(text.out(), "RUNNING  tests done 3\n");
  ASSERT_EQ(json.Wait(), 0) << json.err();
  v1::JobStatus got = ParseJson<v1::JobStatus>(json.out());
  EXPECT_EQ(got.state(), v1::JobStatus::RUNNING);
  EXPECT_EQ(got.tests_done(), 3);
  EXPECT_HAS(json.out(), "\"state\":\"RUNNING\"");
}

TEST_F(RemoteTest, CancelSendsCancelAndPrintsTheStatus) {
  FakeBroker broker;
  JudgeProcess cancel({"cancel", "j8", "--broker", broker.endpoint()}, dir_);
  v1::JobRef ref;
  auto req = broker.Expect(verb::kCancel, &ref);
  ASSERT_TRUE(req);
  EXPECT_EQ(ref.job_id(), "j8");
  v1::JobStatus status;
  status.set_job_id("j8");
  status.set_state(v1::JobStatus::CANCELLED);
  broker.Send(*req, verb::kStatus, status);
  ASSERT_EQ(cancel.Wait(), 0) << cancel.err();
  EXPECT_EQ(cancel.out(), "CANCELLED\n");
}

TEST_F(RemoteTest, StatsTextAndJson) {
  FakeBroker broker;
  // The broker from the environment when --broker is absent.
  JudgeProcess text({"stats"}, dir_, {"JUDGE_BROKER=" + broker.endpoint()});
  JudgeProcess json({"stats", "--json"}, dir_, {"JUDGE_BROKER=" + broker.endpoint()});
  v1::Stats stats;
  stats.set_queued(3);
  stats.set_running(1);
  stats.set_workers(2);
  stats.set_free_slots(0);
  stats.set_jobs_done(17);
  (*stats.mutable_verdicts())["WA"] = 7;
  (*stats.mutable_verdicts())["AC"] = 10;
  stats.set_queue_wait_p50_ms(1.2);
  stats.set_queue_wait_p99_ms(8.0);
  for (int i = 0; i < 2; ++i) {
    v1::Empty empty;
    auto req = broker.Expect(verb::kStats, &empty);
    ASSERT_TRUE(req);
    broker.Send(*req, verb::kStats, stats);
  }
  ASSERT_EQ(text.Wait(), 0) << text.err();
  EXPECT_EQ(text.out(),
            "queued 3\nrunning 1\nworkers 2\nfree slots 0\njobs done 17\nverdicts AC=10 WA=7\n"
            "queue wait p50 1.2 ms p99 8.0 ms\n");
  ASSERT_EQ(json.Wait(), 0) << json.err();
  v1::Stats got = ParseJson<v1::Stats>(json.out());
  EXPECT_EQ(got.jobs_done(), 17);
  EXPECT_EQ(got.verdicts().at("AC"), 10);
}

// Nobody at the endpoint: status and stats say so and exit 2 after 5 s; submit keeps
// trying (the broker may be restarting), says once that it cannot reach it, and stops
// at --timeout.
TEST_F(RemoteTest, NoBrokerIsAClearMessage) {
  DeadPort dead;
  const auto start = Clock::now();
  JudgeProcess status({"status", "x", "--broker", dead.endpoint()}, dir_);
  JudgeProcess stats({"stats", "--broker", dead.endpoint()}, dir_);
  auto args = SubmitArgs(dead.endpoint());
  for (const char* a : {"--timeout", "6"}) args.push_back(a);
  JudgeProcess submit(args, dir_);
  const std::string message =
      "judge: no answer from " + dead.endpoint() + " in 5 s (is judge-broker running?)\n";
  ASSERT_EQ(status.Wait(), 2);
  ASSERT_EQ(stats.Wait(), 2);
  const double took = SecondsSince(start);
  EXPECT_GE(took, 4.5);
  EXPECT_LT(took, 8.0);
  EXPECT_EQ(status.err(), message);
  EXPECT_EQ(stats.err(), message);
  EXPECT_EQ(status.out(), "");
  ASSERT_EQ(submit.Wait(), 4);
  EXPECT_LT(SecondsSince(start), 9.0);
  EXPECT_HAS(submit.err(), "cannot reach " + dead.endpoint() + " for 5 s");
  EXPECT_HAS(submit.err(), "did not accept");
}

TEST_F(RemoteTest, UsageErrorsExit2) {
  JudgeProcess no_id({"wait"}, dir_);
  JudgeProcess bad_encoding({"stats", "--encoding", "xml"}, dir_);
  JudgeProcess bad_priority(
      {"submit", "--source", source_, "--tests", tests_, "--priority", "high"}, dir_);
  JudgeProcess unknown({"status", "x", "--frobnicate"}, dir_);
  EXPECT_EQ(no_id.Wait(), 2);
  EXPECT_HAS(no_id.err(), "takes one JOB_ID");
  EXPECT_EQ(bad_encoding.Wait(), 2);
  EXPECT_HAS(bad_encoding.err(), "use pb or mp");
  EXPECT_EQ(bad_priority.Wait(), 2);
  EXPECT_HAS(bad_priority.err(), "--priority");
  EXPECT_EQ(unknown.Wait(), 2);
  EXPECT_HAS(unknown.err(), "unknown option --frobnicate (see judge status --help)");
}

// On a terminal the rows appear as PROGRESS arrives; a test seen again with another
// result is rewritten in place, the same result again changes nothing.
TEST(ProgressTable, LiveRowsAreRewrittenInPlace) {
  char* buf = nullptr;
  size_t size = 0;
  FILE* out = ::open_memstream(&buf, &size);
  ASSERT_NE(out, nullptr);
  {
    ProgressTable table(/*live=*/true, /*color=*/false, out);
    table.Progress(Progress("j", 0, v1::WA));
    table.Progress(Progress("j", 1, v1::AC));
    std::fflush(out);
    const size_t before = size;
    table.Progress(Progress("j", 1, v1::AC));
    std::fflush(out);
    EXPECT_EQ(size, before);
    table.Progress(Progress("j", 0, v1::AC));  // re-dispatched: from test 0 again
    table.Finish(Result2("j", v1::AC));
  }
  std::fclose(out);
  const std::string text(buf, size);
  std::free(buf);
  // The header, row 0, row 1; then up two lines to row 0, rewritten, down one line.
  EXPECT_HAS(text, "message\n1                        WA");
  EXPECT_HAS(text, "\n2                        AC");
  EXPECT_HAS(text, "\033[2A\r\033[2K1                        AC");
  EXPECT_HAS(text, "\033[1B");
  EXPECT_HAS(text, "verdict AC  max time 3.0 ms  max memory 1.4 MiB  job j  worker host/1\n");
  // The result's rows equal what was shown: nothing rewritten at the end.
  EXPECT_EQ(text.find("\033[2A"), text.rfind("\033[2A"));
}

}  // namespace
}  // namespace judge::testing
