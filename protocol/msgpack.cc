#include "protocol/msgpack.h"

#include <cstdio>
#include <cstring>

namespace judge {

const char* MpTypeName(MpType type) {
  switch (type) {
    case MpType::kNil:
      return "nil";
    case MpType::kBool:
      return "bool";
    case MpType::kInt:
    case MpType::kUint:
      return "int";
    case MpType::kFloat:
      return "float";
    case MpType::kStr:
      return "str";
    case MpType::kBin:
      return "bin";
    case MpType::kArray:
      return "array";
    case MpType::kMap:
      return "map";
  }
  return "?";
}

Result<std::string_view> MsgpackReader::Take(size_t n, const char* what) {
  if (n > remaining()) {
    return Status::Error("truncated input: " + std::string(what) + " of " + std::to_string(n) +
                         " bytes at offset " + std::to_string(pos_) + " but only " +
                         std::to_string(remaining()) + " bytes follow");
  }
  std::string_view s = data_.substr(pos_, n);
  pos_ += n;
  return s;
}

Result<uint64_t> MsgpackReader::BigEndian(size_t n, const char* what) {
  ASSIGN_OR_RETURN(std::string_view s, Take(n, what));
  uint64_t v = 0;
  for (unsigned char c : s) v = (v << 8) | c;
  return v;
}

// str / bin: a big-endian length of length_bytes, then that many bytes.
Result<MpValue> MsgpackReader::Sized(MpType type, size_t length_bytes, const char* what) {
  ASSIGN_OR_RETURN(uint64_t n, BigEndian(length_bytes, "a length"));
  ASSIGN_OR_RETURN(std::string_view bytes, Take(n, what));
  MpValue v;
  v.type = type;
  v.bytes = bytes;
  return v;
}

// Every element takes at least one byte, so a count the rest of the input cannot hold
// is refused here, before the caller loops over it.
Result<MpValue> MsgpackReader::Container(MpType type, uint64_t count, size_t start) {
  uint64_t min_bytes = type == MpType::kMap ? 2 * count : count;
  if (min_bytes > remaining()) {
    return Status::Error("truncated input: " + std::string(MpTypeName(type)) + " of " +
                         std::to_string(count) + " elements at offset " + std::to_string(start) +
                         " but only " + std::to_string(remaining()) + " bytes follow");
  }
  MpValue v;
  v.type = type;
  v.count = static_cast<uint32_t>(count);
  return v;
}

Result<MpValue> MsgpackReader::Next() {
  if (remaining() == 0) {
    return Status::Error("truncated input: a value expected at offset " + std::to_string(pos_));
  }
  const size_t start = pos_;
  const uint8_t t = static_cast<uint8_t>(data_[pos_++]);
  MpValue v;
  auto uint = [&v](uint64_t u) {
    v.type = MpType::kUint;
    v.u = u;
    return v;
  };
  auto sint = [&v, &uint](int64_t i) {
    if (i >= 0) return uint(static_cast<uint64_t>(i));
    v.type = MpType::kInt;
    v.i = i;
    return v;
  };
  if (t <= 0x7f) return uint(t);
  if (t >= 0xe0) return sint(static_cast<int8_t>(t));
  if (t <= 0x8f) return Container(MpType::kMap, t & 0x0f, start);
  if (t <= 0x9f) return Container(MpType::kArray, t & 0x0f, start);
  if (t <= 0xbf) {
    ASSIGN_OR_RETURN(v.bytes, Take(t & 0x1f, "str"));
    v.type = MpType::kStr;
    return v;
  }
  switch (t) {
    case 0xc0:
      return v;
    case 0xc2:
    case 0xc3:
      v.type = MpType::kBool;
      v.b = t == 0xc3;
      return v;
    case 0xc4:
      return Sized(MpType::kBin, 1, "bin");
    case 0xc5:
      return Sized(MpType::kBin, 2, "bin");
    case 0xc6:
      return Sized(MpType::kBin, 4, "bin");
    case 0xca: {
      ASSIGN_OR_RETURN(uint64_t bits, BigEndian(4, "float 32"));
      uint32_t b32 = static_cast<uint32_t>(bits);
      float f;
      std::memcpy(&f, &b32, sizeof f);
      v.type = MpType::kFloat;
      v.d = f;
      return v;
    }
    case 0xcb: {
      ASSIGN_OR_RETURN(uint64_t bits, BigEndian(8, "float 64"));
      v.type = MpType::kFloat;
      std::memcpy(&v.d, &bits, sizeof v.d);
      return v;
    }
    case 0xcc:
    case 0xcd:
    case 0xce:
    case 0xcf: {
      ASSIGN_OR_RETURN(uint64_t u, BigEndian(size_t{1} << (t - 0xcc), "uint"));
      return uint(u);
    }
    case 0xd0:
    case 0xd1:
    case 0xd2:
    case 0xd3: {
      const int bytes = 1 << (t - 0xd0);
      ASSIGN_OR_RETURN(uint64_t u, BigEndian(bytes, "int"));
      // Sign-extend from the encoded width.
      const int shift = 64 - 8 * bytes;
      return sint(static_cast<int64_t>(u << shift) >> shift);
    }
    case 0xd9:
      return Sized(MpType::kStr, 1, "str");
    case 0xda:
      return Sized(MpType::kStr, 2, "str");
    case 0xdb:
      return Sized(MpType::kStr, 4, "str");
    case 0xdc:
    case 0xdd: {
      ASSIGN_OR_RETURN(uint64_t n, BigEndian(t == 0xdc ? 2 : 4, "an array length"));
      return Container(MpType::kArray, n, start);
    }
    case 0xde:
    case 0xdf: {
      ASSIGN_OR_RETURN(uint64_t n, BigEndian(t == 0xde ? 2 : 4, "a map length"));
      return Container(MpType::kMap, n, start);
    }
    default:
      break;
  }
  char hex[8];
  std::snprintf(hex, sizeof hex, "0x%02x", t);
  // 0xc1 is never used; 0xc7-0xc9 and 0xd4-0xd8 are ext types, which no field maps to.
  const char* what = t == 0xc1 ? "an invalid byte" : "an ext type (not supported)";
  return Status::Error("msgpack: " + std::string(what) + " " + hex + " at offset " +
                       std::to_string(start));
}

void MsgpackWriter::Head(uint8_t tag, uint64_t value, int bytes) {
  out_ += static_cast<char>(tag);
  for (int i = bytes - 1; i >= 0; --i) out_ += static_cast<char>((value >> (8 * i)) & 0xff);
}

void MsgpackWriter::Uint(uint64_t v) {
  if (v <= 0x7f) return Head(static_cast<uint8_t>(v), 0, 0);
  if (v <= UINT8_MAX) return Head(0xcc, v, 1);
  if (v <= UINT16_MAX) return Head(0xcd, v, 2);
  if (v <= UINT32_MAX) return Head(0xce, v, 4);
  Head(0xcf, v, 8);
}

void MsgpackWriter::Int(int64_t v) {
  if (v >= 0) return Uint(static_cast<uint64_t>(v));
  const uint64_t bits = static_cast<uint64_t>(v);
  if (v >= -32) return Head(static_cast<uint8_t>(bits & 0xff), 0, 0);
  if (v >= INT8_MIN) return Head(0xd0, bits, 1);
  if (v >= INT16_MIN) return Head(0xd1, bits, 2);
  if (v >= INT32_MIN) return Head(0xd2, bits, 4);
  Head(0xd3, bits, 8);
}

void MsgpackWriter::Double(double v) {
  uint64_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  Head(0xcb, bits, 8);
}

// The header forms of one kind of length-prefixed value, shortest first. A kind without
// a fix form has fix_max -1; one without an 8-bit form (array, map) has b8 0.
struct MsgpackWriter::LengthForms {
  int fix_max;
  uint8_t fix, b8, b16, b32;
};

void MsgpackWriter::Length(const LengthForms& forms, uint64_t n) {
  if (static_cast<int64_t>(n) <= forms.fix_max)
    return Head(static_cast<uint8_t>(forms.fix | n), 0, 0);
  if (forms.b8 != 0 && n <= UINT8_MAX) return Head(forms.b8, n, 1);
  if (n <= UINT16_MAX) return Head(forms.b16, n, 2);
  Head(forms.b32, n, 4);
}

void MsgpackWriter::Str(std::string_view s) {
  Length({31, 0xa0, 0xd9, 0xda, 0xdb}, s.size());
  out_ += s;
}

void MsgpackWriter::Bin(std::string_view s) {
  Length({-1, 0, 0xc4, 0xc5, 0xc6}, s.size());
  out_ += s;
}

void MsgpackWriter::ArrayHeader(uint32_t n) { Length({15, 0x90, 0, 0xdc, 0xdd}, n); }

void MsgpackWriter::MapHeader(uint32_t n) { Length({15, 0x80, 0, 0xde, 0xdf}, n); }

}  // namespace judge
