// Real processes and real sockets for the service's tests and the broker benchmark: a
// judge-broker (or judge-worker) child process, a client DEALER, and a fake worker
// that answers jobs at once or holds them until told.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>
#include <zmq.hpp>

#include "protocol/curve.h"
#include "protocol/frame.h"
#include "protocol/judge.pb.h"

namespace judge::testing {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// A child process (execv of argv), its stderr collected by a thread. The destructor
// kills it (SIGKILL) if it still runs and reaps it.
class Process {
 public:
  explicit Process(std::vector<std::string> argv);
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  // Waits until stderr has a line containing `needle`; returns that line.
  std::optional<std::string> AwaitLine(const std::string& needle, Clock::duration timeout = 20s);
  std::string Stderr();
  void Signal(int sig);
  // Waits for the exit; the wait status, or nullopt on timeout.
  std::optional<int> Wait(Clock::duration timeout = 30s);
  bool running() const { return pid_ > 0; }

 private:
  void Drain(int fd);
  pid_t pid_ = -1;
  std::thread drain_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::string err_;
  bool eof_ = false;
};

std::string BrokerBin();
std::string WorkerBin();
std::string CliBin();

// judge-broker on wildcard loopback ports (or the endpoints given, for a restart).
struct BrokerProcess {
  explicit BrokerProcess(const std::string& db, std::vector<std::string> extra = {},
                         std::string clients = "tcp://127.0.0.1:*",
                         std::string workers = "tcp://127.0.0.1:*");
  std::unique_ptr<Process> process;
  std::string clients, workers;
};

// judge-worker connected to a broker's worker endpoint, named `name` (its results say
// NAME/SLOT). Waits for its "connected to" line: its READY is then on its way, but the
// broker may not have read it yet (its "worker NAME ready" line says it has). A
// `work_root` inside a test's TempDir keeps what a worker killed mid-job leaves out of
// /tmp.
struct WorkerProcess {
  WorkerProcess(const std::string& broker, const std::string& name, int slots = 1,
                int heartbeat_ms = 200, const std::string& work_root = "",
                std::vector<std::string> extra = {});
  std::unique_ptr<Process> process;
  bool connected = false;
};

// A DEALER to the broker's client socket, for one thread.
class Client {
 public:
  // With `own`, a CURVE client of a broker whose public key is `broker_key`.
  Client(zmq::context_t& ctx, const std::string& endpoint, std::string encoding = "pb",
         const CurveKeyPair* own = nullptr, const std::string& broker_key = "");
  void Send(std::string_view verb, const google::protobuf::Message& m);
  void SendRaw(const std::vector<std::string>& parts);
  // The next message, parsed; nullopt on timeout.
  std::optional<Frame> Recv(Clock::duration timeout = 10s);
  // Skips PROGRESS until a message of another verb; asserts nothing.
  std::optional<Frame> RecvSkipping(std::string_view skip, Clock::duration timeout = 10s);

 private:
  zmq::socket_t socket_;
  std::string encoding_;
};

// The frame's body as an M; a frame that is not one fails the test that asked (and an
// empty M comes back, so that the test goes on to say what it expected).
template <typename M>
M Decode(const Frame& f) {
  M m;
  Status st = DecodeBody(f, &m);
  if (!st.ok()) {
    ADD_FAILURE() << "cannot decode a " << M::descriptor()->name() << ": " << st.ToString();
    m.Clear();
  }
  return m;
}

// A job in the language `c` with the given tests (answers "ok").
v1::Job TinyJob(const std::string& id, int tests = 1, int priority = 0);

// A worker that speaks the protocol without judging: each JOB gets one PROGRESS per
// test and a DONE (every test AC, worker = its name) at once, or, while holding, only
// when Release() is called. Runs in its own thread with its own socket.
class FakeWorker {
 public:
  struct Options {
    int slots = 1;
    std::vector<std::string> languages = {"c", "cpp17", "python3"};
    std::string encoding = "pb";
    int heartbeat_ms = 100;
    bool hold = false;
    std::string name = "fake";
    std::vector<std::string> running;  // said in the first READY
    std::optional<CurveKeyPair> key;    // CURVE with the broker's public key below
    std::string broker_key;
  };
  FakeWorker(zmq::context_t& ctx, std::string endpoint, Options options);
  ~FakeWorker();  // leaves with DISCONNECT
  // Stops without a word and without heartbeats, as a killed worker would.
  void Vanish();
  // Answers every held job now (and stops holding).
  void Release();
  // Sends DONE for a job id it was never given (as a worker that reconnects would).
  void SendDone(const std::string& job_id, v1::Verdict verdict);

  // Waits until at least n JOB messages arrived.
  bool AwaitJobs(size_t n, Clock::duration timeout = 10s);
  bool AwaitCancel(const std::string& id, Clock::duration timeout = 10s);
  std::vector<std::string> jobs() const;  // ids in arrival order
  int heartbeats() const { return heartbeats_.load(); }
  int errors() const { return errors_.load(); }

 private:
  void Loop();
  void Answer(zmq::socket_t& s, const v1::Job& job);

  zmq::context_t& ctx_;
  std::string endpoint_;
  Options options_;
  std::thread thread_;
  std::atomic<bool> stop_{false}, vanish_{false}, release_{false};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> jobs_;
  std::multiset<std::string> cancels_;
  std::vector<std::pair<std::string, v1::Verdict>> to_send_;
  std::atomic<int> heartbeats_{0}, errors_{0};
};

}  // namespace judge::testing
