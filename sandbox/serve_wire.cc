#include "sandbox/serve_wire.h"

#include <cstdint>
#include <cstring>

namespace judge {
namespace {

constexpr std::string_view kRequestMagic("JSBRUN1\0", 8);
constexpr std::string_view kReplyMagic("JSBRES1\0", 8);

struct ReplyHeader {
  char magic[8];
  int32_t refused;
  int32_t exit_code;
  uint32_t out_len;
  uint32_t err_len;
};

constexpr size_t kMaxText = (kMaxServeReply - sizeof(ReplyHeader)) / 2;

}  // namespace

std::string EncodeServeRequest(const ServeRequest& request) {
  std::string m(kRequestMagic);
  const uint32_t streams = request.streams;
  m.append(reinterpret_cast<const char*>(&streams), sizeof streams);
  for (const std::string& a : request.args) {
    m += a;
    m.push_back('\0');
  }
  return m;
}

Result<ServeRequest> DecodeServeRequest(std::string_view message) {
  if (message.size() > kMaxServeRequest) return Status::Error("over 256 KiB");
  uint32_t streams = 0;
  if (!message.starts_with(kRequestMagic) ||
      message.size() < kRequestMagic.size() + sizeof streams) {
    return Status::Error("not a judge-sandbox run request of this version");
  }
  std::memcpy(&streams, message.data() + kRequestMagic.size(), sizeof streams);
  if (streams > 7) return Status::Error("streams other than stdin, stdout and stderr");
  message.remove_prefix(kRequestMagic.size() + sizeof streams);
  if (!message.empty() && message.back() != '\0')
    return Status::Error("its last argument does not end");
  ServeRequest r;
  r.streams = streams;
  while (!message.empty()) {
    const size_t end = message.find('\0');
    r.args.emplace_back(message.substr(0, end));
    message.remove_prefix(end + 1);
  }
  return r;
}

std::string EncodeServeReply(const ServeReply& reply) {
  const std::string_view out = std::string_view(reply.output.out).substr(0, kMaxText);
  const std::string_view err = std::string_view(reply.output.err).substr(0, kMaxText);
  ReplyHeader h{};
  std::memcpy(h.magic, kReplyMagic.data(), sizeof h.magic);
  h.refused = reply.refused ? 1 : 0;
  h.exit_code = reply.output.exit_code;
  h.out_len = static_cast<uint32_t>(out.size());
  h.err_len = static_cast<uint32_t>(err.size());
  std::string m(reinterpret_cast<const char*>(&h), sizeof h);
  m.append(out);
  m.append(err);
  return m;
}

Result<ServeReply> DecodeServeReply(std::string_view message) {
  ReplyHeader h{};
  if (message.size() < sizeof h || !message.starts_with(kReplyMagic)) {
    return Status::Error("not a judge-sandbox serve reply of this version");
  }
  std::memcpy(&h, message.data(), sizeof h);
  if ((h.refused != 0 && h.refused != 1) || h.out_len > kMaxText || h.err_len > kMaxText ||
      message.size() != sizeof h + h.out_len + h.err_len) {
    return Status::Error("a malformed judge-sandbox serve reply");
  }
  ServeReply r;
  r.refused = h.refused == 1;
  r.output.exit_code = h.exit_code;
  r.output.out = message.substr(sizeof h, h.out_len);
  r.output.err = message.substr(sizeof h + h.out_len, h.err_len);
  return r;
}

}  // namespace judge
