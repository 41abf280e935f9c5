#include "sandbox/execution.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "common/file_util.h"
#include "sandbox/spawner.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

namespace judge {
namespace {

int64_t NowNs() {
  struct timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

// Setup normally takes about a millisecond; this only catches a hung kernel call.
constexpr int kSetupTimeoutMs = 30000;

const char* StepName(int step) {
  switch (step) {
    case kStepSync: return "talking to the parent";
    case kStepIds: return "switching to the run's uid/gid";
    case kStepGroups: return "dropping supplementary groups";
    case kStepPrivate: return "making mounts private";
    case kStepHostname: return "setting the hostname";
    case kStepLoopback: return "bringing up loopback";
    case kStepChdir: return "changing to the working directory";
    case kStepRlimit: return "setting resource limits";
    case kStepCaps: return "dropping capabilities";
    case kStepNoNewPrivs: return "setting no_new_privs";
    case kStepSession: return "starting a session";
    case kStepStdio: return "setting up standard streams";
    case kStepSignals: return "resetting signals";
    case kStepSeccomp: return "loading the seccomp filter";
    case kStepExec: return "executing the program";
    case kStepCgroupNs: return "entering a cgroup namespace";
    case kStepCgroupAttach: return "joining the run's cgroup";
    default: return "setup";
  }
}

std::string SignalName(int sig) {
  const char* abbrev = ::sigabbrev_np(sig);
  return abbrev ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
}

// Number of CPUs in a cpuset list such as "0-3,6".
int CountCpus(const std::string& list) {
  int count = 0;
  size_t b = 0;
  while (b < list.size()) {
    size_t e = list.find(',', b);
    if (e == std::string::npos) e = list.size();
    std::string part = list.substr(b, e - b);
    size_t dash = part.find('-');
    count += dash == std::string::npos
                 ? 1
                 : std::max(1, std::atoi(part.c_str() + dash + 1) - std::atoi(part.c_str()) + 1);
    b = e + 1;
  }
  return std::max(1, count);
}

}  // namespace

Execution::Execution(const RunSpec& spec, const HostFacts& host, RunCgroup& cg, uint32_t host_id,
                     const std::string& staging, int netns, RunResult& out)
    : spec_(&spec),
      host_(host),
      cg_(cg),
      host_id_(host_id),
      staging_(staging),
      netns_(netns),
      out_(&out) {}

Execution::~Execution() {
  if (pidfd_ && !reaped_) {
    ::syscall(SYS_pidfd_send_signal, pidfd_.get(), SIGKILL, nullptr, 0);
    Reap();
  }
}

void Execution::Run() {
  Status st = OpenStreams();
  if (st.ok()) st = Ready();
  if (st.ok()) st = SendGo();
  Complete(st);
}

Status Execution::Ready(bool ahead) {
  child_.normal_policy_when_built = ahead;
  Status st = Prepare();
  out_->trace.Mark("plan");
  if (st.ok()) st = Start();
  return st;
}

void Execution::RunPrepared(const RunSpec& spec, RunResult& out,
                            const std::function<void()>& after_go) {
  spec_ = &spec;
  out_ = &out;
  Status st = OpenStreams();
  if (st.ok()) st = SendGo();
  if (st.ok() && after_go) after_go();
  Complete(st);
}

void Execution::Complete(Status st) {
  if (st.ok()) st = AwaitStart();
  if (!st.ok()) {
    out_->status = RunStatus::kSandboxError;
    out_->end = exec_failed_ ? RunEnd::kExecFailed : RunEnd::kSandboxFailed;
    out_->message = st.ToString();
    return;
  }
  Supervise();
  // Once the init has reported the program's exit, the program and everything it
  // started are gone and their output is in the pipes: the init, waiting, is ended
  // and reaped off the critical path (TakeRemains). Killed, or the init gone, the run is
  // over when the init is reaped.
  if (!exited_) Reap();
  out_->trace.Mark("teardown");
  for (OutPipe& o : outs_) {
    if (o.open) Pump(o);
  }
  Classify();
}

Status Execution::Prepare() {
  const Limits& lim = spec_->limits;
  if (spec_->argv.empty() || spec_->argv[0].empty()) return Status::Error("no program to run");
  if (!(lim.cpu_time_s > 0) || lim.memory_bytes <= 0 || lim.pids <= 0 || lim.output_bytes <= 0 ||
      lim.tmpfs_bytes <= 0 || lim.tmpfs_inodes <= 0) {
    return Status::Error("limits must be positive");
  }
  if (spec_->cwd != "/") RETURN_IF_ERROR(CheckInsidePath(spec_->cwd, "working directory"));

  path_var_ = "/usr/local/bin:/usr/bin:/bin";
  for (const std::string& e : spec_->env)
    if (e.rfind("PATH=", 0) == 0) path_var_ = e.substr(5);
  if (spec_->argv[0].find('/') != std::string::npos) {
    exec_paths_.push_back(spec_->argv[0]);
  } else {
    size_t b = 0;
    while (b <= path_var_.size()) {
      size_t e = std::min(path_var_.find(':', b), path_var_.size());
      if (e > b) exec_paths_.push_back(path_var_.substr(b, e - b) + "/" + spec_->argv[0]);
      b = e + 1;
    }
  }
  for (const auto& p : exec_paths_) exec_cstr_.push_back(p.c_str());
  for (const auto& a : spec_->argv) argv_.push_back(const_cast<char*>(a.c_str()));
  argv_.push_back(nullptr);
  for (const auto& e : spec_->env) envp_.push_back(const_cast<char*>(e.c_str()));
  envp_.push_back(nullptr);

  auto rl = [&](int res, double soft, double hard) {
    rlimits_.push_back({res, {static_cast<rlim_t>(soft), static_cast<rlim_t>(hard)}});
  };
  const double cpu_cap = std::ceil(lim.cpu_time_s) + 1;
  rl(RLIMIT_CPU, cpu_cap, cpu_cap + 1);  // a backstop; the parent enforces the real limit
  rl(RLIMIT_FSIZE, static_cast<double>(lim.output_bytes), static_cast<double>(lim.output_bytes));
  rl(RLIMIT_STACK, static_cast<double>(lim.memory_bytes), static_cast<double>(lim.memory_bytes));
  // 1, not 0: a core_pattern that pipes to a helper ignores 0 but honours 1 (no dump).
  rl(RLIMIT_CORE, 1, 1);
  rl(RLIMIT_NOFILE, 1024, 1024);

  for (int sig = 1; sig < NSIG; ++sig) {
    struct sigaction sa;
    if (sig != SIGKILL && sig != SIGSTOP && ::sigaction(sig, nullptr, &sa) == 0 &&
        sa.sa_handler != SIG_DFL) {
      reset_signals_.push_back(sig);
    }
  }

  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
    return Status::Errno("socketpair");
  }
  sync_.reset(sv[0]);
  child_sync_.reset(sv[1]);

