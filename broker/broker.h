// judge-broker: the queue between clients and workers (ARCHITECTURE.md "Broker",
// docs/PROTOCOL.md). One thread: it polls a ROUTER for clients and one for workers,
// handles whatever messages are waiting as one batch whose journal writes share one
// commit, sends the replies that commit made true, then hands queued jobs to workers
// with free slots.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>
#include <zmq.hpp>

#include "broker/journal.h"
#include "common/status.h"
#include "protocol/frame.h"
#include "protocol/judge.pb.h"

namespace judge {

struct BrokerOptions {
  std::string clients = "tcp://127.0.0.1:5555";  // "tcp://127.0.0.1:*" picks a free port
  std::string workers = "tcp://127.0.0.1:5556";
  std::string db = "judge.db";
  bool sync_full = true;             // fsync every commit, not only survive kill -9
  int64_t max_queue = 10000;         // queued jobs; past it SUBMIT gets QUEUE_FULL
  size_t max_message_bytes = 64 << 20;
  int heartbeat_ms = 1000;           // a worker silent for 3 of these is dead
  int64_t keep_results_s = 7 * 86400;
  size_t max_batch = 512;            // messages handled per commit
  // CurveZMQ (docs/PROTOCOL.md "Authentication"): the broker's secret key file and the
  // directories of authorized clients' and workers' public keys. Without a key the
  // broker listens only on loopback, ipc and inproc endpoints unless `insecure`.
  std::string key_file;
  std::string client_keys_dir;
  std::string worker_keys_dir;
  bool insecure = false;
};

class Broker {
 public:
  static Result<std::unique_ptr<Broker>> Create(const BrokerOptions& options);
  ~Broker();

  // The endpoints bound (a wildcard port resolved).
  const std::string& client_endpoint() const { return client_endpoint_; }
  const std::string& worker_endpoint() const { return worker_endpoint_; }
  size_t queued() const { return queued_; }

  // Serves until `stop_fd` becomes readable (a signalfd or an eventfd); reloads the
  // authorized keys whenever `reload_fd` (a signalfd of SIGHUP) becomes readable.
  Status Run(int stop_fd, int reload_fd = -1);
  bool authenticating() const { return !options_.key_file.empty(); }

 private:
  struct Watcher {
    std::string routing_id;
    std::string encoding;
  };
  struct Entry {  // a job that is queued or running
    std::string id;
    int64_t seq = 0;
    int32_t priority = 0;
    std::string language;
    int64_t submitted_ms = 0;
    std::string worker;  // routing id while running
    int32_t tests_done = 0;
    bool dispatched_once = false;
    // After a restart, a job that had been dispatched waits this long (monotonic ms) for
    // the worker that may still be judging it to say so.
    int64_t hold_until_ms = 0;
    std::vector<Watcher> watchers;
  };
  struct Worker {
    std::string routing_id;
    std::string name;
    std::string encoding;
    int32_t slots = 0;
    int64_t credit = 0;
    bool draining = false;
    std::set<std::string> languages;
    std::set<std::string> jobs;
    int64_t last_seen_ms = 0;
  };
  using QueueKey = std::pair<int64_t, int64_t>;  // (-priority, seq): highest first, then FIFO

  explicit Broker(const BrokerOptions& options);
  Status Load();
  Status SetUpSecurity();
  Status ReloadKeys();
  // Answers the ZAP requests ZeroMQ makes for each CURVE handshake (RFC 27): a client
  // key on the client socket, a worker key on the worker socket, nothing else.
  void HandleZap();
  // Handshakes that fail before ZAP is asked (a peer without CURVE, a wrong broker key).
  void HandleMonitor(zmq::socket_t& monitor, const char* side);
  // Logs a refusal, at most once a minute per distinct line (peers retry every 100 ms).
  void LogRefusal(const std::string& line);

  void HandleClient(std::vector<std::string> parts);
  void HandleWorker(std::vector<std::string> parts);
  void Submit(const std::string& rid, const std::string& enc, const std::string& body_verb,
              v1::Job job);
  void Wait(const std::string& rid, const std::string& enc, const std::string& id);
  void StatusOf(const std::string& rid, const std::string& enc, const std::string& id);
  void Cancel(const std::string& rid, const std::string& enc, const std::string& id);
  void StatsTo(const std::string& rid, const std::string& enc);

  void WorkerReady(Worker& w, const v1::WorkerReady& ready, bool first);
  void WorkerProgress(Worker& w, v1::TestResult progress);
  void WorkerDone(Worker* w, v1::JobResult result);  // w: nullptr if not known
  void RemoveWorker(const std::string& routing_id, const char* why);

  // The job is no longer queued or running: journal how it ended, tell its watchers.
  void EndJob(Entry& e, const v1::JobResult* result);
  void Requeue(const std::string& id);
  void Enqueue(const Entry& e);
  void Dequeue(const Entry& e);
  void Dispatch();
  // Hands `e` to `w`; false when the batch must stop (fatal_ is set).
  bool SendJob(Worker& w, Entry& e);
  void Heartbeats(int64_t now_ms);
  void PurgeOld();
  std::string KnownLanguages() const;
  Status LanguageError(const std::string& language) const;

  // Client replies wait in out_ until the batch's commit (a job is journaled before
  // ACCEPTED, a result before RESULT).
  void Reply(const std::string& rid, const std::string& enc, std::string_view verb,
             const google::protobuf::Message& m);
  void ReplyError(const std::string& rid, const std::string& enc, int code,
                  const std::string& sentence);
  void QueueReply(const std::string& rid, const std::string& enc, std::string_view verb,
                  std::string body);
  // To every client watching the job; the message is encoded once per encoding.
  void Notify(Entry& e, std::string_view verb, const google::protobuf::Message& m);
  void ToWorker(const Worker& w, std::string_view verb, const google::protobuf::Message& m);
  void Flush();

  BrokerOptions options_;
  std::unique_ptr<Journal> journal_;
  zmq::context_t context_;
  zmq::socket_t clients_;
  zmq::socket_t workers_;
  zmq::socket_t zap_;
  zmq::socket_t client_monitor_, worker_monitor_;
  std::map<std::string, int64_t> refusals_logged_;  // line -> when, for LogRefusal
  std::string client_endpoint_, worker_endpoint_;
  std::map<std::string, std::string> client_keys_, worker_keys_;  // Z85 -> name

  std::unordered_map<std::string, Entry> active_;
  // Queued jobs by language, so that a worker finds its best job without scanning others'.
  std::map<std::string, std::map<QueueKey, std::string>> queues_;
  size_t queued_ = 0;
  std::set<std::string> offered_;  // every language a worker has offered since the start
  std::map<std::string, Worker> worker_table_;  // by routing id
  std::set<std::string> builtin_languages_;
  std::vector<std::vector<std::string>> out_;
  Status fatal_;  // a journal write failed: stop, tell nobody (crash-only)

  // Statistics since the broker started.
  int64_t jobs_done_ = 0;
  std::map<std::string, int64_t> verdicts_;
  std::deque<double> waits_ms_;  // the last kWaitSamples queue waits
  int64_t next_purge_ms_ = 0;
};

}  // namespace judge
