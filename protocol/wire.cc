#include "protocol/wire.h"

#include "protocol/judge.pb.h"

namespace judge {

bool RecvParts(zmq::socket_t& socket, std::vector<std::string>* parts, zmq::recv_flags flags) {
  parts->clear();
  while (true) {
    zmq::message_t msg;
    zmq::recv_result_t got;
    try {
      got = socket.recv(msg, parts->empty() ? flags : zmq::recv_flags::none);
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR && parts->empty()) return false;
      if (e.num() == EINTR) continue;  // the rest of a message is already here
      throw;
    }
    if (!got) return false;
    parts->emplace_back(static_cast<const char*>(msg.data()), msg.size());
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
  SendParts(socket, parts);
  return Status::Ok();
}

Status SendError(zmq::socket_t& socket, std::string_view routing_id, std::string_view encoding,
                 int code, const std::string& sentence) {
  v1::Error error;
  error.set_code(static_cast<v1::Error::Code>(code));
  error.set_message(sentence);
  // A request in an unknown encoding still gets an answer it can read: MessagePack is
  // readable without the schema.
  if (encoding != kEncodingProtobuf && encoding != kEncodingMsgpack) encoding = kEncodingMsgpack;
  return SendMessage(socket, routing_id, verb::kError, encoding, error);
}

std::string LastEndpoint(zmq::socket_t& socket) {
  return socket.get(zmq::sockopt::last_endpoint);
}

}  // namespace judge
