// What the fuzz targets share: reading an input in parts, the message types under test,
// comparing messages, and the round-trip checks every decoded message must pass.
#pragma once

#include <google/protobuf/message.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace judge::fuzz {

// Prints why and aborts, so that libFuzzer keeps the input as a crash. A check failing
// means the code under test broke a promise its header makes; a refused input never does.
[[noreturn]] void Fail(const std::string& what);

// The fuzzer's bytes, consumed from the front.
class Input {
 public:
  Input(const uint8_t* data, size_t size) : data_(reinterpret_cast<const char*>(data), size) {}
  bool empty() const { return pos_ >= data_.size(); }
  // The next byte, 0 past the end.
  uint8_t Byte();
  // A part: a 16-bit little-endian length, then that many bytes (fewer at the end).
  std::string_view Part();
  // Up to the next `delim` (consumed, not returned), or to the end.
  std::string_view Until(char delim);
  std::string_view Rest();

 private:
  std::string_view data_;
  size_t pos_ = 0;
};

// The inverse of Input::Part, for the corpus generator.
std::string PartOf(std::string_view bytes);

// Every message of judge.proto in declaration order, then google.protobuf.Value, the one
// recursive message (with a oneof) the codecs support: the first input byte picks one.
const std::vector<const google::protobuf::Message*>& MessageTypes();
const google::protobuf::Message& MessageType(uint8_t selector);

// Silences protobuf's log (it reports every string that is not UTF-8 on stderr).
void QuietProtobufLog();

// Field by field; NaN equals NaN, since a double off the wire may be any bit pattern.
// On a difference, *diff says where.
bool SameMessage(const google::protobuf::Message& a, const google::protobuf::Message& b,
                 std::string* diff);

// Whether an enum field anywhere in m holds a number its enum has no name for. Protobuf
// keeps such numbers (proto3 enums are open), EncodeMsgpack writes them as ints, and
// DecodeMsgpack refuses them (codec.h): the one documented asymmetry of the codecs.
bool HasUnnamedEnum(const google::protobuf::Message& m);

enum class Source { kProtobuf, kMsgpack };

// The promises of protocol/codec.h for a message that `source` decoded: ToJson gives
// one line of valid JSON; protobuf re-encodes and decodes to an equal message; msgpack
// does too (unless the encoder refuses a protobuf-decoded message, or the message has
// unnamed enum numbers), and its encoding is stable. Fails on any broken promise.
void CheckRoundTrips(const google::protobuf::Message& decoded, Source source);

}  // namespace judge::fuzz
