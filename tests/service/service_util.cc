#include "tests/service/service_util.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <deque>

#include "protocol/wire.h"

namespace judge::testing {

Process::Process(std::vector<std::string> argv) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return;
  std::vector<char*> args;
  for (std::string& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  pid_ = fork();
  if (pid_ == 0) {
    dup2(fds[1], 2);
    // Signals blocked by the test runner's threads must not stay blocked in the child.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  close(fds[1]);
  if (pid_ < 0) {
    close(fds[0]);
    return;
  }
  drain_ = std::thread([this, fd = fds[0]] { Drain(fd); });
}

Process::~Process() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  if (drain_.joinable()) drain_.join();
}

void Process::Drain(int fd) {
  char buf[4096];
  while (true) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    std::lock_guard<std::mutex> lock(mu_);
    if (n <= 0) {
      eof_ = true;
      cv_.notify_all();
      break;
    }
    err_.append(buf, n);
    cv_.notify_all();
  }
  close(fd);
}

std::optional<std::string> Process::AwaitLine(const std::string& needle, Clock::duration timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  std::optional<std::string> line;
  cv_.wait_for(lock, timeout, [&] {
    size_t at = err_.find(needle);
    if (at != std::string::npos) {
      size_t begin = err_.rfind('\n', at);
      begin = begin == std::string::npos ? 0 : begin + 1;
      size_t end = err_.find('\n', at);
      if (end == std::string::npos) return eof_;
      line = err_.substr(begin, end - begin);
      return true;
    }
    return eof_;
  });
  return line;
}

std::string Process::Stderr() {
  std::lock_guard<std::mutex> lock(mu_);
  return err_;
}

void Process::Signal(int sig) {
  if (pid_ > 0) kill(pid_, sig);
}

std::optional<int> Process::Wait(Clock::duration timeout) {
  if (pid_ <= 0) return std::nullopt;
  // The child's stderr closes when it exits (and any child it left holds it open no
  // longer than that child): wait for that, then reap without blocking.
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (!cv_.wait_for(lock, timeout, [&] { return eof_; })) return std::nullopt;
  }
  int status = 0;
  if (waitpid(pid_, &status, 0) != pid_) return std::nullopt;
  pid_ = -1;
  return status;
}

std::string BrokerBin() { return JUDGE_BROKER_BIN; }
std::string WorkerBin() { return JUDGE_WORKER_BIN; }
std::string CliBin() { return JUDGE_CLI_BIN; }

BrokerProcess::BrokerProcess(const std::string& db, std::vector<std::string> extra,
                             std::string clients_ep, std::string workers_ep) {
  std::vector<std::string> argv = {BrokerBin(), "--clients", clients_ep, "--workers", workers_ep,
                                   "--db",      db};
  argv.insert(argv.end(), extra.begin(), extra.end());
  process = std::make_unique<Process>(argv);
  std::optional<std::string> line = process->AwaitLine("listening:");
  if (!line) return;
  // "judge-broker: listening: clients EP workers EP"
  size_t c = line->find("clients ");
  size_t w = line->find(" workers ");
  if (c == std::string::npos || w == std::string::npos) return;
  clients = line->substr(c + 8, w - c - 8);
  workers = line->substr(w + 9);
}

WorkerProcess::WorkerProcess(const std::string& broker, const std::string& name, int slots,
                             int heartbeat_ms, const std::string& work_root,
                             std::vector<std::string> extra) {
  std::vector<std::string> argv = {WorkerBin(), "--broker", broker, "--name", name};
  argv.insert(argv.end(), {"--slots", std::to_string(slots)});
  argv.insert(argv.end(), {"--heartbeat-ms", std::to_string(heartbeat_ms)});
  if (!work_root.empty()) argv.insert(argv.end(), {"--work-root", work_root});
  // No compile cache: every job compiles, and nothing stays on the machine.
  argv.insert(argv.end(), {"--compile-cache", ""});
  argv.insert(argv.end(), extra.begin(), extra.end());
  process = std::make_unique<Process>(argv);
  // "judge-worker: connected to EP, N slots, languages: ..."
  connected = process->AwaitLine("judge-worker: connected to ").has_value();
}

