#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <cmath>

#include "protocol/codec.h"
#include "protocol/judge.pb.h"
#include "tests/protocol/fixtures.h"

namespace judge {
namespace {

namespace v1 = judge::v1;

// The shape of `judge submit --json` in INTERFACES.md section 2: the same keys in the
// same order, defaults printed, int64 as numbers; TestResult's job_id and index and
// JobResult's message are additions.
TEST(ToJson, JobResultHasTheShapeOfInterfacesSection2) {
  v1::JobResult r;
  r.set_job_id("j-1");
  r.set_verdict(v1::AC);
  r.mutable_compile()->set_status(v1::CompileResult::OK);
  r.mutable_compile()->set_cpu_time_ms(812.5);
  r.mutable_compile()->set_wall_time_ms(900);
  r.mutable_compile()->set_memory_peak_bytes(52428800);
  v1::TestResult* t = r.add_tests();
  t->set_name("01");
  t->set_verdict(v1::AC);
  t->set_cpu_time_ms(3.0);
  t->set_wall_time_ms(4.2);
  t->set_memory_peak_bytes(1441792);
  r.set_max_cpu_time_ms(3.0);
  r.set_max_memory_bytes(1441792);
  r.set_worker("host/1");
  EXPECT_EQ(ToJson(r),
            "{\"job_id\":\"j-1\",\"verdict\":\"AC\",\"compile\":{\"status\":\"OK\",\"log\":\"\","
            "\"cpu_time_ms\":812.5,\"wall_time_ms\":900,\"memory_peak_bytes\":52428800},"
            "\"tests\":[{\"name\":\"01\",\"verdict\":\"AC\",\"cpu_time_ms\":3,"
            "\"wall_time_ms\":4.2,\"memory_peak_bytes\":1441792,\"exit_code\":0,\"signal\":0,"
            "\"checker_message\":\"\",\"job_id\":\"\",\"index\":0}],"
            "\"max_cpu_time_ms\":3,\"max_memory_bytes\":1441792,\"worker\":\"host/1\","
            "\"message\":\"\"}");
}

TEST(ToJson, UnsetMessagesAreOmittedEmptyRepeatedAndMapsAreNot) {
  v1::JobResult r;
  r.set_verdict(v1::CE);
  EXPECT_EQ(ToJson(r),
            "{\"job_id\":\"\",\"verdict\":\"CE\",\"tests\":[],\"max_cpu_time_ms\":0,"
            "\"max_memory_bytes\":0,\"worker\":\"\",\"message\":\"\"}");
  v1::Stats s;
  EXPECT_NE(ToJson(s).find("\"verdicts\":{}"), std::string::npos) << ToJson(s);
}

TEST(ToJson, BytesAreTextWhenUtf8ElseBase64) {
  v1::File f;
  f.set_name("a");
  f.set_content("h\xc3\xa9\n\"");
  EXPECT_EQ(ToJson(f), "{\"name\":\"a\",\"content\":\"h\xc3\xa9\\n\\\"\"}");
  f.set_content(testing::kBinary);
  EXPECT_EQ(ToJson(f), "{\"name\":\"a\",\"content\":\"YQBi//6AIHo=\"}");
}

TEST(ToJson, MapsAreObjectsSortedByKeyWithEscapedKeys) {
  v1::Stats s;
  (*s.mutable_verdicts())["WA"] = 7;
  (*s.mutable_verdicts())["AC"] = 100;
  (*s.mutable_verdicts())["a\"b"] = 1;
  s.set_jobs_done(int64_t{1} << 60);
  EXPECT_EQ(ToJson(s),
            "{\"queued\":0,\"running\":0,\"workers\":0,\"free_slots\":0,"
            "\"jobs_done\":1152921504606846976,\"verdicts\":{\"AC\":100,\"WA\":7,\"a\\\"b\":1},"
            "\"queue_wait_p50_ms\":0,\"queue_wait_p99_ms\":0,\"max_message_bytes\":0}");
}

TEST(ToJson, NumbersAndEnums) {
  v1::Checker c;
  c.set_kind(static_cast<v1::Checker::Kind>(42));  // proto3 enums are open
  c.set_abs_tol(1e-6);
  c.set_rel_tol(1234.56789);
  EXPECT_EQ(ToJson(c).rfind("{\"kind\":42,\"abs_tol\":1e-06,\"rel_tol\":1234.568,\"language\":\"\","
                            "\"interface\":\"INTERFACE_UNSPECIFIED\"",
                            0),
            0u)
      << ToJson(c);
  c.set_abs_tol(-0.0004);
  c.set_rel_tol(std::nan(""));
  EXPECT_NE(ToJson(c).find("\"abs_tol\":-0.0004,\"rel_tol\":0,"), std::string::npos) << ToJson(c);
}

TEST(ToJson, EveryMessageGivesValidJson) {
  for (const auto& m : testing::OneOfEachMessage()) {
    const std::string json = ToJson(*m);
    EXPECT_EQ(json.find('\n'), std::string::npos);
    google::protobuf::Struct parsed;
    auto st = google::protobuf::util::JsonStringToMessage(json, &parsed);
    EXPECT_TRUE(st.ok()) << m->GetDescriptor()->full_name() << ": " << st.ToString() << "\n"
                         << json;
  }
}

}  // namespace
}  // namespace judge
