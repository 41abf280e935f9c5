// DecodeMsgpack on hostile bytes. Input: one byte picking the message type (fuzz_util.h
// MessageTypes), then the MessagePack document. What decodes must survive every round
// trip (CheckRoundTrips). The same bytes also go through MsgpackReader value by value,
// and what it reads, written back with MsgpackWriter, must read back the same.
#include <cstring>
#include <memory>

#include "fuzz/fuzz_util.h"
#include "protocol/codec.h"
#include "protocol/msgpack.h"

namespace judge::fuzz {
namespace {

void Write(const MpValue& v, MsgpackWriter* w) {
  switch (v.type) {
    case MpType::kNil:
      return w->Nil();
    case MpType::kBool:
      return w->Bool(v.b);
    case MpType::kInt:
      return w->Int(v.i);
    case MpType::kUint:
      return w->Uint(v.u);
    case MpType::kFloat:
      return w->Double(v.d);
    case MpType::kStr:
      return w->Str(v.bytes);
    case MpType::kBin:
      return w->Bin(v.bytes);
    case MpType::kArray:
      return w->ArrayHeader(v.count);
    case MpType::kMap:
      return w->MapHeader(v.count);
  }
}

bool SameValue(const MpValue& a, const MpValue& b) {
  if (a.type != b.type) return false;
  switch (a.type) {
    case MpType::kNil:
      return true;
    case MpType::kBool:
      return a.b == b.b;
    case MpType::kInt:
      return a.i == b.i;
    case MpType::kUint:
      return a.u == b.u;
    case MpType::kFloat:
      return std::memcmp(&a.d, &b.d, sizeof a.d) == 0;  // NaN included
    case MpType::kStr:
    case MpType::kBin:
      return a.bytes == b.bytes;
    case MpType::kArray:
    case MpType::kMap:
      return a.count == b.count;
  }
  return false;
}

// The reader alone, on every value of the stream (the decoder stops at the first
// unexpected one). The reader is flat: containers are headers, their elements follow.
// Each value, written back with MsgpackWriter (a container's header followed by nils
// for its elements, which the reader requires to be there), must read back the same.
void CheckReader(std::string_view data) {
  MsgpackReader reader(data);
  while (reader.remaining() > 0) {
    const size_t before = reader.remaining();
    Result<MpValue> v = reader.Next();
    if (!v.ok()) return;
    if (reader.remaining() >= before) Fail("MsgpackReader::Next consumed nothing");
    if (v->type == MpType::kInt && v->i >= 0) Fail("a non-negative int read as kInt");
    MsgpackWriter writer;
    Write(*v, &writer);
    const uint64_t elements = v->type == MpType::kMap     ? 2ull * v->count
                              : v->type == MpType::kArray ? v->count
                                                          : 0;
    for (uint64_t i = 0; i < elements; ++i) writer.Nil();
    const std::string written = writer.Take();
    MsgpackReader again(written);
    Result<MpValue> got = again.Next();
    if (!got.ok())
      Fail("MsgpackWriter wrote what MsgpackReader refuses: " + got.status().ToString());
    if (!SameValue(*v, *got)) Fail("a msgpack value changed through MsgpackWriter");
    if (again.remaining() != elements) Fail("MsgpackWriter wrote a value of the wrong length");
  }
}

}  // namespace
}  // namespace judge::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  judge::fuzz::QuietProtobufLog();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace judge::fuzz;
  Input in(data, size);
  const auto& type = MessageType(in.Byte());
  const std::string_view doc = in.Rest();
  std::unique_ptr<google::protobuf::Message> m(type.New());
  if (judge::DecodeMsgpack(doc, m.get()).ok()) CheckRoundTrips(*m, Source::kMsgpack);
  CheckReader(doc);
  return 0;
}
