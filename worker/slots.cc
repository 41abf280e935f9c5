#include "worker/slots.h"

#include <pthread.h>
#include <sched.h>

#include <chrono>
#include <cstdio>
#include <cstring>

#include "protocol/codec.h"
#include "protocol/frame.h"
#include "protocol/wire.h"

namespace judge {
namespace {

void Pin(int slot, int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  // The containers a slot starts inherit its CPU, so slots do not compete for one.
  int rc = ::pthread_setaffinity_np(::pthread_self(), sizeof set, &set);
  if (rc != 0) {
    std::fprintf(stderr, "judge-worker: slot %d cannot be pinned to CPU %d: %s\n", slot, cpu,
                 std::strerror(rc));
  }
}

}  // namespace

SlotPool::SlotPool(zmq::context_t& context, Sandbox& sandbox, const LanguageRegistry& languages,
                   SlotConfig config)
    : context_(context), config_(std::move(config)) {
  const int slots = static_cast<int>(config_.cpus.size());
  current_.resize(config_.cpus.size());
  for (int i = 0; i < slots; ++i) {
    JudgeOptions options = config_.judge;
    options.worker_name = config_.worker_name + "/" + std::to_string(i);
    judgers_.push_back(std::make_unique<Judger>(sandbox, languages, std::move(options)));
  }
  auto exec = ExecRunner::Create(sandbox, config_.exec);
  if (exec.ok()) {
    exec_ = std::move(*exec);
  } else {
    exec_error_ = exec.status().ToString();
    std::fprintf(stderr, "judge-worker: exec jobs cannot run here: %s\n", exec_error_.c_str());
  }
  for (int i = 0; i < slots; ++i) threads_.emplace_back([this, i] { Loop(i); });
}

SlotPool::~SlotPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    for (const CancelFlag& c : current_) {
      if (c) c->store(true);
    }
  }
  cv_.notify_all();
  for (std::thread& t : threads_) t.join();
}

void SlotPool::Submit(v1::Job job, CancelFlag cancel) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back({std::move(job), std::move(cancel)});
  }
  cv_.notify_one();
}

void SlotPool::Loop(int slot) {
  Pin(slot, config_.cpus[static_cast<size_t>(slot)]);
  zmq::socket_t events(context_, zmq::socket_type::push);
  // The main thread reads until the slots are joined: nothing is dropped for lack of
  // room, and nothing queued needs to outlive the slot.
  events.set(zmq::sockopt::sndhwm, 0);
  events.set(zmq::sockopt::linger, 0);
  events.connect(config_.events_endpoint);
  while (true) {
    Item item;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
      if (stop_) return;
      item = std::move(queue_.front());
      queue_.pop_front();
      current_[static_cast<size_t>(slot)] = item.cancel;
    }
    Judge(slot, item, events);
    std::lock_guard<std::mutex> lock(mu_);
    current_[static_cast<size_t>(slot)] = nullptr;
  }
}

void SlotPool::Judge(int slot, Item& item, zmq::socket_t& events) {
  const std::string id = item.job.id();
  auto emit = [&](std::string_view kind, std::string body) {
    if (!SendParts(events, {std::string(kind), id, std::move(body)})) {
      std::fprintf(stderr, "judge-worker: slot %d could not hand over a %s message\n", slot,
                   std::string(kind).c_str());
    }
  };
  auto cancelled = [&] { return item.cancel->load(); };
  auto progress = [&](const v1::TestResult& t) {
    if (cancelled()) return;
    auto body = EncodeBody(config_.encoding, t);
    if (body.ok()) emit(slot_event::kProgress, std::move(*body));
  };
  const auto start = std::chrono::steady_clock::now();
  v1::JobResult result;
  if (!item.job.has_exec()) {
    result = judgers_[static_cast<size_t>(slot)]->Judge(item.job, progress, cancelled);
  } else if (!exec_) {
    result.set_job_id(id);
    result.set_verdict(v1::IE);
    result.set_message("this worker cannot run exec jobs: " + exec_error_);
  } else {
    result = RunExecJob(*exec_, item.job,
                        config_.worker_name + "/" + std::to_string(slot), progress, cancelled,
                        ResultBudget{config_.encoding});
  }
  const long long ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::steady_clock::now() - start)
                           .count();
  if (cancelled()) {
    std::fprintf(stderr, "judge-worker: job %s cancelled after %lld ms\n",
                 Printable(id, 100).c_str(), ms);
    emit(slot_event::kFreed, "");
    return;
  }
  auto body = EncodeBody(config_.encoding, result);
  if (!body.ok()) {
    // The broker still gets a DONE it can read, so the job does not hang.
    v1::JobResult ie;
    ie.set_job_id(id);
    ie.set_worker(result.worker());
    ie.set_verdict(v1::IE);
    ie.set_message("the result cannot be encoded: " + body.status().ToString());
    result = ie;
    body = EncodeBody(config_.encoding, result);
  }
  std::string why;
  if (result.verdict() == v1::IE) why = ": " + Printable(result.message(), 200);
  std::fprintf(stderr, "judge-worker: job %s verdict %s in %lld ms%s\n", Printable(id, 100).c_str(),
               v1::Verdict_Name(result.verdict()).c_str(), ms, why.c_str());
  emit(slot_event::kDone, body.ok() ? std::move(*body) : std::string());
}

}  // namespace judge
