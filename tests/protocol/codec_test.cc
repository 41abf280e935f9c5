#include "protocol/codec.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <msgpack.hpp>
#include <random>
#include <set>

#include "protocol/judge.pb.h"
#include "tests/protocol/fixtures.h"

namespace judge {
namespace {

using google::protobuf::Message;
using google::protobuf::util::MessageDifferencer;
using testing::FullJob;
using testing::OneOfEachMessage;
namespace v1 = judge::v1;

// A document written the way a foreign client writes one: with msgpack-c's packer.
class Doc {
 public:
  Doc& Map(uint32_t n) {
    pk_.pack_map(n);
    return *this;
  }
  Doc& Array(uint32_t n) {
    pk_.pack_array(n);
    return *this;
  }
  Doc& Str(const std::string& s) { return Val(s); }
  Doc& Bin(const std::string& s) {
    pk_.pack_bin(static_cast<uint32_t>(s.size()));
    pk_.pack_bin_body(s.data(), static_cast<uint32_t>(s.size()));
    return *this;
  }
  template <class T>
  Doc& Val(const T& v) {
    pk_.pack(v);
    return *this;
  }
  // A field name followed by a str value.
  Doc& KV(const std::string& k, const std::string& v) { return Str(k).Str(v); }
  std::string Bytes() const { return std::string(buf_.data(), buf_.size()); }

