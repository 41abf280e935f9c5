#include "protocol/wire.h"

#include <sys/random.h>

#include "protocol/judge.pb.h"

namespace judge {

bool RecvParts(zmq::socket_t& socket, std::vector<std::string>* parts, zmq::recv_flags flags,
               size_t max_parts) {
  parts->clear();
  bool first = true;
  while (true) {
    zmq::message_t msg;
    zmq::recv_result_t got;
    try {
      got = socket.recv(msg, first ? flags : zmq::recv_flags::none);
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR && first) return false;
      if (e.num() == EINTR) continue;  // the rest of a message is already here
      throw;
    }
    if (!got) return false;
    first = false;
    if (parts->size() < max_parts) {
      parts->emplace_back(static_cast<const char*>(msg.data()), msg.size());
    }
    if (!msg.more()) return true;
  }
}

bool SendParts(zmq::socket_t& socket, const std::vector<std::string>& parts) {
  for (size_t i = 0; i < parts.size(); ++i) {
    zmq::message_t msg(parts[i].data(), parts[i].size());
    auto flags = i + 1 < parts.size() ? zmq::send_flags::sndmore : zmq::send_flags::none;
    try {
      if (!socket.send(msg, flags | zmq::send_flags::dontwait)) return false;
    } catch (const zmq::error_t& e) {
      if (e.num() == EHOSTUNREACH) return false;
      throw;
    }
  }
  return true;
}

Status SendMessage(zmq::socket_t& socket, std::string_view routing_id, std::string_view verb,
                   std::string_view encoding, const google::protobuf::Message& message) {
  ASSIGN_OR_RETURN(std::string body, EncodeBody(encoding, message));
  std::vector<std::string> parts;
  parts.reserve(5);
  if (!routing_id.empty()) parts.emplace_back(routing_id);
  for (std::string& p : MakeFrame(verb, encoding, std::move(body))) parts.push_back(std::move(p));
  if (!SendParts(socket, parts)) {
    return Status::Error(std::string(verb) + " could not be queued (peer gone or queue full)");
  }
  return Status::Ok();
}

std::vector<std::string> ErrorParts(std::string_view routing_id, std::string_view encoding,
                                    int code, const std::string& sentence) {
  v1::Error error;
  error.set_code(static_cast<v1::Error::Code>(code));
  error.set_message(sentence);
  // A request in an unknown encoding still gets an answer it can read: MessagePack is
  // readable without the schema (and an Error always encodes).
  if (encoding != kEncodingProtobuf && encoding != kEncodingMsgpack) encoding = kEncodingMsgpack;
  std::vector<std::string> parts = MakeFrame(verb::kError, encoding, *EncodeBody(encoding, error));
  if (!routing_id.empty()) parts.insert(parts.begin(), std::string(routing_id));
  return parts;
}

Status SendError(zmq::socket_t& socket, std::string_view routing_id, std::string_view encoding,
                 int code, const std::string& sentence) {
  if (!SendParts(socket, ErrorParts(routing_id, encoding, code, sentence))) {
    return Status::Error("ERROR could not be queued (peer gone or queue full)");
  }
  return Status::Ok();
}

std::string RandomJobId() {
  unsigned char bytes[16];
  size_t got = 0;
  while (got < sizeof bytes) {
    ssize_t n = getrandom(bytes + got, sizeof bytes - got, 0);
    if (n > 0) got += n;  // EINTR is the only failure possible for 16 bytes
  }
  static const char kHex[] = "0123456789abcdef";
  std::string id;
  for (unsigned char b : bytes) {
    id += kHex[b >> 4];
    id += kHex[b & 15];
  }
  return id;
}

std::string LastEndpoint(zmq::socket_t& socket) {
  return socket.get(zmq::sockopt::last_endpoint);
}

}  // namespace judge