  ChildPlan& c = child_;
  c.sync_fd = child_sync_.get();
  keep_fds_ = {c.sync_fd};
  if (cg_.clone_into_fd() < 0) {
    for (const std::string& path : cg_.SelfAttachFiles()) {
      UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
      if (!fd) return Status::Errno("open " + path);
      attach_fds_.push_back(fd.get());
      keep_fds_.push_back(fd.get());
      attach_owned_.push_back(std::move(fd));
    }
  }
  c.attach_fds = attach_fds_.data();
  c.n_attach_fds = static_cast<int>(attach_fds_.size());
  std::sort(keep_fds_.begin(), keep_fds_.end());
  ASSIGN_OR_RETURN(plan_, BuildMountPlan(*spec_, staging_, std::max(3, keep_fds_.back() + 1)));
  c.keep_fds = keep_fds_.data();
  c.n_keep_fds = static_cast<int>(keep_fds_.size());
  c.mounts = plan_.ops.data();
  c.n_mounts = static_cast<int>(plan_.ops.size());
  c.hostname = spec_->hostname.empty() ? nullptr : spec_->hostname.c_str();
  c.loopback = spec_->loopback && netns_ < 0;  // a pooled namespace comes configured
  c.cwd = spec_->cwd.c_str();
  c.rlimits = rlimits_.data();
  c.n_rlimits = static_cast<int>(rlimits_.size());
  c.cap_last_cap = host_.cap_last_cap;
  c.reset_signals = reset_signals_.data();
  c.n_reset_signals = static_cast<int>(reset_signals_.size());
  if (spec_->seccomp) {
    fprog_.len = static_cast<unsigned short>(spec_->seccomp->filter.size());
    fprog_.filter = const_cast<sock_filter*>(spec_->seccomp->filter.data());
    c.seccomp = &fprog_;
    c.seccomp_listener = spec_->seccomp->notify;
    c.seccomp_before_go = spec_->seccomp->allows_waiting;
  }
  c.spawn_stack_top = host_.spawn_stack_top;
  c.arg_area = host_.arg_area;
  c.arg_area_len = host_.arg_area_len;
  c.exec_paths = exec_cstr_.data();
  c.n_exec_paths = static_cast<int>(exec_cstr_.size());
  c.argv = argv_.data();
  c.envp = envp_.data();
  return Status::Ok();
}

int OpenStreamFile(const std::string& path, bool output) {
  return output ? ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0644)
                : ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
}

