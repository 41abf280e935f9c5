// MessagePack and protobuf binary by reflection. The JSON printer is codec_json.cc.
#include "protocol/codec.h"

#include <google/protobuf/descriptor.h>

#include <climits>
#include <cmath>
#include <limits>
#include <set>
#include <vector>

#include "protocol/codec_util.h"
#include "protocol/msgpack.h"

namespace judge {

using google::protobuf::Descriptor;
using google::protobuf::EnumDescriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;
using namespace codec_internal;

namespace {

Status DepthError(const Message& m) {
  return Status::Error("messages nested deeper than " + std::to_string(kMaxMessageDepth) +
                       " (at a " + m.GetDescriptor()->full_name() + ")");
}

Status TooLong(const FieldDescriptor* f) {
  return Status::Error("field '" + f->name() + "' is too long for msgpack (2^32-1 at most)");
}

class MsgpackEncoder {
 public:
  Status Encode(const Message& m, int depth) {
    if (depth > kMaxMessageDepth) return DepthError(m);
    const Descriptor* d = m.GetDescriptor();
    const Reflection* r = m.GetReflection();
    std::vector<const FieldDescriptor*> fields;
    for (int i = 0; i < d->field_count(); ++i) {
      if (IsEmitted(m, d->field(i), /*repeated_always=*/false)) fields.push_back(d->field(i));
    }
    w_.MapHeader(static_cast<uint32_t>(fields.size()));
    for (const FieldDescriptor* f : fields) {
      w_.Str(f->name());
      if (f->is_map()) {
        const FieldDescriptor* key = f->message_type()->map_key();
        const FieldDescriptor* value = f->message_type()->map_value();
        auto entries = SortedMapEntries(m, f);
        if (!FitsMsgpack(entries.size())) return TooLong(f);
        w_.MapHeader(static_cast<uint32_t>(entries.size()));
        for (const Message* e : entries) {
          RETURN_IF_ERROR(Value(*e, key, -1, depth));
          RETURN_IF_ERROR(Value(*e, value, -1, depth));
        }
      } else if (f->is_repeated()) {
        const int n = r->FieldSize(m, f);
        w_.ArrayHeader(static_cast<uint32_t>(n));
        for (int i = 0; i < n; ++i) RETURN_IF_ERROR(Value(m, f, i, depth));
      } else {
        RETURN_IF_ERROR(Value(m, f, -1, depth));
      }
    }
    return Status::Ok();
  }

  std::string Take() { return w_.Take(); }

 private:
  Status Value(const Message& m, const FieldDescriptor* f, int index, int depth) {
    std::string scratch;
    const FieldValue v = GetFieldValue(m, f, index, &scratch);
    if (const auto* sub = std::get_if<const Message*>(&v)) return Encode(**sub, depth + 1);
    if (const auto* s = std::get_if<std::string_view>(&v)) {
      if (!FitsMsgpack(s->size())) return TooLong(f);
      w_.Str(*s);
    } else if (const auto* b = std::get_if<BytesValue>(&v)) {
      if (!FitsMsgpack(b->data.size())) return TooLong(f);
      w_.Bin(b->data);
    } else if (const auto* e = std::get_if<EnumValue>(&v)) {
      // A number the enum has no name for (proto3 enums are open) stays a number.
      e->desc ? w_.Str(e->desc->name()) : w_.Int(e->number);
    } else if (const auto* i = std::get_if<int64_t>(&v)) {
      w_.Int(*i);
    } else if (const auto* u = std::get_if<uint64_t>(&v)) {
      w_.Uint(*u);
    } else if (const auto* d = std::get_if<double>(&v)) {
      w_.Double(*d);
    } else {
      w_.Bool(std::get<bool>(v));
    }
    return Status::Ok();
  }

  MsgpackWriter w_;
};

// Decodes one message from a MsgpackReader. Recursion is bounded by kMaxMessageDepth:
// only sub-messages recurse, and nothing is ever skipped (an unknown key is an error),
// so no other nesting is walked.
class MsgpackDecoder {
 public:
  explicit MsgpackDecoder(std::string_view data) : r_(data) {}

