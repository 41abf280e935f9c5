// DecodeServeRequest and DecodeServeReply (sandbox/serve_wire.h) on hostile messages:
// the two ends of the `judge-sandbox serve` socket. Input: one message. What decodes
// re-encodes to the same bytes (both encodings are canonical); a refusal says why.
#include <string>
#include <string_view>

#include "fuzz/fuzz_util.h"
#include "sandbox/serve_wire.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace judge;
  const std::string_view message(reinterpret_cast<const char*>(data), size);
  auto args = DecodeServeRequest(message);
  if (!args.ok() && args.status().message().empty())
    fuzz::Fail("a request refused without a reason");
  if (args.ok() && EncodeServeRequest(*args) != message)
    fuzz::Fail("a request does not re-encode the same");
  auto reply = DecodeServeReply(message);
  if (!reply.ok() && reply.status().message().empty())
    fuzz::Fail("a reply refused without a reason");
  if (reply.ok()) {
    if (EncodeServeReply(*reply) != message) fuzz::Fail("a reply does not re-encode the same");
    if (reply->output.out.size() + reply->output.err.size() > kMaxServeReply)
      fuzz::Fail("a reply over the limit");
  }
  return 0;
}
