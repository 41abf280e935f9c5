// judge-sandbox's result JSON is written by hand (the CLI does not link protobuf); it
// must be exactly what the schema's SandboxResult prints as.
#include <gtest/gtest.h>

#include "protocol/codec.h"
#include "protocol/judge.pb.h"
#include "sandbox/sandbox.h"

namespace judge {
namespace {

v1::SandboxResult ToProto(const RunResult& r) {
  v1::SandboxResult p;
  p.set_status(RunStatusName(r.status));
  p.set_exit_code(r.exit_code);
  p.set_signal(r.signal);
  p.set_signal_name(r.signal_name);
  p.set_syscall(r.syscall);
  p.set_cpu_time_ms(r.cpu_time_ms);
  p.set_user_time_ms(r.user_time_ms);
  p.set_system_time_ms(r.system_time_ms);
  p.set_wall_time_ms(r.wall_time_ms);
  p.set_memory_peak_bytes(r.memory_peak_bytes);
  p.set_output_bytes(r.output_bytes);
  p.set_message(r.message);
  return p;
}

TEST(ResultJson, IsTheSchemasJson) {
  RunResult r;
  r.status = RunStatus::kSecurityViolation;
  r.exit_code = 0;
  r.signal = 9;
  r.signal_name = "SIGKILL";
  r.syscall = "ptrace";
  r.cpu_time_ms = 1.2345;
  r.user_time_ms = 1;
  r.system_time_ms = 0.2345;
  r.wall_time_ms = 3.1;
  r.memory_peak_bytes = 1441792;
  r.output_bytes = 12;
  r.message = "forbidden system call \"ptrace\"\n";
  EXPECT_EQ(RunResultJson(r), ToJson(ToProto(r)));
  RunResult empty;
  EXPECT_EQ(RunResultJson(empty), ToJson(ToProto(empty)));
}

TEST(ResultJson, FieldsAreThoseOfInterfacesMd) {
  const auto* d = v1::SandboxResult::descriptor();
  std::vector<std::string> names;
  for (int i = 0; i < d->field_count(); ++i) names.push_back(d->field(i)->name());
  EXPECT_EQ(names, (std::vector<std::string>{"status", "exit_code", "signal", "signal_name",
                                              "syscall", "cpu_time_ms", "user_time_ms",
                                              "system_time_ms", "wall_time_ms",
                                              "memory_peak_bytes", "output_bytes", "message"}));
}

}  // namespace
}  // namespace judge
