#include "client/remote.h"


#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "protocol/curve.h"
#include "sandbox/options.h"  // ParseSeconds
#include "protocol/wire.h"

namespace judge {

RemoteOptions RemoteOptionsFromEnvironment() {
  RemoteOptions o;
  if (const char* b = std::getenv("JUDGE_BROKER"); b && *b) o.broker = b;
  if (const char* k = std::getenv("JUDGE_KEY"); k && *k) o.key_file = k;
  if (const char* k = std::getenv("JUDGE_BROKER_KEY"); k && *k) o.broker_key = k;
  o.warn = [](const std::string& m) { std::fprintf(stderr, "judge: %s\n", m.c_str()); };
  return o;
}

Result<RemoteClock::time_point> Deadline(const std::string& timeout) {
  if (timeout.empty()) return RemoteClock::time_point::max();
  Result<double> s = ParseSeconds(timeout);
  if (!s.ok()) return Status::Error("--timeout: " + s.status().ToString());
  return RemoteClock::now() +
         std::chrono::duration_cast<RemoteClock::duration>(std::chrono::duration<double>(*s));
}
namespace {

// Results carry no program output, so this is generous; it bounds what a confused peer
// can make the client allocate.
constexpr size_t kMaxReplyBytes = 64u << 20;
// Jobs larger than this ask the broker its message limit before SUBMIT.
constexpr size_t kAskLimitAbove = 1u << 20;
// Resends of an unanswered request back off to this.
constexpr std::chrono::milliseconds kMaxRetryInterval{8000};

// Milliseconds from now until `t`, rounded up so that a wait never ends just before its
// time and spins; at most a day, so that time_point::max() means "no end".
long MillisUntil(RemoteClock::time_point t) {
  const auto now = RemoteClock::now();
  if (t <= now) return 0;
  const auto day = std::chrono::hours(24);
  if (t - now > day) return std::chrono::duration_cast<std::chrono::milliseconds>(day).count();
  return std::chrono::ceil<std::chrono::milliseconds>(t - now).count();
}

std::string Seconds(std::chrono::milliseconds d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g s", d.count() / 1000.0);
  return buf;
}

}  // namespace

RemoteClient::RemoteClient(RemoteOptions options)
    : options_(std::move(options)), context_(1), socket_(context_, zmq::socket_type::dealer) {}

Result<std::unique_ptr<RemoteClient>> RemoteClient::Connect(RemoteOptions options) {
  if (options.encoding != kEncodingProtobuf && options.encoding != kEncodingMsgpack) {
    return Status::Error("unknown encoding '" + options.encoding + "' (use pb or mp)");
  }
  std::unique_ptr<RemoteClient> c(new RemoteClient(std::move(options)));
  const RemoteOptions& o = c->options_;
  if (o.key_file.empty() != o.broker_key.empty()) {
    return Status::Error(o.key_file.empty()
                             ? "--broker-key needs this client's own --key (judge keygen makes one)"
                             : "--key needs the broker's public key: --broker-key FILE|KEY");
  }
  if (!o.key_file.empty()) {
    ASSIGN_OR_RETURN(CurveKeyPair own, LoadSecretKey(o.key_file));
    ASSIGN_OR_RETURN(std::string server, LoadPublicKey(o.broker_key));
    MakeCurveClient(c->socket_, own, server);
  }
  try {
    // Exit promptly whatever is still queued: a request is resent, never relied upon.
    c->socket_.set(zmq::sockopt::linger, 0);
    // Queue only on a live connection, so that requests resent while the broker is
    // down do not pile up and all arrive when it is back; POLLOUT then means connected.
    c->socket_.set(zmq::sockopt::immediate, true);
    c->socket_.set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(kMaxReplyBytes) + 4096);
    c->socket_.connect(c->options_.broker);
  } catch (const zmq::error_t& e) {
    return Status::Error("cannot connect to '" + c->options_.broker + "': " + e.what() +
                         " (give --broker tcp://HOST:PORT)");
  }
  return c;
}

Result<bool> RemoteClient::Converse(std::string_view verb, const google::protobuf::Message& message,
                                    bool send_first, RemoteClock::time_point deadline,
                                    const Handler& handle) {
  ASSIGN_OR_RETURN(std::string body, EncodeBody(options_.encoding, message));
  return ConverseEncoded(verb, std::move(body), send_first, deadline, handle);
}

