// The wire framing of INTERFACES.md section 3, without ZeroMQ: a message is the parts
// ["JDG1", VERB, ENCODING, BODY]; the body is one judge.proto message in the encoding.
#pragma once

#include <google/protobuf/message.h>

#include <array>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace judge {

inline constexpr std::string_view kProtocolVersion = "JDG1";

inline constexpr std::string_view kEncodingProtobuf = "pb";
inline constexpr std::string_view kEncodingMsgpack = "mp";

// The pseudo-language of exec jobs (Job.exec): the broker queues them under it, and a
// worker that can run them lists it among its READY languages.
inline constexpr const char kExecLanguage[] = "exec";

// Every verb, in one place. The body each carries is in the comment.
namespace verb {
// Client -> broker.
inline constexpr std::string_view kSubmit = "SUBMIT";  // Job
inline constexpr std::string_view kStatus = "STATUS";  // JobRef; the reply: JobStatus
inline constexpr std::string_view kWait = "WAIT";      // JobRef
inline constexpr std::string_view kCancel = "CANCEL";  // JobRef
inline constexpr std::string_view kStats = "STATS";    // Empty; the reply: Stats
// Broker -> client (and STATUS, STATS above; PROGRESS, RESULT and STATUS CANCELLED go to
// every client that submitted or waits for the job).
inline constexpr std::string_view kAccepted = "ACCEPTED";  // JobRef
inline constexpr std::string_view kProgress = "PROGRESS";  // TestResult
inline constexpr std::string_view kResult = "RESULT";      // JobResult
inline constexpr std::string_view kError = "ERROR";        // Error
// Worker <-> broker (internal; docs/PROTOCOL.md). Also PROGRESS (worker -> broker:
// TestResult with job_id) and CANCEL (broker -> worker: JobRef).
inline constexpr std::string_view kReady = "READY";            // worker -> broker: WorkerReady
inline constexpr std::string_view kJob = "JOB";                // broker -> worker: Job
inline constexpr std::string_view kHeartbeat = "HEARTBEAT";    // both ways: Empty
inline constexpr std::string_view kDone = "DONE";              // worker -> broker: JobResult
inline constexpr std::string_view kDisconnect = "DISCONNECT";  // both ways: Empty
}  // namespace verb

inline constexpr std::array<std::string_view, 5> kClientVerbs = {
    verb::kSubmit, verb::kStatus, verb::kWait, verb::kCancel, verb::kStats};
inline constexpr std::array<std::string_view, 6> kBrokerToClientVerbs = {
    verb::kAccepted, verb::kProgress, verb::kResult, verb::kStatus, verb::kStats, verb::kError};
inline constexpr std::array<std::string_view, 8> kWorkerVerbs = {
    verb::kReady, verb::kJob,    verb::kHeartbeat, verb::kDone, verb::kDisconnect,
    verb::kError, verb::kCancel, verb::kProgress};
// The union of the three lists above, each verb once.
inline constexpr std::array<std::string_view, 14> kAllVerbs = {
    verb::kSubmit,   verb::kStatus,    verb::kWait,   verb::kCancel,    verb::kStats,
    verb::kAccepted, verb::kProgress,  verb::kResult, verb::kError,     verb::kReady,
    verb::kJob,      verb::kHeartbeat, verb::kDone,   verb::kDisconnect};

struct Frame {
  std::string verb;
  std::string encoding;  // kEncodingProtobuf or kEncodingMsgpack
  std::string body;
};

// Checks the parts of one received message: their count, the version, the verb (one of
// `verbs`: a socket accepts only its peers' verbs), the encoding, the body's size. Taken
// by value so that a caller done with the parts can move them and the body is not copied.
Result<Frame> ParseFrame(std::vector<std::string> parts, size_t max_body,
                         std::span<const std::string_view> verbs = kAllVerbs);

std::vector<std::string> MakeFrame(std::string_view verb, std::string_view encoding,
                                   std::string body);

// The body in the given encoding (a reply uses the encoding of the request).
Result<std::string> EncodeBody(std::string_view encoding, const google::protobuf::Message& m);
Status DecodeBody(const Frame& frame, google::protobuf::Message* out);

}  // namespace judge