Status Execution::OpenStreams() {
  int* const stdio = stdio_;  // the go's three fds
  switch (spec_->stdin_stream.kind) {
    case Stream::kFile: {
      const Stream& in = spec_->stdin_stream;
      stdin_fd_.reset(in.fd >= 0 ? ::fcntl(in.fd, F_DUPFD_CLOEXEC, 0)
                                 : OpenStreamFile(in.path, /*output=*/false));
      if (!stdin_fd_) return Status::Errno("cannot open --stdin " + in.path);
      // A directory as fd 0 would open the host's tree to the program (/proc/self/fd/0/..).
      struct stat st;
      if (::fstat(stdin_fd_.get(), &st) != 0 || !(S_ISREG(st.st_mode) || S_ISFIFO(st.st_mode) ||
                                                  S_ISCHR(st.st_mode))) {
        return Status::Error("--stdin " + spec_->stdin_stream.path + " is not a file");
      }
      stdio[0] = stdin_fd_.get();
      break;
    }
    case Stream::kFd:
      stdio[0] = spec_->stdin_stream.fd;
      if (::fcntl(stdio[0], F_GETFD) < 0)
        return Status::Errno("stdin fd " + std::to_string(stdio[0]));
      break;
    default:
      stdin_fd_.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
      stdio[0] = stdin_fd_.get();
  }
  const Stream* specs[2] = {&spec_->stdout_stream, &spec_->stderr_stream};
  std::string* captures[2] = {&out_->stdout_data, &out_->stderr_data};
  for (int i = 0; i < 2; ++i) {
    const Stream& s = *specs[i];
    if (s.kind == Stream::kFd) {
      stdio[i + 1] = s.fd;
      if (::fcntl(s.fd, F_GETFD) < 0) {
        return Status::Errno(std::string(i == 0 ? "stdout" : "stderr") + " fd " +
                             std::to_string(s.fd));
      }
      continue;
    }
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) return Status::Errno("pipe");
    OutPipe& o = outs_[i];
    o.read_end.reset(p[0]);
    o.write_end.reset(p[1]);
    o.open = true;
    ::fcntl(p[0], F_SETFL, O_NONBLOCK);
    stdio[i + 1] = p[1];
    if (s.kind == Stream::kFile) {
      o.file.reset(s.fd >= 0 ? ::fcntl(s.fd, F_DUPFD_CLOEXEC, 0)
                             : OpenStreamFile(s.path, /*output=*/true));
      if (!o.file) {
        return Status::Errno(std::string("cannot open --") + (i == 0 ? "stdout " : "stderr ") +
                             s.path);
      }
    } else if (s.kind == Stream::kCapture) {
      o.capture = captures[i];
      o.capture_limit = s.capture_limit >= 0 ? s.capture_limit : spec_->limits.output_bytes;
    }
  }
  for (int i = 0; i < 3; ++i) {
    const int fd = stdio[i];
    if (fd < 0) return Status::Error("a standard stream has no fd");
  }
  return Status::Ok();
}

