// ParseFrame and DecodeBody on hostile messages. Input: one byte choosing the socket's
// verb list (bits 0-1: all, client, broker-to-client, worker) and the body limit (bits
// 2-3), then the message's parts, each a 16-bit little-endian length and its bytes
// (Input::Part). A frame that parses must keep the promises of frame.h; each body its
// verb carries must decode, re-encode in the same encoding, frame, parse and decode
// to an equal message, and pass CheckRoundTrips.
#include <algorithm>
#include <limits>
#include <memory>

#include "fuzz/fuzz_util.h"
#include "protocol/frame.h"
#include "protocol/judge.pb.h"

namespace judge::fuzz {
namespace {

using google::protobuf::Message;

constexpr size_t kMaxParts = 8;  // enough for "too many parts"

std::span<const std::string_view> Verbs(uint8_t selector) {
  switch (selector & 3) {
    case 1:
      return kClientVerbs;
    case 2:
      return kBrokerToClientVerbs;
    case 3:
      return kWorkerVerbs;
    default:
      return kAllVerbs;
  }
}

size_t MaxBody(uint8_t selector) {
  switch ((selector >> 2) & 3) {
    case 1:
      return 0;
    case 2:
      return 16;
    case 3:
      return 1 << 12;
    default:
      return std::numeric_limits<size_t>::max();
  }
}

// The bodies a verb carries, in either direction (frame.h's verb comments).
std::vector<const Message*> BodyTypes(std::string_view v) {
  if (v == verb::kSubmit || v == verb::kJob) return {&v1::Job::default_instance()};
  if (v == verb::kStatus) {
    return {&v1::JobRef::default_instance(), &v1::JobStatus::default_instance()};
  }
  if (v == verb::kWait || v == verb::kCancel || v == verb::kAccepted) {
    return {&v1::JobRef::default_instance()};
  }
  if (v == verb::kStats) return {&v1::Empty::default_instance(), &v1::Stats::default_instance()};
  if (v == verb::kProgress) return {&v1::TestResult::default_instance()};
  if (v == verb::kResult || v == verb::kDone) return {&v1::JobResult::default_instance()};
  if (v == verb::kError) return {&v1::Error::default_instance()};
  if (v == verb::kReady) return {&v1::WorkerReady::default_instance()};
  if (v == verb::kHeartbeat || v == verb::kDisconnect) return {&v1::Empty::default_instance()};
  Fail("ParseFrame accepted the verb '" + std::string(v) + "', which carries no known body");
}

bool Contains(std::span<const std::string_view> list, std::string_view s) {
  return std::find(list.begin(), list.end(), s) != list.end();
}

void CheckParsed(const std::vector<std::string>& parts, const Frame& f,
                 std::span<const std::string_view> verbs, size_t max_body) {
  if (parts.size() != 4 || parts[0] != kProtocolVersion) Fail("ParseFrame accepted bad parts");
  if (f.verb != parts[1] || f.encoding != parts[2] || f.body != parts[3]) {
    Fail("ParseFrame changed a part");
  }
  if (!Contains(verbs, f.verb)) Fail("ParseFrame accepted a verb not on the list");
  if (f.encoding != kEncodingProtobuf && f.encoding != kEncodingMsgpack) {
    Fail("ParseFrame accepted the encoding '" + f.encoding + "'");
  }
  if (f.body.size() > max_body) Fail("ParseFrame accepted a body over the limit");
}

// The body as the peer would send it back: encoded, framed, parsed, decoded.
void CheckReframed(const Frame& f, const Message& decoded,
                   std::span<const std::string_view> verbs) {
  auto body = EncodeBody(f.encoding, decoded);
  if (!body.ok()) Fail("EncodeBody refused a decoded body: " + body.status().ToString());
  auto again = ParseFrame(MakeFrame(f.verb, f.encoding, std::move(*body)),
                          std::numeric_limits<size_t>::max(), verbs);
  if (!again.ok()) Fail("ParseFrame refused MakeFrame's frame: " + again.status().ToString());
  std::unique_ptr<Message> back(decoded.New());
  Status st = DecodeBody(*again, back.get());
  if (!st.ok()) Fail("DecodeBody refused EncodeBody's body: " + st.ToString());
  std::string diff;
  if (!SameMessage(decoded, *back, &diff)) Fail("the body changed through a frame:\n" + diff);
}

}  // namespace
}  // namespace judge::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  judge::fuzz::QuietProtobufLog();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace judge;
  using namespace judge::fuzz;
  Input in(data, size);
  const uint8_t selector = in.Byte();
  const auto verbs = Verbs(selector);
  const size_t max_body = MaxBody(selector);
  std::vector<std::string> parts;
  while (!in.empty() && parts.size() < kMaxParts) parts.emplace_back(in.Part());

  Result<Frame> frame = ParseFrame(parts, max_body, verbs);
  if (!frame.ok()) return 0;
  CheckParsed(parts, *frame, verbs, max_body);
  const Source source = frame->encoding == kEncodingProtobuf ? Source::kProtobuf : Source::kMsgpack;
  for (const google::protobuf::Message* type : BodyTypes(frame->verb)) {
    std::unique_ptr<google::protobuf::Message> m(type->New());
    Status st = DecodeBody(*frame, m.get());
    if (!st.ok()) {
      if (st.message().rfind(frame->verb + " body: ", 0) != 0) {
        Fail("a body error does not name the verb: " + st.message());
      }
      continue;
    }
    CheckReframed(*frame, *m, verbs);
    CheckRoundTrips(*m, source);
  }
  return 0;
}
