// MessagePack at the byte level: a writer and a bounds-checked reader over a byte span.
// Hand-written rather than msgpack-c's unpacker so that hostile input can only ever
// produce a Status: no exceptions, no allocation sized by the input, no recursion here.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace judge {

enum class MpType {
  kNil,
  kBool,
  kInt,  // negative integers only: non-negative ones of any width read as kUint
  kUint,
  kFloat,  // float 32 or float 64, widened to double
  kStr,
  kBin,
  kArray,
  kMap,
};

const char* MpTypeName(MpType type);  // "int", "str", "map"...

// One value's header: scalars whole, str/bin with their bytes, arrays and maps with
// their element count (the elements follow in the stream).
struct MpValue {
  MpType type = MpType::kNil;
  bool b = false;
  int64_t i = 0;
  uint64_t u = 0;
  double d = 0;
  std::string_view bytes;  // a view into the reader's input
  uint32_t count = 0;
};

class MsgpackReader {
 public:
  explicit MsgpackReader(std::string_view data) : data_(data) {}
  // Reads the next value's header. Errors name the offset: truncation, 0xc1, ext types.
  Result<MpValue> Next();
  size_t offset() const { return pos_; }
  size_t remaining() const { return data_.size() - pos_; }

 private:
  Result<std::string_view> Take(size_t n, const char* what);
  Result<uint64_t> BigEndian(size_t n, const char* what);
  Result<MpValue> Sized(MpType type, size_t length_bytes, const char* what);
  Result<MpValue> Container(MpType type, uint64_t count, size_t start);

  std::string_view data_;
  size_t pos_ = 0;
};

// Always the shortest form, as the spec recommends; doubles always as float 64.
class MsgpackWriter {
 public:
  void Nil() { out_ += '\xc0'; }
  void Bool(bool v) { out_ += v ? '\xc3' : '\xc2'; }
  void Int(int64_t v);
  void Uint(uint64_t v);
  void Double(double v);
  // Lengths and counts above 2^32-1 cannot be written: the caller checks (FitsMsgpack).
  void Str(std::string_view s);
  void Bin(std::string_view s);
  void ArrayHeader(uint32_t n);
  void MapHeader(uint32_t n);
  std::string Take() { return std::move(out_); }

 private:
  struct LengthForms;
  void Head(uint8_t tag, uint64_t value, int bytes);
  void Length(const LengthForms& forms, uint64_t n);
  std::string out_;
};

inline bool FitsMsgpack(uint64_t length) { return length <= UINT32_MAX; }

}  // namespace judge