long Execution::Clone(::clone_args* ca, bool* spawned) {
  *spawned = false;
  if (host_.spawner && host_.spawner->usable()) {
    // From the spawner (CLONE_PARENT: the init is this process's child all the same),
    // unless it does not take the request: then from this thread, below.
    const int cgroup = (ca->flags & CLONE_INTO_CGROUP) ? static_cast<int>(ca->cgroup) : -1;
    bool joining = false;
    const long pid = host_.spawner->Clone(child_, ca->flags, cgroup, netns_,
                                          reinterpret_cast<int*>(ca->pidfd), &joining);
    if (pid > 0 || !Spawner::Refused(errno)) {
      *spawned = true;
      netns_failed_ = pid < 0 && joining;
      return pid;
    }
  }
  if (netns_ < 0) return ::syscall(SYS_clone3, ca, sizeof *ca);
  // The child is born in the calling thread's network namespace: this thread joins
  // the slot's for the clone and goes back (setns affects this thread only).
  UniqueFd own(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  if (!own || ::setns(netns_, CLONE_NEWNET) != 0) {
    netns_failed_ = true;
    return -1;
  }
  long pid = ::syscall(SYS_clone3, ca, sizeof *ca);
  if (pid == 0) return 0;
  const int saved = errno;
  if (::setns(own.get(), CLONE_NEWNET) != 0) {
    // This thread would go on in a run's namespace: better to stop here.
    std::fprintf(stderr, "judge: cannot return to the host's network namespace: %s\n",
                 std::strerror(errno));
    std::abort();
  }
  errno = saved;
  return pid;
}

Status Execution::Start() {
  // The init is born in new namespaces (its cgroup namespace comes once it is in its
  // cgroup); on cgroup v2 it is born straight into the run's cgroup.
  int pidfd = -1;
  struct clone_args ca {};
  ca.flags = CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS |
             CLONE_PIDFD | (netns_ < 0 ? CLONE_NEWNET : 0);
  ca.pidfd = reinterpret_cast<uint64_t>(&pidfd);
  ca.exit_signal = SIGCHLD;
  born_in_cgroup_ = cg_.clone_into_fd() >= 0;
  if (born_in_cgroup_) {
    ca.flags |= CLONE_INTO_CGROUP;
    ca.cgroup = static_cast<uint64_t>(cg_.clone_into_fd());
  }
  bool spawned = false;
  long pid = Clone(&ca, &spawned);
  // EIO: the spawner may have made an init that holds this run's socket (Spawner::Clone).
  if (pid < 0 && born_in_cgroup_ && !netns_failed_ && errno != EIO) {
    ca.flags &= ~static_cast<uint64_t>(CLONE_INTO_CGROUP);
    ca.cgroup = 0;
    born_in_cgroup_ = false;
    pid = Clone(&ca, &spawned);
  }
  if (pid == 0) RunChild(child_);
  if (pid < 0 && netns_failed_) return Status::Errno("joining the run's network namespace");
  if (pid < 0) {
    return Status::Errno("clone3 with new namespaces (are user namespaces enabled? see "
                         "/proc/sys/user/max_user_namespaces)");
  }
  out_->trace.Mark("clone");
  pid_ = static_cast<pid_t>(pid);
  pidfd_.reset(pidfd);
  // Made by the spawner, the init has its CPUs, not the caller's: a run made on demand
  // by a pinned thread (a worker's slot) is given the caller's before it starts.
  if (spawned && !child_.normal_policy_when_built) InheritFromCaller();
  // Holding the mount namespace moves its teardown (unmounting every mount of the
  // container) out of the init's exit: the caller drops the hold when it suits it.
  mount_ns_.reset(::open(("/proc/" + std::to_string(pid_) + "/ns/mnt").c_str(), O_RDONLY | O_CLOEXEC));
  child_sync_.reset();

  // Id maps, then (cgroup v1) into the run's cgroup, then go.
  const std::string proc = "/proc/" + std::to_string(pid_);
  const std::string map = "0 " + std::to_string(host_id_) + " 1\n";
  RETURN_IF_ERROR(WriteFile(proc + "/uid_map", map).Context("writing the uid map"));
  RETURN_IF_ERROR(WriteFile(proc + "/gid_map", map).Context("writing the gid map"));
  if (!born_in_cgroup_ && attach_fds_.empty()) {
    RETURN_IF_ERROR(cg_.Attach(pid_).Context("joining the run's cgroup"));
  }
  attach_owned_.clear();
  if (::send(sync_.get(), "g", 1, MSG_NOSIGNAL) != 1) return Status::Errno("starting the child");
  out_->trace.Mark("ids");
  return Status::Ok();
}

void Execution::InheritFromCaller() {
  cpu_set_t cpus;
  CPU_ZERO(&cpus);
  if (::sched_getaffinity(0, sizeof cpus, &cpus) != 0 || CPU_EQUAL(&cpus, &host_.cpus)) {
    return;  // the maker's CPUs (every one of this process's) already
  }
  (void)::sched_setaffinity(pid_, sizeof cpus, &cpus);
  inherited_ = true;
}

Execution::Remains Execution::TakeRemains() {
  Remains r;
  if (!reaped_ && pidfd_) {
    r.init = std::move(pidfd_);
    reaped_ = true;  // by Remains::Clear
  }
  r.sync = std::move(sync_);
  r.mount_ns = std::move(mount_ns_);
  return r;
}

void Execution::Remains::Clear() {
  if (init) {
    ::syscall(SYS_pidfd_send_signal, init.get(), SIGKILL, nullptr, 0);
    siginfo_t info;
    while (::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(init.get()), &info,
                    WEXITED) != 0 &&
           errno == EINTR) {
    }
    init.reset();
  }
  sync.reset();
  mount_ns.reset();
}

