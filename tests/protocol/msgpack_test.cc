#include "protocol/msgpack.h"

#include <gtest/gtest.h>

#include <msgpack.hpp>

namespace judge {
namespace {

// What msgpack-c writes for v: the reference our writer is held to.
template <class T>
std::string Reference(const T& v) {
  msgpack::sbuffer buf;
  msgpack::pack(buf, v);
  return std::string(buf.data(), buf.size());
}

MpValue ReadOne(const std::string& data) {
  MsgpackReader r(data);
  Result<MpValue> v = r.Next();
  EXPECT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(r.remaining(), 0u);
  return v.ok() ? *v : MpValue{};
}

TEST(Msgpack, IntegersAreWrittenInTheShortestFormAndReadBack) {
  const int64_t kSigned[] = {INT64_MIN,  INT32_MIN - int64_t{1},
                             INT32_MIN,  -32769,
                             -32768,     -129,
                             -128,       -33,
                             -32,        -1,
                             0,          1,
                             127,        128,
                             255,        256,
                             65535,      65536,
                             UINT32_MAX, int64_t{UINT32_MAX} + 1,
                             INT64_MAX};
  for (int64_t v : kSigned) {
    MsgpackWriter w;
    w.Int(v);
    const std::string data = w.Take();
    EXPECT_EQ(data, Reference(v)) << v;
    MpValue got = ReadOne(data);
    if (v < 0) {
      EXPECT_EQ(got.type, MpType::kInt);
      EXPECT_EQ(got.i, v);
    } else {
      EXPECT_EQ(got.type, MpType::kUint);
      EXPECT_EQ(got.u, static_cast<uint64_t>(v));
    }
  }
  MsgpackWriter w;
  w.Uint(UINT64_MAX);
  const std::string data = w.Take();
  EXPECT_EQ(data, Reference(UINT64_MAX));
  EXPECT_EQ(ReadOne(data).u, UINT64_MAX);
}

TEST(Msgpack, NonNegativeSignedFormsReadAsUint) {
  // Some encoders write small positives as int 64.
  MpValue v = ReadOne(std::string("\xd3\0\0\0\0\0\0\0\x05", 9));
  EXPECT_EQ(v.type, MpType::kUint);
  EXPECT_EQ(v.u, 5u);
  v = ReadOne(std::string("\xd0\x80", 2));
  EXPECT_EQ(v.type, MpType::kInt);
  EXPECT_EQ(v.i, -128);
}

TEST(Msgpack, StrBinArrayMapLengthsMatchMsgpackC) {
  for (size_t n : {0, 1, 31, 32, 255, 256, 65535, 65536}) {
    const std::string s(n, 'x');
    MsgpackWriter w;
    w.Str(s);
    std::string data = w.Take();
    EXPECT_EQ(data, Reference(s)) << n;
    MpValue v = ReadOne(data);
    EXPECT_EQ(v.type, MpType::kStr);
    EXPECT_EQ(v.bytes, s);

    w.Bin(s);
    data = w.Take();
    EXPECT_EQ(data, Reference(std::vector<char>(s.begin(), s.end()))) << n;
    v = ReadOne(data);
    EXPECT_EQ(v.type, MpType::kBin);
    EXPECT_EQ(v.bytes, s);

    w.ArrayHeader(static_cast<uint32_t>(n));
    for (size_t i = 0; i < n; ++i) w.Nil();
    EXPECT_EQ(w.Take(), Reference(std::vector<msgpack::type::nil_t>(n))) << n;

    std::map<int, int> m;
    for (size_t i = 0; i < n; ++i) m[static_cast<int>(i)] = 0;
    w.MapHeader(static_cast<uint32_t>(n));
    for (const auto& [k, val] : m) {
      w.Int(k);
      w.Int(val);
    }
    EXPECT_EQ(w.Take(), Reference(m)) << n;
  }
}

TEST(Msgpack, FloatsBoolsAndNil) {
  MsgpackWriter w;
  w.Double(-2.5);
  w.Bool(true);
  w.Bool(false);
  w.Nil();
  const std::string data = w.Take();
  EXPECT_EQ(data.substr(0, 9), Reference(-2.5));
  MsgpackReader r(data);
  EXPECT_EQ(r.Next()->d, -2.5);
  EXPECT_TRUE(r.Next()->b);
  EXPECT_EQ(r.Next()->type, MpType::kBool);
  EXPECT_EQ(r.Next()->type, MpType::kNil);
  EXPECT_EQ(r.remaining(), 0u);
  // float 32, as other languages' encoders may write it.
  MpValue v = ReadOne(Reference(0.25f));
  EXPECT_EQ(v.type, MpType::kFloat);
  EXPECT_EQ(v.d, 0.25);
}

TEST(Msgpack, TruncationAndBadBytesAreErrorsWithOffsets) {
  auto error = [](const std::string& data) {
    MsgpackReader r(data);
    Result<MpValue> v = r.Next();
    EXPECT_FALSE(v.ok());
    return v.status().message();
  };
  EXPECT_EQ(error(""), "truncated input: a value expected at offset 0");
  EXPECT_EQ(error("\xa5"
                  "ab"),
            "truncated input: str of 5 bytes at offset 1 but only 2 bytes follow");
  EXPECT_EQ(error("\xcd\x01"),
            "truncated input: uint of 2 bytes at offset 1 but only 1 bytes follow");
  EXPECT_EQ(error("\xc6\xff\xff\xff\xff"),
            "truncated input: bin of 4294967295 bytes at offset 5 but only 0 bytes follow");
  EXPECT_EQ(error("\x93\x01"),
            "truncated input: array of 3 elements at offset 0 but only 1 bytes follow");
  EXPECT_EQ(error("\xc1"), "msgpack: an invalid byte 0xc1 at offset 0");
  EXPECT_EQ(error("\xc7\x01\x01x"), "msgpack: an ext type (not supported) 0xc7 at offset 0");
}

TEST(Msgpack, EveryTagByteIsHandled) {
  // Each first byte followed by enough zeros for any fixed-size body: no crash, and the
  // reader never reads past its input.
  for (int t = 0; t < 256; ++t) {
    const std::string data = std::string(1, static_cast<char>(t)) + std::string(8, '\0');
    MsgpackReader r(data);
    (void)r.Next();
    EXPECT_LE(r.offset(), data.size());
  }
}

}  // namespace
}  // namespace judge
