#include "fuzz/fuzz_util.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/stubs/logging.h>
#include <google/protobuf/util/field_comparator.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "protocol/codec.h"
#include "protocol/judge.pb.h"

namespace judge::fuzz {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

void Fail(const std::string& what) {
  std::fprintf(stderr, "\nFUZZ CHECK FAILED: %s\n", what.c_str());
  std::abort();
}

uint8_t Input::Byte() { return empty() ? 0 : static_cast<uint8_t>(data_[pos_++]); }

std::string_view Input::Part() {
  size_t n = Byte();
  n |= size_t{Byte()} << 8;
  n = std::min(n, data_.size() - std::min(pos_, data_.size()));
  std::string_view part = data_.substr(std::min(pos_, data_.size()), n);
  pos_ += n;
  return part;
}

std::string_view Input::Until(char delim) {
  if (empty()) return {};
  size_t end = data_.find(delim, pos_);
  if (end == std::string_view::npos) end = data_.size();
  std::string_view s = data_.substr(pos_, end - pos_);
  pos_ = end + 1;
  return s;
}

std::string_view Input::Rest() {
  if (empty()) return {};
  std::string_view s = data_.substr(pos_);
  pos_ = data_.size();
  return s;
}

std::string PartOf(std::string_view bytes) {
  const size_t n = std::min<size_t>(bytes.size(), 0xffff);
  std::string out;
  out += static_cast<char>(n & 0xff);
  out += static_cast<char>(n >> 8);
  out += bytes.substr(0, n);
  return out;
}

const std::vector<const Message*>& MessageTypes() {
  static const std::vector<const Message*> types = [] {
    std::vector<const Message*> out;
    const auto* file = v1::Job::descriptor()->file();
    auto* factory = google::protobuf::MessageFactory::generated_factory();
    for (int i = 0; i < file->message_type_count(); ++i) {
      out.push_back(factory->GetPrototype(file->message_type(i)));
    }
    out.push_back(&google::protobuf::Value::default_instance());
    return out;
  }();
  return types;
}

const Message& MessageType(uint8_t selector) {
  const auto& types = MessageTypes();
  return *types[selector % types.size()];
}

void QuietProtobufLog() {
  // Fatal messages still print: they precede an abort worth reading about. (Not from
  // DFATAL up: in release builds DFATAL is ERROR, the level of the UTF-8 complaints.)
  google::protobuf::SetLogHandler(
      [](google::protobuf::LogLevel level, const char* file, int line, const std::string& message) {
        if (level >= google::protobuf::LOGLEVEL_FATAL) {
          std::fprintf(stderr, "protobuf %s:%d: %s\n", file, line, message.c_str());
        }
      });
}

bool SameMessage(const Message& a, const Message& b, std::string* diff) {
  google::protobuf::util::DefaultFieldComparator comparator;
  comparator.set_treat_nan_as_equal(true);
  google::protobuf::util::MessageDifferencer differencer;
  differencer.set_field_comparator(&comparator);
  differencer.ReportDifferencesToString(diff);
  return differencer.Compare(a, b);
}

bool HasUnnamedEnum(const Message& m) {
  const Reflection* r = m.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  r->ListFields(m, &fields);
  for (const FieldDescriptor* f : fields) {
    if (f->cpp_type() == FieldDescriptor::CPPTYPE_ENUM) {
      const int n = f->is_repeated() ? r->FieldSize(m, f) : 1;
      for (int i = 0; i < n; ++i) {
        const int v = f->is_repeated() ? r->GetRepeatedEnumValue(m, f, i) : r->GetEnumValue(m, f);
        if (f->enum_type()->FindValueByNumber(v) == nullptr) return true;
      }
    } else if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      if (!f->is_repeated()) {
        if (HasUnnamedEnum(r->GetMessage(m, f))) return true;
        continue;
      }
      for (int i = 0; i < r->FieldSize(m, f); ++i) {
        if (HasUnnamedEnum(r->GetRepeatedMessage(m, f, i))) return true;
      }
    }
  }
  return false;
}

namespace {

std::string Name(const Message& m) { return m.GetDescriptor()->full_name(); }

void CheckJson(const Message& m) {
  const std::string json = ToJson(m);
  if (json.find('\n') != std::string::npos) Fail("ToJson of a " + Name(m) + " has a newline");
  // judge.v1 messages are shallow; google.protobuf.Value may nest deeper than the JSON
  // parser's own limit, so only the former are parsed back.
  if (m.GetDescriptor()->file() != v1::Job::descriptor()->file()) return;
  google::protobuf::Struct parsed;
  auto st = google::protobuf::util::JsonStringToMessage(json, &parsed);
  if (!st.ok()) Fail("ToJson of a " + Name(m) + " is not JSON: " + st.ToString() + "\n" + json);
}

void CheckProtobuf(const Message& decoded) {
  auto bytes = EncodeProtobuf(decoded);
  if (!bytes.ok()) Fail("EncodeProtobuf refused a decoded " + Name(decoded));
  std::unique_ptr<Message> back(decoded.New());
  Status st = DecodeProtobuf(*bytes, back.get());
  if (!st.ok()) Fail("DecodeProtobuf refused what EncodeProtobuf wrote: " + st.ToString());
  std::string diff;
  if (!SameMessage(decoded, *back, &diff)) Fail("protobuf round trip differs:\n" + diff);
}

void CheckMsgpack(const Message& decoded, Source source) {
  auto bytes = EncodeMsgpack(decoded);
  if (!bytes.ok()) {
    // Protobuf nests up to 100 messages deep, msgpack up to kMaxMessageDepth.
    if (source == Source::kProtobuf) return;
    Fail("EncodeMsgpack refused what DecodeMsgpack accepted: " + bytes.status().ToString());
  }
  std::unique_ptr<Message> back(decoded.New());
  Status st = DecodeMsgpack(*bytes, back.get());
  if (HasUnnamedEnum(decoded)) {
    if (st.ok()) Fail("DecodeMsgpack accepted an enum number without a name");
    return;
  }
  if (!st.ok()) Fail("DecodeMsgpack refused what EncodeMsgpack wrote: " + st.ToString());
  // Msgpack has no place for protobuf's unknown fields.
  std::unique_ptr<Message> known(decoded.New());
  known->CopyFrom(decoded);
  known->DiscardUnknownFields();
  std::string diff;
  if (!SameMessage(*known, *back, &diff)) Fail("msgpack round trip differs:\n" + diff);
  auto again = EncodeMsgpack(*back);
  if (!again.ok() || *again != *bytes) Fail("msgpack encoding is not stable");
}

}  // namespace

void CheckRoundTrips(const Message& decoded, Source source) {
  CheckJson(decoded);
  CheckProtobuf(decoded);
  CheckMsgpack(decoded, source);
}

}  // namespace judge::fuzz
