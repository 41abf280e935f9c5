#include "worker/service.h"

#include <sched.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <cstdio>
#include <deque>
#include <map>
#include <memory>
#include <zmq.hpp>

#include "common/fd.h"
#include "common/file_util.h"
#include "protocol/frame.h"
#include "protocol/judge.pb.h"
#include "protocol/wire.h"
#include "sandbox/options.h"
#include "sandbox/sandbox.h"
#include "worker/languages.h"
#include "worker/slots.h"

namespace judge {

const char kWorkerUsage[] =
    "usage: judge-worker [OPTIONS]\n"
    "  --broker ENDPOINT    the broker's worker socket (default tcp://127.0.0.1:5556)\n"
    "  --slots N            jobs judged at once, one CPU each (default: the CPUs this\n"
    "                       process may run on)\n"
    "  --name NAME          how the broker and results name this worker (default\n"
    "                       HOSTNAME/PID)\n"
    "  --heartbeat-ms MS    heartbeat interval; a broker silent for 3 is presumed gone\n"
    "                       (default 1000)\n"
    "  --work-root DIR      where job directories are made (default /tmp)\n"
    "  --compile-cache DIR  compiled programs kept for resubmissions (default\n"
    "                       /var/cache/judge-compile; \"\" turns the cache off)\n"
    "  --exec-layers DIR    the rootfs layers exec jobs may name, by directory name\n"
    "                       (default /var/lib/judge/layers)\n"
    "  --exec-max-writable BYTES  the largest writable layer (a tmpfs, in RAM) an exec\n"
    "                       job may ask for; larger jobs are refused (default 1G)\n"
    "  --encoding pb|mp     of the messages sent: protobuf or MessagePack (default pb)\n"
    "  --key FILE           this worker's secret key, for a broker with CURVE keys\n"
    "                       (judge keygen makes one; its .pub goes in --worker-keys)\n"
    "  --broker-key FILE|KEY  the broker's public key (with --key)\n"
    "  --help               print this and exit\n"
    "SIGTERM or SIGINT drains: no new jobs, the running ones finish and are reported,\n"
    "then it exits 0. A second signal stops at once (exit 1).\n";

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr int kLiveness = 3;  // heartbeats the broker may miss before it is presumed gone
constexpr milliseconds kFirstBackoff{100};
constexpr milliseconds kMaxBackoff{5000};
// A job is as large as its tests; the broker is trusted to bound them.
constexpr size_t kMaxBody = size_t{1} << 31;
// Waits for the last DONE and DISCONNECT to leave when the worker exits.
constexpr milliseconds kFinalLinger{2000};

constexpr std::string_view kEventsEndpoint = "inproc://judge-worker-slots";
constexpr std::array<std::string_view, 5> kBrokerVerbs = {
    verb::kJob, verb::kCancel, verb::kHeartbeat, verb::kDisconnect, verb::kError};

// ZeroMQ checks an endpoint's form when a socket connects to it (the host is looked up
// later); a trial connect turns a typo into a bad option instead of an exception later.
Status CheckEndpoint(const std::string& endpoint) {
  zmq::context_t context;
  zmq::socket_t socket(context, zmq::socket_type::dealer);
  socket.set(zmq::sockopt::linger, 0);
  try {
    socket.connect(endpoint);
  } catch (const zmq::error_t& e) {
    return Status::Error("--broker '" + endpoint + "' is not an endpoint ZeroMQ can connect to (" +
                         e.what() + "); expected e.g. tcp://HOST:PORT or ipc://PATH");
  }
  return Status::Ok();
}

std::string DefaultName() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) std::snprintf(host, sizeof host, "worker");
  return std::string(host) + "/" + std::to_string(::getpid());
}

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items) out += (out.empty() ? "" : ", ") + s;
  return out.empty() ? "none" : out;
}

void Log(const std::string& line) { std::fprintf(stderr, "judge-worker: %s\n", line.c_str()); }

}  // namespace

