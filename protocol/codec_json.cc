// ToJson: the one-line JSON the CLIs print (INTERFACES.md section 2), by reflection.
#include <charconv>
#include <cmath>

#include "common/json.h"
#include "protocol/codec.h"
#include "protocol/codec_util.h"

namespace judge {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using namespace codec_internal;

namespace {

std::string Base64(std::string_view s) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((s.size() + 2) / 3 * 4);
  for (size_t i = 0; i < s.size(); i += 3) {
    const size_t n = std::min<size_t>(3, s.size() - i);
    uint32_t v = 0;
    for (size_t k = 0; k < 3; ++k) {
      v = (v << 8) | (k < n ? static_cast<unsigned char>(s[i + k]) : 0);
    }
    for (size_t k = 0; k < 4; ++k) {
      out += k <= n ? kAlphabet[(v >> (18 - 6 * k)) & 0x3f] : '=';
    }
  }
  return out;
}

// Text stays readable; binary (test data with NUL or 0xff) must still give valid JSON.
std::string TextOrBase64(std::string_view s) {
  return JsonEscape(IsValidUtf8(s) ? std::string(s) : Base64(s));
}

// JsonNumber's 3 decimals suit milliseconds, but would print a tolerance of 1e-6 as 0:
// such a value gets its shortest exact form instead (0.0004, 1e-06).
std::string Number(double v) {
  std::string s = JsonNumber(v);
  if (std::isfinite(v) && v != 0 && (s == "0" || s == "-0")) {
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::general);
    if (ec == std::errc()) s.assign(buf, end);
  }
  return s;
}

std::string MessageJson(const Message& m);

// Appends "key":value to an object under construction ("{" or more). Keys are escaped:
// map keys come from the input.
void AddMember(std::string* object, const std::string& key, const std::string& value) {
  if (object->size() > 1) *object += ",";
  *object += JsonEscape(key);
  *object += ":";
  *object += value;
}

std::string ValueJson(const Message& m, const FieldDescriptor* f, int index) {
  std::string scratch;
  FieldValue v = GetFieldValue(m, f, index, &scratch);
  if (auto* i = std::get_if<int64_t>(&v)) return std::to_string(*i);
  if (auto* u = std::get_if<uint64_t>(&v)) return std::to_string(*u);
  if (auto* d = std::get_if<double>(&v)) return Number(*d);
  if (auto* b = std::get_if<bool>(&v)) return *b ? "true" : "false";
  if (auto* s = std::get_if<std::string_view>(&v)) return TextOrBase64(*s);
  if (auto* s = std::get_if<BytesValue>(&v)) return TextOrBase64(s->data);
  if (auto* e = std::get_if<EnumValue>(&v)) {
    return e->desc ? JsonEscape(e->desc->name()) : std::to_string(e->number);
  }
  return MessageJson(*std::get<const Message*>(v));
}

std::string FieldJson(const Message& m, const FieldDescriptor* f) {
  if (f->is_map()) {
    std::string object = "{";
    const FieldDescriptor* value = f->message_type()->map_value();
    for (const Message* entry : SortedMapEntries(m, f)) {
      AddMember(&object, MapKeyText(*entry), ValueJson(*entry, value, -1));
    }
    return object + "}";
  }
  if (f->is_repeated()) {
    std::string out = "[";
    const int n = m.GetReflection()->FieldSize(m, f);
    for (int i = 0; i < n; ++i) {
      if (i > 0) out += ",";
      out += ValueJson(m, f, i);
    }
    return out + "]";
  }
  return ValueJson(m, f, -1);
}

std::string MessageJson(const Message& m) {
  std::string object = "{";
  const Descriptor* d = m.GetDescriptor();
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    if (IsEmitted(m, f, /*repeated_always=*/true)) AddMember(&object, f->name(), FieldJson(m, f));
  }
  return object + "}";
}

}  // namespace

std::string ToJson(const Message& message) { return MessageJson(message); }

}  // namespace judge