  Status Top(Message* out) {
    if (r_.remaining() == 0) {
      return Status::Error("empty input, expected a msgpack map for a " +
                           out->GetDescriptor()->full_name());
    }
    ASSIGN_OR_RETURN(MpValue v, Read());
    if (v.type != MpType::kMap) {
      return Status::Error("expected a msgpack map for a " + out->GetDescriptor()->full_name() +
                           ", got " + MpTypeName(v.type));
    }
    RETURN_IF_ERROR(DecodeMessage(v, out, 1));
    if (r_.remaining() != 0) {
      return Status::Error(std::to_string(r_.remaining()) + " trailing bytes after the " +
                           out->GetDescriptor()->full_name() + " at offset " +
                           std::to_string(r_.offset()));
    }
    return Status::Ok();
  }

 private:
  // The field path for error messages: "sources[1].name".
  std::string Path() const {
    std::string p;
    for (const std::string& s : path_) p += s;
    return p.empty() || p[0] != '.' ? p : p.substr(1);
  }
  std::string At() const { return path_.empty() ? "" : " at '" + Path() + "'"; }
  Status FieldError(const std::string& what) const {
    return Status::Error("field '" + Path() + "': " + what);
  }
  Status TypeError(const std::string& expected, const MpValue& got) const {
    return FieldError("expected " + expected + ", got " + MpTypeName(got.type));
  }

  Result<MpValue> Read() {
    Result<MpValue> v = r_.Next();
    if (!v.ok() && !path_.empty()) return Status::Error(v.status().message() + At());
    return v;
  }

  // `header` is the map header just read; its entries follow.
  Status DecodeMessage(const MpValue& header, Message* m, int depth) {
    const Descriptor* d = m->GetDescriptor();
    if (depth > kMaxMessageDepth) {
      return Status::Error("messages nested deeper than " + std::to_string(kMaxMessageDepth) +
                           At());
    }
    std::set<int> seen;
    for (uint32_t i = 0; i < header.count; ++i) {
      ASSIGN_OR_RETURN(MpValue key, Read());
      if (key.type != MpType::kStr) {
        return Status::Error("a key of " + d->full_name() + At() + " is " + MpTypeName(key.type) +
                             ", expected a field name (str)");
      }
      const FieldDescriptor* f = d->FindFieldByName(std::string(key.bytes));
      if (f == nullptr) {
        return Status::Error("unknown field " + Quoted(key.bytes) + " in " + d->full_name() + At());
      }
      if (!seen.insert(f->number()).second) {
        return Status::Error("duplicate field '" + f->name() + "' in " + d->full_name() + At());
      }
      path_.push_back("." + f->name());
      RETURN_IF_ERROR(Field(m, f, depth));
      path_.pop_back();
    }
    return Status::Ok();
  }

  Status Field(Message* m, const FieldDescriptor* f, int depth) {
    ASSIGN_OR_RETURN(MpValue v, Read());
    if (v.type == MpType::kNil) return Status::Ok();  // absent: the default
    if (f->is_map()) {
      if (v.type != MpType::kMap) return TypeError("a map", v);
      return MapEntries(v.count, m, f, depth);
    }
    if (f->is_repeated()) {
      if (v.type != MpType::kArray) return TypeError("an array", v);
      for (uint32_t i = 0; i < v.count; ++i) {
        path_.push_back("[" + std::to_string(i) + "]");
        ASSIGN_OR_RETURN(MpValue e, Read());
        RETURN_IF_ERROR(Value(e, m, f, depth));
        path_.pop_back();
      }
      return Status::Ok();
    }
    if (const auto* oneof = f->containing_oneof()) {
      const FieldDescriptor* set = m->GetReflection()->GetOneofFieldDescriptor(*m, oneof);
      if (set != nullptr) {
        return FieldError("field '" + set->name() + "' of the same oneof is set already");
      }
    }
    return Value(v, m, f, depth);
  }