Result<WorkerOptions> ParseWorkerOptions(const std::vector<std::string>& args, bool* help) {
  *help = std::find(args.begin(), args.end(), "--help") != args.end();
  WorkerOptions o;
  if (*help) return o;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string option = args[i], value;
    const size_t eq = option.find('=');
    if (option.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = option.substr(eq + 1);
      option.resize(eq);
    } else {
      static const char* kOptions[] = {"--broker",       "--slots",     "--name",
                                       "--heartbeat-ms", "--work-root", "--encoding",
                                       "--key",          "--broker-key",  "--compile-cache",
                                       "--exec-layers",  "--exec-max-writable"};
      if (std::find(std::begin(kOptions), std::end(kOptions), option) == std::end(kOptions)) {
        return Status::Error("unknown option '" + option + "' (see --help)");
      }
      if (i + 1 >= args.size()) return Status::Error(option + " needs a value");
      value = args[++i];
    }
    if (option == "--broker") {
      RETURN_IF_ERROR(CheckEndpoint(value));
      o.broker = value;
    } else if (option == "--slots") {
      ASSIGN_OR_RETURN(long long n, ParseIntOption(option, value, 1, 1024));
      o.slots = static_cast<int>(n);
    } else if (option == "--name") {
      if (value.empty()) return Status::Error("--name cannot be empty");
      o.name = value;
    } else if (option == "--heartbeat-ms") {
      ASSIGN_OR_RETURN(long long n, ParseIntOption(option, value, 10, 3600000));
      o.heartbeat = milliseconds(n);
    } else if (option == "--work-root") {
      struct stat st;
      if (::stat(value.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
        return Status::Error("--work-root " + value + " is not a directory");
      }
      o.work_root = value;
    } else if (option == "--encoding") {
      if (value != kEncodingProtobuf && value != kEncodingMsgpack) {
        return Status::Error("--encoding takes pb or mp, not '" + value + "'");
      }
      o.encoding = value;
    } else if (option == "--compile-cache") {
      o.compile_cache = value;
    } else if (option == "--exec-layers") {
      if (value.empty() || value[0] != '/') {
        return Status::Error("--exec-layers takes an absolute directory, not '" + value + "'");
      }
      o.exec_layers = value;
    } else if (option == "--exec-max-writable") {
      Result<long long> bytes = ParseBytes(value);
      if (!bytes.ok() || *bytes <= 0) {
        return Status::Error("--exec-max-writable takes a size in bytes (suffixes K M G), not '" +
                             value + "'");
      }
      o.exec_max_writable = *bytes;
    } else if (option == "--key") {
      ASSIGN_OR_RETURN(o.key, LoadSecretKey(value));
    } else if (option == "--broker-key") {
      ASSIGN_OR_RETURN(o.broker_key, LoadPublicKey(value));
    } else {
      return Status::Error("unknown option '" + option + "' (see --help)");
    }
  }
  if (o.key.has_value() != !o.broker_key.empty()) {
    return Status::Error(o.key ? "--key needs the broker's public key: --broker-key FILE|KEY"
                               : "--broker-key needs this worker's own --key");
  }
  return o;
}

std::vector<int> AllowedCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (::sched_getaffinity(0, sizeof set, &set) != 0) return cpus;
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (CPU_ISSET(c, &set)) cpus.push_back(c);
  }
  return cpus;
}

