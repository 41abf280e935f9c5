// judge-broker as a real process on loopback, with fake workers (service_util.h) that
// answer at once or hold jobs: queueing, dispatch, durability, and bad input.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "protocol/codec.h"
#include "protocol/frame.h"
#include "protocol/msgpack.h"
#include "protocol/wire.h"
#include "tests/sandbox/test_util.h"
#include "tests/service/service_util.h"

namespace judge::testing {
namespace {

class BrokerTest : public ::testing::Test {
 protected:
  void Start(std::vector<std::string> extra = {}) {
    extra.insert(extra.begin(), {"--heartbeat-ms", "100"});
    broker_ = std::make_unique<BrokerProcess>(db(), extra);
    ASSERT_FALSE(broker_->clients.empty()) << broker_->process->Stderr();
  }
  // Kills the broker with SIGKILL and starts it again on the same ports and journal.
  // `heartbeat_ms`: the restarted broker's (its hold on running jobs is 3 of them).
  void Restart(bool kill9 = true, int heartbeat_ms = 100) {
    std::string c = broker_->clients, w = broker_->workers;
    broker_->process->Signal(kill9 ? SIGKILL : SIGTERM);
    ASSERT_TRUE(broker_->process->Wait().has_value());
    broker_ = std::make_unique<BrokerProcess>(
        db(), std::vector<std::string>{"--heartbeat-ms", std::to_string(heartbeat_ms)}, c, w);
    ASSERT_EQ(broker_->clients, c) << broker_->process->Stderr();
  }
  std::string db() const { return dir_.path() + "/judge.db"; }
  FakeWorker::Options Fake(bool hold = false, int slots = 1, std::string name = "fake") {
    FakeWorker::Options o;
    o.hold = hold;
    o.slots = slots;
    o.name = std::move(name);
    return o;
  }
  // A request and its one reply.
  std::optional<Frame> Ask(Client& c, std::string_view verb, const google::protobuf::Message& m) {
    c.Send(verb, m);
    return c.Recv();
  }
  v1::JobStatus Status(Client& c, const std::string& id) {
    v1::JobRef ref;
    ref.set_job_id(id);
    std::optional<Frame> f = Ask(c, verb::kStatus, ref);
    EXPECT_TRUE(f && f->verb == verb::kStatus);
    return f ? Decode<v1::JobStatus>(*f) : v1::JobStatus();
  }
  v1::Stats Stats(Client& c) {
    std::optional<Frame> f = Ask(c, verb::kStats, v1::Empty());
    EXPECT_TRUE(f && f->verb == verb::kStats);
    return f ? Decode<v1::Stats>(*f) : v1::Stats();
  }
  // Waits until the broker counts `n` workers (their READY handled).
  bool AwaitWorkers(Client& c, int n) {
    const auto deadline = Clock::now() + 10s;
    while (Clock::now() < deadline) {
      if (Stats(c).workers() == n) return true;
    }
    return false;
  }
  // Waits until STATUS of id is `state`.
  bool AwaitState(Client& c, const std::string& id, v1::JobStatus::State state) {
    const auto deadline = Clock::now() + 10s;
    while (Clock::now() < deadline) {
      if (Status(c, id).state() == state) return true;
    }
    return false;
  }