Result<bool> RemoteClient::ConverseEncoded(std::string_view verb, std::string body, bool send_first,
                                           RemoteClock::time_point deadline,
                                           const Handler& handle) {
  const std::vector<std::string> request = MakeFrame(verb, options_.encoding, std::move(body));
  bool pending = send_first;  // a send is due, as soon as the socket takes it
  auto pending_since = RemoteClock::now();
  // Only a request that outlives answer_timeout warns; the others fail with their own
  // message then.
  bool warned = !options_.warn || deadline - pending_since <= options_.answer_timeout;
  auto quiet_until = RemoteClock::now() + options_.retry_interval;
  // Doubles after each resend (up to 8 s), so that a big SUBMIT on a slow link is not
  // sent again and again while its first copy is still on the way.
  auto interval = options_.retry_interval;
  try {
    while (true) {
      const auto now = RemoteClock::now();
      if (now >= deadline) return false;
      if (!pending && now >= quiet_until) {
        pending = true;
        pending_since = now;
      }
      if (pending && !warned && now - pending_since >= options_.answer_timeout) {
        options_.warn("cannot reach " + options_.broker + " for " +
                      Seconds(options_.answer_timeout) +
                      " (is judge-broker running?); still trying");
        warned = true;
      }
      auto wake = deadline;
      if (!pending) wake = std::min(wake, quiet_until);
      if (pending && !warned) {
        wake = std::min(wake, pending_since + options_.answer_timeout);
      }
      std::vector<zmq::pollitem_t> items = {
          {socket_.handle(), 0, static_cast<short>(ZMQ_POLLIN | (pending ? ZMQ_POLLOUT : 0)), 0}};
      try {
        zmq::poll(items, std::chrono::milliseconds(MillisUntil(wake)));
      } catch (const zmq::error_t& e) {
        if (e.num() == EINTR) continue;
        throw;
      }
      if ((items[0].revents & ZMQ_POLLOUT) && SendParts(socket_, request)) {
        pending = false;
        quiet_until = RemoteClock::now() + interval;
        interval = std::min<std::chrono::milliseconds>(interval * 2, kMaxRetryInterval);
      }
      if (!(items[0].revents & ZMQ_POLLIN)) continue;
      std::vector<std::string> parts;
      if (!RecvParts(socket_, &parts, zmq::recv_flags::dontwait)) continue;
      Result<Frame> frame = ParseFrame(std::move(parts), kMaxReplyBytes, kBrokerToClientVerbs);
      if (!frame.ok()) {
        return Status::Error("unreadable reply from " + options_.broker + ": " +
                             frame.status().ToString());
      }
      if (frame->verb == verb::kError) {
        v1::Error error;
        Status st = DecodeBody(*frame, &error);
        if (!st.ok()) return st.Context("unreadable reply from " + options_.broker);
        std::string why = error.message();
        if (why.empty()) why = options_.broker + " refused: " + v1::Error::Code_Name(error.code());
        return Status::Error(why);
      }
      ASSIGN_OR_RETURN(Reply reply, handle(*frame));
      if (reply == Reply::kDone) return true;
      if (reply == Reply::kProgress) {
        // The broker is alive and on it: the silence clock starts again.
        pending = false;
        interval = options_.retry_interval;
        quiet_until = RemoteClock::now() + interval;
      }
    }
  } catch (const zmq::error_t& e) {
    return Status::Error(std::string("ZeroMQ: ") + e.what());
  }
}

Result<std::string> RemoteClient::Submit(const v1::Job& job, RemoteClock::time_point deadline) {
  // The broker drops a message over twice its limit with the connection, unanswered (it
  // does not read what it would refuse), and resending would not help: for a job big
  // enough for that to matter, ask the limit first and refuse here, clearly.
  ASSIGN_OR_RETURN(std::string body, EncodeBody(options_.encoding, job));  // once: it may be big
  if (job.ByteSizeLong() > kAskLimitAbove) {
    ASSIGN_OR_RETURN(v1::Stats stats, QueryStats());
    if (stats.max_message_bytes() > 0 &&
        body.size() > static_cast<uint64_t>(stats.max_message_bytes())) {
      return Status::Error("the job is " + std::to_string(body.size()) +
                           " bytes, over the broker's limit of " +
                           std::to_string(stats.max_message_bytes()) +
                           " (judge-broker --max-message-bytes); use fewer or smaller tests");
    }
  }
  std::string job_id;
  auto handle = [&](const Frame& f) -> Result<Reply> {
    if (f.verb != verb::kAccepted) return Reply::kIgnored;
    v1::JobRef ref;
    RETURN_IF_ERROR(DecodeBody(f, &ref));
    // The first request on this socket, so ACCEPTED is its answer; the broker may have
    // chosen the id if the job had none.
    job_id = ref.job_id().empty() ? job.id() : ref.job_id();
    return Reply::kDone;
  };
  ASSIGN_OR_RETURN(bool accepted,
                   ConverseEncoded(verb::kSubmit, std::move(body), true, deadline, handle));
  if (accepted && job_id.empty()) {
    return Status::Error(options_.broker + " accepted the job without an id");
  }
  return accepted ? job_id : "";
}