class WorkerService::Impl {
 public:
  Impl(WorkerOptions options, UniqueFd signals, std::unique_ptr<Sandbox> sandbox,
       LanguageRegistry languages, std::vector<int> cpus)
      : options_(std::move(options)),
        signals_(std::move(signals)),
        sandbox_(std::move(sandbox)),
        languages_(std::move(languages)),
        events_(context_, zmq::socket_type::pull) {
    events_.set(zmq::sockopt::rcvhwm, 0);
    events_.set(zmq::sockopt::linger, 0);
    events_.bind(std::string(kEventsEndpoint));
    SlotConfig config;
    config.events_endpoint = kEventsEndpoint;
    config.encoding = options_.encoding;
    config.worker_name = options_.name;
    config.judge.work_root = options_.work_root;
    config.judge.compile_cache_dir = options_.compile_cache;
    config.exec.work_root = options_.work_root;
    config.exec.layer_root = options_.exec_layers;
    config.exec.max_writable_bytes = options_.exec_max_writable;
    for (int i = 0; i < options_.slots; ++i) {
      config.cpus.push_back(cpus[static_cast<size_t>(i) % cpus.size()]);
    }
    slots_ = std::make_unique<SlotPool>(context_, *sandbox_, languages_, std::move(config));
  }

  ~Impl() {
    // The slots go first: their sockets must be closed before the context ends.
    slots_.reset();
    broker_.reset();
  }

  Status Run();

 private:
  // A finished job's DONE, kept until the broker has had it.
  struct Finished {
    std::string job_id;
    std::string body;    // the JobResult, encoded
    bool credit = true;  // READY free_slots: 1 follows the DONE (not when a first READY
                         // of a connection already counted the slot as free)
    Clock::time_point sent;
  };
  struct Active {
    CancelFlag cancel;
    bool cancelled = false;
  };

  void Connect();
  void Drop(const std::string& why);
  bool Send(std::string_view verb, const std::string& body);
  bool Send(std::string_view verb, const google::protobuf::Message& message);
  void SendReady(int free_slots);
  void SendFirstReady();
  // What READY and the start-up line offer: the languages with a toolchain here, and
  // "exec" when exec jobs can run.
  std::vector<std::string> Languages() const {
    std::vector<std::string> out = languages_.Available();
    if (slots_->exec_available()) out.push_back(kExecLanguage);
    return out;
  }
  void AnnounceDraining();
  void Flush();
  void OnBroker(std::vector<std::string> parts);
  void OnJob(const Frame& frame);
  void OnCancel(const Frame& frame);
  void OnSlot(const std::vector<std::string>& parts);
  // False on a second signal: stop at once.
  bool OnSignal();
  void Timers();
  bool Drained() const {
    return draining_ && active_.empty() && unsent_.empty() && unconfirmed_.empty() &&
           (!broker_ || drain_heard_);
  }

  WorkerOptions options_;
  UniqueFd signals_;
  std::unique_ptr<Sandbox> sandbox_;
  LanguageRegistry languages_;
  zmq::context_t context_;
  zmq::socket_t events_;                   // PULL: what the slots say
  std::unique_ptr<zmq::socket_t> broker_;  // DEALER; null while waiting to reconnect

  std::map<std::string, Active> active_;  // taken, not finished: queued or being judged
  std::deque<Finished> unsent_;           // finished, DONE not sent yet
  int owed_credit_ = 0;                   // READY free slots that could not be sent yet
  // Sent, but the connection may have lost them: ZeroMQ says nothing of delivery. One
  // goes when the broker speaks a heartbeat interval after it was sent (it was alive to
  // receive it); the rest are sent again after a reconnect (the broker ignores a second
  // DONE).
  std::deque<Finished> unconfirmed_;
  bool draining_ = false;
  // A JOB the broker sent before it read our draining READY may still be on its way; it
  // is not, once the broker has spoken a heartbeat interval after that READY went out.
  Clock::time_point drain_announced_;
  bool drain_heard_ = false;
  Clock::time_point last_heard_, next_heartbeat_, reconnect_at_;
  milliseconds backoff_ = kFirstBackoff;

  std::unique_ptr<SlotPool> slots_;  // last: its threads use everything above
};

