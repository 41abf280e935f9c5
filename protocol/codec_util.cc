#include "protocol/codec_util.h"

#include "protocol/codec.h"

#include <algorithm>
#include <cstdio>

namespace judge::codec_internal {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

FieldValue GetFieldValue(const Message& m, const FieldDescriptor* f, int index,
                         std::string* scratch) {
  const Reflection* r = m.GetReflection();
  const bool rep = index >= 0;
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      return int64_t{rep ? r->GetRepeatedInt32(m, f, index) : r->GetInt32(m, f)};
    case FieldDescriptor::CPPTYPE_INT64:
      return int64_t{rep ? r->GetRepeatedInt64(m, f, index) : r->GetInt64(m, f)};
    case FieldDescriptor::CPPTYPE_UINT32:
      return uint64_t{rep ? r->GetRepeatedUInt32(m, f, index) : r->GetUInt32(m, f)};
    case FieldDescriptor::CPPTYPE_UINT64:
      return uint64_t{rep ? r->GetRepeatedUInt64(m, f, index) : r->GetUInt64(m, f)};
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return rep ? r->GetRepeatedDouble(m, f, index) : r->GetDouble(m, f);
    case FieldDescriptor::CPPTYPE_FLOAT:
      return double{rep ? r->GetRepeatedFloat(m, f, index) : r->GetFloat(m, f)};
    case FieldDescriptor::CPPTYPE_BOOL:
      return rep ? r->GetRepeatedBool(m, f, index) : r->GetBool(m, f);
    case FieldDescriptor::CPPTYPE_ENUM: {
      const int n = rep ? r->GetRepeatedEnumValue(m, f, index) : r->GetEnumValue(m, f);
      return EnumValue{n, f->enum_type()->FindValueByNumber(n)};
    }
    case FieldDescriptor::CPPTYPE_STRING: {
      const std::string& s = rep ? r->GetRepeatedStringReference(m, f, index, scratch)
                                 : r->GetStringReference(m, f, scratch);
      if (f->type() == FieldDescriptor::TYPE_BYTES) return BytesValue{s};
      return std::string_view(s);
    }
    case FieldDescriptor::CPPTYPE_MESSAGE:
      return rep ? &r->GetRepeatedMessage(m, f, index) : &r->GetMessage(m, f);
  }
  return false;  // unreachable: every cpp_type is handled above
}

bool IsEmitted(const Message& m, const FieldDescriptor* f, bool repeated_always) {
  const Reflection* r = m.GetReflection();
  if (f->is_repeated()) return repeated_always || r->FieldSize(m, f) > 0;
  if (f->has_presence()) return r->HasField(m, f);
  return true;
}

std::vector<const Message*> SortedMapEntries(const Message& m, const FieldDescriptor* f) {
  const Reflection* r = m.GetReflection();
  std::vector<const Message*> entries;
  const int n = r->FieldSize(m, f);
  entries.reserve(n);
  for (int i = 0; i < n; ++i) entries.push_back(&r->GetRepeatedMessage(m, f, i));
  const FieldDescriptor* key = f->message_type()->map_key();
  std::sort(entries.begin(), entries.end(), [key](const Message* a, const Message* b) {
    std::string sa, sb;
    return GetFieldValue(*a, key, -1, &sa) < GetFieldValue(*b, key, -1, &sb);
  });
  return entries;
}

std::string MapKeyText(const Message& entry) {
  std::string scratch;
  FieldValue v = GetFieldValue(entry, entry.GetDescriptor()->map_key(), -1, &scratch);
  if (auto* s = std::get_if<std::string_view>(&v)) return std::string(*s);
  if (auto* i = std::get_if<int64_t>(&v)) return std::to_string(*i);
  if (auto* u = std::get_if<uint64_t>(&v)) return std::to_string(*u);
  if (auto* b = std::get_if<bool>(&v)) return *b ? "true" : "false";
  return "";  // map keys are integral or strings only
}

// Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF.
// Protobuf refuses the same strings when parsing a proto3 string field.
bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    int len;
    unsigned char lo = 0x80, hi = 0xbf;  // the allowed range of the second byte
    if (c >= 0xc2 && c <= 0xdf) {
      len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
      len = 3;
      if (c == 0xe0) lo = 0xa0;
      if (c == 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      len = 4;
      if (c == 0xf0) lo = 0x90;
      if (c == 0xf4) hi = 0x8f;
    } else {
      return false;
    }
    if (s.size() - i < static_cast<size_t>(len)) return false;
    for (int k = 1; k < len; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      if (k == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xbf)) return false;
    }
    i += len;
  }
  return true;
}

std::string Quoted(std::string_view s) { return "'" + Printable(s, 64) + "'"; }

}  // namespace judge::codec_internal

namespace judge {

std::string Printable(std::string_view s, size_t max_bytes) {
  std::string out;
  for (size_t i = 0; i < s.size() && i < max_bytes; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f && c != '\'' && c != '\\') {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  if (s.size() > max_bytes) out += "...";
  return out;
}

}  // namespace judge
