// The messages between `judge-sandbox run` and `judge-sandbox serve` (serve_wire.h):
// round trips, and what is refused.
#include "sandbox/serve_wire.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace judge {
namespace {

TEST(ServeWire, RequestsRoundTrip) {
  unsigned streams = 0;
  for (const std::vector<std::string>& args : {std::vector<std::string>{},
                                               {"--", "/bin/true"},
                                               {"--stdin=in put.txt", "--", "sh", "-c", ""}}) {
    const std::string m = EncodeServeRequest({streams, args});
    auto back = DecodeServeRequest(m);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(back->args, args);
    EXPECT_EQ(back->streams, streams);
    streams = streams * 2 + 1;
  }
  std::string expected("JSBRUN1\0", 8);
  const uint32_t five = 5;
  expected.append(reinterpret_cast<const char*>(&five), 4);
  EXPECT_EQ(EncodeServeRequest({5, {"a", ""}}), expected + std::string("a\0\0", 3));
}

TEST(ServeWire, MalformedRequestsSayWhat) {
  auto why = [](std::string_view m) {
    auto r = DecodeServeRequest(m);
    return r.ok() ? std::string("accepted") : r.status().ToString();
  };
  const std::string head("JSBRUN1\0\0\0\0\0", 12);  // no streams
  EXPECT_EQ(why("hello"), "not a judge-sandbox run request of this version");
  EXPECT_EQ(why(std::string("JSBRUN2\0\0\0\0\0--\0", 15)),
            "not a judge-sandbox run request of this version");
  EXPECT_EQ(why(std::string("JSBRUN1\0\0\0", 10)),
            "not a judge-sandbox run request of this version");
  EXPECT_EQ(why(head + std::string("--\0/bin/true", 12)), "its last argument does not end");
  EXPECT_EQ(why(std::string("JSBRUN1\0\x08\0\0\0", 12)),
            "streams other than stdin, stdout and stderr");
  EXPECT_EQ(why(head + std::string(kMaxServeRequest, 'a')), "over 256 KiB");
  EXPECT_EQ(why(head), "accepted");
}

TEST(ServeWire, RepliesRoundTripAndLongTextsAreCut) {
  ServeReply r{false, {2, "{\"status\":\"OK\"}\n", "judge-sandbox: bad\n"}};
  auto back = DecodeServeReply(EncodeServeReply(r));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_FALSE(back->refused);
  EXPECT_EQ(back->output.exit_code, 2);
  EXPECT_EQ(back->output.out, r.output.out);
  EXPECT_EQ(back->output.err, r.output.err);

  r = {true, {0, "", std::string(kMaxServeReply, 'x')}};
  const std::string m = EncodeServeReply(r);
  EXPECT_LE(m.size(), kMaxServeReply);
  back = DecodeServeReply(m);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(back->refused);
  EXPECT_LT(back->output.err.size(), kMaxServeReply / 2);
  EXPECT_EQ(back->output.err, std::string(back->output.err.size(), 'x'));
}

TEST(ServeWire, MalformedRepliesAreRefused) {
  const std::string good = EncodeServeReply({false, {0, "out", "err"}});
  EXPECT_TRUE(DecodeServeReply(good).ok());
  EXPECT_FALSE(DecodeServeReply(good.substr(0, good.size() - 1)).ok());  // a text cut short
  EXPECT_FALSE(DecodeServeReply(good + "x").ok());                       // bytes beyond
  EXPECT_FALSE(DecodeServeReply(good.substr(0, 20)).ok());               // half a header
  std::string bad = good;
  bad[3] = 'X';
  EXPECT_FALSE(DecodeServeReply(bad).ok());  // magic
  bad = good;
  const int32_t two = 2;
  std::memcpy(bad.data() + 8, &two, sizeof two);
  EXPECT_FALSE(DecodeServeReply(bad).ok());  // refused is 0 or 1
  bad = good;
  const uint32_t huge = 0xffffffffu;
  std::memcpy(bad.data() + 16, &huge, sizeof huge);
  EXPECT_FALSE(DecodeServeReply(bad).ok());  // out_len beyond the message
}

}  // namespace
}  // namespace judge