void WorkerService::Impl::Connect() {
  broker_ = std::make_unique<zmq::socket_t>(context_, zmq::socket_type::dealer);
  // A dropped connection's queue goes with it; the DONEs in it are kept in unconfirmed_.
  broker_->set(zmq::sockopt::linger, 0);
  if (options_.key) MakeCurveClient(*broker_, *options_.key, options_.broker_key);
  broker_->connect(options_.broker);
  const auto now = Clock::now();
  last_heard_ = now;
  next_heartbeat_ = now + options_.heartbeat;
  // The first READY counts every free slot, those of the jobs below included.
  for (Finished& f : unconfirmed_) f.credit = false;
  for (Finished& f : unsent_) f.credit = false;
  unsent_.insert(unsent_.begin(), std::make_move_iterator(unconfirmed_.begin()),
                 std::make_move_iterator(unconfirmed_.end()));
  unconfirmed_.clear();
  SendFirstReady();
  Flush();
}

void WorkerService::Impl::Drop(const std::string& why) {
  broker_.reset();
  reconnect_at_ = Clock::now() + backoff_;
  Log(why + "; reconnecting in " + std::to_string(backoff_.count()) + " ms");
  backoff_ = std::min(backoff_ * 2, kMaxBackoff);
}

bool WorkerService::Impl::Send(std::string_view verb, const std::string& body) {
  if (!broker_) return false;
  return SendParts(*broker_, MakeFrame(verb, options_.encoding, body));
}

bool WorkerService::Impl::Send(std::string_view verb, const google::protobuf::Message& message) {
  auto body = EncodeBody(options_.encoding, message);
  if (!body.ok()) {
    Log("cannot encode " + std::string(verb) + ": " + body.status().ToString());
    return false;
  }
  return Send(verb, *body);
}

void WorkerService::Impl::SendReady(int free_slots) {
  // Credit that could not be sent (the socket's queue was full) is owed, not lost: a
  // lost READY would leave a slot idle until the next reconnect.
  free_slots += draining_ ? 0 : owed_credit_;
  owed_credit_ = 0;
  v1::WorkerReady ready;
  ready.set_free_slots(free_slots);
  ready.set_draining(draining_);
  if (!Send(verb::kReady, ready) && !draining_) owed_credit_ = free_slots;
  if (draining_) AnnounceDraining();
}

void WorkerService::Impl::AnnounceDraining() {
  drain_announced_ = Clock::now();
  drain_heard_ = false;
}

void WorkerService::Impl::SendFirstReady() {
  v1::WorkerReady ready;
  const int busy = static_cast<int>(active_.size());
  ready.set_free_slots(draining_ ? 0 : std::max(0, options_.slots - busy));
  ready.set_name(options_.name);
  ready.set_slots(options_.slots);
  for (const std::string& l : Languages()) ready.add_languages(l);
  // A cancelled job is the broker's no more, though its slot is still busy.
  for (const auto& [id, a] : active_) {
    if (!a.cancelled) ready.add_running(id);
  }
  ready.set_draining(draining_);
  owed_credit_ = 0;  // it counts every free slot
  Send(verb::kReady, ready);
  if (draining_) AnnounceDraining();
}

void WorkerService::Impl::Flush() {
  while (broker_ && !unsent_.empty()) {
    Finished& f = unsent_.front();
    if (!Send(verb::kDone, f.body)) break;  // the socket's queue is full: later
    if (f.credit && !draining_) SendReady(1);
    f.sent = Clock::now();
    unconfirmed_.push_back(std::move(f));
    unsent_.pop_front();
  }
}