  TempDir dir_;
  zmq::context_t ctx_;
  std::unique_ptr<BrokerProcess> broker_;
};

class BrokerEncodingTest : public BrokerTest,
                           public ::testing::WithParamInterface<std::string> {};

TEST_P(BrokerEncodingTest, SubmitGetsAcceptedProgressPerTestAndResult) {
  Start();
  // The worker speaks the other encoding: the broker translates.
  FakeWorker::Options o = Fake();
  o.encoding = GetParam() == "pb" ? "mp" : "pb";
  FakeWorker worker(ctx_, broker_->workers, o);
  Client client(ctx_, broker_->clients, GetParam());
  client.Send(verb::kSubmit, TinyJob("j1", 2));
  std::optional<Frame> f = client.Recv();
  ASSERT_TRUE(f);
  ASSERT_EQ(f->verb, verb::kAccepted);
  EXPECT_EQ(f->encoding, GetParam());
  EXPECT_EQ(Decode<v1::JobRef>(*f).job_id(), "j1");
  for (int i = 0; i < 2; ++i) {
    f = client.Recv();
    ASSERT_TRUE(f);
    ASSERT_EQ(f->verb, verb::kProgress);
    v1::TestResult t = Decode<v1::TestResult>(*f);
    EXPECT_EQ(t.job_id(), "j1");
    EXPECT_EQ(t.index(), i);
  }
  f = client.Recv();
  ASSERT_TRUE(f);
  ASSERT_EQ(f->verb, verb::kResult);
  v1::JobResult r = Decode<v1::JobResult>(*f);
  EXPECT_EQ(r.job_id(), "j1");
  EXPECT_EQ(r.verdict(), v1::AC);
  EXPECT_EQ(r.tests_size(), 2);
  EXPECT_EQ(r.worker(), "fake");
}

INSTANTIATE_TEST_SUITE_P(Encodings, BrokerEncodingTest, ::testing::Values("pb", "mp"));

TEST_F(BrokerTest, AJobWithoutIdGetsOne) {
  Start();
  Client client(ctx_, broker_->clients);
  v1::Job job = TinyJob("");
  std::optional<Frame> f = Ask(client, verb::kSubmit, job);
  ASSERT_TRUE(f && f->verb == verb::kAccepted);
  std::string id = Decode<v1::JobRef>(*f).job_id();
  EXPECT_EQ(id.size(), 32u);
  EXPECT_EQ(Status(client, id).state(), v1::JobStatus::QUEUED);
}

TEST_F(BrokerTest, AResubmittedIdGetsTheFirstResultAndIsNeverRunTwice) {
  Start();
  FakeWorker worker(ctx_, broker_->workers, Fake());
  Client client(ctx_, broker_->clients);
  client.Send(verb::kSubmit, TinyJob("dup", 2));
  std::optional<Frame> first = client.RecvSkipping(verb::kProgress);
  ASSERT_TRUE(first && first->verb == verb::kAccepted);
  first = client.RecvSkipping(verb::kProgress);
  ASSERT_TRUE(first && first->verb == verb::kResult);

  // Other content, same id: the same job.
  client.Send(verb::kSubmit, TinyJob("dup", 5));
  std::optional<Frame> f = client.Recv();
  ASSERT_TRUE(f && f->verb == verb::kAccepted);
  f = client.Recv();
  ASSERT_TRUE(f && f->verb == verb::kResult);
  EXPECT_EQ(Decode<v1::JobResult>(*f).tests_size(), 2);
  EXPECT_EQ(worker.jobs(), std::vector<std::string>{"dup"});
}

TEST_F(BrokerTest, TwoClientsSubmittingOneIdWhileQueuedBothGetTheOneResult) {
  Start();
  Client a(ctx_, broker_->clients), b(ctx_, broker_->clients, "mp");
  a.Send(verb::kSubmit, TinyJob("same"));
  b.Send(verb::kSubmit, TinyJob("same"));
  for (Client* c : {&a, &b}) {
    std::optional<Frame> f = c->Recv();
    ASSERT_TRUE(f && f->verb == verb::kAccepted);
  }
  FakeWorker worker(ctx_, broker_->workers, Fake());
  for (Client* c : {&a, &b}) {
    std::optional<Frame> f = c->RecvSkipping(verb::kProgress);
    ASSERT_TRUE(f && f->verb == verb::kResult);
  }
  EXPECT_EQ(worker.jobs(), std::vector<std::string>{"same"});
}

TEST_F(BrokerTest, AnotherConnectionCanAskStatusAndWaitForTheResult) {
  Start();
  {
    Client gone(ctx_, broker_->clients);
    std::optional<Frame> f = Ask(gone, verb::kSubmit, TinyJob("later"));
    ASSERT_TRUE(f && f->verb == verb::kAccepted);
  }
  Client client(ctx_, broker_->clients, "mp");
  EXPECT_EQ(Status(client, "later").state(), v1::JobStatus::QUEUED);
  EXPECT_EQ(Status(client, "never").state(), v1::JobStatus::UNKNOWN);
  v1::JobRef ref;
  ref.set_job_id("later");
  client.Send(verb::kWait, ref);
  FakeWorker worker(ctx_, broker_->workers, Fake());
  std::optional<Frame> f = client.RecvSkipping(verb::kProgress);
  ASSERT_TRUE(f && f->verb == verb::kResult);
  v1::JobStatus done = Status(client, "later");
  EXPECT_EQ(done.state(), v1::JobStatus::DONE);
  EXPECT_EQ(done.result().verdict(), v1::AC);
  // A WAIT for a finished job is answered at once.
  f = Ask(client, verb::kWait, ref);
  ASSERT_TRUE(f && f->verb == verb::kResult);
}

TEST_F(BrokerTest, CancelAQueuedARunningADoneAndAnUnknownJob) {
  Start();
  Client client(ctx_, broker_->clients);
  ASSERT_EQ(Ask(client, verb::kSubmit, TinyJob("q"))->verb, verb::kAccepted);
  v1::JobRef ref;
  ref.set_job_id("q");
  std::optional<Frame> f = Ask(client, verb::kCancel, ref);
  ASSERT_TRUE(f && f->verb == verb::kStatus);
  EXPECT_EQ(Decode<v1::JobStatus>(*f).state(), v1::JobStatus::CANCELLED);
  EXPECT_EQ(Status(client, "q").state(), v1::JobStatus::CANCELLED);

  FakeWorker worker(ctx_, broker_->workers, Fake(/*hold=*/true));
  ASSERT_EQ(Ask(client, verb::kSubmit, TinyJob("r"))->verb, verb::kAccepted);
  ASSERT_TRUE(worker.AwaitJobs(1));
  EXPECT_EQ(worker.jobs(), std::vector<std::string>{"r"});  // q was never dispatched
  ref.set_job_id("r");
  client.Send(verb::kCancel, ref);
  f = client.Recv();
  ASSERT_TRUE(f && f->verb == verb::kStatus);
  EXPECT_EQ(Decode<v1::JobStatus>(*f).state(), v1::JobStatus::CANCELLED);
  EXPECT_TRUE(worker.AwaitCancel("r"));
  // The worker's slot came back: the next job runs.
  worker.Release();
  f = Ask(client, verb::kSubmit, TinyJob("s"));
  ASSERT_TRUE(f && f->verb == verb::kAccepted);
  f = client.RecvSkipping(verb::kProgress);
  ASSERT_TRUE(f && f->verb == verb::kResult);
  // Too late to cancel: the answer is the DONE status.
  ref.set_job_id("s");
  f = Ask(client, verb::kCancel, ref);
  ASSERT_TRUE(f && f->verb == verb::kStatus);
  EXPECT_EQ(Decode<v1::JobStatus>(*f).state(), v1::JobStatus::DONE);
  ref.set_job_id("nope");
  f = Ask(client, verb::kCancel, ref);
  ASSERT_TRUE(f && f->verb == verb::kError);
  EXPECT_EQ(Decode<v1::Error>(*f).code(), v1::Error::NOT_FOUND);
}

struct BadCase {
  std::vector<std::string> parts;
  v1::Error::Code code;
  std::string says;
};

TEST_F(BrokerTest, EveryKindOfBadMessageGetsAnErrorAndTheBrokerKeepsServing) {
  Start({"--max-message-bytes", "4096"});
  FakeWorker worker(ctx_, broker_->workers, Fake(false, 1, "w"));
  Client client(ctx_, broker_->clients);
  // "no worker has the toolchain" needs the worker's READY (its languages) handled.
  ASSERT_TRUE(AwaitWorkers(client, 1));
  auto job = [](auto edit) {
    v1::Job j = TinyJob("bad");
    edit(j);
    return *EncodeMsgpack(j);
  };
  const std::vector<BadCase> cases = {
      {{"JDG1", "SUBMIT", "mp"}, v1::Error::BAD_REQUEST, "expected a message of 4 parts"},
      {{"JDG1", "SUBMIT", "mp", "", "extra"}, v1::Error::BAD_REQUEST, "got 5"},
      {{"JDG9", "STATS", "mp", ""}, v1::Error::BAD_REQUEST, "version 'JDG9' is not supported"},
      {{"JDG1", "FROB", "mp", ""}, v1::Error::BAD_REQUEST, "unknown verb 'FROB' (expected SUBMIT"},
      {{"JDG1", "JOB", "mp", ""}, v1::Error::BAD_REQUEST, "not accepted on this socket"},
      {{"JDG1", "STATS", "json", ""}, v1::Error::BAD_REQUEST, "unknown encoding 'json'"},
      {{"JDG1", "SUBMIT", "mp", std::string(5000, 'x')}, v1::Error::BAD_REQUEST,
       "over the limit of 4096 bytes (judge-broker --max-message-bytes)"},
      {{"JDG1", "SUBMIT", "mp", "\xc1"}, v1::Error::BAD_REQUEST, "SUBMIT body: msgpack"},
      {{"JDG1", "SUBMIT", "pb", "\xff\xff\xff"}, v1::Error::BAD_REQUEST, "SUBMIT body"},
      {{"JDG1", "SUBMIT", "mp", "\x81\xa8" "language\x05"}, v1::Error::BAD_REQUEST, "language"},
      {{"JDG1", "SUBMIT", "mp", "\x81\xa5" "bogus\x01"}, v1::Error::BAD_REQUEST, "bogus"},
      {{"JDG1", "STATUS", "mp", "\x80"}, v1::Error::BAD_REQUEST, "needs a job_id"},
      {{"JDG1", "SUBMIT", "mp", job([](v1::Job& j) { j.set_language("cobol"); })},
       v1::Error::UNKNOWN_LANGUAGE, "unknown language 'cobol' (known: c, cpp17"},
      {{"JDG1", "SUBMIT", "mp", job([](v1::Job& j) { j.set_language("java"); })},
       v1::Error::UNKNOWN_LANGUAGE, "no worker has the toolchain for 'java'"},
      {{"JDG1", "SUBMIT", "mp", job([](v1::Job& j) { j.clear_language(); })},
       v1::Error::BAD_REQUEST, "the job has no language"},
      {{"JDG1", "SUBMIT", "mp", job([](v1::Job& j) { j.clear_sources(); })},
       v1::Error::BAD_REQUEST, "the job has no sources"},
      {{"JDG1", "SUBMIT", "mp", job([](v1::Job& j) { j.set_id("has space"); })},
       v1::Error::BAD_REQUEST, "a job id must be"},
  };
  for (const BadCase& c : cases) {
    client.SendRaw(c.parts);
    std::optional<Frame> f = client.Recv();
    ASSERT_TRUE(f) << c.says;
    ASSERT_EQ(f->verb, verb::kError) << c.says;
    v1::Error e = Decode<v1::Error>(*f);
    EXPECT_EQ(e.code(), c.code) << e.message();
    EXPECT_NE(e.message().find(c.says), std::string::npos) << e.message();
  }
  // Over twice the limit the connection is dropped unread; the broker goes on.
  {
    Client huge(ctx_, broker_->clients);
    huge.SendRaw({"JDG1", "SUBMIT", "mp", std::string(20000, 'x')});
  }
  // A worker socket's peer that sends garbage gets ERROR too.
  zmq::socket_t rogue(ctx_, zmq::socket_type::dealer);
  rogue.set(zmq::sockopt::linger, 0);
  rogue.connect(broker_->workers);
  SendParts(rogue, {"JDG1", "SUBMIT", "pb", ""});
  zmq::pollitem_t item{rogue.handle(), 0, ZMQ_POLLIN, 0};
  ASSERT_EQ(zmq::poll(&item, 1, std::chrono::milliseconds(10000)), 1);
  std::vector<std::string> parts;
  ASSERT_TRUE(RecvParts(rogue, &parts));
  ASSERT_EQ(parts.size(), 4u);
  EXPECT_EQ(parts[1], "ERROR");

  v1::Stats s = Stats(client);
  EXPECT_EQ(s.workers(), 1);
  std::optional<Frame> f = Ask(client, verb::kSubmit, TinyJob("good"));
  ASSERT_TRUE(f && f->verb == verb::kAccepted);
  f = client.RecvSkipping(verb::kProgress);
  ASSERT_TRUE(f && f->verb == verb::kResult);
  EXPECT_EQ(worker.jobs(), std::vector<std::string>{"good"});
  EXPECT_EQ(broker_->process->Wait(0s), std::nullopt) << "the broker exited";
}

TEST_F(BrokerTest, AFullQueueSaysSoAndKeepsWhatItHas) {
  Start({"--max-queue", "2"});
  Client client(ctx_, broker_->clients, "mp");
  EXPECT_EQ(Ask(client, verb::kSubmit, TinyJob("a"))->verb, verb::kAccepted);
  EXPECT_EQ(Ask(client, verb::kSubmit, TinyJob("b"))->verb, verb::kAccepted);
  std::optional<Frame> f = Ask(client, verb::kSubmit, TinyJob("c"));
  ASSERT_TRUE(f && f->verb == verb::kError);
  v1::Error e = Decode<v1::Error>(*f);
  EXPECT_EQ(e.code(), v1::Error::QUEUE_FULL);
  EXPECT_NE(e.message().find("--max-queue"), std::string::npos) << e.message();
  EXPECT_EQ(Stats(client).queued(), 2);
  EXPECT_EQ(Status(client, "c").state(), v1::JobStatus::UNKNOWN);
  // A resubmission of a queued job is not a new job: still accepted.
  EXPECT_EQ(Ask(client, verb::kSubmit, TinyJob("a"))->verb, verb::kAccepted);
}

TEST_F(BrokerTest, HigherPriorityFirstThenSubmissionOrder) {
  Start();
  Client client(ctx_, broker_->clients);
  for (auto [id, prio] : std::vector<std::pair<std::string, int>>{
           {"a", 0}, {"b", 0}, {"c", 5}, {"d", 5}, {"e", -1}}) {
    ASSERT_EQ(Ask(client, verb::kSubmit, TinyJob(id, 1, prio))->verb, verb::kAccepted);
  }
  FakeWorker worker(ctx_, broker_->workers, Fake());
  ASSERT_TRUE(worker.AwaitJobs(5));
  EXPECT_EQ(worker.jobs(), (std::vector<std::string>{"c", "d", "a", "b", "e"}));
}

TEST_F(BrokerTest, CreditLimitsJobsInFlightPerWorker) {
  Start();
  FakeWorker worker(ctx_, broker_->workers, Fake(/*hold=*/true, /*slots=*/2));
  Client client(ctx_, broker_->clients);
  for (std::string id : {"a", "b", "c"}) {
    ASSERT_EQ(Ask(client, verb::kSubmit, TinyJob(id))->verb, verb::kAccepted);
  }
  ASSERT_TRUE(worker.AwaitJobs(2));
  v1::Stats s = Stats(client);
  EXPECT_EQ(s.running(), 2);
  EXPECT_EQ(s.queued(), 1);
  EXPECT_EQ(s.free_slots(), 0);
  EXPECT_EQ(worker.jobs().size(), 2u);
  worker.Release();
  ASSERT_TRUE(worker.AwaitJobs(3));
}

TEST_F(BrokerTest, ASilentWorkerIsDeadAndItsJobRunsElsewhereWithOneResult) {
  Start();
  auto lost = std::make_unique<FakeWorker>(ctx_, broker_->workers, Fake(true, 1, "lost"));
  Client client(ctx_, broker_->clients);
  client.Send(verb::kSubmit, TinyJob("x", 2));
  ASSERT_TRUE(lost->AwaitJobs(1));
  lost->Vanish();
  FakeWorker healthy(ctx_, broker_->workers, Fake(false, 1, "healthy"));
  std::optional<Frame> f = client.RecvSkipping(verb::kProgress);
  ASSERT_TRUE(f && f->verb == verb::kAccepted);
  f = client.RecvSkipping(verb::kProgress);
  ASSERT_TRUE(f && f->verb == verb::kResult);
  EXPECT_EQ(Decode<v1::JobResult>(*f).worker(), "healthy");
  EXPECT_EQ(healthy.jobs(), std::vector<std::string>{"x"});
  // The presumed-dead worker's late result changes nothing.
  FakeWorker late(ctx_, broker_->workers, Fake(false, 1, "lost"));
  late.SendDone("x", v1::WA);
  ASSERT_TRUE(AwaitState(client, "x", v1::JobStatus::DONE));
  Client other(ctx_, broker_->clients);
  EXPECT_EQ(Status(other, "x").result().worker(), "healthy");
  EXPECT_FALSE(client.Recv(200ms).has_value()) << "a second RESULT";
}

TEST_F(BrokerTest, TheBrokerSendsHeartbeats) {
  Start();
  FakeWorker worker(ctx_, broker_->workers, Fake());
  const auto deadline = Clock::now() + 10s;
  while (worker.heartbeats() < 3 && Clock::now() < deadline) {
    Client c(ctx_, broker_->clients);  // something to wait on: a round trip
    Stats(c);
  }
  EXPECT_GE(worker.heartbeats(), 3);
}

TEST_F(BrokerTest, StatsCountWorkersJobsVerdictsAndQueueWait) {
  Start();
  FakeWorker worker(ctx_, broker_->workers, Fake(false, 3));
  Client client(ctx_, broker_->clients);
  for (int i = 0; i < 4; ++i) {
    client.Send(verb::kSubmit, TinyJob("s" + std::to_string(i)));
  }
  int results = 0;
  while (results < 4) {
    std::optional<Frame> f = client.Recv();
    ASSERT_TRUE(f);
    results += f->verb == verb::kResult;
  }
  v1::Stats s = Stats(client);
  EXPECT_EQ(s.workers(), 1);
  EXPECT_EQ(s.free_slots(), 3);
  EXPECT_EQ(s.jobs_done(), 4);
  EXPECT_EQ(s.verdicts().at("AC"), 4);
  EXPECT_EQ(s.queued(), 0);
  EXPECT_EQ(s.running(), 0);
}

TEST_F(BrokerTest, AfterARestartAWorkerKeepsTheJobItWasRunning) {
  Start();
  Client client(ctx_, broker_->clients);
  ASSERT_EQ(Ask(client, verb::kSubmit, TinyJob("kept"))->verb, verb::kAccepted);
  ASSERT_NO_FATAL_FAILURE(Restart());
  // The worker still judging "kept" says so when it (re)connects; a second worker that
  // would answer at once must not get it.
  FakeWorker::Options o = Fake(true, 1, "keeper");
  o.running = {"kept"};
  o.slots = 1;
  FakeWorker keeper(ctx_, broker_->workers, o);
  Client again(ctx_, broker_->clients);
  ASSERT_TRUE(AwaitState(again, "kept", v1::JobStatus::RUNNING));
  FakeWorker eager(ctx_, broker_->workers, Fake(false, 1, "eager"));
  v1::JobRef ref;
  ref.set_job_id("kept");
  again.Send(verb::kWait, ref);
  keeper.SendDone("kept", v1::WA);
  std::optional<Frame> f = again.RecvSkipping(verb::kProgress);
  ASSERT_TRUE(f && f->verb == verb::kResult);
  v1::JobResult r = Decode<v1::JobResult>(*f);
  EXPECT_EQ(r.worker(), "keeper");
  EXPECT_EQ(r.verdict(), v1::WA);
  EXPECT_TRUE(eager.jobs().empty());
}

// A raw DEALER on the worker socket, for messages a well-behaved worker would not send.
class RawPeer {
 public:
  RawPeer(zmq::context_t& ctx, const std::string& endpoint)
      : socket_(ctx, zmq::socket_type::dealer) {
    socket_.set(zmq::sockopt::linger, 0);
    socket_.connect(endpoint);
  }
  void Send(std::string_view verb, const google::protobuf::Message& m) {
    SendMessage(socket_, "", verb, "pb", m);
  }
  void SendBody(std::string_view verb, std::string_view encoding, std::string body) {
    SendParts(socket_, MakeFrame(verb, encoding, std::move(body)));
  }
  // Says who it is, with one free slot for `language`.
  void Introduce(const std::string& language) {
    v1::WorkerReady ready;
    ready.set_name("raw");
    ready.set_slots(1);
    ready.set_free_slots(1);
    ready.add_languages(language);
    Send(verb::kReady, ready);
  }
  // The verb of the next message other than a HEARTBEAT, or "".
  std::string NextVerbSkippingHeartbeats() {
    std::string v;
    while ((v = NextVerb()) == verb::kHeartbeat) {
    }
    return v;
  }
  // The verb of the next message, or "" after 10 s.
  std::string NextVerb() {
    zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
    if (zmq::poll(&item, 1, std::chrono::milliseconds(10000)) != 1) return "";
    std::vector<std::string> parts;
    if (!RecvParts(socket_, &parts) || parts.size() != 4) return "";
    return parts[1];
  }

