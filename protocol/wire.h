// ZeroMQ sending and receiving of framed messages (frame.h), shared by the broker, the
// worker and the client. Each socket belongs to one thread (zguide: no socket shared).
#pragma once

#include <google/protobuf/message.h>

#include <string>
#include <string_view>
#include <vector>
#include <zmq.hpp>

#include "common/status.h"
#include "protocol/frame.h"

namespace judge {

// Every part of the next message; false when none is waiting (with zmq::recv_flags::
// dontwait) or the wait was interrupted. On a ROUTER socket parts[0] is the peer's
// routing id. Parts past `max_parts` are received and dropped (each part is bounded by
// the socket's maxmsgsize, their number is not), so *parts holds at most max_parts.
bool RecvParts(zmq::socket_t& socket, std::vector<std::string>* parts,
               zmq::recv_flags flags = zmq::recv_flags::none, size_t max_parts = 16);

// Sends the parts as one message; false if it could not be queued (a ROUTER drops a
// message for a peer that is gone, which is not an error here).
bool SendParts(zmq::socket_t& socket, const std::vector<std::string>& parts);

// ["JDG1", verb, encoding, body(message)], preceded by `routing_id` when not empty (a
// ROUTER's peer). Fails when the message cannot be encoded or queued.
Status SendMessage(zmq::socket_t& socket, std::string_view routing_id, std::string_view verb,
                   std::string_view encoding, const google::protobuf::Message& message);

// The parts of an ERROR reply (judge.v1.Error) with a code and one sentence, in the
// request's encoding (MessagePack if it named none we know), after `routing_id` if any.
std::vector<std::string> ErrorParts(std::string_view routing_id, std::string_view encoding,
                                    int code, const std::string& sentence);
// Sends ErrorParts.
Status SendError(zmq::socket_t& socket, std::string_view routing_id, std::string_view encoding,
                 int code, const std::string& sentence);

// A 128-bit random job id in hex: what a client or the broker gives a job without one
// (a client that makes its own can resend a SUBMIT safely).
std::string RandomJobId();

// The endpoint a socket bound with a wildcard port ("tcp://127.0.0.1:*") got.
std::string LastEndpoint(zmq::socket_t& socket);

}  // namespace judge
