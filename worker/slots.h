// The worker's slots: one thread per slot, pinned to a CPU of its own, each judging one
// job at a time with a Judger of its own. Jobs come in through a queue; what a slot has
// to say goes to the main thread as a ZeroMQ message on an inproc PUSH socket of the
// slot's own (no socket is shared between threads), so the main thread waits for the
// broker and the slots in one poll.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>
#include <zmq.hpp>

#include "protocol/judge.pb.h"
#include "sandbox/sandbox.h"
#include "worker/exec_job.h"
#include "worker/judging.h"
#include "worker/languages.h"

namespace judge {

// A slot's message to the main thread: [kind, job id, body].
namespace slot_event {
inline constexpr std::string_view kProgress = "PROGRESS";  // a TestResult, encoded
inline constexpr std::string_view kDone = "DONE";          // the JobResult, encoded
inline constexpr std::string_view kFreed = "FREED";        // cancelled, no result; empty body
}  // namespace slot_event

struct SlotConfig {
  std::string events_endpoint;  // where the main thread's PULL socket is bound
  std::string encoding;         // of the bodies: the wire encoding, ready to send
  std::string worker_name;      // slot i's results say "worker_name/i"
  JudgeOptions judge;
  ExecOptions exec;
  std::vector<int> cpus;  // slot i runs on cpus[i]; one entry per slot
};

// A job's cancellation flag, shared by the main thread (which sets it) and the slot.
using CancelFlag = std::shared_ptr<std::atomic<bool>>;

class SlotPool {
 public:
  // Starts the slots; `events_endpoint` must be bound already.
  SlotPool(zmq::context_t& context, Sandbox& sandbox, const LanguageRegistry& languages,
           SlotConfig config);
  // Cancels every job, waits for the slots to finish (a running test ends at its limits).
  ~SlotPool();
  SlotPool(const SlotPool&) = delete;
  SlotPool& operator=(const SlotPool&) = delete;

  // Queues a job for the next free slot. Setting `cancel` stops it before its next
  // compile or test; the slot then reports FREED instead of DONE.
  void Submit(v1::Job job, CancelFlag cancel);

  // Whether exec jobs can run here (the pseudo-language "exec" in READY).
  bool exec_available() const { return exec_ != nullptr; }

 private:
  struct Item {
    v1::Job job;
    CancelFlag cancel;
  };
  void Loop(int slot);
  void Judge(int slot, Item& item, zmq::socket_t& events);

  zmq::context_t& context_;
  SlotConfig config_;
  std::vector<std::unique_ptr<Judger>> judgers_;  // one per slot, used by its thread only
  // Shared by the slots (it keeps no state of a job); null if exec_error_ says why.
  std::unique_ptr<ExecRunner> exec_;
  std::string exec_error_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> queue_;            // guarded by mu_
  std::vector<CancelFlag> current_;   // each slot's job, guarded by mu_
  bool stop_ = false;                 // guarded by mu_
  std::vector<std::thread> threads_;  // last: started when the rest exists
};

}  // namespace judge