 private:
  zmq::socket_t socket_;
};

TEST_F(BrokerTest, APeerThatNeverSaidWhoItIsGetsNoWorkAndSetsNoResult) {
  Start();
  Client client(ctx_, broker_->clients);
  ASSERT_EQ(Ask(client, verb::kSubmit, TinyJob("victim"))->verb, verb::kAccepted);
  RawPeer peer(ctx_, broker_->workers);
  // A READY without a name (what a worker says to a broker that has since restarted).
  v1::WorkerReady credit;
  credit.set_free_slots(1);
  peer.Send(verb::kReady, credit);
  EXPECT_EQ(peer.NextVerb(), "DISCONNECT");
  // A forged result for a job it was never given.
  v1::JobResult forged;
  forged.set_job_id("victim");
  forged.set_verdict(v1::AC);
  peer.Send(verb::kDone, forged);
  EXPECT_EQ(peer.NextVerb(), "DISCONNECT");
  v1::Stats s = Stats(client);
  EXPECT_EQ(s.workers(), 0);
  EXPECT_EQ(Status(client, "victim").state(), v1::JobStatus::QUEUED);
}

TEST_F(BrokerTest, AMessageOfManyPartsIsRefusedWithoutKeepingThem) {
  Start();
  Client client(ctx_, broker_->clients);
  std::vector<std::string> parts = {"JDG1", "STATS", "pb", ""};
  for (int i = 0; i < 500; ++i) parts.push_back(std::string(4096, 'x'));
  client.SendRaw(parts);
  std::optional<Frame> f = client.Recv();
  ASSERT_TRUE(f && f->verb == verb::kError);
  EXPECT_HAS(Decode<v1::Error>(*f).message(), "expected a message of 4 parts");
  EXPECT_EQ(Stats(client).queued(), 0);
}

TEST_F(BrokerTest, TheSubmitterKeepsItsResultWhenManyOthersWait) {
  Start();
  Client submitter(ctx_, broker_->clients);
  ASSERT_EQ(Ask(submitter, verb::kSubmit, TinyJob("popular"))->verb, verb::kAccepted);
  v1::JobRef ref;
  ref.set_job_id("popular");
  std::vector<std::unique_ptr<Client>> others;
  for (int i = 0; i < 63; ++i) {
    others.push_back(std::make_unique<Client>(ctx_, broker_->clients));
    others.back()->Send(verb::kWait, ref);
  }
  Client one_too_many(ctx_, broker_->clients);
  // STATUS is a round trip through the broker: every WAIT before it has been handled.
  for (auto& c : others) Status(*c, "popular");
  std::optional<Frame> f = Ask(one_too_many, verb::kWait, ref);
  ASSERT_TRUE(f && f->verb == verb::kError);
  EXPECT_HAS(Decode<v1::Error>(*f).message(), "clients already wait for job popular");
  FakeWorker worker(ctx_, broker_->workers, Fake());
  f = submitter.RecvSkipping(verb::kProgress);
  ASSERT_TRUE(f && f->verb == verb::kResult);
  f = others.back()->RecvSkipping(verb::kProgress);
  ASSERT_TRUE(f && f->verb == verb::kResult);
}

// Watchers of one job in both encodings: the result is encoded once per encoding, and
// each watcher gets it in its own, the same result.
TEST_F(BrokerTest, WatchersInBothEncodingsGetTheSameResult) {
  Start();
  Client submitter(ctx_, broker_->clients, "mp");
  ASSERT_EQ(Ask(submitter, verb::kSubmit, TinyJob("shared", 3))->verb, verb::kAccepted);
  v1::JobRef ref;
  ref.set_job_id("shared");
  Client pb1(ctx_, broker_->clients, "pb"), pb2(ctx_, broker_->clients, "pb");
  Client mp(ctx_, broker_->clients, "mp");
  for (Client* c : {&pb1, &pb2, &mp}) {
    c->Send(verb::kWait, ref);
    Status(*c, "shared");  // the WAIT has been handled
  }
  FakeWorker worker(ctx_, broker_->workers, Fake());
  std::vector<std::string> results;
  const std::pair<Client*, std::string_view> watchers[] = {{&submitter, kEncodingMsgpack},
                                                           {&pb1, kEncodingProtobuf},
                                                           {&pb2, kEncodingProtobuf},
                                                           {&mp, kEncodingMsgpack}};
  for (const auto& [c, encoding] : watchers) {
    std::optional<Frame> f = c->RecvSkipping(verb::kProgress);
    ASSERT_TRUE(f && f->verb == verb::kResult);
    EXPECT_EQ(f->encoding, encoding);
    v1::JobResult r = Decode<v1::JobResult>(*f);
    EXPECT_EQ(r.job_id(), "shared");
    EXPECT_EQ(r.tests_size(), 3);
    results.push_back(r.SerializeAsString());
  }
  for (const std::string& r : results) EXPECT_EQ(r, results.front());
}

TEST_F(BrokerTest, AJobOfOneLanguageIsNotStuckBehindJobsOfAnother) {
  Start();
  Client client(ctx_, broker_->clients);
  for (int i = 0; i < 50; ++i) {
    v1::Job job = TinyJob("cpp" + std::to_string(i));
    job.set_language("cpp17");
    client.Send(verb::kSubmit, job);
  }
  v1::Job py = TinyJob("py");
  py.set_language("python3");
  client.Send(verb::kSubmit, py);
  FakeWorker::Options o = Fake(false, 1, "python-only");
  o.languages = {"python3"};
  FakeWorker worker(ctx_, broker_->workers, o);
  ASSERT_TRUE(worker.AwaitJobs(1));
  EXPECT_EQ(worker.jobs(), std::vector<std::string>{"py"});
}

TEST_F(BrokerTest, AWorkerThatReconnectsKeepsItsJob) {
  Start();
  auto first = std::make_unique<FakeWorker>(ctx_, broker_->workers, Fake(true, 1, "same"));
  Client client(ctx_, broker_->clients);
  client.Send(verb::kSubmit, TinyJob("mine", 2));
  ASSERT_TRUE(first->AwaitJobs(1));
  // The same worker on a new connection (its old one not yet timed out) says it still
  // judges the job; a second, idle worker must not get it.
  FakeWorker::Options o = Fake(true, 1, "same");
  o.running = {"mine"};
  FakeWorker again(ctx_, broker_->workers, o);
  Client watcher(ctx_, broker_->clients);
  const auto deadline = Clock::now() + 10s;
  while (Stats(watcher).workers() != 1 && Clock::now() < deadline) {
  }
  EXPECT_EQ(Stats(watcher).workers(), 1) << "the old connection stays registered";
  FakeWorker idle(ctx_, broker_->workers, Fake(false, 1, "idle"));
  again.SendDone("mine", v1::AC);
  std::optional<Frame> f = client.RecvSkipping(verb::kProgress);
  ASSERT_TRUE(f && f->verb == verb::kAccepted);
  f = client.RecvSkipping(verb::kProgress);
  ASSERT_TRUE(f && f->verb == verb::kResult);
  EXPECT_EQ(Decode<v1::JobResult>(*f).worker(), "same");
  EXPECT_TRUE(idle.jobs().empty());
  first->Vanish();
}

TEST_F(BrokerTest, AfterARestartAJobThatWasRunningWaitsForItsWorker) {
  Start();
  auto judging = std::make_unique<FakeWorker>(ctx_, broker_->workers, Fake(true, 1, "keeper"));
  Client client(ctx_, broker_->clients);
  ASSERT_EQ(Ask(client, verb::kSubmit, TinyJob("held"))->verb, verb::kAccepted);
  ASSERT_TRUE(judging->AwaitJobs(1));
  // The dispatch mark rides on the broker's next commit; a reply is sent only after
  // the commit of its batch, so once one comes, the mark is in the journal (killed
  // before that, the broker would hold nothing for the job's worker).
  EXPECT_EQ(Status(client, "held").state(), v1::JobStatus::RUNNING);
  judging->Vanish();
  // A hold of 3 x 500 ms: the keeper's READY must come within it even when the machine
  // is busy (with 100 ms it sometimes came late under a parallel ctest).
  ASSERT_NO_FATAL_FAILURE(Restart(true, 500));
  // An idle worker that connects first must leave the job to the one judging it.
  FakeWorker eager(ctx_, broker_->workers, Fake(false, 1, "eager"));
  FakeWorker::Options o = Fake(true, 1, "keeper");
  o.running = {"held"};
  FakeWorker keeper(ctx_, broker_->workers, o);
  Client again(ctx_, broker_->clients);
  ASSERT_TRUE(AwaitState(again, "held", v1::JobStatus::RUNNING));
  v1::JobRef ref;
  ref.set_job_id("held");
  again.Send(verb::kWait, ref);
  keeper.SendDone("held", v1::AC);
  std::optional<Frame> f = again.RecvSkipping(verb::kProgress);
  ASSERT_TRUE(f && f->verb == verb::kResult);
  EXPECT_EQ(Decode<v1::JobResult>(*f).worker(), "keeper");
  EXPECT_TRUE(eager.jobs().empty());
}

TEST_F(BrokerTest, ASecondBrokerOnTheSameJournalIsRefused) {
  Start();
  BrokerProcess second(db());
  EXPECT_TRUE(second.clients.empty());
  std::optional<int> status = second.process->Wait();
  ASSERT_TRUE(status.has_value());
  EXPECT_NE(WEXITSTATUS(*status), 0);
  EXPECT_HAS(second.process->Stderr(), "another judge-broker");
}

TEST_F(BrokerTest, AJobOverTheBrokersLimitIsRefusedByTheClientWithTheReason) {
  Start({"--max-message-bytes", "1048576"});
  // Over twice the limit the broker drops the connection unread; the client asks the
  // limit first and says so, instead of resending for ever.
  const std::string src = dir_.Write("main.c", "int main(void) { return 0; }\n");
  ASSERT_EQ(::mkdir((dir_.path() + "/tests").c_str(), 0755), 0);
  dir_.Write("tests/1.in", std::string(3 << 20, '1'));
  dir_.Write("tests/1.ans", "1\n");
  Process cli({CliBin(), "submit", "--broker", broker_->clients, "--source", src, "--tests",
               dir_.path() + "/tests"});
  std::optional<int> status = cli.Wait(30s);
  ASSERT_TRUE(status.has_value()) << "the client hung";
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 2) << cli.Stderr();
  EXPECT_HAS(cli.Stderr(), "over the broker's limit of 1048576");
}

// The durability test: kill -9 of the broker while a client submits a stream
// of jobs and a worker answers them. After the restart every job the broker accepted
// has exactly one result (resubmitting is safe: ids are idempotency keys).
TEST_F(BrokerTest, KillNineUnderLoadLosesNothingAndAnswersEachJobOnce) {
  Start();
  constexpr int kJobs = 400;
  FakeWorker worker(ctx_, broker_->workers, Fake(false, 2, "w"));
  Client client(ctx_, broker_->clients);
  std::set<std::string> accepted_before_kill;
  std::map<std::string, std::string> result_of;  // id -> the RESULT bytes first seen
  int duplicates = 0, conflicting = 0;
  auto take = [&](const Frame& f, std::set<std::string>* accepted) {
    if (f.verb == verb::kAccepted) {
      accepted->insert(Decode<v1::JobRef>(f).job_id());
    } else if (f.verb == verb::kResult) {
      v1::JobResult r = Decode<v1::JobResult>(f);
      auto [it, fresh] = result_of.emplace(r.job_id(), f.body);
      if (!fresh) {
        ++duplicates;
        conflicting += it->second != f.body;
      }
    }
  };
  for (int i = 0; i < kJobs; ++i) client.Send(verb::kSubmit, TinyJob("k" + std::to_string(i)));
  while (accepted_before_kill.size() < kJobs / 3) {
    std::optional<Frame> f = client.Recv();
    ASSERT_TRUE(f);
    take(*f, &accepted_before_kill);
  }
  ASSERT_NO_FATAL_FAILURE(Restart());
  // What the client read before the kill is all it knows; the rest it asks again, as
  // judge's client does: SUBMIT for a job not known accepted, WAIT for one without result.
  std::set<std::string> accepted = accepted_before_kill;
  while (std::optional<Frame> f = client.Recv(0s)) take(*f, &accepted);
  Client after(ctx_, broker_->clients);
  for (int i = 0; i < kJobs; ++i) {
    std::string id = "k" + std::to_string(i);
    if (result_of.count(id)) continue;
    if (accepted.count(id)) {
      v1::JobRef ref;
      ref.set_job_id(id);
      after.Send(verb::kWait, ref);
    } else {
      after.Send(verb::kSubmit, TinyJob(id));
    }
  }
  while (result_of.size() < kJobs) {
    std::optional<Frame> f = after.Recv(20s);
    ASSERT_TRUE(f) << result_of.size() << " results of " << kJobs;
    take(*f, &accepted);
  }
  // Every job has a result (the loop above waited for all of them, those accepted before
  // the kill among them), and no job was answered twice.
  EXPECT_EQ(duplicates, 0);
  EXPECT_EQ(conflicting, 0);
  Client check(ctx_, broker_->clients);
  v1::Stats s = Stats(check);
  EXPECT_EQ(s.queued() + s.running(), 0);
  std::map<std::string, int> runs;
  for (const std::string& id : worker.jobs()) ++runs[id];
  int rerun = 0;
  for (const auto& [id, n] : runs) rerun += n > 1;
  std::printf(
      "kill -9 under load: %d jobs, %zu accepted before the kill, %zu results, %d repeated "
      "RESULT messages (all identical: %s), %d conflicting, %d jobs re-dispatched after the "
      "restart\n",
      kJobs, accepted_before_kill.size(), result_of.size(), duplicates,
      conflicting == 0 ? "yes" : "no", conflicting, rerun);
}

TEST_F(BrokerTest, JournaledResultsSurviveARestartAndExpire) {
  Start();
  FakeWorker worker(ctx_, broker_->workers, Fake());
  Client client(ctx_, broker_->clients);
  client.Send(verb::kSubmit, TinyJob("old"));
  std::optional<Frame> f = client.RecvSkipping(verb::kProgress);
  ASSERT_TRUE(f && f->verb == verb::kAccepted);
  f = client.RecvSkipping(verb::kProgress);
  ASSERT_TRUE(f && f->verb == verb::kResult);
  ASSERT_NO_FATAL_FAILURE(Restart(/*kill9=*/false));
  Client again(ctx_, broker_->clients);
  EXPECT_EQ(Status(again, "old").state(), v1::JobStatus::DONE);
  // Results are kept for --keep-results (a week by default, a second here).
  broker_->process->Signal(SIGTERM);
  ASSERT_TRUE(broker_->process->Wait());
  std::string c = broker_->clients, w = broker_->workers;
  broker_ = std::make_unique<BrokerProcess>(db(), std::vector<std::string>{"--keep-results", "1"},
                                            c, w);
  Client third(ctx_, broker_->clients);
  const auto deadline = Clock::now() + 15s;
  v1::JobStatus::State state = v1::JobStatus::DONE;
  while (state == v1::JobStatus::DONE && Clock::now() < deadline) state = Status(third, "old").state();
  EXPECT_EQ(state, v1::JobStatus::UNKNOWN);
}

}  // namespace
}  // namespace judge::testing

