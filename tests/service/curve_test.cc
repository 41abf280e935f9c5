// CURVE on the broker's sockets (issue #6 item 1): only keys in --client-keys may use
// the client socket and only keys in --worker-keys the worker socket; everyone else is
// refused and logged; SIGHUP reloads the directories; without keys the broker stays on
// loopback. Real processes, real ZeroMQ handshakes.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <fstream>

#include "common/file_util.h"
#include "protocol/curve.h"
#include "tests/sandbox/test_util.h"
#include "tests/service/service_util.h"

namespace judge::testing {
namespace {

class CurveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::mkdir((dir_.path() + "/clients").c_str(), 0755), 0);
    ASSERT_EQ(::mkdir((dir_.path() + "/workers").c_str(), 0755), 0);
    broker_key_ = *WriteKeyPair(dir_.path(), "broker");
    alice_ = *WriteKeyPair(dir_.path() + "/clients", "alice");
    w1_ = *WriteKeyPair(dir_.path() + "/workers", "w1");
  }
  void StartBroker() {
    broker_ = std::make_unique<BrokerProcess>(
        dir_.path() + "/judge.db",
        std::vector<std::string>{"--heartbeat-ms", "200", "--key", dir_.path() + "/broker.key",
                                 "--client-keys", dir_.path() + "/clients", "--worker-keys",
                                 dir_.path() + "/workers"});
    ASSERT_FALSE(broker_->clients.empty()) << broker_->process->Stderr();
  }
  std::unique_ptr<Client> ClientWith(const CurveKeyPair* key) {
    return std::make_unique<Client>(ctx_, broker_->clients, "pb", key, broker_key_.public_key);
  }
  // STATS answered within `timeout`.
  std::optional<v1::Stats> Stats(Client& c, Clock::duration timeout = 10s) {
    c.Send(verb::kStats, v1::Empty());
    std::optional<Frame> f = c.Recv(timeout);
    if (!f || f->verb != verb::kStats) return std::nullopt;
    return Decode<v1::Stats>(*f);
  }

  TempDir dir_;
  zmq::context_t ctx_;
  CurveKeyPair broker_key_, alice_, w1_;
  std::unique_ptr<BrokerProcess> broker_;
};

