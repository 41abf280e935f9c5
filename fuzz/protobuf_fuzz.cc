// DecodeProtobuf on hostile bytes. Input: one byte picking the message type (fuzz_util.h
// MessageTypes), then the protobuf encoding. What decodes must print as JSON and survive
// the round trips of CheckRoundTrips: through protobuf always, through msgpack unless
// the encoder refuses it (nesting) or it holds enum numbers without a name.
#include <memory>

#include "fuzz/fuzz_util.h"
#include "protocol/codec.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  judge::fuzz::QuietProtobufLog();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace judge::fuzz;
  Input in(data, size);
  const auto& type = MessageType(in.Byte());
  std::unique_ptr<google::protobuf::Message> m(type.New());
  if (judge::DecodeProtobuf(in.Rest(), m.get()).ok()) CheckRoundTrips(*m, Source::kProtobuf);
  return 0;
}
