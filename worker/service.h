// judge-worker: the service around the judging pipeline (docs/PROTOCOL.md, worker <->
// broker). One DEALER socket to the broker, owned by the thread that calls Run(); one
// slot thread per CPU, each pinned to its CPU with a Judger of its own. Slots take jobs
// from a queue and hand PROGRESS and DONE back over inproc PUSH -> PULL, so the main
// thread's one zmq poll sees the broker, the slots and the signals (signalfd) at once.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "protocol/curve.h"

namespace judge {

struct WorkerOptions {
  std::string broker = "tcp://127.0.0.1:5556";
  int slots = 0;     // 0: the CPUs of the process's affinity mask
  std::string name;  // "": HOSTNAME/PID
  std::chrono::milliseconds heartbeat{1000};
  std::string work_root = "/tmp";
  std::string compile_cache = "/var/cache/judge-compile";  // "" disables the cache
  // Where the rootfs layers that exec jobs name are (ExecOptions::layer_root).
  std::string exec_layers = "/var/lib/judge/layers";
  // The largest writable layer (a tmpfs: host RAM) an exec job may ask for.
  long long exec_max_writable = 1ll << 30;
  std::string encoding = "pb";  // of every message the worker sends
  // CURVE, when the broker has keys: this worker's key pair and the broker's public key
  // (loaded when the options are parsed, so that a bad key is a bad option).
  std::optional<CurveKeyPair> key;
  std::string broker_key;
};

// What `judge-worker --help` prints.
extern const char kWorkerUsage[];

// Parses the command line (without argv[0]). `help` is set, and nothing else checked,
// when --help is among the arguments. Errors are one sentence naming the option.
Result<WorkerOptions> ParseWorkerOptions(const std::vector<std::string>& args, bool* help);

// The CPUs this process may run on (sched_getaffinity), in increasing order.
std::vector<int> AllowedCpus();

class WorkerService {
 public:
  // Blocks SIGTERM and SIGINT (they are read from a signalfd by Run) before any thread
  // exists, makes the sandbox, loads the languages and starts the slots. Call it from
  // the thread that will call Run, before starting other threads.
  static Result<std::unique_ptr<WorkerService>> Create(WorkerOptions options);
  // Stops the slots (a running test ends at its limits), joins them, closes the sockets.
  ~WorkerService();
  WorkerService(const WorkerService&) = delete;
  WorkerService& operator=(const WorkerService&) = delete;

  // Serves the broker until SIGTERM or SIGINT and the drain after it: Ok once every job
  // taken was judged and its DONE delivered. A second signal stops at once (an error
  // that says how many results were not delivered).
  Status Run();

 private:
  class Impl;
  explicit WorkerService(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace judge
