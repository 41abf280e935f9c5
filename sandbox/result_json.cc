#include <time.h>

#include "common/json.h"
#include "sandbox/sandbox.h"

namespace judge {

void RunTrace::Start() {
  struct timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  last_ns = ts.tv_sec * 1000000000LL + ts.tv_nsec;
  phases_ms.clear();
}

void RunTrace::Mark(const char* phase) {
  struct timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  const int64_t now = ts.tv_sec * 1000000000LL + ts.tv_nsec;
  phases_ms.emplace_back(phase, (now - last_ns) / 1e6);
  last_ns = now;
}

std::string RunTrace::Json() const {
  JsonObject phases;
  for (const auto& [name, ms] : phases_ms) phases.Num(name.c_str(), ms);
  return JsonObject().Raw("trace_ms", phases.Done()).Done();
}

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