Client::Client(zmq::context_t& ctx, const std::string& endpoint, std::string encoding,
               const CurveKeyPair* own, const std::string& broker_key)
    : socket_(ctx, zmq::socket_type::dealer), encoding_(std::move(encoding)) {
  socket_.set(zmq::sockopt::linger, 0);
  if (own) MakeCurveClient(socket_, *own, broker_key);
  socket_.connect(endpoint);
}

void Client::Send(std::string_view verb, const google::protobuf::Message& m) {
  Status st = SendMessage(socket_, "", verb, encoding_, m);
  if (!st.ok()) std::fprintf(stderr, "Client::Send: %s\n", st.ToString().c_str());
}

void Client::SendRaw(const std::vector<std::string>& parts) { SendParts(socket_, parts); }

std::optional<Frame> Client::Recv(Clock::duration timeout) {
  zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
  const auto deadline = Clock::now() + timeout;
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() < 0) return std::nullopt;
    zmq::poll(&item, 1, left);
    std::vector<std::string> parts;
    if (!RecvParts(socket_, &parts, zmq::recv_flags::dontwait)) continue;
    Result<Frame> f = ParseFrame(std::move(parts), size_t{1} << 30, kBrokerToClientVerbs);
    if (f.ok()) return std::move(*f);
  }
}

std::optional<Frame> Client::RecvSkipping(std::string_view skip, Clock::duration timeout) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    std::optional<Frame> f = Recv(deadline - Clock::now());
    if (!f || f->verb != skip) return f;
  }
}

v1::Job TinyJob(const std::string& id, int tests, int priority) {
  v1::Job job;
  job.set_id(id);
  job.set_language("c");
  job.set_priority(priority);
  v1::File* src = job.add_sources();
  src->set_name("main.c");
  src->set_content("#include <stdio.h>\nint main(void) { puts(\"ok\"); return 0; }\n");
  for (int i = 0; i < tests; ++i) {
    v1::Test* t = job.add_tests();
    t->set_name(std::to_string(i + 1));
    t->set_answer("ok\n");
  }
  return job;
}

FakeWorker::FakeWorker(zmq::context_t& ctx, std::string endpoint, Options options)
    : ctx_(ctx), endpoint_(std::move(endpoint)), options_(std::move(options)) {
  thread_ = std::thread([this] { Loop(); });
}

FakeWorker::~FakeWorker() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void FakeWorker::Vanish() {
  vanish_ = true;
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void FakeWorker::Release() { release_ = true; }

void FakeWorker::SendDone(const std::string& job_id, v1::Verdict verdict) {
  std::lock_guard<std::mutex> lock(mu_);
  to_send_.emplace_back(job_id, verdict);
}

bool FakeWorker::AwaitJobs(size_t n, Clock::duration timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return jobs_.size() >= n; });
}

bool FakeWorker::AwaitCancel(const std::string& id, Clock::duration timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return cancels_.count(id) > 0; });
}

std::vector<std::string> FakeWorker::jobs() const {
  std::lock_guard<std::mutex> lock(mu_);
  return jobs_;
}

void FakeWorker::Answer(zmq::socket_t& s, const v1::Job& job) {
  v1::JobResult r;
  r.set_job_id(job.id());
  r.set_verdict(v1::AC);
  r.set_worker(options_.name);
  r.mutable_compile()->set_status(v1::CompileResult::OK);
  for (int i = 0; i < job.tests_size(); ++i) {
    v1::TestResult t;
    t.set_job_id(job.id());
    t.set_index(i);
    t.set_name(job.tests(i).name());
    t.set_verdict(v1::AC);
    t.set_cpu_time_ms(1);
    SendMessage(s, "", verb::kProgress, options_.encoding, t);
    t.clear_job_id();
    *r.add_tests() = t;
  }
  SendMessage(s, "", verb::kDone, options_.encoding, r);
  v1::WorkerReady ready;
  ready.set_free_slots(1);
  SendMessage(s, "", verb::kReady, options_.encoding, ready);
}

