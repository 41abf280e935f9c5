// The engine's basic behaviours on the real kernel: statuses and measurements.
#include <gtest/gtest.h>

#include "tests/sandbox/test_util.h"

namespace judge::testing {
namespace {

TEST(SandboxBasic, HelloWorldExactOutput) {
  JUDGE_REQUIRE_SANDBOX();
  RunResult r = RunIt(ProgSpec("hello"));
  EXPECT_EQ(r.status, RunStatus::kOk) << r.message;
  EXPECT_EQ(r.stdout_data, "hello, world\n");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.output_bytes, 13);
  EXPECT_GT(r.memory_peak_bytes, 0);
}

}  // namespace
}  // namespace judge::testing
