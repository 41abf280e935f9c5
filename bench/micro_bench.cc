// Google Benchmarks of the hot pieces besides the spawn itself (startup_bench):
// compiling a seccomp policy, encoding and decoding a job in both wire encodings, and
// one job's round trip through a real judge-broker (journal on, sync full) to a fake
// worker and back.
//
//   build/bench/micro_bench
//   build/bench/micro_bench --benchmark_filter=Codec
#include <benchmark/benchmark.h>
#include <signal.h>
#include <stdlib.h>

#include <string>

#include "common/file_util.h"
#include "protocol/codec.h"
#include "protocol/frame.h"
#include "sandbox/seccomp.h"
#include "tests/service/service_util.h"

namespace judge::testing {
namespace {

void BM_SeccompCompile(benchmark::State& state) {
  auto policy = LoadSeccompPolicy("default");
  if (!policy.ok()) {
    state.SkipWithError(policy.status().ToString().c_str());
    return;
  }
  size_t instructions = 0;
  for (auto _ : state) {
    auto program = CompileSeccomp(*policy, SeccompNotifySupported());
    if (!program.ok()) {
      state.SkipWithError(program.status().ToString().c_str());
      return;
    }
    instructions = program->filter.size();
    benchmark::DoNotOptimize(program->filter.data());
  }
  state.counters["bpf_instructions"] = static_cast<double>(instructions);
}
BENCHMARK(BM_SeccompCompile)->Unit(benchmark::kMicrosecond);

// A job of the size a judge sees often: one 4 KiB source, 20 tests of 1 KiB each way.
v1::Job TypicalJob() {
  v1::Job job;
  job.set_id("bench-job-0001");
  job.set_language("cpp17");
  auto* src = job.add_sources();
  src->set_name("main.cpp");
  src->set_content(std::string(4096, 'x'));
  for (int i = 0; i < 20; ++i) {
    auto* t = job.add_tests();
    t->set_name(std::to_string(i + 1));
    t->set_input(std::string(1024, '1'));
    t->set_answer(std::string(1024, '2'));
  }
  job.mutable_limits()->set_cpu_time_s(1);
  job.mutable_limits()->set_memory_bytes(256 << 20);
  job.mutable_checker()->set_kind(v1::Checker::TOKENS);
  return job;
}

void BM_CodecEncode(benchmark::State& state, bool msgpack) {
  const v1::Job job = TypicalJob();
  size_t bytes = 0;
  for (auto _ : state) {
    auto data = msgpack ? EncodeMsgpack(job) : EncodeProtobuf(job);
    bytes = data->size();
    benchmark::DoNotOptimize(data->data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
}
BENCHMARK_CAPTURE(BM_CodecEncode, pb, false)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_CodecEncode, mp, true)->Unit(benchmark::kMicrosecond);

void BM_CodecDecode(benchmark::State& state, bool msgpack) {
  const v1::Job job = TypicalJob();
  const std::string data = *(msgpack ? EncodeMsgpack(job) : EncodeProtobuf(job));
  for (auto _ : state) {
    v1::Job out;
    Status st = msgpack ? DecodeMsgpack(data, &out) : DecodeProtobuf(data, &out);
    if (!st.ok()) {
      state.SkipWithError(st.ToString().c_str());
      return;
    }
    benchmark::DoNotOptimize(out.tests_size());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
}
BENCHMARK_CAPTURE(BM_CodecDecode, pb, false)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_CodecDecode, mp, true)->Unit(benchmark::kMicrosecond);

// SUBMIT -> journal -> JOB to a fake worker -> DONE -> journal -> RESULT, one in flight.
void BM_BrokerRoundTrip(benchmark::State& state) {
  char tmpl[] = "/tmp/judge-bench-XXXXXX";
  if (!::mkdtemp(tmpl)) {
    state.SkipWithError("mkdtemp failed");
    return;
  }
  const std::string dir = tmpl;
  {
    zmq::context_t ctx;
    BrokerProcess broker(dir + "/judge.db", {"--max-queue", "1000000"});
    if (broker.clients.empty()) {
      state.SkipWithError("judge-broker did not start");
    } else {
      FakeWorker::Options o;
      o.name = "fake/bench";
      FakeWorker worker(ctx, broker.workers, o);
      Client client(ctx, broker.clients);
      long n = 0;
      auto one = [&]() -> bool {
        client.Send(verb::kSubmit, TinyJob("rt-" + std::to_string(n++)));
        for (;;) {
          std::optional<Frame> f = client.Recv(30s);
          if (!f || f->verb == verb::kError) return false;
          if (f->verb == verb::kResult) return true;
        }
      };
      for (int i = 0; i < 50; ++i) one();  // the worker is connected and ready
      for (auto _ : state) {
        if (!one()) {
          state.SkipWithError("no RESULT within 30 s");
          break;
        }
      }
      broker.process->Signal(SIGTERM);
      broker.process->Wait();
    }
  }
  RemoveTree(dir);
}
BENCHMARK(BM_BrokerRoundTrip)->Unit(benchmark::kMillisecond)->MinTime(2.0)->UseRealTime();

}  // namespace
}  // namespace judge::testing

BENCHMARK_MAIN();