void WorkerService::Impl::OnBroker(std::vector<std::string> parts) {
  const auto now = Clock::now();
  last_heard_ = now;  // any message is a sign of life
  auto frame = ParseFrame(std::move(parts), kMaxBody, kBrokerVerbs);
  if (!frame.ok()) {
    Log("a malformed message from the broker: " + frame.status().ToString());
    return;
  }
  if (frame->verb == verb::kDisconnect) {
    // A broker that does not know this worker (restarted, or it presumed us dead) may
    // have dropped what we sent: everything unconfirmed goes again after the READY.
    Drop("the broker sent DISCONNECT");
    return;
  }
  backoff_ = kFirstBackoff;
  while (!unconfirmed_.empty() && unconfirmed_.front().sent + options_.heartbeat <= now) {
    unconfirmed_.pop_front();
  }
  if (draining_ && drain_announced_ + options_.heartbeat <= now) drain_heard_ = true;
  if (frame->verb == verb::kJob) {
    OnJob(*frame);
  } else if (frame->verb == verb::kCancel) {
    OnCancel(*frame);
  } else if (frame->verb == verb::kError) {
    v1::Error error;
    Status st = DecodeBody(*frame, &error);
    Log("the broker reports an error: " + (st.ok() ? error.message() : st.ToString()));
  }
}

void WorkerService::Impl::OnJob(const Frame& frame) {
  v1::Job job;
  Status st = DecodeBody(frame, &job);
  if (st.ok() && job.id().empty()) {
    st = Status::Error("the job has no id");
  } else if (st.ok() && active_.count(job.id()) != 0) {
    st = Status::Error("job " + job.id() + " is already here");
  }
  if (!st.ok()) {
    // The broker spent a credit on it; give it back, the slot is still free.
    Log("a JOB that cannot be taken: " + st.ToString());
    if (!draining_) SendReady(1);
    return;
  }
  // Judged even while draining: it raced with the draining READY.
  auto cancel = std::make_shared<std::atomic<bool>>(false);
  active_[job.id()] = Active{cancel, false};
  slots_->Submit(std::move(job), std::move(cancel));
}

void WorkerService::Impl::OnCancel(const Frame& frame) {
  v1::JobRef ref;
  Status st = DecodeBody(frame, &ref);
  if (!st.ok()) {
    Log("a malformed CANCEL: " + st.ToString());
    return;
  }
  auto it = active_.find(ref.job_id());
  if (it == active_.end() || it->second.cancelled) return;  // done already: nothing to stop
  it->second.cancelled = true;
  it->second.cancel->store(true);
}

void WorkerService::Impl::OnSlot(const std::vector<std::string>& parts) {
  if (parts.size() != 3) return;
  const std::string& kind = parts[0];
  const std::string& id = parts[1];
  auto it = active_.find(id);
  if (it == active_.end()) return;
  if (kind == slot_event::kProgress) {
    if (!it->second.cancelled) Send(verb::kProgress, parts[2]);
    return;
  }
  const bool cancelled = it->second.cancelled || kind == slot_event::kFreed;
  active_.erase(it);
  if (cancelled) {
    // No DONE, but the slot is free again. While disconnected the next first READY
    // counts it.
    if (broker_ && !draining_) SendReady(1);
    return;
  }
  unsent_.push_back(Finished{id, parts[2], true, {}});
  Flush();
}