Status Execution::SendGo() {
  const char word = inherited_ ? kGoInherit : kGo;
  if (SendWithFds(sync_.get(), &word, 1, stdio_, 3) < 0 && errno != EPIPE && errno != ECONNRESET) {
    // (A gone init, EPIPE, failed its setup: AwaitStart reads why.)
    return Status::Errno("passing the program's standard streams to the container");
  }
  // The init holds its copies now (or is gone).
  for (OutPipe& o : outs_) o.write_end.reset();
  stdin_fd_.reset();
  if (spec_->on_started) spec_->on_started();
  return Status::Ok();
}

bool Execution::ReceiveMessage(ChildMessage* m) {
  char control[CMSG_SPACE(sizeof(int))];
  struct iovec iov = {m, sizeof *m};
  struct msghdr msg {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  do {
    *m = ChildMessage{};
    n = ::recvmsg(sync_.get(), &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  if (n != static_cast<ssize_t>(sizeof *m)) return false;
  struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
  if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
    int fd;
    std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
    if (m->kind == ChildMessage::kListener) {
      listener_.reset(fd);
    } else {
      ::close(fd);
    }
  }
  return true;
}

std::string Execution::DescribeError(const ChildMessage& m) const {
  if (m.step == kStepSpawn) {
    return "the program's process ended before its start (killed from outside the "
           "container?)";
  }
  if (m.step == kStepExec) {
    return "cannot execute '" + spec_->argv[0] + "'" +
           (m.err == ENOENT ? " (not found in the container; PATH=" + path_var_ + ")" : "");
  }
  size_t i = static_cast<size_t>(m.step - kStepMount);
  if (m.step >= kStepMount && i < plan_.what.size()) {
    return "container setup failed at " + plan_.what[i];
  }
  return std::string("container setup failed at ") + StepName(m.step);
}

Status Execution::NextSetupMessage(ChildMessage* m) {
  // Often queued already (a warm container's kReady): then no poll.
  bool got = ReceiveMessage(m);
  while (!got) {
    struct pollfd pfd = {sync_.get(), POLLIN, 0};
    int rc = ::poll(&pfd, 1, kSetupTimeoutMs);
    if (rc < 0 && errno == EINTR) continue;
    if (rc == 0) return Status::Error("container setup did not finish within 30 s");
    if (!ReceiveMessage(m)) {
      Reap();
      auto u = cg_.Usage();
      if (u.ok() && u->oom_kills > 0) {
        return Status::Error("the container ran out of memory during setup; raise --memory");
      }
      return Status::Error(
          "the container's init died during setup (" +
          (init_exit_.si_code == CLD_EXITED ? "exit code " + std::to_string(init_exit_.si_status)
                                            : "killed by " + SignalName(init_exit_.si_status)) +
          ")");
    }
    got = true;
  }
  if (m->kind == ChildMessage::kError) {
    exec_failed_ = m->step == kStepExec;
    return Status::Error(DescribeError(*m), m->err);
  }
  return Status::Ok();
}

Status Execution::AwaitReady() {
  ChildMessage m;
  do {
    RETURN_IF_ERROR(NextSetupMessage(&m));
  } while (m.kind != ChildMessage::kReady);
  return Status::Ok();
}

bool Execution::BindsMatch(const RunSpec& spec) const {
  const std::string root = "/proc/" + std::to_string(pid_) + "/root";
  for (const Bind& b : spec.binds) {
    struct stat inside, host;
    if (::stat((root + b.target).c_str(), &inside) != 0 || ::stat(b.source.c_str(), &host) != 0 ||
        inside.st_dev != host.st_dev || inside.st_ino != host.st_ino) {
      return false;
    }
  }
  return true;
}

Status Execution::AwaitStart() {
  for (;;) {
    ChildMessage m;
    RETURN_IF_ERROR(NextSetupMessage(&m));
    switch (m.kind) {
      case ChildMessage::kReady:  // made on demand: built now
        out_->trace.Mark("setup");
        break;
      case ChildMessage::kStarted:
        out_->trace.Mark("exec");
        start_ns_ = m.time_ns > 0 ? m.time_ns : NowNs();  // wall time runs from the go
        pre_exec_user_ns_ = m.user_ns;
        pre_exec_system_ns_ = m.system_ns;
        tmpfs_base_ = m.tmpfs_bytes;
        init_user_ns_ = m.init_user_ns;
        init_system_ns_ = m.init_system_ns;
        return Status::Ok();
      default:
        break;
    }
  }
}

void Execution::Kill(Killed why) {
  if (killed_ == Killed::kNo) killed_ = why;
  // The init is PID 1 of the run's pid namespace: when it dies, everything dies.
  ::syscall(SYS_pidfd_send_signal, pidfd_.get(), SIGKILL, nullptr, 0);
}

void Execution::Pump(OutPipe& o) {
  char buf[65536];
  const long long limit = spec_->limits.output_bytes;
  for (;;) {
    ssize_t n = ::read(o.read_end.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0 || errno != EAGAIN) {
        o.open = false;
        o.read_end.reset();
      }
      return;
    }
    const long long room = std::max(0LL, limit - output_);
    const size_t keep = static_cast<size_t>(std::min<long long>(room, n));
    output_ += n;
    if (o.file && keep > 0 && ::write(o.file.get(), buf, keep) < 0) {
      o.file.reset();  // host disk full or similar: stop writing, keep counting
    }
    if (o.capture && keep > 0) {
      const long long capture_room = o.capture_limit - static_cast<long long>(o.capture->size());
      o.capture->append(buf, static_cast<size_t>(std::max(0LL, std::min<long long>(capture_room, keep))));
    }
    if (output_ > limit) Kill(Killed::kOutput);
  }
}

void Execution::Supervise() {
  const Limits& lim = spec_->limits;
  const double wall_s = lim.wall_time_s > 0 ? lim.wall_time_s : 2 * lim.cpu_time_s + 1;
  const int64_t wall_deadline = start_ns_ + static_cast<int64_t>(wall_s * 1e9);
  const int64_t cpu_limit_ns = static_cast<int64_t>(lim.cpu_time_s * 1e9);
  const int cpus = spec_->cpus.empty() ? host_.online_cpus : CountCpus(spec_->cpus);
  bool init_gone = false;
  while (!exited_ && !init_gone) {
    struct pollfd pfds[5];
    int n = 0;
    pfds[n++] = {pidfd_.get(), POLLIN, 0};
    pfds[n++] = {sync_.get(), POLLIN, 0};
    int out_idx[2] = {-1, -1};
    for (int i = 0; i < 2; ++i) {
      if (outs_[i].open) {
        out_idx[i] = n;
        pfds[n++] = {outs_[i].read_end.get(), POLLIN, 0};
      }
    }
    int notify_idx = -1;
    if (listener_) {
      notify_idx = n;
      pfds[n++] = {listener_.get(), POLLIN, 0};
    }
    // Wake when the CPU limit could first be reached, or at the wall deadline.
    int64_t wait_ns = std::min<int64_t>(wall_deadline - NowNs(), (cpu_limit_ns - cpu_used_ns_) / cpus);
    wait_ns = std::clamp<int64_t>(wait_ns, 1000000, 100000000);
    int rc = ::poll(pfds, static_cast<nfds_t>(n), static_cast<int>((wait_ns + 999999) / 1000000));
    if (rc < 0 && errno != EINTR) {
      Kill(Killed::kWall);  // cannot supervise: end the run rather than wait on it
      break;
    }

    if (notify_idx >= 0 && (pfds[notify_idx].revents & POLLIN)) {
      struct seccomp_notif req;
      std::memset(&req, 0, sizeof req);
      if (::ioctl(listener_.get(), SECCOMP_IOCTL_NOTIF_RECV, &req) == 0) {
        if (syscall_.empty()) syscall_ = SyscallName(req.data.arch, req.data.nr);
        Kill(Killed::kSyscall);
      }
    } else if (notify_idx >= 0 && (pfds[notify_idx].revents & (POLLHUP | POLLERR | POLLNVAL))) {
      listener_.reset();
    }
    for (int i = 0; i < 2; ++i) {
      if (out_idx[i] >= 0 && pfds[out_idx[i]].revents) Pump(outs_[i]);
    }
    if (pfds[1].revents || pfds[0].revents) {
      ChildMessage m;
      while (ReceiveMessage(&m)) {
        if (m.kind == ChildMessage::kExit) {
          end_ns_ = m.time_ns > 0 ? m.time_ns : NowNs();
          exited_ = true;
          wait_status_ = m.wait_status;
          program_user_ns_ = m.user_ns;
          program_system_ns_ = m.system_ns;
          init_user_ns_ = m.init_user_ns;
          init_system_ns_ = m.init_system_ns;
          file_bytes_ = std::max<int64_t>(0, m.tmpfs_bytes - tmpfs_base_);
          out_->trace.Mark("run");
          // Measure now: the init waits, and the namespaces' teardown (unmounting,
          // freeing the tmpfs) is not charged to the program. It holds none of the
          // program's streams; TakeRemains' holder ends it, off the run's critical
          // path (its exit tears the namespaces down).
          auto u = cg_.Usage();
          if (u.ok()) usage_ = std::make_unique<CgroupUsage>(*u);
          if (spec_->copy_out) CopyOutFiles();
          out_->trace.Mark("measure");
          break;
        }
      }
      if (pfds[0].revents & POLLIN) init_gone = true;
      if (sync_ && (pfds[1].revents & (POLLHUP | POLLERR))) init_gone = true;
    }
    if (exited_ || init_gone) break;
    if (killed_ != Killed::kNo) continue;
    if (spec_->cancelled && spec_->cancelled()) {
      Kill(Killed::kCancelled);
      continue;
    }
    if (NowNs() >= wall_deadline) {
      Kill(Killed::kWall);
      continue;
    }
    auto u = cg_.Usage();
    if (u.ok()) {
      cpu_used_ns_ = u->cpu_total_ns - SetupUser() - SetupSystem();
      if (cpu_used_ns_ > cpu_limit_ns) Kill(Killed::kCpu);
    }
  }
  if (end_ns_ == 0) end_ns_ = NowNs();
}

void Execution::CopyOutFiles() {
  const CopyOut& c = *spec_->copy_out;
  auto fail = [&](const std::string& why) { out_->copy_out_error = why; };
  // The container's root, as its init (still alive, waiting) sees it.
  UniqueFd root(::open(("/proc/" + std::to_string(pid_) + "/root").c_str(),
                       O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) return fail("cannot open the container's root: " + std::string(std::strerror(errno)));
  std::string rel = c.inside_dir;
  while (!rel.empty() && rel[0] == '/') rel.erase(0, 1);
  UniqueFd dir(OpenBeneath(root.get(), rel.empty() ? "." : rel, O_RDONLY | O_DIRECTORY));
  if (!dir) return fail(c.inside_dir + " cannot be opened: " + std::strerror(errno));
  DIR* d = ::fdopendir(::fcntl(dir.get(), F_DUPFD_CLOEXEC, 0));
  if (!d) return fail("fdopendir: " + std::string(std::strerror(errno)));
  long long total = 0;
  std::vector<std::string> names;
  while (struct dirent* e = ::readdir(d)) {
    if (e->d_type == DT_REG) names.push_back(e->d_name);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  if (static_cast<int>(names.size()) > c.max_files) {
    return fail(c.inside_dir + " holds " + std::to_string(names.size()) + " files, more than " +
                std::to_string(c.max_files));
  }
  char buf[65536];
  for (const std::string& name : names) {
    UniqueFd in(OpenBeneath(dir.get(), name, O_RDONLY | O_NONBLOCK));
    struct stat st;
    if (!in || ::fstat(in.get(), &st) != 0 || !S_ISREG(st.st_mode)) continue;  // raced away
    total += st.st_size;
    if (total > c.max_bytes) {
      return fail(c.inside_dir + " holds more than " + std::to_string(c.max_bytes) + " bytes");
    }
    const mode_t mode = (st.st_mode & 0111) ? 0755 : 0644;
    UniqueFd outf(::open((c.host_dir + "/" + name).c_str(),
                         O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode));
    if (!outf) return fail("cannot create " + c.host_dir + "/" + name + ": " + std::strerror(errno));
    long long left = st.st_size;  // the size checked, whatever the file does meanwhile
    while (left > 0) {
      ssize_t n = ::read(in.get(), buf, static_cast<size_t>(std::min<long long>(left, sizeof buf)));
      if (n <= 0) break;
      if (::write(outf.get(), buf, static_cast<size_t>(n)) != n) {
        return fail("cannot write " + c.host_dir + "/" + name + ": " + std::strerror(errno));
      }
      left -= n;
    }
    ::fchmod(outf.get(), mode);
    out_->copied_out.push_back(name);
  }
}

void Execution::Reap() {
  if (reaped_ || !pidfd_) return;
  std::memset(&init_exit_, 0, sizeof init_exit_);
  while (::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd_.get()), &init_exit_,
                  WEXITED) != 0 &&
         errno == EINTR) {
  }
  reaped_ = true;
}

void Execution::Classify() {
  const Limits& lim = spec_->limits;
  if (!usage_) {
    auto usage = cg_.Usage();
    if (!usage.ok()) {
      out_->status = RunStatus::kSandboxError;
      out_->end = RunEnd::kSandboxFailed;
      out_->message = usage.status().Context("reading cgroup usage").ToString();
      return;
    }
    usage_ = std::make_unique<CgroupUsage>(*usage);
  }
  const CgroupUsage& u = *usage_;
  // Setup is not the program's time.
  const int64_t cpu_ns = std::max<int64_t>(0, u.cpu_total_ns - SetupUser() - SetupSystem());
  out_->cpu_time_ms = cpu_ns / 1e6;
  int64_t user = program_user_ns_, system = program_system_ns_;
  if (!exited_) {
    user = std::max<int64_t>(0, u.cpu_user_ns - SetupUser());
    system = std::max<int64_t>(0, u.cpu_system_ns - SetupSystem());
  }
  // The cgroup's total is exact; split it in the proportion the kernel measured.
  const double user_share = user + system > 0 ? static_cast<double>(user) / (user + system) : 1.0;
  out_->user_time_ms = out_->cpu_time_ms * user_share;
  out_->system_time_ms = out_->cpu_time_ms - out_->user_time_ms;
  out_->wall_time_ms = (end_ns_ - start_ns_) / 1e6;
  out_->memory_peak_bytes = u.memory_peak_bytes;
  // Output is what went to stdout and stderr plus the files the program left.
  out_->output_bytes = output_ + file_bytes_;
  if (exited_ && WIFEXITED(wait_status_)) {
    out_->exit_code = WEXITSTATUS(wait_status_);
  } else {
    out_->signal = exited_ && WIFSIGNALED(wait_status_) ? WTERMSIG(wait_status_) : SIGKILL;
    out_->signal_name = SignalName(out_->signal);
  }

  // Most specific first.
  const bool cpu_over = cpu_ns > static_cast<int64_t>(lim.cpu_time_s * 1e9);
  if (killed_ == Killed::kCancelled) {
    out_->status = RunStatus::kSandboxError;
    out_->end = RunEnd::kCancelled;
    out_->message = "cancelled";
  } else if (killed_ == Killed::kSyscall || (out_->signal == SIGSYS && !syscall_.empty())) {
    out_->status = RunStatus::kSecurityViolation;
    out_->end = RunEnd::kSyscall;
    out_->syscall = syscall_;
    out_->message = "forbidden system call " + syscall_;
  } else if (out_->signal == SIGSYS && spec_->seccomp && !spec_->seccomp->notify) {
    // Without notification, the filter kills with SIGSYS; with it, a SIGSYS is the
    // program's own doing (an RE below).
    out_->status = RunStatus::kSecurityViolation;
    out_->end = RunEnd::kSyscall;
    out_->message = "killed by seccomp (a forbidden system call)";
  } else if (killed_ == Killed::kCpu || cpu_over) {  // RLIMIT_CPU's SIGXCPU implies cpu_over
    out_->status = RunStatus::kTimeLimit;
    out_->end = RunEnd::kCpuTime;
    out_->message = "cpu time limit exceeded";
  } else if (killed_ == Killed::kWall) {
    out_->status = RunStatus::kTimeLimit;
    out_->end = RunEnd::kWallTime;
    out_->message = "wall time limit exceeded";
  } else if (killed_ == Killed::kOutput || out_->signal == SIGXFSZ ||
             out_->output_bytes > lim.output_bytes) {
    out_->status = RunStatus::kOutputLimit;
    out_->end = RunEnd::kOutput;
    out_->message = "output limit exceeded";
  } else if (u.oom_kills > 0 || (u.memory_peak_bytes >= lim.memory_bytes &&
                                 (out_->signal != 0 || out_->exit_code != 0))) {
    out_->status = RunStatus::kMemoryLimit;
    out_->end = RunEnd::kMemory;
    out_->message = "memory limit exceeded";
  } else if (out_->signal != 0) {
    out_->status = RunStatus::kRuntimeError;
    out_->end = RunEnd::kExited;
    out_->message = "killed by " + out_->signal_name;
  } else if (out_->exit_code != 0) {
    out_->status = RunStatus::kRuntimeError;
    out_->end = RunEnd::kExited;
    out_->message = "exit code " + std::to_string(out_->exit_code);
  } else {
    out_->status = RunStatus::kOk;
    out_->end = RunEnd::kExited;
  }
}

}  // namespace judge
