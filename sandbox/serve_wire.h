// The messages between `judge-sandbox run` and `judge-sandbox serve` (serve.h): one
// SOCK_SEQPACKET message each way.
//
// Request: "JSBRUN1\0", then the arguments of `run`, each followed by a NUL; with it, as
// SCM_RIGHTS, exactly one fd: the command's working directory (O_PATH).
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

struct ServeReply {
  bool refused = false;
  CommandOutput output;
};

inline constexpr size_t kMaxServeRequest = 256 * 1024;
inline constexpr size_t kMaxServeReply = 128 * 1024;

// Canonical encodings: a message that decodes is the encoding of what it decodes to.
std::string EncodeServeRequest(const std::vector<std::string>& args);
// The arguments, or why the message is not a request (for "bad request: ...").
Result<std::vector<std::string>> DecodeServeRequest(std::string_view message);
// Texts beyond half of kMaxServeReply each are cut there.
std::string EncodeServeReply(const ServeReply& reply);
Result<ServeReply> DecodeServeReply(std::string_view message);

}  // namespace judge
