// Network namespaces made ahead of the runs, off their critical path: a new network
// namespace costs ~0.5 ms of clone and teardown, joining one made before ~0.02 ms.
//
// Each namespace serves exactly one run and is dropped after it (a used namespace keeps
// state, e.g. TIME_WAIT sockets and counters, that the next run could see). They are
// owned by the host's user namespace, so the run has no capability in them and cannot
// change them; `loopback` ones have lo up, the others no interface up at all.
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "common/fd.h"
#include "common/status.h"

namespace judge {

// The calling thread to SCHED_BATCH: the engine's threads that work ahead of runs or
// after them (warm containers, network namespaces, teardown) take their fair share of
// the CPUs, but a wake-up of theirs does not preempt a run's supervisor.
void BackgroundScheduling();

class NetnsPool {
 public:
  NetnsPool() = default;
  ~NetnsPool();  // stops the thread that makes namespaces ahead
  NetnsPool(const NetnsPool&) = delete;
  NetnsPool& operator=(const NetnsPool&) = delete;

  // A namespace no run has used: one made ahead, or a new one. From the second call on,
  // a thread keeps a few of each kind ready.
  Result<UniqueFd> Take(bool loopback);
  // A run is coming: unless one is ready or on its way, a thread starts making one now,
  // so that a process that runs once (judge-sandbox run) need not wait ~0.5 ms for it.
  void Expect(bool loopback);

 private:
  static constexpr size_t kReady = 2;
  void Fill();

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool used_[2] = {false, false};
  std::deque<UniqueFd> ready_[2];
  std::thread filler_;
  std::thread ahead_;            // Expect's
  bool ahead_busy_[2] = {false, false};
};

}  // namespace judge
