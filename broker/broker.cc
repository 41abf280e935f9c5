#include "broker/broker.h"

#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "common/builtin_profiles.h"
#include <google/protobuf/unknown_field_set.h>

#include "protocol/codec.h"
#include "protocol/curve.h"
#include "protocol/msgpack.h"
#include "protocol/wire.h"

namespace judge {

namespace {

constexpr size_t kWaitSamples = 10000;  // queue waits kept for the percentiles
constexpr size_t kMaxWatchers = 64;     // clients following one job
constexpr size_t kMaxIdBytes = 128;
constexpr int kLiveness = 3;            // heartbeats a worker may miss
// Messages a peer may have waiting in each direction: ZeroMQ bounds by count, and a
// message may be --max-message-bytes, so these stay small. Replies over the bound are
// dropped; a client then asks again (WAIT and STATUS are idempotent).
constexpr int kClientSendQueue = 1000;
constexpr int kClientReceiveQueue = 64;
constexpr size_t kMaxParts = 6;         // a routing id, the 4 parts, one to say "too many"
constexpr size_t kMaxBatchBytes = 64 << 20;

int64_t NowMs(clockid_t clock) {
  timespec ts;
  clock_gettime(clock, &ts);
  return ts.tv_sec * 1000ll + ts.tv_nsec / 1000000;
}
int64_t Monotonic() { return NowMs(CLOCK_MONOTONIC); }
int64_t WallClock() { return NowMs(CLOCK_REALTIME); }

// Where only this machine can connect: nobody else can submit code without keys.
bool IsLocalEndpoint(const std::string& ep) {
  for (const char* prefix : {"ipc://", "inproc://", "tcp://127.", "tcp://localhost:", "tcp://[::1]:"}) {
    if (ep.rfind(prefix, 0) == 0) return true;
  }
  return false;
}

bool ValidId(const std::string& id) {
  if (id.empty() || id.size() > kMaxIdBytes) return false;
  return std::all_of(id.begin(), id.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

void Log(const std::string& line) { std::fprintf(stderr, "judge-broker: %s\n", line.c_str()); }

// The job_id (field 1) of a JobResult that does not decode, read leniently: which job
// a worker's unreadable DONE was for. "" if even that cannot be read.
std::string JobIdOf(const Frame& frame) {
  if (frame.encoding == kEncodingProtobuf) {
    google::protobuf::UnknownFieldSet fields;
    if (!fields.ParseFromString(frame.body)) return "";
    for (int i = 0; i < fields.field_count(); ++i) {
      const google::protobuf::UnknownField& f = fields.field(i);
      if (f.number() == 1 && f.type() == google::protobuf::UnknownField::TYPE_LENGTH_DELIMITED) {
        return std::string(f.length_delimited());
      }
    }
    return "";
  }
  // MessagePack: the top map's "job_id" str; other values are skipped (a count of the
  // values still to read stands for the nesting).
  MsgpackReader reader(frame.body);
  Result<MpValue> top = reader.Next();
  if (!top.ok() || top->type != MpType::kMap) return "";
  for (uint32_t k = 0; k < top->count; ++k) {
    Result<MpValue> key = reader.Next();
    Result<MpValue> value = key.ok() ? reader.Next() : key;
    if (!value.ok()) return "";
    if (key->type == MpType::kStr && key->bytes == "job_id") {
      return value->type == MpType::kStr ? std::string(value->bytes) : "";
    }
    for (uint64_t pending = value->type == MpType::kArray ? value->count
                            : value->type == MpType::kMap ? 2ull * value->count : 0;
         pending > 0; --pending) {
      Result<MpValue> v = reader.Next();
      if (!v.ok()) return "";
      if (v->type == MpType::kArray) pending += v->count;
      if (v->type == MpType::kMap) pending += 2ull * v->count;
    }
  }
  return "";
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  size_t k = static_cast<size_t>(p * (v.size() - 1) + 0.5);
  std::nth_element(v.begin(), v.begin() + k, v.end());
  return v[k];
}

}  // namespace

Broker::Broker(const BrokerOptions& options)
    : options_(options),
      context_(1),
      clients_(context_, zmq::socket_type::router),
      workers_(context_, zmq::socket_type::router),
      zap_(context_, zmq::socket_type::rep),
      client_monitor_(context_, zmq::socket_type::pair),
      worker_monitor_(context_, zmq::socket_type::pair) {}

Broker::~Broker() {
  if (journal_) journal_->Commit();
}

Result<std::unique_ptr<Broker>> Broker::Create(const BrokerOptions& options) {
  if (options.heartbeat_ms <= 0) return Status::Error("the heartbeat interval must be positive");
  std::unique_ptr<Broker> b(new Broker(options));
  RETURN_IF_ERROR(b->SetUpSecurity());  // first: a refused setup leaves no journal behind
  ASSIGN_OR_RETURN(b->journal_, Journal::Open(options.db, options.sync_full));
  RETURN_IF_ERROR(b->Load());
  for (const std::string& name : BuiltinProfileNames("languages")) {
    b->builtin_languages_.insert(name);
  }
  b->builtin_languages_.insert(kExecLanguage);
  // A message of up to twice the limit is read and answered ERROR; past that ZeroMQ
  // drops the connection without buffering it all.
  const int64_t hard_limit = 2 * static_cast<int64_t>(options.max_message_bytes) + 65536;
  for (zmq::socket_t* s : {&b->clients_, &b->workers_}) {
    s->set(zmq::sockopt::linger, 0);
    s->set(zmq::sockopt::maxmsgsize, hard_limit);
  }
  // Replies to a client that reads slowly queue up here instead of being dropped.
  b->clients_.set(zmq::sockopt::sndhwm, kClientSendQueue);
  b->clients_.set(zmq::sockopt::rcvhwm, kClientReceiveQueue);
  try {
    b->clients_.bind(options.clients);
  } catch (const zmq::error_t& e) {
    return Status::Error("cannot listen for clients on " + options.clients + ": " + e.what());
  }
  try {
    b->workers_.bind(options.workers);
  } catch (const zmq::error_t& e) {
    return Status::Error("cannot listen for workers on " + options.workers + ": " + e.what());
  }
  b->client_endpoint_ = LastEndpoint(b->clients_);
  b->worker_endpoint_ = LastEndpoint(b->workers_);
  return b;
}

Status Broker::SetUpSecurity() {
  if (options_.key_file.empty()) {
    if (!options_.client_keys_dir.empty() || !options_.worker_keys_dir.empty()) {
      return Status::Error("--client-keys and --worker-keys need the broker's own --key");
    }
    if (!options_.insecure) {
      for (const std::string& ep : {options_.clients, options_.workers}) {
        if (!IsLocalEndpoint(ep)) {
          return Status::Error(
              "refusing to listen on " + ep +
              " without CURVE keys: anyone who can reach it could run code on the workers; "
              "give --key with --client-keys and --worker-keys (judge keygen makes keys), "
              "or --insecure to accept that");
        }
      }
    }
    return Status::Ok();
  }
  if (options_.client_keys_dir.empty() || options_.worker_keys_dir.empty()) {
    return Status::Error("--key needs --client-keys DIR and --worker-keys DIR (the public keys "
                         "of the clients and workers allowed in)");
  }
  ASSIGN_OR_RETURN(CurveKeyPair own, LoadSecretKey(options_.key_file));
  RETURN_IF_ERROR(ReloadKeys());
  // The handler must be bound before any CURVE socket takes a connection.
  zap_.set(zmq::sockopt::linger, 0);
  zap_.bind("inproc://zeromq.zap.01");
  MakeCurveServer(clients_, own, "clients");
  MakeCurveServer(workers_, own, "workers");
  constexpr int kFailures = ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                            ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL;
  const std::pair<zmq::socket_t*, zmq::socket_t*> monitored[] = {
      {&clients_, &client_monitor_}, {&workers_, &worker_monitor_}};
  for (auto [socket, monitor] : monitored) {
    const std::string ep = std::string("inproc://judge-broker-monitor-") +
                           (socket == &clients_ ? "clients" : "workers");
    if (zmq_socket_monitor(socket->handle(), ep.c_str(), kFailures) != 0) {
      return Status::Errno("cannot monitor the broker's sockets");
    }
    monitor->set(zmq::sockopt::linger, 0);
    monitor->connect(ep);
  }
  return Status::Ok();
}

void Broker::LogRefusal(const std::string& line) {
  const int64_t now = Monotonic();
  auto [it, fresh] = refusals_logged_.emplace(line, now);
  if (!fresh && now - it->second < 60000) return;
  it->second = now;
  if (refusals_logged_.size() > 10000) refusals_logged_.clear();  // a flood of distinct keys
  Log(line + " (said at most once a minute)");
}

void Broker::HandleMonitor(zmq::socket_t& monitor, const char* side) {
  std::vector<std::string> event;
  while (RecvParts(monitor, &event, zmq::recv_flags::dontwait)) {
    // [event id and value, the listening endpoint]: only failures are subscribed to.
    if (event.size() < 2) continue;
    LogRefusal(std::string("refused a ") + side + " connection on " + event[1] +
               ": the CURVE handshake failed (a peer without --key, or with the wrong "
               "--broker-key)");
  }
}

Status Broker::ReloadKeys() {
  Result<std::map<std::string, std::string>> clients = LoadAuthorizedKeys(options_.client_keys_dir);
  if (!clients.ok()) return clients.status().Context("--client-keys");
  Result<std::map<std::string, std::string>> workers = LoadAuthorizedKeys(options_.worker_keys_dir);
  if (!workers.ok()) return workers.status().Context("--worker-keys");
  client_keys_ = std::move(*clients);
  worker_keys_ = std::move(*workers);
  Log("authorized keys: " + std::to_string(client_keys_.size()) + " client(s), " +
      std::to_string(worker_keys_.size()) + " worker(s)");
  return Status::Ok();
}

void Broker::HandleZap() {
  std::vector<std::string> req;
  while (RecvParts(zap_, &req, zmq::recv_flags::dontwait)) {
    // version, request id, domain, address, routing id, mechanism, credentials...
    if (req.size() < 6) {
      SendParts(zap_, {"1.0", req.size() > 1 ? req[1] : "", "500", "malformed ZAP request", "", ""});
      continue;
    }
    const std::string& domain = req[2];
    const std::string& address = req[3];
    const bool clients = domain == "clients";
    const auto& keys = clients ? client_keys_ : worker_keys_;
    std::string status = "400", text = "not authorized", user;
    if (req[5] == "CURVE" && req.size() >= 7) {
      const std::string key = Z85(req[6]);
      if (auto it = keys.find(key); it != keys.end()) {
        status = "200";
        text = "OK";
        user = it->second;
      } else {
        LogRefusal("refused a " + std::string(clients ? "client" : "worker") + " from " + address +
            ": its key " + key + " is not in " +
            (clients ? "--client-keys " + options_.client_keys_dir
                     : "--worker-keys " + options_.worker_keys_dir));
      }
    } else {
      LogRefusal("refused a connection from " + address + " without CURVE (mechanism " + req[5] +
                 ")");
    }
    SendParts(zap_, {"1.0", req[1], status, text, user, ""});
  }
}

Status Broker::Load() {
  return journal_->ForEachQueued([this](const JournalJob& j) {
    Entry e;
    e.id = j.id;
    e.seq = j.seq;
    e.priority = j.priority;
    e.language = j.language;
    e.submitted_ms = j.submitted_ms;
    e.dispatched_once = j.dispatched;  // its wait is counted, its mark written
    if (j.dispatched) e.hold_until_ms = Monotonic() + kLiveness * options_.heartbeat_ms;
    Enqueue(e);
    active_.emplace(j.id, std::move(e));
  });
}

Status Broker::Run(int stop_fd, int reload_fd) {
  int64_t next_beat = Monotonic() + options_.heartbeat_ms;
  std::vector<std::string> parts;
  while (true) {
    zmq::pollitem_t items[] = {
        {clients_.handle(), 0, ZMQ_POLLIN, 0},
        {workers_.handle(), 0, ZMQ_POLLIN, 0},
        {nullptr, stop_fd, ZMQ_POLLIN, 0},
        {nullptr, reload_fd, ZMQ_POLLIN, 0},
        {zap_.handle(), 0, ZMQ_POLLIN, 0},
        {client_monitor_.handle(), 0, ZMQ_POLLIN, 0},
        {worker_monitor_.handle(), 0, ZMQ_POLLIN, 0},
    };
    const int n_items = authenticating() ? 7 : reload_fd >= 0 ? 4 : 3;
    const int64_t wait = std::max<int64_t>(0, next_beat - Monotonic());
    try {
      zmq::poll(items, n_items, std::chrono::milliseconds(wait));
    } catch (const zmq::error_t& e) {
      if (e.num() != EINTR) return Status::Error(std::string("polling: ") + e.what());
    }
    if (items[2].revents & ZMQ_POLLIN) break;
    if (n_items > 3 && (items[3].revents & ZMQ_POLLIN)) {
      signalfd_siginfo info;
      [[maybe_unused]] ssize_t n = ::read(reload_fd, &info, sizeof info);  // SIGHUP, consumed
      if (!authenticating()) {
        Log("SIGHUP: no keys to reload (the broker runs without --key)");
      } else if (Status st = ReloadKeys(); !st.ok()) {
        Log("SIGHUP: keeping the keys loaded before: " + st.message());
      }
    }
    if (n_items > 4 && (items[4].revents & ZMQ_POLLIN)) HandleZap();
    if (n_items > 5 && (items[5].revents & ZMQ_POLLIN)) HandleMonitor(client_monitor_, "client");
    if (n_items > 6 && (items[6].revents & ZMQ_POLLIN)) HandleMonitor(worker_monitor_, "worker");

    // One batch: every waiting message (up to max_batch), one commit, then the replies.
    size_t bytes = 0;
    auto size = [](const std::vector<std::string>& p) {
      size_t n = 0;
      for (const std::string& s : p) n += s.size();
      return n;
    };
    for (size_t n = 0; n < options_.max_batch && bytes < kMaxBatchBytes;) {
      bool any = false;
      if (RecvParts(workers_, &parts, zmq::recv_flags::dontwait, kMaxParts)) {
        bytes += size(parts);
        HandleWorker(std::move(parts));
        any = true;
        ++n;
      }
      if (RecvParts(clients_, &parts, zmq::recv_flags::dontwait, kMaxParts)) {
        bytes += size(parts);
        HandleClient(std::move(parts));
        any = true;
        ++n;
      }
      if (!any) break;
    }
    if (!fatal_.ok()) return fatal_;
    if (Status st = journal_->Commit(); !st.ok()) {
      // Crash-only: what the clients were not told is not promised; after a restart the
      // journal is the truth and clients resend.
      return st;
    }
    Flush();
    if (Monotonic() >= next_beat) {
      // What workers said while the batch ran counts before anyone is declared dead: a
      // long batch (big jobs, a slow disk) must not look like silent workers.
      while (RecvParts(workers_, &parts, zmq::recv_flags::dontwait, kMaxParts)) {
        HandleWorker(std::move(parts));
      }
      Heartbeats(Monotonic());
      next_beat = Monotonic() + options_.heartbeat_ms;
    }
    Dispatch();
    PurgeOld();
    if (!fatal_.ok()) return fatal_;
    // Replies made since the batch's commit (results that came with the heartbeat
    // drain, a job Dispatch could not read) wait for a commit; the dispatch marks alone
    // ride on the next batch's commit (within a heartbeat), saving an fsync per job.
    if (!out_.empty()) {
      RETURN_IF_ERROR(journal_->Commit());
      Flush();
    }
  }
  RETURN_IF_ERROR(journal_->Commit());
  Flush();
  return Status::Ok();
}

// ---- clients ----

void Broker::HandleClient(std::vector<std::string> parts) {
  if (parts.size() < 2) return;  // an empty message: nothing to answer to
  std::string rid = std::move(parts[0]);
  parts.erase(parts.begin());
  const std::string enc = parts.size() >= 3 ? parts[2] : std::string(kEncodingMsgpack);
  Result<Frame> frame = ParseFrame(std::move(parts), options_.max_message_bytes, kClientVerbs);
  if (!frame.ok()) {
    std::string why = frame.status().message();
    if (why.find("over the limit") != std::string::npos) why += " (judge-broker --max-message-bytes)";
    ReplyError(rid, enc, v1::Error::BAD_REQUEST, why);
    return;
  }
  const std::string& verb = frame->verb;
  if (verb == verb::kSubmit) {
    v1::Job job;
    if (Status st = DecodeBody(*frame, &job); !st.ok()) {
      ReplyError(rid, enc, v1::Error::BAD_REQUEST, st.message());
      return;
    }
    Submit(rid, enc, verb, std::move(job));
    return;
  }
  if (verb == verb::kStats) {
    v1::Empty empty;
    if (Status st = DecodeBody(*frame, &empty); !st.ok()) {
      ReplyError(rid, enc, v1::Error::BAD_REQUEST, st.message());
      return;
    }
    StatsTo(rid, enc);
    return;
  }
  v1::JobRef ref;
  if (Status st = DecodeBody(*frame, &ref); !st.ok()) {
    ReplyError(rid, enc, v1::Error::BAD_REQUEST, st.message());
    return;
  }
  if (!ValidId(ref.job_id())) {
    ReplyError(rid, enc, v1::Error::BAD_REQUEST,
               verb + " needs a job_id of 1 to " + std::to_string(kMaxIdBytes) +
                   " printable characters without spaces");
    return;
  }
  if (verb == verb::kWait) {
    Wait(rid, enc, ref.job_id());
  } else if (verb == verb::kStatus) {
    StatusOf(rid, enc, ref.job_id());
  } else {
    Cancel(rid, enc, ref.job_id());
  }
}

// Unknown: neither built in nor ever offered by a worker. Known but never offered, once
// workers have said what they offer: no worker has the toolchain. A language offered
// before stays accepted while its workers are away (a restart, a redeploy): the job waits.
Status Broker::LanguageError(const std::string& language) const {
  if (!builtin_languages_.count(language) && !offered_.count(language)) {
    return Status::Error("unknown language '" + Printable(language) + "' (known: " +
                         KnownLanguages() + ")");
  }
  if (!offered_.empty() && !offered_.count(language)) {
    std::string list;
    for (const std::string& l : offered_) list += (list.empty() ? "" : ", ") + l;
    return Status::Error("no worker has the toolchain for '" + language + "' (workers offer: " +
                         list + "); install it on a worker or pick one of those");
  }
  return Status::Ok();
}

std::string Broker::KnownLanguages() const {
  std::set<std::string> all = builtin_languages_;
  all.insert(offered_.begin(), offered_.end());
  std::string list;
  for (const std::string& l : all) list += (list.empty() ? "" : ", ") + l;
  return list;
}

void Broker::Submit(const std::string& rid, const std::string& enc, const std::string& verb,
                    v1::Job job) {
  if (job.id().empty()) job.set_id(RandomJobId());
  if (!ValidId(job.id())) {
    ReplyError(rid, enc, v1::Error::BAD_REQUEST,
               verb + ": a job id must be 1 to " + std::to_string(kMaxIdBytes) +
                   " printable characters without spaces, or empty to get one");
    return;
  }
  v1::JobRef ref;
  ref.set_job_id(job.id());
  // A known id is the same job: answered, never run again.
  if (auto it = active_.find(job.id()); it != active_.end()) {
    Reply(rid, enc, verb::kAccepted, ref);
    Wait(rid, enc, job.id());
    return;
  }
  Result<std::optional<JournalEntry>> known = journal_->Find(job.id());
  if (!known.ok()) {
    ReplyError(rid, enc, v1::Error::INTERNAL, known.status().message());
    return;
  }
  if (known->has_value()) {
    Reply(rid, enc, verb::kAccepted, ref);
    Wait(rid, enc, job.id());
    return;
  }
  if (job.has_exec() && job.language().empty()) job.set_language(kExecLanguage);
  if (job.has_exec() != (job.language() == kExecLanguage)) {
    ReplyError(rid, enc, v1::Error::BAD_REQUEST,
               "an exec job (\"exec\" set) has the language \"exec\", and only it does");
    return;
  }
  if (job.language().empty()) {
    ReplyError(rid, enc, v1::Error::BAD_REQUEST,
               "the job has no language; set \"language\" to one of: " + KnownLanguages());
    return;
  }
  if (Status st = LanguageError(job.language()); !st.ok()) {
    ReplyError(rid, enc, v1::Error::UNKNOWN_LANGUAGE, st.message());
    return;
  }
  if (job.sources().empty() && !job.has_exec()) {
    ReplyError(rid, enc, v1::Error::BAD_REQUEST, "the job has no sources; add the program to \"sources\"");
    return;
  }
  if (static_cast<int64_t>(queued_) >= options_.max_queue) {
    ReplyError(rid, enc, v1::Error::QUEUE_FULL,
               "the queue is full (" + std::to_string(queued_) +
                   " jobs, judge-broker --max-queue); submit again later");
    return;
  }
  Result<std::string> bytes = EncodeProtobuf(job);
  if (!bytes.ok()) {
    ReplyError(rid, enc, v1::Error::BAD_REQUEST, bytes.status().message());
    return;
  }
  Entry e;
  e.id = job.id();
  e.seq = journal_->NextSeq();
  e.priority = job.priority();
  e.language = job.language();
  e.submitted_ms = WallClock();
  JournalJob meta{e.id, e.seq, e.priority, e.language, e.submitted_ms};
  if (Status st = journal_->Add(meta, *bytes); !st.ok()) {
    ReplyError(rid, enc, v1::Error::INTERNAL, st.message());
    return;
  }
  e.watchers.push_back({rid, enc});
  Enqueue(e);
  active_.emplace(e.id, std::move(e));
  Reply(rid, enc, verb::kAccepted, ref);
}

void Broker::Wait(const std::string& rid, const std::string& enc, const std::string& id) {
  if (auto it = active_.find(id); it != active_.end()) {
    auto& ws = it->second.watchers;
    bool already = std::any_of(ws.begin(), ws.end(),
                               [&](const Watcher& w) { return w.routing_id == rid; });
    if (!already) {
      if (ws.size() >= kMaxWatchers) {
        ReplyError(rid, enc, v1::Error::BAD_REQUEST,
                   std::to_string(kMaxWatchers) + " clients already wait for job " + id +
                       "; ask its STATUS instead");
        return;
      }
      ws.push_back({rid, enc});
    }
    return;
  }
  Result<std::optional<JournalEntry>> known = journal_->Find(id);
  if (!known.ok()) {
    ReplyError(rid, enc, v1::Error::INTERNAL, known.status().message());
    return;
  }
  if (!known->has_value()) {
    ReplyError(rid, enc, v1::Error::NOT_FOUND,
               "no job with id '" + id + "' (never submitted, or its result has expired)");
    return;
  }
  const JournalEntry& entry = **known;
  if (entry.state == JournalState::kDone) {
    v1::JobResult result;
    if (Status st = DecodeProtobuf(entry.result, &result); !st.ok()) {
      ReplyError(rid, enc, v1::Error::INTERNAL, "the journaled result is unreadable: " + st.message());
      return;
    }
    Reply(rid, enc, verb::kResult, result);
  } else {
    v1::JobStatus status;
    status.set_job_id(id);
    status.set_state(v1::JobStatus::CANCELLED);
    Reply(rid, enc, verb::kStatus, status);
  }
}

void Broker::StatusOf(const std::string& rid, const std::string& enc, const std::string& id) {
  v1::JobStatus status;
  status.set_job_id(id);
  if (auto it = active_.find(id); it != active_.end()) {
    status.set_state(it->second.worker.empty() ? v1::JobStatus::QUEUED : v1::JobStatus::RUNNING);
    status.set_tests_done(it->second.tests_done);
  } else {
    Result<std::optional<JournalEntry>> known = journal_->Find(id);
    if (!known.ok()) {
      ReplyError(rid, enc, v1::Error::INTERNAL, known.status().message());
      return;
    }
    if (!known->has_value()) {
      status.set_state(v1::JobStatus::UNKNOWN);
    } else if ((*known)->state == JournalState::kDone) {
      status.set_state(v1::JobStatus::DONE);
      if (Status st = DecodeProtobuf((*known)->result, status.mutable_result()); !st.ok()) {
        ReplyError(rid, enc, v1::Error::INTERNAL, "the journaled result is unreadable: " + st.message());
        return;
      }
      // An exec job's "tests" are its steps.
      status.set_tests_done(status.result().has_exec() ? status.result().exec().steps_size()
                                                         : status.result().tests_size());
    } else {
      status.set_state(v1::JobStatus::CANCELLED);
    }
  }
  Reply(rid, enc, verb::kStatus, status);
}

void Broker::Cancel(const std::string& rid, const std::string& enc, const std::string& id) {
  auto it = active_.find(id);
  if (it == active_.end()) {
    // Ended already (DONE or CANCELLED, said by STATUS) or unknown (NOT_FOUND).
    Result<std::optional<JournalEntry>> known = journal_->Find(id);
    if (known.ok() && !known->has_value()) {
      ReplyError(rid, enc, v1::Error::NOT_FOUND, "no job with id '" + id + "' to cancel");
      return;
    }
    StatusOf(rid, enc, id);
    return;
  }
  Entry& e = it->second;
  if (e.worker.empty()) {
    Dequeue(e);
  } else if (auto w = worker_table_.find(e.worker); w != worker_table_.end()) {
    w->second.jobs.erase(id);
    v1::JobRef ref;
    ref.set_job_id(id);
    ToWorker(w->second, verb::kCancel, ref);
  }
  auto& ws = e.watchers;
  if (std::none_of(ws.begin(), ws.end(), [&](const Watcher& w) { return w.routing_id == rid; })) {
    ws.push_back({rid, enc});  // the canceller hears STATUS CANCELLED with the others
  }
  EndJob(e, nullptr);
}

void Broker::StatsTo(const std::string& rid, const std::string& enc) {
  v1::Stats s;
  s.set_queued(static_cast<int64_t>(queued_));
  s.set_running(static_cast<int64_t>(active_.size() - queued_));
  s.set_max_message_bytes(static_cast<int64_t>(options_.max_message_bytes));
  s.set_workers(static_cast<int64_t>(worker_table_.size()));
  int64_t free_slots = 0;
  for (const auto& [id, w] : worker_table_) free_slots += w.draining ? 0 : w.credit;
  s.set_free_slots(free_slots);
  s.set_jobs_done(jobs_done_);
  for (const auto& [v, n] : verdicts_) (*s.mutable_verdicts())[v] = n;
  std::vector<double> waits(waits_ms_.begin(), waits_ms_.end());
  s.set_queue_wait_p50_ms(Percentile(waits, 0.5));
  s.set_queue_wait_p99_ms(Percentile(waits, 0.99));
  Reply(rid, enc, verb::kStats, s);
}

// ---- workers ----

void Broker::HandleWorker(std::vector<std::string> parts) {
  if (parts.size() < 2) return;
  std::string rid = std::move(parts[0]);
  parts.erase(parts.begin());
  const std::string enc = parts.size() >= 3 ? parts[2] : std::string(kEncodingMsgpack);
  auto it = worker_table_.find(rid);
  if (it != worker_table_.end()) it->second.last_seen_ms = Monotonic();
  Result<Frame> frame = ParseFrame(std::move(parts), options_.max_message_bytes, kWorkerVerbs);
  if (!frame.ok()) {
    SendError(workers_, rid, enc, v1::Error::BAD_REQUEST, frame.status().message());
    return;
  }
  const std::string& verb = frame->verb;
  if (verb == verb::kReady) {
    v1::WorkerReady ready;
    if (Status st = DecodeBody(*frame, &ready); !st.ok()) {
      SendError(workers_, rid, enc, v1::Error::BAD_REQUEST, st.message());
      return;
    }
    const bool first = it == worker_table_.end();
    if (first && ready.name().empty()) {
      // Not a worker's first READY (it was talking to a broker that has restarted since):
      // it must introduce itself, with its languages and running jobs.
      SendMessage(workers_, rid, verb::kDisconnect, frame->encoding, v1::Empty());
      return;
    }
    if (first) {
      Worker w;
      w.routing_id = rid;
      w.encoding = frame->encoding;
      w.last_seen_ms = Monotonic();
      it = worker_table_.emplace(rid, std::move(w)).first;
    }
    WorkerReady(it->second, ready, first);
    return;
  }
  if (it == worker_table_.end()) {
    // A peer this broker does not know (it restarted, or declared the worker dead): it
    // must introduce itself with a first READY; a DONE it sent is sent again after that
    // (a worker keeps a result until the broker has confirmed it), so none is taken from
    // a peer that never said who it is.
    if (verb != verb::kDisconnect) {
      SendMessage(workers_, rid, verb::kDisconnect, frame->encoding, v1::Empty());
    }
    return;
  }
  if (verb == verb::kDone) {
    v1::JobResult result;
    if (Status st = DecodeBody(*frame, &result); !st.ok()) {
      SendError(workers_, rid, enc, v1::Error::BAD_REQUEST, st.message());
      // The worker will not send it otherwise: its job ends as the judge's failure
      // rather than staying RUNNING for ever.
      const std::string id = JobIdOf(*frame);
      auto job = active_.find(id);
      if (job == active_.end() || job->second.worker != rid) return;
      Log("worker " + it->second.name + " sent an unreadable result for job " + Printable(id) +
          ": " + st.message());
      v1::JobResult ie;
      ie.set_job_id(id);
      ie.set_verdict(v1::IE);
      ie.set_worker(it->second.name);
      ie.set_message("the worker's result could not be read (" + Printable(st.message(), 200) +
                     "); the job was not judged");
      WorkerDone(&it->second, std::move(ie));
      return;
    }
    WorkerDone(&it->second, std::move(result));
  } else if (verb == verb::kProgress) {
    v1::TestResult progress;
    if (Status st = DecodeBody(*frame, &progress); !st.ok()) {
      SendError(workers_, rid, enc, v1::Error::BAD_REQUEST, st.message());
      return;
    }
    WorkerProgress(it->second, std::move(progress));
  } else if (verb == verb::kDisconnect) {
    RemoveWorker(rid, "disconnected");
  } else if (verb == verb::kError) {
    v1::Error error;
    DecodeBody(*frame, &error);
    Log("worker " + it->second.name + " says: " + Printable(error.message(), 300));
  } else if (verb != verb::kHeartbeat) {
    SendError(workers_, rid, enc, v1::Error::BAD_REQUEST,
              "verb '" + verb + "' is not sent by workers");
  }
}

void Broker::WorkerReady(Worker& w, const v1::WorkerReady& ready, bool first) {
  if (first || !ready.name().empty()) {
    // A first READY says all the worker's free slots (also those of jobs it finished
    // while away): it sets the credit instead of adding to it.
    w.credit = 0;
    w.name = ready.name().empty() ? Printable(w.routing_id) : Printable(ready.name());
    w.slots = ready.slots();
    w.languages.clear();
    for (const std::string& l : ready.languages()) {
      w.languages.insert(l);
      offered_.insert(l);
    }
    std::set<std::string> stale;  // earlier connections of this same worker
    for (const std::string& id : ready.running()) {
      auto it = active_.find(id);
      if (it == active_.end()) {
        v1::JobRef ref;  // ended meanwhile: the worker need not finish it
        ref.set_job_id(id);
        ToWorker(w, verb::kCancel, ref);
        continue;
      }
      Entry& e = it->second;
      if (e.worker == w.routing_id) continue;
      if (auto other = worker_table_.find(e.worker); other != worker_table_.end()) {
        if (other->second.name != w.name) continue;  // another worker runs it too
        other->second.jobs.erase(id);  // the same worker, reconnected: the job moves
        stale.insert(other->first);
      }
      if (e.worker.empty()) Dequeue(e);
      e.worker = w.routing_id;
      w.jobs.insert(id);
    }
    for (const std::string& old : stale) RemoveWorker(old, "reconnected");
    std::string langs;
    for (const std::string& l : w.languages) langs += (langs.empty() ? "" : ",") + l;
    Log("worker " + w.name + " ready: " + std::to_string(w.slots) + " slots, languages " + langs +
        (ready.running().empty() ? "" : ", still running " + std::to_string(ready.running_size())));
  }
  w.credit = std::clamp<int64_t>(w.credit + std::max(0, ready.free_slots()), 0, 4096);
  if (ready.draining()) {
    if (!w.draining) Log("worker " + w.name + " is draining");
    w.draining = true;
    w.credit = 0;
  }
}

void Broker::WorkerProgress(Worker& w, v1::TestResult progress) {
  auto it = active_.find(progress.job_id());
  if (it == active_.end() || it->second.worker != w.routing_id) return;  // stale
  if (progress.index() < 0 || progress.index() >= (1 << 30)) return;
  // An exec job's output piece of step i says that the steps before it are done.
  const int32_t done = progress.index() + (progress.has_output() ? 0 : 1);
  it->second.tests_done = std::max(it->second.tests_done, done);
  Notify(it->second, verb::kProgress, progress);
}

void Broker::WorkerDone(Worker* w, v1::JobResult result) {
  if (w) w->jobs.erase(result.job_id());
  auto it = active_.find(result.job_id());
  if (it == active_.end()) return;  // ended already: the first result stands
  Entry& e = it->second;
  const std::string sender = w ? w->routing_id : "";
  if (e.worker.empty()) {
    Dequeue(e);
  } else if (e.worker != sender) {
    if (auto other = worker_table_.find(e.worker); other != worker_table_.end()) {
      other->second.jobs.erase(e.id);
      v1::JobRef ref;
      ref.set_job_id(e.id);
      ToWorker(other->second, verb::kCancel, ref);
    }
  }
  EndJob(e, &result);
}

void Broker::RemoveWorker(const std::string& routing_id, const char* why) {
  auto it = worker_table_.find(routing_id);
  if (it == worker_table_.end()) return;
  const std::set<std::string> jobs = it->second.jobs;
  Log("worker " + it->second.name + " " + why +
      (jobs.empty() ? "" : "; its " + std::to_string(jobs.size()) + " job(s) go back to the queue"));
  worker_table_.erase(it);
  for (const std::string& id : jobs) Requeue(id);
}

void Broker::Requeue(const std::string& id) {
  auto it = active_.find(id);
  if (it == active_.end()) return;
  Entry& e = it->second;
  e.worker.clear();
  e.tests_done = 0;
  Enqueue(e);
}

void Broker::Enqueue(const Entry& e) {
  if (queues_[e.language].emplace(QueueKey{-static_cast<int64_t>(e.priority), e.seq}, e.id).second) {
    ++queued_;
  }
}

void Broker::Dequeue(const Entry& e) {
  auto q = queues_.find(e.language);
  if (q == queues_.end()) return;
  queued_ -= q->second.erase(QueueKey{-static_cast<int64_t>(e.priority), e.seq});
  if (q->second.empty()) queues_.erase(q);
}

void Broker::EndJob(Entry& e, const v1::JobResult* result) {
  const int64_t now = WallClock();
  Status st;
  if (result) {
    Result<std::string> bytes = EncodeProtobuf(*result);
    st = bytes.ok() ? journal_->Finish(e.id, JournalState::kDone, *bytes, now) : bytes.status();
    ++jobs_done_;
    ++verdicts_[v1::Verdict_Name(result->verdict())];
    Notify(e, verb::kResult, *result);
  } else {
    st = journal_->Finish(e.id, JournalState::kCancelled, "", now);
    v1::JobStatus status;
    status.set_job_id(e.id);
    status.set_state(v1::JobStatus::CANCELLED);
    status.set_tests_done(e.tests_done);
    Notify(e, verb::kStatus, status);
  }
  if (!st.ok() && fatal_.ok()) fatal_ = st;  // Run stops before anyone is told
  active_.erase(e.id);
}

// Round robin over the workers with credit: each takes the best job among its
// languages' queues (highest priority, then oldest), until no worker can take one.
void Broker::Dispatch() {
  const int64_t now = Monotonic();
  bool progress = true;
  while (progress && queued_ > 0 && fatal_.ok()) {
    progress = false;
    for (auto& [rid, w] : worker_table_) {
      if (w.draining || w.credit <= 0) continue;
      Entry* best = nullptr;
      for (const std::string& language : w.languages) {
        auto q = queues_.find(language);
        if (q == queues_.end()) continue;
        for (const auto& [key, id] : q->second) {
          Entry& e = active_.at(id);
          if (e.hold_until_ms > now) continue;  // its worker may still claim it
          if (!best || key < QueueKey{-static_cast<int64_t>(best->priority), best->seq}) best = &e;
          break;
        }
      }
      if (!best) continue;
      if (!SendJob(w, *best)) return;
      progress = true;
    }
  }
}

bool Broker::SendJob(Worker& w, Entry& e) {
  Result<std::string> bytes = journal_->JobBytes(e.id);
  if (!bytes.ok()) {
    fatal_ = bytes.status();  // the disk failed us: crash-only, the journal stays the truth
    return false;
  }
  std::string body = std::move(*bytes);
  if (w.encoding != kEncodingProtobuf) {
    v1::Job job;
    Status st = DecodeProtobuf(body, &job);
    Result<std::string> mp = st.ok() ? EncodeBody(w.encoding, job) : Result<std::string>(st);
    if (!mp.ok()) {
      // Bytes the broker wrote and cannot read back: this job can never run.
      Dequeue(e);
      v1::JobResult ie;
      ie.set_job_id(e.id);
      ie.set_verdict(v1::IE);
      ie.set_message("the broker cannot read the job back from its journal: " +
                     mp.status().message());
      EndJob(e, &ie);
      return fatal_.ok();
    }
    body = std::move(*mp);
  }
  std::vector<std::string> parts = MakeFrame(verb::kJob, w.encoding, std::move(body));
  parts.insert(parts.begin(), w.routing_id);
  SendParts(workers_, parts);
  Dequeue(e);
  e.worker = w.routing_id;
  e.hold_until_ms = 0;
  w.jobs.insert(e.id);
  --w.credit;
  if (!e.dispatched_once) {
    e.dispatched_once = true;
    waits_ms_.push_back(static_cast<double>(std::max<int64_t>(0, WallClock() - e.submitted_ms)));
    if (waits_ms_.size() > kWaitSamples) waits_ms_.pop_front();
    if (Status st = journal_->MarkDispatched(e.id); !st.ok()) fatal_ = st;
  }
  return fatal_.ok();
}

void Broker::Heartbeats(int64_t now_ms) {
  std::vector<std::string> dead;
  for (auto& [rid, w] : worker_table_) {
    if (now_ms - w.last_seen_ms > kLiveness * options_.heartbeat_ms) {
      dead.push_back(rid);
    } else {
      ToWorker(w, verb::kHeartbeat, v1::Empty());
    }
  }
  for (const std::string& rid : dead) RemoveWorker(rid, "missed 3 heartbeats");
}

void Broker::PurgeOld() {
  const int64_t now = Monotonic();
  if (now < next_purge_ms_) return;
  next_purge_ms_ = now + std::clamp<int64_t>(options_.keep_results_s * 500, 1000, 60000);
  Result<int64_t> n = journal_->Purge(WallClock() - options_.keep_results_s * 1000);
  if (!n.ok()) Log(n.status().message());
}

// ---- sending ----

void Broker::Reply(const std::string& rid, const std::string& enc, std::string_view verb,
                   const google::protobuf::Message& m) {
  Result<std::string> body = EncodeBody(enc, m);
  if (!body.ok()) {
    Log("cannot encode " + std::string(verb) + ": " + body.status().message());
    return;
  }
  QueueReply(rid, enc, verb, std::move(*body));
}

void Broker::QueueReply(const std::string& rid, const std::string& enc, std::string_view verb,
                        std::string body) {
  std::vector<std::string> parts = MakeFrame(verb, enc, std::move(body));
  parts.insert(parts.begin(), rid);
  out_.push_back(std::move(parts));
}

void Broker::ReplyError(const std::string& rid, const std::string& enc, int code,
                        const std::string& sentence) {
  out_.push_back(ErrorParts(rid, enc, code, sentence));
}

void Broker::Notify(Entry& e, std::string_view verb, const google::protobuf::Message& m) {
  if (e.watchers.size() == 1) {
    Reply(e.watchers.front().routing_id, e.watchers.front().encoding, verb, m);
    return;
  }
  // A popular job's result (large, with its tests' output) is encoded once per encoding
  // and copied to each watcher, not encoded again for each.
  std::map<std::string, std::string> bodies;
  for (const Watcher& w : e.watchers) {
    auto it = bodies.find(w.encoding);
    if (it == bodies.end()) {
      Result<std::string> body = EncodeBody(w.encoding, m);
      if (!body.ok()) {
        Log("cannot encode " + std::string(verb) + ": " + body.status().message());
        continue;
      }
      it = bodies.emplace(w.encoding, std::move(*body)).first;
    }
    QueueReply(w.routing_id, w.encoding, verb, it->second);
  }
}

void Broker::ToWorker(const Worker& w, std::string_view verb, const google::protobuf::Message& m) {
  SendMessage(workers_, w.routing_id, verb, w.encoding, m);
}

void Broker::Flush() {
  for (const std::vector<std::string>& parts : out_) SendParts(clients_, parts);
  out_.clear();
}

}  // namespace judge
