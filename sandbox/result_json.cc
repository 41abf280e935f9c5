#include "common/json.h"
#include "sandbox/sandbox.h"

namespace judge {

std::string RunResultJson(const RunResult& r) {
  return JsonObject()
      .Str("status", RunStatusName(r.status))
      .Int("exit_code", r.exit_code)
      .Int("signal", r.signal)
      .Str("signal_name", r.signal_name)
      .Str("syscall", r.syscall)
      .Num("cpu_time_ms", r.cpu_time_ms)
      .Num("user_time_ms", r.user_time_ms)
      .Num("system_time_ms", r.system_time_ms)
      .Num("wall_time_ms", r.wall_time_ms)
      .Int("memory_peak_bytes", r.memory_peak_bytes)
      .Int("output_bytes", r.output_bytes)
      .Str("message", r.message)
      .Done();
}

}  // namespace judge
