// The messages between `judge-sandbox run` and `judge-sandbox serve` (serve.h): one
// SOCK_SEQPACKET message each way.
//
// Request: "JSBRUN1\0", a uint32 saying which of the command's standard-stream files
// come as fds (bit 0 --stdin, 1 --stdout, 2 --stderr; the command opened them), then the
// arguments of `run`, each followed by a NUL; the fds as SCM_RIGHTS, in that order.
// Reply: "JSBRES1\0", int32 refused (0 or 1), int32 exit code, uint32 stdout length,
// uint32 stderr length (host byte order: both ends are on one machine), then the two
// texts. Refused: not run, stderr says why, and the command runs its container itself.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace judge {

// What `judge-sandbox run` prints and returns (INTERFACES.md section 1).
struct CommandOutput {
  int exit_code = 0;
  std::string out;  // the result JSON, unless --result took it
  std::string err;  // its own failures ("judge-sandbox: ..."), --trace
};

struct ServeRequest {
  unsigned streams = 0;  // bit i: the file of stream i (0 stdin, 1 stdout, 2 stderr) comes as an fd
  std::vector<std::string> args;
};

struct ServeReply {
  bool refused = false;
  CommandOutput output;
};

inline constexpr size_t kMaxServeRequest = 256 * 1024;
inline constexpr size_t kMaxServeReply = 128 * 1024;

// Canonical encodings: a message that decodes is the encoding of what it decodes to.
std::string EncodeServeRequest(const ServeRequest& request);
// The request, or why the message is not one (for "bad request: ...").
Result<ServeRequest> DecodeServeRequest(std::string_view message);
// Texts beyond half of kMaxServeReply each are cut there.
std::string EncodeServeReply(const ServeReply& reply);
Result<ServeReply> DecodeServeReply(std::string_view message);

}  // namespace judge