Result<WaitOutcome> RemoteClient::Wait(
    const std::string& job_id, bool watching, RemoteClock::time_point deadline,
    const std::function<void(const v1::TestResult&)>& on_progress) {
  WaitOutcome outcome;
  auto handle = [&](const Frame& f) -> Result<Reply> {
    if (f.verb == verb::kProgress) {
      v1::TestResult t;
      RETURN_IF_ERROR(DecodeBody(f, &t));
      if (t.job_id() != job_id) return Reply::kIgnored;
      if (on_progress) on_progress(t);
      return Reply::kProgress;
    }
    if (f.verb == verb::kResult) {
      v1::JobResult r;
      RETURN_IF_ERROR(DecodeBody(f, &r));
      if (r.job_id() != job_id) return Reply::kIgnored;
      outcome.state = WaitOutcome::kDone;
      outcome.result = std::move(r);
      return Reply::kDone;
    }
    if (f.verb == verb::kStatus) {
      v1::JobStatus s;
      RETURN_IF_ERROR(DecodeBody(f, &s));
      if (s.job_id() != job_id) return Reply::kIgnored;
      if (s.state() == v1::JobStatus::CANCELLED) {
        outcome.state = WaitOutcome::kCancelled;
        outcome.status = std::move(s);
        return Reply::kDone;
      }
      if (s.state() == v1::JobStatus::DONE && s.has_result()) {
        outcome.state = WaitOutcome::kDone;
        outcome.result = s.result();
        if (outcome.result.job_id().empty()) outcome.result.set_job_id(job_id);
        return Reply::kDone;
      }
      return Reply::kProgress;
    }
    return Reply::kIgnored;  // a late ACCEPTED of a resent SUBMIT, say
  };
  v1::JobRef ref;
  ref.set_job_id(job_id);
  ASSIGN_OR_RETURN(bool done, Converse(verb::kWait, ref, !watching, deadline, handle));
  if (!done) outcome.state = WaitOutcome::kTimedOut;
  return outcome;
}

Status RemoteClient::Ask(std::string_view verb, const google::protobuf::Message& message,
                         std::string_view reply_verb, google::protobuf::Message* reply) {
  auto handle = [&](const Frame& f) -> Result<Reply> {
    if (f.verb != reply_verb) return Reply::kIgnored;
    RETURN_IF_ERROR(DecodeBody(f, reply));
    return Reply::kDone;
  };
  ASSIGN_OR_RETURN(bool answered, Converse(verb, message, true,
                                           RemoteClock::now() + options_.answer_timeout, handle));
  if (!answered) {
    return Status::Error("no answer from " + options_.broker + " in " +
                         Seconds(options_.answer_timeout) +
                         (options_.key_file.empty()
                              ? " (is judge-broker running?)"
                              : " (is judge-broker running, with this client's public key in its "
                                "--client-keys, and is --broker-key its key?)"));
  }
  return Status::Ok();
}

Result<v1::JobStatus> RemoteClient::QueryStatus(const std::string& job_id) {
  v1::JobRef ref;
  ref.set_job_id(job_id);
  v1::JobStatus status;
  RETURN_IF_ERROR(Ask(verb::kStatus, ref, verb::kStatus, &status));
  return status;
}

Result<v1::JobStatus> RemoteClient::Cancel(const std::string& job_id) {
  v1::JobRef ref;
  ref.set_job_id(job_id);
  v1::JobStatus status;
  RETURN_IF_ERROR(Ask(verb::kCancel, ref, verb::kStatus, &status));
  return status;
}

Result<v1::Stats> RemoteClient::QueryStats() {
  v1::Stats stats;
  RETURN_IF_ERROR(Ask(verb::kStats, v1::Empty(), verb::kStats, &stats));
  return stats;
}

}  // namespace judge
