// The client side of the client <-> broker protocol (docs/PROTOCOL.md): one DEALER
// socket, and the Lazy Pirate pattern (zguide) so that a lost request or a restarted
// broker costs a resend, not a hung client. Every request it repeats is idempotent:
// SUBMIT carries the client's job id, WAIT, STATUS and STATS change nothing.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <zmq.hpp>

#include "common/status.h"
#include "protocol/frame.h"
#include "protocol/judge.pb.h"

namespace judge {

using RemoteClock = std::chrono::steady_clock;
// The end of waiting: --timeout SEC from now, or never.
Result<RemoteClock::time_point> Deadline(const std::string& timeout);

struct RemoteOptions {
  std::string broker = "tcp://127.0.0.1:5555";
  std::string encoding = "pb";  // pb or mp; the broker answers in the same
  // CURVE (both or neither): this client's secret key file, and the broker's public key
  // (a .pub file or the key itself).
  std::string key_file;
  std::string broker_key;
  // SUBMIT without ACCEPTED, or a wait without a word, for this long: send it again.
  std::chrono::milliseconds retry_interval{2000};
  // STATUS and STATS give up after this long without an answer.
  std::chrono::milliseconds answer_timeout{5000};
  // Called once per request that could not even be handed to the broker for
  // answer_timeout (no connection), while submit and wait go on trying.
  std::function<void(const std::string&)> warn;
};

// The defaults of every command that talks to the broker: $JUDGE_BROKER, $JUDGE_KEY,
// $JUDGE_BROKER_KEY, and warnings on stderr ("judge: ...").
RemoteOptions RemoteOptionsFromEnvironment();

// A job that was waited for ended one of these ways. Anything else (an ERROR from the
// broker, a reply that cannot be read) is an error Status whose message is the reason.
struct WaitOutcome {
  enum State { kDone, kCancelled, kTimedOut };
  State state = kTimedOut;
  v1::JobResult result;  // kDone
  v1::JobStatus status;  // kCancelled: the broker's STATUS
};

class RemoteClient {
 public:
  // Fails only for an unknown encoding or an endpoint ZeroMQ cannot parse: the
  // connection itself is made (and remade) in the background.
  static Result<std::unique_ptr<RemoteClient>> Connect(RemoteOptions options);

  // SUBMIT, resent with the same job id until ACCEPTED. The job id from ACCEPTED, or ""
  // when `deadline` passed first.
  Result<std::string> Submit(const v1::Job& job, RemoteClock::time_point deadline);

  // The job's PROGRESS (to on_progress) until its RESULT or its cancellation. WAIT is
  // sent first unless `watching` (this client submitted it, so the broker already sends
  // it everything), and again after every retry_interval of silence.
  Result<WaitOutcome> Wait(const std::string& job_id, bool watching,
                           RemoteClock::time_point deadline,
                           const std::function<void(const v1::TestResult&)>& on_progress);

  // One answer each, within answer_timeout, or an error that says the broker is silent.
  Result<v1::JobStatus> QueryStatus(const std::string& job_id);
  Result<v1::Stats> QueryStats();
  // CANCEL: the job's status after it (CANCELLED, or DONE when it had finished).
  Result<v1::JobStatus> Cancel(const std::string& job_id);


 private:
  explicit RemoteClient(RemoteOptions options);

  // How a received message bears on the request in flight.
  enum class Reply { kIgnored, kProgress, kDone };
  using Handler = std::function<Result<Reply>(const Frame&)>;

  // Sends `verb message` (unless !send_first) as soon as the socket can take it, hands
  // every message received to `handle` until it says kDone (true) or `deadline` passes
  // (false), and sends again after retry_interval without kProgress or kDone. An ERROR
  // ends it with the broker's message.
  Result<bool> Converse(std::string_view verb, const google::protobuf::Message& message,
                        bool send_first, RemoteClock::time_point deadline, const Handler& handle);
  // The same with the message already encoded in options_.encoding.
  Result<bool> ConverseEncoded(std::string_view verb, std::string body, bool send_first,
                               RemoteClock::time_point deadline, const Handler& handle);
  // A request with one reply of `reply_verb`, decoded into *reply.
  Status Ask(std::string_view verb, const google::protobuf::Message& message,
             std::string_view reply_verb, google::protobuf::Message* reply);

  RemoteOptions options_;
  zmq::context_t context_;
  zmq::socket_t socket_;  // after context_: closed first
};

}  // namespace judge