void FakeWorker::Loop() {
  zmq::socket_t s(ctx_, zmq::socket_type::dealer);
  s.set(zmq::sockopt::linger, 0);
  if (options_.key) MakeCurveClient(s, *options_.key, options_.broker_key);
  s.connect(endpoint_);
  v1::WorkerReady hello;
  hello.set_free_slots(options_.slots);
  hello.set_slots(options_.slots);
  hello.set_name(options_.name);
  for (const std::string& l : options_.languages) hello.add_languages(l);
  for (const std::string& id : options_.running) hello.add_running(id);
  SendMessage(s, "", verb::kReady, options_.encoding, hello);
  std::deque<v1::Job> held;
  auto next_beat = Clock::now();
  while (!stop_) {
    zmq::pollitem_t item{s.handle(), 0, ZMQ_POLLIN, 0};
    zmq::poll(&item, 1, std::chrono::milliseconds(5));
    std::vector<std::string> parts;
    while (RecvParts(s, &parts, zmq::recv_flags::dontwait)) {
      Result<Frame> f = ParseFrame(std::move(parts), size_t{1} << 30, kWorkerVerbs);
      if (!f.ok()) {
        ++errors_;
        continue;
      }
      if (f->verb == verb::kJob) {
        v1::Job job;
        if (!DecodeBody(*f, &job).ok()) {
          ++errors_;
          continue;
        }
        {
          std::lock_guard<std::mutex> lock(mu_);
          jobs_.push_back(job.id());
        }
        cv_.notify_all();
        if (options_.hold && !release_) {
          held.push_back(std::move(job));
        } else {
          Answer(s, job);
        }
      } else if (f->verb == verb::kCancel) {
        v1::JobRef ref = Decode<v1::JobRef>(*f);
        {
          std::lock_guard<std::mutex> lock(mu_);
          cancels_.insert(ref.job_id());
        }
        cv_.notify_all();
        for (auto it = held.begin(); it != held.end(); ++it) {
          if (it->id() == ref.job_id()) {
            held.erase(it);
            v1::WorkerReady ready;
            ready.set_free_slots(1);
            SendMessage(s, "", verb::kReady, options_.encoding, ready);
            break;
          }
        }
      } else if (f->verb == verb::kHeartbeat) {
        ++heartbeats_;
      } else if (f->verb == verb::kDisconnect) {
        // A broker that does not know us (it restarted): introduce ourselves again.
        v1::WorkerReady again = hello;
        again.set_free_slots(options_.slots - static_cast<int>(held.size()));
        again.clear_running();
        for (const v1::Job& j : held) again.add_running(j.id());
        SendMessage(s, "", verb::kReady, options_.encoding, again);
      } else if (f->verb == verb::kError) {
        ++errors_;
      }
    }
    if (release_) {
      while (!held.empty()) {
        Answer(s, held.front());
        held.pop_front();
      }
    }
    std::vector<std::pair<std::string, v1::Verdict>> sends;
    {
      std::lock_guard<std::mutex> lock(mu_);
      sends.swap(to_send_);
    }
    for (const auto& [id, verdict] : sends) {
      v1::JobResult r;
      r.set_job_id(id);
      r.set_verdict(verdict);
      r.set_worker(options_.name);
      SendMessage(s, "", verb::kDone, options_.encoding, r);
    }
    if (Clock::now() >= next_beat) {
      SendMessage(s, "", verb::kHeartbeat, options_.encoding, v1::Empty());
      next_beat = Clock::now() + std::chrono::milliseconds(options_.heartbeat_ms);
    }
  }
  if (!vanish_) {
    SendMessage(s, "", verb::kDisconnect, options_.encoding, v1::Empty());
    s.set(zmq::sockopt::linger, 1000);  // let the DISCONNECT leave before the close
  }
}

}  // namespace judge::testing