TEST_F(CurveTest, KeygenWritesAPrivateSecretKeyAndItsPublicKeyAndNeverOverwrites) {
  Process p({CliBin(), "keygen", "bob", "--dir", dir_.path()});
  std::optional<int> status = p.Wait();
  ASSERT_TRUE(status && WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << p.Stderr();
  struct stat st;
  ASSERT_EQ(::stat((dir_.path() + "/bob.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  Result<CurveKeyPair> pair = LoadSecretKey(dir_.path() + "/bob.key");
  ASSERT_TRUE(pair.ok()) << pair.status().ToString();
  Result<std::string> pub = LoadPublicKey(dir_.path() + "/bob.pub");
  ASSERT_TRUE(pub.ok()) << pub.status().ToString();
  EXPECT_EQ(*pub, pair->public_key);

  Process again({CliBin(), "keygen", "bob", "--dir", dir_.path()});
  status = again.Wait();
  ASSERT_TRUE(status && WIFEXITED(*status));
  EXPECT_EQ(WEXITSTATUS(*status), 2);
  EXPECT_HAS(again.Stderr(), "bob.key");
  EXPECT_EQ(*LoadSecretKey(dir_.path() + "/bob.key"), *pair) << "overwritten";
}

TEST_F(CurveTest, BadKeysAreRefusedWithTheReason) {
  ASSERT_EQ(::chmod((dir_.path() + "/broker.key").c_str(), 0644), 0);
  Result<CurveKeyPair> loose = LoadSecretKey(dir_.path() + "/broker.key");
  ASSERT_FALSE(loose.ok());
  EXPECT_HAS(loose.status().message(), "chmod 600");
  EXPECT_FALSE(LoadPublicKey("not a key").ok());
  std::ofstream(dir_.path() + "/clients/junk.pub") << "hello\n";
  Result<std::map<std::string, std::string>> keys = LoadAuthorizedKeys(dir_.path() + "/clients");
  ASSERT_FALSE(keys.ok());
  EXPECT_HAS(keys.status().message(), "junk.pub does not hold a CURVE key");
}

TEST_F(CurveTest, OnlyAuthorizedClientsAndWorkersGetInAndTheRestIsLogged) {
  ASSERT_NO_FATAL_FAILURE(StartBroker());
  FakeWorker::Options o;
  o.key = w1_;
  o.broker_key = broker_key_.public_key;
  o.name = "w1";
  FakeWorker worker(ctx_, broker_->workers, o);
  // A client key on the worker socket: refused.
  FakeWorker::Options intruder = o;
  intruder.key = alice_;
  intruder.name = "intruder";
  FakeWorker fake(ctx_, broker_->workers, intruder);
  ASSERT_TRUE(broker_->process->AwaitLine("refused a worker from"));

  auto alice = ClientWith(&alice_);
  alice->Send(verb::kSubmit, TinyJob("secure"));
  std::optional<Frame> f = alice->RecvSkipping(verb::kProgress);
  ASSERT_TRUE(f && f->verb == verb::kAccepted) << broker_->process->Stderr();
  f = alice->RecvSkipping(verb::kProgress);
  ASSERT_TRUE(f && f->verb == verb::kResult);
  EXPECT_EQ(Decode<v1::JobResult>(*f).worker(), "w1");
  EXPECT_EQ(Stats(*alice)->workers(), 1) << "the intruder registered";

  // A worker key on the client socket: no way to submit.
  auto mallory = ClientWith(&w1_);
  EXPECT_FALSE(Stats(*mallory, 1s).has_value());
  EXPECT_TRUE(broker_->process->AwaitLine("refused a client from"));
  // No key at all: the handshake fails.
  Client plain(ctx_, broker_->clients);
  EXPECT_FALSE(Stats(plain, 1s).has_value());
  EXPECT_TRUE(broker_->process->AwaitLine("the CURVE handshake failed"));
  // The right key, but a client that trusts another broker key.
  auto confused = std::make_unique<Client>(ctx_, broker_->clients, "pb", &alice_, w1_.public_key);
  EXPECT_FALSE(Stats(*confused, 1s).has_value());
  EXPECT_EQ(worker.jobs(), std::vector<std::string>{"secure"});
}

TEST_F(CurveTest, SighupReloadsTheKeyDirectories) {
  ASSERT_NO_FATAL_FAILURE(StartBroker());
  CurveKeyPair carol = *WriteKeyPair(dir_.path(), "carol");  // not yet authorized
  auto c = ClientWith(&carol);
  EXPECT_FALSE(Stats(*c, 1s).has_value());
  ASSERT_TRUE(broker_->process->AwaitLine("refused a client from"));
  ASSERT_EQ(::rename((dir_.path() + "/carol.pub").c_str(),
                     (dir_.path() + "/clients/carol.pub").c_str()),
            0);
  broker_->process->Signal(SIGHUP);
  ASSERT_TRUE(broker_->process->AwaitLine("authorized keys: 2 client(s)"));
  // A new connection with the key is accepted (libzmq does not retry a handshake the
  // server refused, so the refused socket stays refused; `judge` connects anew per command).
  auto fresh = ClientWith(&carol);
  EXPECT_TRUE(Stats(*fresh).has_value()) << broker_->process->Stderr();
}

// Starts judge-broker with `args` and expects it to refuse at once with `says`.
void ExpectRefusal(std::vector<std::string> args, const std::string& says) {
  args.insert(args.begin(), BrokerBin());
  Process p(args);
  std::optional<int> status = p.Wait();
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 1) << p.Stderr();
  EXPECT_HAS(p.Stderr(), says);
}

TEST_F(CurveTest, WithoutKeysTheBrokerStaysOnLoopbackUnlessToldOtherwise) {
  const std::string db = dir_.path() + "/refused.db";
  ExpectRefusal({"--clients", "tcp://0.0.0.0:*", "--workers", "tcp://127.0.0.1:*", "--db", db},
                "refusing to listen on tcp://0.0.0.0:* without CURVE keys");
  EXPECT_NE(::access(db.c_str(), F_OK), 0) << "a refused start made a journal";
  ExpectRefusal({"--clients", "tcp://127.0.0.1:*", "--workers", "tcp://127.0.0.1:*", "--db", db,
                 "--client-keys", dir_.path() + "/clients"},
                "need the broker's own --key");
  ExpectRefusal({"--clients", "tcp://127.0.0.1:*", "--workers", "tcp://127.0.0.1:*", "--db", db,
                 "--key", dir_.path() + "/broker.key"},
                "--key needs --client-keys DIR and --worker-keys DIR");

  BrokerProcess insecure(db, {"--insecure"}, "tcp://0.0.0.0:*", "tcp://0.0.0.0:*");
  ASSERT_FALSE(insecure.clients.empty()) << insecure.process->Stderr();
  EXPECT_TRUE(insecure.process->AwaitLine("not authenticated (--insecure)"));
  BrokerProcess local(dir_.path() + "/local.db");
  ASSERT_FALSE(local.clients.empty()) << local.process->Stderr();
  EXPECT_TRUE(local.process->AwaitLine("listening on local endpoints only"));
}

// The real worker and the real CLI with keys: a job judged end to end over CURVE.
TEST_F(CurveTest, RealWorkerAndCliJudgeOverCurve) {
  ASSERT_NO_FATAL_FAILURE(StartBroker());
  WorkerProcess worker(broker_->workers, "wc", 1, 200, dir_.path(),
                       {"--key", dir_.path() + "/workers/w1.key", "--broker-key",
                        dir_.path() + "/broker.pub"});
  ASSERT_TRUE(worker.connected) << worker.process->Stderr();
  ASSERT_TRUE(broker_->process->AwaitLine("worker wc ready")) << broker_->process->Stderr();
  Process submit({CliBin(), "submit", "--broker", broker_->clients, "--key",
                  dir_.path() + "/clients/alice.key", "--broker-key", broker_key_.public_key,
                  "--source", std::string(JUDGE_SOURCE_DIR) + "/examples/sum/submissions/ac.c",
                  "--tests", std::string(JUDGE_SOURCE_DIR) + "/examples/sum/tests", "--json"});
  std::optional<int> status = submit.Wait(60s);
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << submit.Stderr();
  worker.process->Signal(SIGTERM);
  EXPECT_TRUE(worker.process->Wait().has_value());
}

}  // namespace
}  // namespace judge::testing
