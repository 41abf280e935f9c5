// Broker throughput and latency with no-op jobs: a real judge-broker process with its
// journal on, fake workers that answer each job at once (tests/service/service_util.h),
// one client. Next to it, the floor measured in the same run: the same messages echoed
// by a bare ZeroMQ ROUTER in this process (no parsing, no journal, no dispatch).
//
//   build/bench/broker_bench [--jobs N] [--window W] [--workers K] [--slots S]
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "common/file_util.h"
#include "protocol/wire.h"
#include "tests/service/service_util.h"

namespace judge::testing {
namespace {

struct Figures {
  double p50_ms = 0, p99_ms = 0, jobs_per_s = 0;
};

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

double Pct(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(p * (v.size() - 1) + 0.5)];
}

// Round trips of `n` SUBMITs, at most `window` in flight; each ends at its RESULT.
Figures Drive(Client& client, const std::string& prefix, int n, int window) {
  std::map<std::string, Clock::time_point> sent;
  std::vector<double> rtt;
  int next = 0, done = 0;
  const auto t0 = Clock::now();
  while (done < n) {
    while (next < n && static_cast<int>(sent.size()) < window) {
      std::string id = prefix + std::to_string(next++);
      sent[id] = Clock::now();
      client.Send(verb::kSubmit, TinyJob(id));
    }
    std::optional<Frame> f = client.Recv(30s);
    if (!f) {
      std::fprintf(stderr, "broker_bench: no answer in 30 s (%d of %d done)\n", done, n);
      exit(1);
    }
    if (f->verb == verb::kError) {
      std::fprintf(stderr, "broker_bench: %s\n", Decode<v1::Error>(*f).message().c_str());
      exit(1);
    }
    if (f->verb != verb::kResult) continue;
    auto it = sent.find(Decode<v1::JobResult>(*f).job_id());
    if (it == sent.end()) continue;
    rtt.push_back(Ms(Clock::now() - it->second));
    sent.erase(it);
    ++done;
  }
  Figures fig;
  fig.jobs_per_s = n / std::chrono::duration<double>(Clock::now() - t0).count();
  fig.p50_ms = Pct(rtt, 0.5);
  fig.p99_ms = Pct(rtt, 0.99);
  return fig;
}

// The floor: a ROUTER that echoes each message as ACCEPTED + RESULT of the same size.
Figures Echo(zmq::context_t& ctx, int n, int window) {
  zmq::socket_t router(ctx, zmq::socket_type::router);
  router.set(zmq::sockopt::linger, 0);
  router.bind("tcp://127.0.0.1:*");
  std::string endpoint = LastEndpoint(router);
  std::atomic<bool> stop{false};
  std::thread echo([&] {
    std::vector<std::string> parts;
    while (!stop) {
      zmq::pollitem_t item{router.handle(), 0, ZMQ_POLLIN, 0};
      zmq::poll(&item, 1, std::chrono::milliseconds(50));
      while (RecvParts(router, &parts, zmq::recv_flags::dontwait)) {
        v1::Job job;
        Result<Frame> f = ParseFrame({parts[1], parts[2], parts[3], parts[4]}, 1 << 20);
        if (!f.ok() || !DecodeBody(*f, &job).ok()) continue;
        v1::JobResult r;
        r.set_job_id(job.id());
        SendMessage(router, parts[0], verb::kResult, "pb", r);
      }
    }
  });
  Client client(ctx, endpoint);
  Figures fig = Drive(client, "echo", n, window);
  stop = true;
  echo.join();
  return fig;
}

int Main(int argc, char** argv) {
  int jobs = 20000, window = 256, workers = 2, slots = 4;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    Result<long long> v = ParseInt(argv[i + 1]);
    if (!v.ok() || *v < 1) {
      std::fprintf(stderr, "broker_bench: %s needs a positive number\n", a.c_str());
      return 2;
    }
    if (a == "--jobs") jobs = static_cast<int>(*v);
    else if (a == "--window") window = static_cast<int>(*v);
    else if (a == "--workers") workers = static_cast<int>(*v);
    else if (a == "--slots") slots = static_cast<int>(*v);
    else {
      std::fprintf(stderr, "usage: broker_bench [--jobs N] [--window W] [--workers K] [--slots S]\n");
      return 2;
    }
  }
  const int sequential = std::min(jobs, 2000);
  zmq::context_t ctx;
  std::printf("no-op jobs (1 test each), %d fake workers x %d slots, one client\n", workers, slots);
  Figures echo_seq = Echo(ctx, sequential, 1);
  Figures echo_load = Echo(ctx, jobs, window);
  std::printf("%-38s %10s %10s %12s\n", "", "p50 ms", "p99 ms", "jobs/s");
  std::printf("%-38s %10.3f %10.3f %12.0f\n", "floor: bare ZeroMQ echo, 1 in flight",
              echo_seq.p50_ms, echo_seq.p99_ms, echo_seq.jobs_per_s);
  std::printf("%-38s %10.3f %10.3f %12.0f\n",
              ("floor: bare ZeroMQ echo, " + std::to_string(window) + " in flight").c_str(),
              echo_load.p50_ms, echo_load.p99_ms, echo_load.jobs_per_s);
  for (std::string sync : {"full", "normal"}) {
    char tmpl[] = "/tmp/judge-bench-XXXXXX";
    if (!mkdtemp(tmpl)) return 1;
    const std::string dir = tmpl;
    {
      BrokerProcess broker(dir + "/judge.db", {"--sync", sync, "--max-queue", "1000000"});
      if (broker.clients.empty()) {
        std::fprintf(stderr, "broker_bench: judge-broker did not start:\n%s",
                     broker.process->Stderr().c_str());
        return 1;
      }
      std::vector<std::unique_ptr<FakeWorker>> fakes;
      for (int w = 0; w < workers; ++w) {
        FakeWorker::Options o;
        o.slots = slots;
        o.name = "fake/" + std::to_string(w);
        fakes.push_back(std::make_unique<FakeWorker>(ctx, broker.workers, o));
      }
      Client client(ctx, broker.clients);
      Drive(client, "warm", 100, 1);  // the workers are connected and ready
      Figures seq = Drive(client, "seq", sequential, 1);
      Figures load = Drive(client, "load", jobs, window);
      std::printf("%-38s %10.3f %10.3f %12.0f   (%.1fx the floor's latency)\n",
                  ("broker, sync " + sync + ", 1 in flight").c_str(), seq.p50_ms, seq.p99_ms,
                  seq.jobs_per_s, seq.p50_ms / echo_seq.p50_ms);
      std::printf("%-38s %10.3f %10.3f %12.0f   (%.2f of the floor's throughput)\n",
                  ("broker, sync " + sync + ", " + std::to_string(window) + " in flight").c_str(),
                  load.p50_ms, load.p99_ms, load.jobs_per_s, load.jobs_per_s / echo_load.jobs_per_s);
      broker.process->Signal(SIGTERM);
      broker.process->Wait();
    }
    RemoveTree(dir);
  }
  return 0;
}

}  // namespace
}  // namespace judge::testing

int main(int argc, char** argv) { return judge::testing::Main(argc, argv); }