bool WorkerService::Impl::OnSignal() {
  signalfd_siginfo info;
  bool stop = false;
  while (::read(signals_.get(), &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
    const char* name = info.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM";
    if (draining_) {
      Log(std::string("a second ") + name + ": stopping now");
      stop = true;
      continue;
    }
    draining_ = true;
    Log(std::string(name) + ": draining, " + std::to_string(active_.size()) + " job(s) to finish");
    if (broker_) SendReady(0);
  }
  return !stop;
}

void WorkerService::Impl::Timers() {
  const auto now = Clock::now();
  if (!broker_) {
    if (now >= reconnect_at_) Connect();
    return;
  }
  if (now >= last_heard_ + kLiveness * options_.heartbeat) {
    Drop("no word from the broker for " + std::to_string(kLiveness) + " heartbeats");
    return;
  }
  if (now >= next_heartbeat_) {
    Send(verb::kHeartbeat, v1::Empty());
    if (owed_credit_ > 0 && broker_ && !draining_) SendReady(0);
    next_heartbeat_ = now + options_.heartbeat;
  }
}

Status WorkerService::Impl::Run() {
  Connect();
  Log("connected to " + options_.broker + ", " + std::to_string(options_.slots) +
      " slots, languages: " + Join(Languages()));
  while (!Drained()) {
    const auto now = Clock::now();
    const auto deadline =
        broker_ ? std::min(next_heartbeat_, last_heard_ + kLiveness * options_.heartbeat)
                : reconnect_at_;
    const long timeout = std::max<long>(
        0, static_cast<long>(std::chrono::ceil<milliseconds>(deadline - now).count()));
    std::vector<zmq_pollitem_t> items = {
        {nullptr, signals_.get(), ZMQ_POLLIN, 0},
        {events_.handle(), 0, ZMQ_POLLIN, 0},
    };
    if (broker_) items.push_back({broker_->handle(), 0, ZMQ_POLLIN, 0});
    try {
      zmq::poll(items.data(), items.size(), milliseconds(timeout));
    } catch (const zmq::error_t& e) {
      if (e.num() != EINTR) return Status::Error(std::string("zmq_poll: ") + e.what());
    }
    if (items[0].revents & ZMQ_POLLIN) {
      if (!OnSignal()) {
        size_t lost = active_.size() + unsent_.size() + unconfirmed_.size();
        return Status::Error("stopped by a second signal with " + std::to_string(lost) +
                             " result(s) not delivered");
      }
    }
    std::vector<std::string> parts;
    while (RecvParts(events_, &parts, zmq::recv_flags::dontwait)) OnSlot(parts);
    while (broker_ && RecvParts(*broker_, &parts, zmq::recv_flags::dontwait)) {
      OnBroker(std::move(parts));
    }
    Timers();
    Flush();
  }
  if (broker_) {
    Send(verb::kDisconnect, v1::Empty());
    // Closing waits (bounded) for the last messages to leave.
    broker_->set(zmq::sockopt::linger, static_cast<int>(kFinalLinger.count()));
    broker_.reset();
  }
  Log("drained, exiting");
  return Status::Ok();
}

WorkerService::WorkerService(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
WorkerService::~WorkerService() = default;

Status WorkerService::Run() { return impl_->Run(); }

Result<std::unique_ptr<WorkerService>> WorkerService::Create(WorkerOptions options) {
  // Blocked before any thread exists (the sandbox starts one), so that every thread
  // inherits the mask and the signals wait in the signalfd for the main loop.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  if (int rc = ::pthread_sigmask(SIG_BLOCK, &set, nullptr); rc != 0) {
    return Status::Error("block SIGTERM and SIGINT", rc);
  }
  UniqueFd signals(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!signals) return Status::Errno("signalfd");

  std::vector<int> cpus = AllowedCpus();
  if (cpus.empty()) return Status::Errno("sched_getaffinity");
  if (options.slots == 0) options.slots = static_cast<int>(cpus.size());
  if (options.name.empty()) options.name = DefaultName();

  // Warm containers: each slot's next test (and its checker's) made while one runs.
  SandboxOptions sandbox_options;
  sandbox_options.warm = 2 * options.slots;
  ASSIGN_OR_RETURN(std::unique_ptr<Sandbox> sandbox, Sandbox::Create(sandbox_options));
  for (const std::string& w : sandbox->warnings()) Log("warning: " + w);
  ASSIGN_OR_RETURN(LanguageRegistry languages, LanguageRegistry::Builtin());
  if (languages.Available().empty()) Log("warning: no language's toolchain is on this machine");
  auto impl = std::make_unique<Impl>(std::move(options), std::move(signals), std::move(sandbox),
                                     std::move(languages), std::move(cpus));
  return std::unique_ptr<WorkerService>(new WorkerService(std::move(impl)));
}

}  // namespace judge