 private:
  msgpack::sbuffer buf_;
  msgpack::packer<msgpack::sbuffer> pk_{&buf_};
};

std::string DecodeJobError(const std::string& data) {
  v1::Job job;
  Status st = DecodeMsgpack(data, &job);
  EXPECT_FALSE(st.ok()) << "decoded: " << job.ShortDebugString();
  return st.message();
}

// One Job field `name` with a value written by `value`.
template <class F>
std::string JobWith(const std::string& name, F value) {
  Doc d;
  d.Map(1).Str(name);
  value(d);
  return d.Bytes();
}

TEST(Codec, FixturesCoverEverySchemaMessageAndField) {
  std::set<std::string> covered;
  for (const auto& m : OneOfEachMessage()) {
    covered.insert(m->GetDescriptor()->full_name());
    testing::ExpectEveryFieldSet(*m);
  }
  const auto* file = v1::Job::descriptor()->file();
  for (int i = 0; i < file->message_type_count(); ++i) {
    EXPECT_TRUE(covered.count(file->message_type(i)->full_name()))
        << file->message_type(i)->full_name() << " has no fixture";
  }
}

void ExpectEveryMessageRoundTrips(Result<std::string> (*encode)(const Message&),
                                  Status (*decode)(std::string_view, Message*)) {
  for (const auto& m : OneOfEachMessage()) {
    SCOPED_TRACE(m->GetDescriptor()->full_name());
    Result<std::string> data = encode(*m);
    ASSERT_TRUE(data.ok()) << data.status().ToString();
    std::unique_ptr<Message> back(m->New());
    Status st = decode(*data, back.get());
    ASSERT_TRUE(st.ok()) << st.ToString();
    EXPECT_TRUE(MessageDifferencer::Equals(*m, *back)) << back->ShortDebugString();
  }
}

TEST(Codec, EveryMessageRoundTripsThroughMsgpack) {
  ExpectEveryMessageRoundTrips(EncodeMsgpack, DecodeMsgpack);
}

TEST(Codec, EveryMessageRoundTripsThroughProtobuf) {
  ExpectEveryMessageRoundTrips(EncodeProtobuf, DecodeProtobuf);
}

TEST(Codec, DefaultsRoundTripAndEmptyRepeatedAndUnsetMessagesAreOmitted) {
  v1::Job job;
  Result<std::string> data = EncodeMsgpack(job);
  ASSERT_TRUE(data.ok());
  msgpack::object_handle oh = msgpack::unpack(data->data(), data->size());
  std::map<std::string, msgpack::object> fields;
  oh.get().convert(fields);
  // Scalars at their defaults are written; sources, tests, limits, checker, interactor not.
  std::set<std::string> names;
  for (const auto& [k, v] : fields) names.insert(k);
  EXPECT_EQ(names, (std::set<std::string>{"id", "language", "stop_on_failure", "priority",
                                          "interactor_language", "interactor_interface"}));
  v1::Job back;
  ASSERT_TRUE(DecodeMsgpack(*data, &back).ok());
  EXPECT_TRUE(MessageDifferencer::Equals(job, back));
}

// What a client without our code sees: names, enum names as str, bytes as bin.
TEST(Codec, ForeignDecoderSeesNamesEnumNamesAndBin) {
  Result<std::string> data = EncodeMsgpack(FullJob());
  ASSERT_TRUE(data.ok());
  msgpack::object_handle oh = msgpack::unpack(data->data(), data->size());
  std::map<std::string, msgpack::object> job;
  oh.get().convert(job);
  EXPECT_EQ(job.at("id").as<std::string>(), "job-42");
  EXPECT_EQ(job.at("priority").as<int>(), -7);
  std::map<std::string, msgpack::object> checker;
  job.at("checker").convert(checker);
  EXPECT_EQ(checker.at("kind").type, msgpack::type::STR);
  EXPECT_EQ(checker.at("kind").as<std::string>(), "CUSTOM");
  EXPECT_EQ(checker.at("abs_tol").as<double>(), 1e-6);
  std::vector<std::map<std::string, msgpack::object>> sources;
  job.at("sources").convert(sources);
  ASSERT_EQ(sources.size(), 2u);
  EXPECT_EQ(sources[1].at("content").type, msgpack::type::BIN);
  EXPECT_EQ(sources[1].at("content").as<std::vector<char>>().size(), testing::kBinary.size());
}

TEST(Codec, DecodesAJobWrittenByHand) {
  Doc d;
  d.Map(8);
  d.KV("id", "client-key-1").KV("language", "python3");
  d.Str("sources").Array(1).Map(2).KV("name", "main.py").Str("content").Bin("print(1)\n");
  // input as str, answer as bin: both are accepted for bytes.
  d.Str("tests").Array(2);
  d.Map(3).KV("name", "1").KV("input", "1 2\n").Str("answer").Bin("3\n");
  d.Map(3).KV("name", "2").Str("input").Bin(testing::kBinary).Str("answer").Bin("");
  // cpu_time_s as an int: a client may not write 2.0 as a float.
  d.Str("limits").Map(5).Str("cpu_time_s").Val(2).Str("wall_time_s").Val(4.5);
  d.Str("memory_bytes").Val(int64_t{268435456}).Str("pids").Val(16);
  d.Str("output_bytes").Val(uint64_t{1} << 36);
  d.Str("checker").Map(2).KV("kind", "FLOAT").Str("abs_tol").Val(1e-6);
  d.Str("stop_on_failure").Val(true);
  d.Str("priority").Val(-3);

  v1::Job job;
  Status st = DecodeMsgpack(d.Bytes(), &job);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(job.id(), "client-key-1");
  EXPECT_EQ(job.language(), "python3");
  ASSERT_EQ(job.sources_size(), 1);
  EXPECT_EQ(job.sources(0).name(), "main.py");
  EXPECT_EQ(job.sources(0).content(), "print(1)\n");
  ASSERT_EQ(job.tests_size(), 2);
  EXPECT_EQ(job.tests(0).input(), "1 2\n");
  EXPECT_EQ(job.tests(0).answer(), "3\n");
  EXPECT_EQ(job.tests(1).input(), testing::kBinary);
  EXPECT_EQ(job.tests(1).answer(), "");
  EXPECT_EQ(job.limits().cpu_time_s(), 2.0);
  EXPECT_EQ(job.limits().wall_time_s(), 4.5);
  EXPECT_EQ(job.limits().memory_bytes(), 268435456);
  EXPECT_EQ(job.limits().pids(), 16);
  EXPECT_EQ(job.limits().output_bytes(), int64_t{1} << 36);
  EXPECT_EQ(job.checker().kind(), v1::Checker::FLOAT);
  EXPECT_EQ(job.checker().abs_tol(), 1e-6);
  EXPECT_FALSE(job.checker().has_program());
  EXPECT_FALSE(job.has_interactor());
  EXPECT_TRUE(job.stop_on_failure());
  EXPECT_EQ(job.priority(), -3);
}

TEST(Codec, EnumAsNumberAndNilAsAbsent) {
  Doc d;
  d.Map(3).Str("checker").Map(1).Str("kind").Val(3);
  d.Str("limits").Val(msgpack::type::nil_t());
  d.Str("priority").Val(msgpack::type::nil_t());
  v1::Job job;
  ASSERT_TRUE(DecodeMsgpack(d.Bytes(), &job).ok());
  EXPECT_EQ(job.checker().kind(), v1::Checker::FLOAT);
  EXPECT_FALSE(job.has_limits());
  EXPECT_EQ(job.priority(), 0);
}

TEST(Codec, DecodeClearsTheOutputFirst) {
  v1::Job job = FullJob();
  ASSERT_TRUE(DecodeMsgpack(Doc().Map(1).KV("id", "x").Bytes(), &job).ok());
  EXPECT_EQ(job.id(), "x");
  EXPECT_EQ(job.sources_size(), 0);
}

TEST(Codec, UnknownFieldIsNamedWithItsMessage) {
  EXPECT_EQ(DecodeJobError(Doc().Map(2).KV("id", "x").KV("bogus", "y").Bytes()),
            "unknown field 'bogus' in judge.v1.Job");
  EXPECT_EQ(DecodeJobError(Doc().Map(1).Str("sources").Array(1).Map(1).KV("nme", "a").Bytes()),
            "unknown field 'nme' in judge.v1.File at 'sources[0]'");
  // A hostile name is quoted, not copied raw into logs.
  EXPECT_EQ(DecodeJobError(Doc().Map(1).KV(std::string("a\n\0'", 4), "y").Bytes()),
            "unknown field 'a\\x0a\\x00\\x27' in judge.v1.Job");
}

TEST(Codec, WrongTypesNameTheFieldAndTheExpectedType) {
  EXPECT_EQ(DecodeJobError(JobWith("priority", [](Doc& d) { d.Str("high"); })),
            "field 'priority': expected int32, got str");
  EXPECT_EQ(DecodeJobError(JobWith("priority", [](Doc& d) { d.Val(1.5); })),
            "field 'priority': expected int32, got float");
  EXPECT_EQ(DecodeJobError(JobWith("stop_on_failure", [](Doc& d) { d.Val(1); })),
            "field 'stop_on_failure': expected bool, got int");
  EXPECT_EQ(DecodeJobError(JobWith("sources", [](Doc& d) { d.Map(0); })),
            "field 'sources': expected an array, got map");
  EXPECT_EQ(DecodeJobError(JobWith("limits", [](Doc& d) { d.Val(5); })),
            "field 'limits': expected a map (judge.v1.Limits), got int");
  EXPECT_EQ(DecodeJobError(JobWith("language", [](Doc& d) { d.Bin("cpp"); })),
            "field 'language': expected str, got bin");
  EXPECT_EQ(DecodeJobError(JobWith("tests", [](Doc& d) { d.Array(1).Map(1).Str("input").Val(1); })),
            "field 'tests[0].input': expected bin, got int");
  EXPECT_EQ(DecodeJobError(JobWith("limits", [](Doc& d) { d.Map(1).Str("pids").Str("1"); })),
            "field 'limits.pids': expected int64, got str");
  EXPECT_EQ(DecodeJobError(Doc().Map(1).Val(1).Str("x").Bytes()),
            "a key of judge.v1.Job is int, expected a field name (str)");
}

TEST(Codec, EnumsMustBeValidNamesOrNumbers) {
  auto kind = [](auto value) {
    return JobWith("checker", [&](Doc& d) { d.Map(1).Str("kind").Val(value); });
  };
  EXPECT_EQ(DecodeJobError(kind(std::string("FUZZY"))),
            "field 'checker.kind': 'FUZZY' is not a judge.v1.Checker.Kind (KIND_UNSPECIFIED, "
            "EXACT, TOKENS, FLOAT, CUSTOM)");
  // Names are case-sensitive, like protobuf's text format.
  EXPECT_NE(DecodeJobError(kind(std::string("float"))), "");
  EXPECT_EQ(DecodeJobError(kind(99)), "field 'checker.kind': 99 is not a judge.v1.Checker.Kind");
  EXPECT_EQ(DecodeJobError(kind(true)),
            "field 'checker.kind': expected a judge.v1.Checker.Kind name or number, got bool");
}

TEST(Codec, IntegersMustFitTheField) {
  auto priority = [](auto v) { return JobWith("priority", [&](Doc& d) { d.Val(v); }); };
  EXPECT_EQ(DecodeJobError(priority(int64_t{INT32_MAX} + 1)),
            "field 'priority': 2147483648 is out of range for int32");
  EXPECT_EQ(DecodeJobError(priority(int64_t{INT32_MIN} - 1)),
            "field 'priority': -2147483649 is out of range for int32");
  EXPECT_EQ(DecodeJobError(JobWith(
                "limits", [](Doc& d) { d.Map(1).Str("memory_bytes").Val(uint64_t{1} << 63); })),
            "field 'limits.memory_bytes': 9223372036854775808 is out of range for int64");
  v1::Job job;
  ASSERT_TRUE(DecodeMsgpack(priority(INT32_MIN), &job).ok());
  EXPECT_EQ(job.priority(), INT32_MIN);
  // int64 extremes, whatever width the client chose to write them in.
  ASSERT_TRUE(DecodeMsgpack(JobWith("limits",
                                    [](Doc& d) {
                                      d.Map(2).Str("pids").Val(INT64_MIN);
                                      d.Str("memory_bytes").Val(uint64_t{INT64_MAX});
                                    }),
                            &job)
                  .ok());
  EXPECT_EQ(job.limits().pids(), INT64_MIN);
  EXPECT_EQ(job.limits().memory_bytes(), INT64_MAX);
}

TEST(Codec, StringsMustBeUtf8AndFieldsAppearOnce) {
  EXPECT_EQ(DecodeJobError(Doc().Map(1).KV("id", "\xff").Bytes()),
            "field 'id': the string is not valid UTF-8");
  EXPECT_EQ(DecodeJobError(Doc().Map(2).KV("id", "a").KV("id", "b").Bytes()),
            "duplicate field 'id' in judge.v1.Job");
  v1::Stats stats;
  Status st = DecodeMsgpack(
      Doc().Map(1).Str("verdicts").Map(2).Str("AC").Val(1).Str("AC").Val(2).Bytes(), &stats);
  EXPECT_EQ(st.message(), "field 'verdicts['AC']': duplicate key");
}

TEST(Codec, TopLevelMustBeOneMap) {
  EXPECT_EQ(DecodeJobError(Doc().Array(1).Val(1).Bytes()),
            "expected a msgpack map for a judge.v1.Job, got array");
  EXPECT_EQ(DecodeJobError(""), "empty input, expected a msgpack map for a judge.v1.Job");
  EXPECT_EQ(DecodeJobError(Doc().Map(0).Bytes() + std::string("\x01\x02", 2)),
            "2 trailing bytes after the judge.v1.Job at offset 1");
}

TEST(Codec, EveryPrefixOfAValidDocumentFailsCleanly) {
  Result<std::string> data = EncodeMsgpack(FullJob());
  ASSERT_TRUE(data.ok());
  for (size_t n = 0; n < data->size(); ++n) {
    v1::Job job;
    Status st = DecodeMsgpack(std::string_view(*data).substr(0, n), &job);
    ASSERT_FALSE(st.ok()) << "prefix of " << n << " bytes decoded";
    ASSERT_NE(st.message(), "");
  }
}

TEST(Codec, ContainerCountsLargerThanTheInputAreRefusedUpFront) {
  // An array32 claiming 4 billion elements, in 5 bytes.
  std::string data = JobWith("sources", [](Doc&) {}) + std::string("\xdd\xff\xff\xff\xff", 5);
  std::string error = DecodeJobError(data);
  EXPECT_NE(error.find("truncated input: array of 4294967295 elements"), std::string::npos)
      << error;
  EXPECT_NE(error.find("at 'sources'"), std::string::npos) << error;
}

TEST(Codec, ExtTypesAndTheNeverUsedByteAreRefused) {
  EXPECT_EQ(DecodeJobError(JobWith("id", [](Doc& d) { d.Val(msgpack::type::ext(1, "ab", 2)); })),
            "msgpack: an ext type (not supported) 0xd5 at offset 4 at 'id'");
  EXPECT_EQ(DecodeJobError(std::string("\x81\xa2id\xc1", 5)),
            "msgpack: an invalid byte 0xc1 at offset 4 at 'id'");
}

// google.protobuf.Struct nests without bound; judge.proto's messages cannot.
std::string NestedStruct(int levels) {
  Doc d;
  for (int i = 0; i < levels; ++i)
    d.Map(1).Str("fields").Map(1).Str("a").Map(1).Str("struct_value");
  d.Map(0);
  return d.Bytes();
}

TEST(Codec, NestingIsBounded) {
  google::protobuf::Struct s;
  // Each level is a Struct and a Value: 15 levels + the innermost Struct is 31 messages.
  Status st = DecodeMsgpack(NestedStruct(15), &s);
  ASSERT_TRUE(st.ok()) << st.ToString();
  Result<std::string> again = EncodeMsgpack(s);
  EXPECT_TRUE(again.ok());
  st = DecodeMsgpack(NestedStruct(16), &s);
  EXPECT_NE(st.message().find("messages nested deeper than 32"), std::string::npos) << st.message();
  // 100000 nested arrays: refused at the first, nothing recurses on them.
  std::string deep = JobWith("sources", [](Doc& d) {
    for (int i = 0; i < 100000; ++i) d.Array(1);
    d.Val(0);
  });
  EXPECT_EQ(DecodeJobError(deep), "field 'sources[0]': expected a map (judge.v1.File), got array");
}

TEST(Codec, EncodingRefusesWhatDecodingWould) {
  google::protobuf::Struct root;
  google::protobuf::Struct* s = &root;
  for (int i = 0; i < 20; ++i) s = (*s->mutable_fields())["a"].mutable_struct_value();
  Result<std::string> data = EncodeMsgpack(root);
  ASSERT_FALSE(data.ok());
  EXPECT_NE(data.status().message().find("nested deeper than 32"), std::string::npos);
}

TEST(Codec, OneofTakesOneMember) {
  google::protobuf::Value v;
  Status st = DecodeMsgpack(
      Doc().Map(2).Str("number_value").Val(1).Str("string_value").Str("x").Bytes(), &v);
  EXPECT_EQ(st.message(),
            "field 'string_value': field 'number_value' of the same oneof is set "
            "already");
  ASSERT_TRUE(DecodeMsgpack(Doc().Map(1).Str("bool_value").Val(false).Bytes(), &v).ok());
  EXPECT_EQ(v.kind_case(), google::protobuf::Value::kBoolValue);  // set although false
  Result<std::string> data = EncodeMsgpack(v);
  ASSERT_TRUE(data.ok());
  EXPECT_EQ(*data, Doc().Map(1).Str("bool_value").Val(false).Bytes());
}

// Random corruption of a valid document: every outcome is a Status, never a crash.
TEST(Codec, CorruptedDocumentsNeverCrash) {
  Result<std::string> data = EncodeMsgpack(testing::FullJobResult());
  ASSERT_TRUE(data.ok());
  std::mt19937 rng(12345);
  for (int i = 0; i < 20000; ++i) {
    std::string d = *data;
    for (int k = 0; k < 1 + i % 4; ++k) d[rng() % d.size()] = static_cast<char>(rng());
    v1::JobResult out;
    (void)DecodeMsgpack(d, &out);
  }
}

TEST(Codec, ProtobufErrors) {
  v1::Job job;
  Status st = DecodeProtobuf(std::string("\x0a\xff", 2), &job);
  EXPECT_EQ(st.message(), "not a valid judge.v1.Job in protobuf (2 bytes)");
  EXPECT_TRUE(DecodeProtobuf("", &job).ok());  // every field at its default
}

}  // namespace
}  // namespace judge