  // A map field is a repeated entry message {key, value} to reflection.
  Status MapEntries(uint32_t count, Message* m, const FieldDescriptor* f, int depth) {
    std::set<std::string> keys;
    for (uint32_t i = 0; i < count; ++i) {
      Message* entry = m->GetReflection()->AddMessage(m, f);
      const Descriptor* ed = entry->GetDescriptor();
      path_.push_back("{key}");
      ASSIGN_OR_RETURN(MpValue k, Read());
      RETURN_IF_ERROR(Value(k, entry, ed->map_key(), depth));
      path_.back() = "[" + Quoted(MapKeyText(*entry)) + "]";
      if (!keys.insert(MapKeyText(*entry)).second) return FieldError("duplicate key");
      ASSIGN_OR_RETURN(MpValue v, Read());
      RETURN_IF_ERROR(Value(v, entry, ed->map_value(), depth));
      path_.pop_back();
    }
    return Status::Ok();
  }

  Result<int64_t> Signed(const MpValue& v, int64_t min, int64_t max, const char* type) const {
    if (v.type == MpType::kUint) {
      if (v.u > static_cast<uint64_t>(max)) return RangeError(std::to_string(v.u), type);
      return static_cast<int64_t>(v.u);
    }
    if (v.type == MpType::kInt) {
      if (v.i < min) return RangeError(std::to_string(v.i), type);
      return v.i;
    }
    return TypeError(type, v);
  }

  Result<uint64_t> Unsigned(const MpValue& v, uint64_t max, const char* type) const {
    if (v.type == MpType::kInt) return RangeError(std::to_string(v.i), type);
    if (v.type != MpType::kUint) return TypeError(type, v);
    if (v.u > max) return RangeError(std::to_string(v.u), type);
    return v.u;
  }

  Status RangeError(const std::string& value, const char* type) const {
    return FieldError(value + " is out of range for " + type);
  }

  Result<double> Number(const MpValue& v, const char* type) const {
    if (v.type == MpType::kFloat) return v.d;
    if (v.type == MpType::kUint) return static_cast<double>(v.u);
    if (v.type == MpType::kInt) return static_cast<double>(v.i);
    return TypeError(type, v);
  }

  Result<int> Enum(const MpValue& v, const EnumDescriptor* e) const {
    const std::string expected = "a " + e->full_name() + " name or number";
    if (v.type == MpType::kStr) {
      const auto* value = e->FindValueByName(std::string(v.bytes));
      if (value != nullptr) return value->number();
      std::string names;
      for (int i = 0; i < e->value_count(); ++i) names += (i ? ", " : "") + e->value(i)->name();
      return FieldError(Quoted(v.bytes) + " is not a " + e->full_name() + " (" + names + ")");
    }
    if (v.type != MpType::kUint && v.type != MpType::kInt) return TypeError(expected, v);
    ASSIGN_OR_RETURN(int64_t n, Signed(v, INT32_MIN, INT32_MAX, "an enum"));
    if (e->FindValueByNumber(static_cast<int>(n)) == nullptr) {
      return FieldError(std::to_string(n) + " is not a " + e->full_name());
    }
    return static_cast<int>(n);
  }

