// What the reflection codecs (codec.cc, codec_json.cc) share: reading any field as one
// variant, the emission rule, map order, UTF-8 and quoting for error messages.
#pragma once

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace judge::codec_internal {

struct BytesValue {
  std::string_view data;
  friend auto operator<=>(const BytesValue&, const BytesValue&) = default;
};
struct EnumValue {
  int number;
  const google::protobuf::EnumValueDescriptor* desc;  // null for a number without a name
  friend auto operator<=>(const EnumValue&, const EnumValue&) = default;
};
// One field value whatever its C++ type: ints widened to 64 bits, float to double,
// string fields as string_view, bytes fields as BytesValue.
using FieldValue = std::variant<int64_t, uint64_t, double, bool, std::string_view, BytesValue,
                                EnumValue, const google::protobuf::Message*>;

// The value of a singular field (index < 0) or one element of a repeated one. String
// values may point into *scratch, which must outlive the result.
FieldValue GetFieldValue(const google::protobuf::Message& m,
                         const google::protobuf::FieldDescriptor* f, int index,
                         std::string* scratch);

// A field without presence is always written; one with presence (sub-message, oneof
// member, proto3 optional) only when set; a repeated one when non-empty, or always with
// repeated_always (JSON).
bool IsEmitted(const google::protobuf::Message& m, const google::protobuf::FieldDescriptor* f,
               bool repeated_always);

// A map field's entries sorted by key, so that the output does not follow hash order.
std::vector<const google::protobuf::Message*> SortedMapEntries(
    const google::protobuf::Message& m, const google::protobuf::FieldDescriptor* f);

// A map entry's key as text: the string itself, or the number / true / false.
std::string MapKeyText(const google::protobuf::Message& entry);

bool IsValidUtf8(std::string_view s);

// Text from the input quoted for an error message: printable ASCII kept, other bytes as
// \xNN, cut after 64 bytes.
std::string Quoted(std::string_view s);

}  // namespace judge::codec_internal
