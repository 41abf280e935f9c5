#include "protocol/frame.h"

#include <algorithm>

#include "protocol/codec.h"
#include "protocol/codec_util.h"

namespace judge {

using codec_internal::Quoted;

namespace {

constexpr bool Contains(std::span<const std::string_view> list, std::string_view s) {
  return std::find(list.begin(), list.end(), s) != list.end();
}

// kAllVerbs is written out by hand; this keeps it the exact union of the three lists.
constexpr bool AllVerbsIsTheUnion() {
  for (size_t i = 0; i < kAllVerbs.size(); ++i) {
    if (kAllVerbs[i].empty()) return false;
    for (size_t j = 0; j < i; ++j) {
      if (kAllVerbs[i] == kAllVerbs[j]) return false;
    }
    if (!Contains(kClientVerbs, kAllVerbs[i]) && !Contains(kBrokerToClientVerbs, kAllVerbs[i]) &&
        !Contains(kWorkerVerbs, kAllVerbs[i])) {
      return false;
    }
  }
  for (auto list : {std::span<const std::string_view>(kClientVerbs),
                    std::span<const std::string_view>(kBrokerToClientVerbs),
                    std::span<const std::string_view>(kWorkerVerbs)}) {
    for (std::string_view v : list) {
      if (!Contains(kAllVerbs, v)) return false;
    }
  }
  return true;
}
static_assert(AllVerbsIsTheUnion());

bool IsEncoding(std::string_view e) { return e == kEncodingProtobuf || e == kEncodingMsgpack; }

Status UnknownEncoding(std::string_view e) {
  return Status::Error("unknown encoding " + Quoted(e) + " (expected " +
                       std::string(kEncodingProtobuf) + " or " + std::string(kEncodingMsgpack) +
                       ")");
}

}  // namespace

Result<Frame> ParseFrame(std::vector<std::string> parts, size_t max_body,
                         std::span<const std::string_view> verbs) {
  if (parts.size() != 4) {
    return Status::Error("expected a message of 4 parts [\"" + std::string(kProtocolVersion) +
                         "\", VERB, ENCODING, BODY], got " + std::to_string(parts.size()));
  }
  if (parts[0] != kProtocolVersion) {
    return Status::Error("protocol version " + Quoted(parts[0]) + " is not supported (expected '" +
                         std::string(kProtocolVersion) + "')");
  }
  if (!Contains(verbs, parts[1])) {
    const bool known = Contains(kAllVerbs, parts[1]);
    std::string accepted;
    for (std::string_view v : verbs) accepted += (accepted.empty() ? "" : ", ") + std::string(v);
    return Status::Error((known ? "verb " : "unknown verb ") + Quoted(parts[1]) +
                         (known ? " is not accepted on this socket" : "") + " (expected " +
                         accepted + ")");
  }
  if (!IsEncoding(parts[2])) return UnknownEncoding(parts[2]);
  if (parts[3].size() > max_body) {
    return Status::Error("body of " + std::to_string(parts[3].size()) +
                         " bytes is over the limit of " + std::to_string(max_body) + " bytes");
  }
  return Frame{std::move(parts[1]), std::move(parts[2]), std::move(parts[3])};
}

std::vector<std::string> MakeFrame(std::string_view verb, std::string_view encoding,
                                   std::string body) {
  std::vector<std::string> parts;
  parts.reserve(4);
  parts.emplace_back(kProtocolVersion);
  parts.emplace_back(verb);
  parts.emplace_back(encoding);
  parts.push_back(std::move(body));
  return parts;
}

Result<std::string> EncodeBody(std::string_view encoding, const google::protobuf::Message& m) {
  if (encoding == kEncodingProtobuf) return EncodeProtobuf(m);
  if (encoding == kEncodingMsgpack) return EncodeMsgpack(m);
  return UnknownEncoding(encoding);
}

Status DecodeBody(const Frame& frame, google::protobuf::Message* out) {
  // "STATS (empty)": an empty body is the empty message in either encoding, although an
  // empty MessagePack document is not a map.
  if (frame.body.empty() && IsEncoding(frame.encoding)) {
    out->Clear();
    return Status::Ok();
  }
  Status st = frame.encoding == kEncodingProtobuf  ? DecodeProtobuf(frame.body, out)
              : frame.encoding == kEncodingMsgpack ? DecodeMsgpack(frame.body, out)
                                                   : UnknownEncoding(frame.encoding);
  return st.Context(std::string(frame.verb) + " body");
}

}  // namespace judge