namespace judge::testing {
namespace {

// A worker's DONE the broker cannot decode (a string that is not UTF-8) ends its job as
// IE, said to the client, instead of leaving it RUNNING for ever.
TEST_F(BrokerTest, AnUnreadableDoneEndsTheJobAsInternalError) {
  Start();
  Client client(ctx_, broker_->clients);
  for (const std::string encoding : {"pb", "mp"}) {
    const std::string id = "unreadable-" + encoding;
    RawPeer peer(ctx_, broker_->workers);
    peer.Introduce("c");
    ASSERT_EQ(Ask(client, verb::kSubmit, TinyJob(id))->verb, verb::kAccepted);
    ASSERT_EQ(peer.NextVerbSkippingHeartbeats(), verb::kJob);
    std::string body;
    if (encoding == "pb") {
      // job_id (1) = id, message (8) = "\xff"
      body = std::string("\x0a") + static_cast<char>(id.size()) + id + "\x42\x01\xff";
    } else {
      MsgpackWriter w;
      w.MapHeader(3);
      w.Str("worker");
      w.Str("raw");
      w.Str("job_id");
      w.Str(id);
      w.Str("message");
      w.Str("\xff");
      body = w.Take();
    }
    peer.SendBody(verb::kDone, encoding, body);
    // The submitter is told.
    std::optional<Frame> f = client.RecvSkipping(verb::kProgress);
    ASSERT_TRUE(f);
    ASSERT_EQ(f->verb, verb::kResult) << encoding;
    v1::JobResult r = Decode<v1::JobResult>(*f);
    EXPECT_EQ(r.job_id(), id);
    EXPECT_EQ(r.verdict(), v1::IE);
    EXPECT_HAS(r.message(), "the worker's result could not be read");
    Client other(ctx_, broker_->clients);
    EXPECT_EQ(Status(other, id).state(), v1::JobStatus::DONE);
  }
}

TEST_F(BrokerTest, StatusOfAFinishedExecJobCountsItsSteps) {
  Start();
  Client client(ctx_, broker_->clients);
  RawPeer peer(ctx_, broker_->workers);
  peer.Introduce("exec");
  v1::Job job;
  job.set_id("steps");
  job.set_language("exec");
  for (int i = 0; i < 3; ++i) job.mutable_exec()->add_steps()->add_argv("true");
  ASSERT_EQ(Ask(client, verb::kSubmit, job)->verb, verb::kAccepted);
  ASSERT_EQ(peer.NextVerbSkippingHeartbeats(), verb::kJob);
  v1::JobResult done;
  done.set_job_id("steps");
  done.set_verdict(v1::AC);
  for (int i = 0; i < 3; ++i) done.mutable_exec()->add_steps()->set_status("OK");
  peer.Send(verb::kDone, done);
  ASSERT_EQ(client.RecvSkipping(verb::kProgress)->verb, verb::kResult);
  Client other(ctx_, broker_->clients);
  v1::JobStatus status = Status(other, "steps");
  EXPECT_EQ(status.state(), v1::JobStatus::DONE);
  EXPECT_EQ(status.tests_done(), 3);
}

}  // namespace
}  // namespace judge::testing
