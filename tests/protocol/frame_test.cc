#include "protocol/frame.h"

#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include "protocol/judge.pb.h"
#include "tests/protocol/fixtures.h"

namespace judge {
namespace {

namespace v1 = judge::v1;
using google::protobuf::util::MessageDifferencer;

constexpr size_t kMaxBody = 1 << 20;

std::string ParseError(std::vector<std::string> parts, size_t max_body = kMaxBody,
                       std::span<const std::string_view> verbs = kAllVerbs) {
  Result<Frame> f = ParseFrame(std::move(parts), max_body, verbs);
  EXPECT_FALSE(f.ok());
  return f.status().message();
}

TEST(Frame, MakeThenParse) {
  std::vector<std::string> parts = MakeFrame(verb::kSubmit, kEncodingMsgpack, "body");
  EXPECT_EQ(parts, (std::vector<std::string>{"JDG1", "SUBMIT", "mp", "body"}));
  Result<Frame> f = ParseFrame(parts, kMaxBody);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->verb, "SUBMIT");
  EXPECT_EQ(f->encoding, "mp");
  EXPECT_EQ(f->body, "body");
}

TEST(Frame, EveryVerbIsAccepted) {
  for (std::string_view v : kAllVerbs) {
    EXPECT_TRUE(ParseFrame(MakeFrame(v, kEncodingProtobuf, ""), kMaxBody).ok()) << v;
  }
}

TEST(Frame, WrongPartCount) {
  EXPECT_EQ(ParseError({"JDG1", "SUBMIT", "pb"}),
            "expected a message of 4 parts [\"JDG1\", VERB, ENCODING, BODY], got 3");
  EXPECT_EQ(ParseError({}),
            "expected a message of 4 parts [\"JDG1\", VERB, ENCODING, BODY], got 0");
  EXPECT_NE(ParseError({"JDG1", "SUBMIT", "pb", "", ""}).find("got 5"), std::string::npos);
}

TEST(Frame, WrongVersion) {
  EXPECT_EQ(ParseError({"JDG2", "SUBMIT", "pb", ""}),
            "protocol version 'JDG2' is not supported (expected 'JDG1')");
  EXPECT_EQ(ParseError({std::string("\0\xff", 2), "SUBMIT", "pb", ""}),
            "protocol version '\\x00\\xff' is not supported (expected 'JDG1')");
}

TEST(Frame, UnknownOrMisdirectedVerb) {
  EXPECT_EQ(ParseError({"JDG1", "submit", "pb", ""}, kMaxBody, kClientVerbs),
            "unknown verb 'submit' (expected SUBMIT, STATUS, WAIT, CANCEL, STATS)");
  EXPECT_EQ(ParseError({"JDG1", "RESULT", "pb", ""}, kMaxBody, kClientVerbs),
            "verb 'RESULT' is not accepted on this socket (expected SUBMIT, STATUS, WAIT, CANCEL, "
            "STATS)");
  EXPECT_TRUE(ParseFrame(MakeFrame(verb::kDone, "pb", ""), kMaxBody, kWorkerVerbs).ok());
}

TEST(Frame, UnknownEncoding) {
  EXPECT_EQ(ParseError({"JDG1", "STATS", "json", ""}),
            "unknown encoding 'json' (expected pb or mp)");
}

TEST(Frame, OversizeBody) {
  EXPECT_TRUE(ParseFrame(MakeFrame(verb::kSubmit, "pb", std::string(10, 'x')), 10).ok());
  EXPECT_EQ(ParseError(MakeFrame(verb::kSubmit, "pb", std::string(11, 'x')), 10),
            "body of 11 bytes is over the limit of 10 bytes");
}

TEST(Frame, BodiesRoundTripInBothEncodings) {
  const v1::Job job = testing::FullJob();
  for (std::string_view enc : {kEncodingProtobuf, kEncodingMsgpack}) {
    Result<std::string> body = EncodeBody(enc, job);
    ASSERT_TRUE(body.ok()) << body.status().ToString();
    Result<Frame> f = ParseFrame(MakeFrame(verb::kSubmit, enc, *body), kMaxBody);
    ASSERT_TRUE(f.ok());
    v1::Job back;
    Status st = DecodeBody(*f, &back);
    ASSERT_TRUE(st.ok()) << st.ToString();
    EXPECT_TRUE(MessageDifferencer::Equals(job, back)) << enc;
  }
}

TEST(Frame, AnEmptyBodyIsTheEmptyMessageInBothEncodings) {
  for (std::string_view enc : {kEncodingProtobuf, kEncodingMsgpack}) {
    Result<Frame> f = ParseFrame(MakeFrame(verb::kStats, enc, ""), kMaxBody);
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    v1::JobRef ref;
    ref.set_job_id("stale");
    EXPECT_TRUE(DecodeBody(*f, &ref).ok()) << enc;
    EXPECT_EQ(ref.job_id(), "") << enc;
  }
  // The explicit encodings of Empty work too: "" in pb, an empty map in mp.
  Result<Frame> f = ParseFrame(MakeFrame(verb::kStats, kEncodingMsgpack, "\x80"), kMaxBody);
  ASSERT_TRUE(f.ok());
  v1::Empty empty;
  EXPECT_TRUE(DecodeBody(*f, &empty).ok());
}

TEST(Frame, BodyErrorsNameTheVerb) {
  Result<std::string> body = EncodeBody("xml", v1::JobRef());
  EXPECT_EQ(body.status().message(), "unknown encoding 'xml' (expected pb or mp)");
  v1::JobRef ref;
  Status st = DecodeBody(Frame{"WAIT", "mp", "\x90"}, &ref);
  EXPECT_EQ(st.message(), "WAIT body: expected a msgpack map for a judge.v1.JobRef, got array");
  st = DecodeBody(Frame{"WAIT", "pb", "\xff"}, &ref);
  EXPECT_EQ(st.message(), "WAIT body: not a valid judge.v1.JobRef in protobuf (1 bytes)");
}

}  // namespace
}  // namespace judge
