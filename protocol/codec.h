// The encodings of judge.proto's messages, all derived by reflection from the schema
// (STYLE.md 7): protobuf binary and MessagePack on the wire (INTERFACES.md section 3),
// one-line JSON for what the CLIs print (section 2). Works for any Message, so a new
// field needs no code here.
//
// Which fields MessagePack and JSON write, in declaration order:
//   - scalars, strings, bytes and enums without presence (plain proto3): always, also at
//     their default, so a reader in any language sees every field ("signal":0);
//   - sub-messages, oneof members and proto3 `optional` fields: only when set;
//   - repeated and map fields: only when non-empty in MessagePack (an absent key decodes
//     to empty), always in JSON ([] and {}), so a JSON reader can rely on the key.
// Decoding accepts any subset of the fields: a missing one keeps its default.
#pragma once

#include <google/protobuf/message.h>

#include <string>
#include <string_view>

#include "common/status.h"

namespace judge {

// Sub-messages nested deeper than this are refused, when decoding hostile input and
// when encoding (what we write we can read back).
inline constexpr int kMaxMessageDepth = 32;

// MessagePack: a map keyed by the proto field names; ints as ints, doubles as float 64,
// strings as str, bytes as bin, enums by value name (an unnamed number as an int),
// repeated as arrays, sub-messages and map fields as maps (map keys sorted).
Result<std::string> EncodeMsgpack(const google::protobuf::Message& message);

// The inverse, strict: the input must be exactly one map; an unknown or repeated key, a
// value of the wrong type, an integer out of the field's range, an enum name or number
// the enum does not have, a string that is not UTF-8, truncated or trailing bytes are
// errors naming the field. Lenient where other languages' encoders differ: ints for
// double fields, str for bytes fields, nil for "absent". `out` is cleared first; the
// caller bounds the input size.
Status DecodeMsgpack(std::string_view data, google::protobuf::Message* out);

Result<std::string> EncodeProtobuf(const google::protobuf::Message& message);
// Unknown fields are kept (protobuf's forward compatibility), unlike DecodeMsgpack.
Status DecodeProtobuf(std::string_view data, google::protobuf::Message* out);

// One line of JSON with the proto field names. Unlike proto3's canonical JSON: int64 as
// numbers, defaults printed, doubles with at most 3 decimals (JsonNumber; a non-zero
// value that would print as 0 keeps its significant digits: 1e-06), bytes as the
// string itself when it is valid UTF-8, else as base64. Non-finite doubles print as 0.
std::string ToJson(const google::protobuf::Message& message);

// Text from a peer made safe for a log line or an error sentence: printable ASCII kept
// (but for ' and \), other bytes as \xNN, cut after max_bytes with "...".
std::string Printable(std::string_view s, size_t max_bytes = 256);

}  // namespace judge