  // Sets a singular field, or appends to a repeated one, from one msgpack value.
  Status Value(const MpValue& v, Message* m, const FieldDescriptor* f, int depth) {
    const Reflection* r = m->GetReflection();
    const bool rep = f->is_repeated();
    switch (f->cpp_type()) {
      case FieldDescriptor::CPPTYPE_INT32: {
        ASSIGN_OR_RETURN(int64_t x, Signed(v, INT32_MIN, INT32_MAX, "int32"));
        rep ? r->AddInt32(m, f, static_cast<int32_t>(x))
            : r->SetInt32(m, f, static_cast<int32_t>(x));
        break;
      }
      case FieldDescriptor::CPPTYPE_INT64: {
        ASSIGN_OR_RETURN(int64_t x, Signed(v, INT64_MIN, INT64_MAX, "int64"));
        rep ? r->AddInt64(m, f, x) : r->SetInt64(m, f, x);
        break;
      }
      case FieldDescriptor::CPPTYPE_UINT32: {
        ASSIGN_OR_RETURN(uint64_t x, Unsigned(v, UINT32_MAX, "uint32"));
        rep ? r->AddUInt32(m, f, static_cast<uint32_t>(x))
            : r->SetUInt32(m, f, static_cast<uint32_t>(x));
        break;
      }
      case FieldDescriptor::CPPTYPE_UINT64: {
        ASSIGN_OR_RETURN(uint64_t x, Unsigned(v, UINT64_MAX, "uint64"));
        rep ? r->AddUInt64(m, f, x) : r->SetUInt64(m, f, x);
        break;
      }
      case FieldDescriptor::CPPTYPE_DOUBLE: {
        ASSIGN_OR_RETURN(double x, Number(v, "a number"));
        rep ? r->AddDouble(m, f, x) : r->SetDouble(m, f, x);
        break;
      }
      case FieldDescriptor::CPPTYPE_FLOAT: {
        ASSIGN_OR_RETURN(double x, Number(v, "a number"));
        if (std::isfinite(x) && std::fabs(x) > std::numeric_limits<float>::max()) {
          return RangeError(std::to_string(x), "float");
        }
        rep ? r->AddFloat(m, f, static_cast<float>(x)) : r->SetFloat(m, f, static_cast<float>(x));
        break;
      }
      case FieldDescriptor::CPPTYPE_BOOL:
        if (v.type != MpType::kBool) return TypeError("bool", v);
        rep ? r->AddBool(m, f, v.b) : r->SetBool(m, f, v.b);
        break;
      case FieldDescriptor::CPPTYPE_ENUM: {
        ASSIGN_OR_RETURN(int n, Enum(v, f->enum_type()));
        rep ? r->AddEnumValue(m, f, n) : r->SetEnumValue(m, f, n);
        break;
      }
      case FieldDescriptor::CPPTYPE_STRING:
        if (f->type() == FieldDescriptor::TYPE_BYTES) {
          if (v.type != MpType::kBin && v.type != MpType::kStr) return TypeError("bin", v);
        } else {
          if (v.type != MpType::kStr) return TypeError("str", v);
          // Protobuf would refuse to parse what it serializes from such a string.
          if (!IsValidUtf8(v.bytes)) return FieldError("the string is not valid UTF-8");
        }
        rep ? r->AddString(m, f, std::string(v.bytes)) : r->SetString(m, f, std::string(v.bytes));
        break;
      case FieldDescriptor::CPPTYPE_MESSAGE: {
        if (v.type != MpType::kMap) {
          return TypeError("a map (" + f->message_type()->full_name() + ")", v);
        }
        return DecodeMessage(v, rep ? r->AddMessage(m, f) : r->MutableMessage(m, f), depth + 1);
      }
    }
    return Status::Ok();
  }

  MsgpackReader r_;
  std::vector<std::string> path_;
};

}  // namespace

Result<std::string> EncodeMsgpack(const google::protobuf::Message& message) {
  MsgpackEncoder encoder;
  RETURN_IF_ERROR(encoder.Encode(message, 1));
  return encoder.Take();
}

Status DecodeMsgpack(std::string_view data, google::protobuf::Message* out) {
  out->Clear();
  return MsgpackDecoder(data).Top(out);
}

Result<std::string> EncodeProtobuf(const google::protobuf::Message& message) {
  std::string out;
  if (!message.SerializeToString(&out)) {
    return Status::Error("cannot serialize a " + message.GetDescriptor()->full_name() +
                         " (over 2 GiB?)");
  }
  return out;
}

Status DecodeProtobuf(std::string_view data, google::protobuf::Message* out) {
  if (data.size() > static_cast<size_t>(INT_MAX)) {
    return Status::Error("protobuf input of " + std::to_string(data.size()) +
                         " bytes is over 2 GiB");
  }
  if (!out->ParseFromArray(data.data(), static_cast<int>(data.size()))) {
    return Status::Error("not a valid " + out->GetDescriptor()->full_name() + " in protobuf (" +
                         std::to_string(data.size()) + " bytes)");
  }
  return Status::Ok();
}

}  // namespace judge
