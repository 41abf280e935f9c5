#include "sandbox/spawner.h"

#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace judge {
namespace {

constexpr int kMaxKeepFds = kMaxSendFds - 2;  // and the cgroup and the network namespace
constexpr size_t kMaxRequest = 256 * 1024;    // a plan bigger than this is cloned in-process
constexpr size_t kSpawnerStackSize = 256 * 1024;
constexpr int kAnswerTimeoutMs = 30000;  // as long as a container's setup may take
constexpr char kArgv0[] = "judge-spawner";
constexpr char kFdVar[] = "JUDGE_SPAWNER_FD=";
constexpr char kParentVar[] = "JUDGE_SPAWNER_PARENT=";

struct Request {
  uint64_t flags;  // clone3 flags but CLONE_PARENT, CLONE_PIDFD, CLONE_INTO_CGROUP
  int32_t n_keep;  // the plan's keep_fds, first among the fds sent, in their order
  int32_t has_cgroup;
  int32_t has_netns;
  int32_t pad;
};
constexpr size_t kHeader = (sizeof(Request) + 15) / 16 * 16;  // the plan starts aligned

struct Answer {
  int64_t pid;  // -1: failed, with err
  int32_t err;
  int32_t joining;  // 1: it failed to join the network namespace given
};

// ---- the plan, flattened ----

template <typename T>
T* Offset(size_t off) {
  return reinterpret_cast<T*>(static_cast<uintptr_t>(off));
}

// Appends to `buf`; offsets (and alignment) are from where it started.
class Writer {
 public:
  explicit Writer(std::string& buf) : buf_(buf), base_(buf.size()) {}
  size_t Put(const void* p, size_t n, size_t align = 8) {
    while ((buf_.size() - base_) % align) buf_.push_back('\0');
    const size_t at = buf_.size() - base_;
    buf_.append(static_cast<const char*>(p), n);
    return at;
  }
  size_t Str(const char* s) { return s ? Put(s, std::strlen(s) + 1, 1) : 0; }
  // An array of strings (a null entry ends a null-terminated one).
  size_t Strs(const char* const* a, int n) {
    if (!a) return 0;
    std::vector<uintptr_t> offs;
    for (int i = 0; n < 0 ? a[i] != nullptr : i < n; ++i) offs.push_back(Str(a[i]));
    if (n < 0) offs.push_back(0);
    return Put(offs.data(), offs.size() * sizeof(uintptr_t));
  }
  char* start() { return buf_.data() + base_; }

 private:
  std::string& buf_;
  const size_t base_;
};

class Relocator {
 public:
  Relocator(char* buf, size_t len) : buf_(buf), len_(len) {}
  bool ok() const { return ok_; }

  template <typename T>
  void Array(T*& ptr, long n) {
    const uintptr_t off = reinterpret_cast<uintptr_t>(ptr);
    if (n <= 0) {
      ptr = nullptr;
      return;
    }
    if (off == 0 || off >= len_ || static_cast<size_t>(n) > (len_ - off) / sizeof(T) ||
        off % alignof(T) != 0) {  // (null with a count: refused too)
      Bad(ptr);
      return;
    }
    ptr = reinterpret_cast<T*>(buf_ + off);
  }
  void Str(const char*& s) {
    const uintptr_t off = reinterpret_cast<uintptr_t>(s);
    if (off == 0) return;
    if (off >= len_ || std::memchr(buf_ + off, '\0', len_ - off) == nullptr) {
      Bad(s);
      return;
    }
    s = buf_ + off;
  }
  // An array of string offsets, n long or (n < 0) ended by a 0.
  template <typename P>
  void Strs(P*& a, long n) {
    const uintptr_t off = reinterpret_cast<uintptr_t>(a);
    if (off == 0) return;
    if (off >= len_ || off % alignof(uintptr_t) != 0) {
      Bad(a);
      return;
    }
    if (n < 0) {
      n = 0;
      for (;;) {
        if ((n + 1) * sizeof(uintptr_t) > len_ - off) {
          Bad(a);
          return;
        }
        uintptr_t v;
        std::memcpy(&v, buf_ + off + n * sizeof(uintptr_t), sizeof v);
        if (v == 0) break;
        ++n;
      }
      ++n;  // the terminator
    }
    Array(a, n);
    if (!a) return;
    auto* entries = const_cast<const char**>(reinterpret_cast<const char* const*>(a));
    for (long i = 0; i < n; ++i) Str(entries[i]);
  }

 private:
  template <typename T>
  void Bad(T*& ptr) {
    ok_ = false;
    ptr = nullptr;
  }

  char* buf_;
  size_t len_;
  bool ok_ = true;
};

}  // namespace

std::string FlattenPlan(const ChildPlan& plan) {
  std::string out;
  FlattenPlan(plan, &out);
  return out;
}

void FlattenPlan(const ChildPlan& plan, std::string* out) {
  Writer w(*out);
  ChildPlan flat = plan;
  w.Put(&flat, sizeof flat);  // the header's place: offset 0 is never data, so it is null
  auto ints = [&](const int* a, int n) {
    return n > 0 && a ? Offset<const int>(w.Put(a, static_cast<size_t>(n) * sizeof(int))) : nullptr;
  };
  flat.keep_fds = ints(plan.keep_fds, plan.n_keep_fds);
  flat.attach_fds = ints(plan.attach_fds, plan.n_attach_fds);
  flat.reset_signals = ints(plan.reset_signals, plan.n_reset_signals);
  if (plan.mounts && plan.n_mounts > 0) {
    std::vector<MountOp> ops(plan.mounts, plan.mounts + plan.n_mounts);
    for (MountOp& op : ops) {
      op.source = Offset<const char>(w.Str(op.source));
      op.target = Offset<const char>(w.Str(op.target));
      op.fstype = Offset<const char>(w.Str(op.fstype));
      op.data = Offset<const char>(w.Str(op.data));
    }
    flat.mounts = Offset<const MountOp>(w.Put(ops.data(), ops.size() * sizeof(MountOp)));
  } else {
    flat.mounts = nullptr;
  }
  flat.hostname = Offset<const char>(w.Str(plan.hostname));
  flat.cwd = Offset<const char>(w.Str(plan.cwd));
  flat.rlimits =
      plan.n_rlimits > 0
          ? Offset<const RlimitSetting>(w.Put(plan.rlimits, plan.n_rlimits * sizeof(RlimitSetting)))
          : nullptr;
  if (plan.seccomp) {
    struct sock_fprog f = *plan.seccomp;
    f.filter = Offset<sock_filter>(w.Put(plan.seccomp->filter, f.len * sizeof(sock_filter)));
    flat.seccomp = Offset<const struct sock_fprog>(w.Put(&f, sizeof f));
  }
  flat.exec_paths = Offset<const char* const>(w.Strs(plan.exec_paths, plan.n_exec_paths));
  flat.argv = Offset<char* const>(w.Strs(plan.argv, -1));
  flat.envp = Offset<char* const>(w.Strs(plan.envp, -1));
  // The spawner's own: its stack region, its command line.
  flat.spawn_stack_top = nullptr;
  flat.arg_area = nullptr;
  flat.arg_area_len = 0;
  std::memcpy(w.start(), &flat, sizeof flat);
}

ChildPlan* RelocatePlan(char* buf, size_t len) {
  if (len < sizeof(ChildPlan) || reinterpret_cast<uintptr_t>(buf) % alignof(ChildPlan) != 0) {
    return nullptr;
  }
  ChildPlan* p = reinterpret_cast<ChildPlan*>(buf);
  Relocator r(buf, len);
  r.Array(p->keep_fds, p->n_keep_fds);
  r.Array(p->attach_fds, p->n_attach_fds);
  r.Array(p->reset_signals, p->n_reset_signals);
  r.Array(p->mounts, p->n_mounts);
  if (p->mounts) {
    for (int i = 0; i < p->n_mounts; ++i) {
      MountOp& op = const_cast<MountOp&>(p->mounts[i]);
      r.Str(op.source);
      r.Str(op.target);
      r.Str(op.fstype);
      r.Str(op.data);
    }
  }
  r.Str(p->hostname);
  r.Str(p->cwd);
  if (!p->cwd) p->cwd = "/";
  r.Array(p->rlimits, p->n_rlimits);
  if (p->seccomp) r.Array(p->seccomp, 1);  // none: no filter
  if (p->seccomp) {
    auto* f = const_cast<struct sock_fprog*>(p->seccomp);
    r.Array(f->filter, f->len);
  }
  r.Strs(p->exec_paths, p->n_exec_paths);
  r.Strs(p->argv, -1);
  r.Strs(p->envp, -1);
  if (!r.ok() || p->n_keep_fds < 0 || p->n_keep_fds > kMaxKeepFds || p->n_attach_fds < 0 ||
      p->n_mounts < 0 || p->n_rlimits < 0 || p->n_reset_signals < 0 || p->n_exec_paths < 0 ||
      !p->argv || !p->envp) {
    return nullptr;
  }
  return p;
}

namespace {

// ---- in the spawner: a fresh, single-threaded process of this program ----

long SendAnswer(int sock, long pid, int err, int pidfd, bool joining = false) {
  Answer a{pid, err, joining ? 1 : 0};
  return SendWithFds(sock, &a, sizeof a, &pidfd, pidfd >= 0 ? 1 : 0);
}

[[noreturn]] void SpawnerMain(int sock, pid_t parent, char** argv, char** envp) {
  ::prctl(PR_SET_NAME, kArgv0, 0, 0, 0);
  ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  if (::getppid() != parent) ::_exit(1);  // the engine went before the line above
  // Only for the engine that made it: its socket's other end is the parent's, as root.
  struct ucred peer {};
  socklen_t peer_len = sizeof peer;
  if (::getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &peer, &peer_len) != 0 || peer.pid != parent ||
      peer.uid != ::getuid() || ::getuid() != 0) {
    ::_exit(1);
  }
  struct sigaction dfl;
  std::memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) ::sigaction(sig, &dfl, nullptr);
  }
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  // Every init blanks its copy of this process's command line and environment.
  char* area = argv[0];
  char* area_end = argv[0] + std::strlen(argv[0]) + 1;
  for (char** e = envp; *e; ++e) area_end = std::max(area_end, *e + std::strlen(*e) + 1);
  void* stack = ::mmap(nullptr, kSpawnerStackSize, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  const int own_netns = ::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  if (stack == MAP_FAILED || own_netns < 0) ::_exit(1);
  if (::send(sock, "r", 1, MSG_NOSIGNAL) != 1) ::_exit(1);  // ready

  alignas(16) static char buf[kMaxRequest];
  for (;;) {
    int fds[kMaxSendFds];
    int n_fds = 0;
    const ssize_t n = RecvWithFds(sock, buf, sizeof buf, fds, kMaxSendFds, &n_fds);
    if (n == 0 || (n < 0 && errno != EMSGSIZE)) ::_exit(0);  // the engine closed its end
    auto close_fds = [&] {
      for (int i = 0; i < n_fds; ++i) ::close(fds[i]);
    };
    Request req;
    ChildPlan* plan = nullptr;
    if (n > 0 && static_cast<size_t>(n) > kHeader) {
      std::memcpy(&req, buf, sizeof req);
      if (req.n_keep >= 0 && req.n_keep <= kMaxKeepFds &&
          n_fds == req.n_keep + (req.has_cgroup ? 1 : 0) + (req.has_netns ? 1 : 0)) {
        plan = RelocatePlan(buf + kHeader, static_cast<size_t>(n) - kHeader);
      }
    }
    if (!plan || plan->n_keep_fds != req.n_keep) {
      close_fds();
      std::memset(buf, 0, n > 0 ? static_cast<size_t>(n) : sizeof buf);
      if (SendAnswer(sock, -1, EBADMSG, -1) < 0) ::_exit(1);  // not a request it takes
      continue;
    }
    plan->spawn_stack_top = static_cast<char*>(stack) + kSpawnerStackSize;
    plan->arg_area = area;
    plan->arg_area_len = static_cast<unsigned long>(area_end - area);
    const int cgroup_fd = req.has_cgroup ? fds[req.n_keep] : -1;
    const int netns_fd = req.has_netns ? fds[req.n_keep + (req.has_cgroup ? 1 : 0)] : -1;

    if (netns_fd >= 0 && ::setns(netns_fd, CLONE_NEWNET) != 0) {
      const int err = errno;
      close_fds();
      std::memset(buf, 0, static_cast<size_t>(n));
      if (SendAnswer(sock, -1, err, -1, /*joining=*/true) < 0) ::_exit(1);
      continue;
    }
    int pidfd = -1;
    struct clone_args ca {};
    ca.flags = req.flags | CLONE_PARENT | CLONE_PIDFD;
    ca.pidfd = reinterpret_cast<uint64_t>(&pidfd);
    ca.exit_signal = 0;  // CLONE_PARENT: this process's own exit signal (SIGCHLD)
    if (cgroup_fd >= 0) {
      ca.flags |= CLONE_INTO_CGROUP;
      ca.cgroup = static_cast<uint64_t>(cgroup_fd);
    }
    const long pid = ::syscall(SYS_clone3, &ca, sizeof ca);
    if (pid == 0) {
      ::prctl(PR_SET_NAME, "judge-init", 0, 0, 0);  // not the spawner's name, even briefly
      // The fds it keeps, at the numbers the plan gives them (the engine's).
      if (!MoveFds(fds, plan->keep_fds, req.n_keep, /*cloexec=*/true)) ::_exit(126);
      if (plan->normal_policy_when_built) {
        // Made ahead: built in the background, as by the engine's SCHED_BATCH thread;
        // the init takes the normal policy once built.
        struct sched_param none {};
        (void)::sched_setscheduler(0, SCHED_BATCH, &none);
      }
      RunChild(*plan);
    }
    const int err = errno;
    // Back in the host's network namespace, or no further.
    if (netns_fd >= 0 && ::setns(own_netns, CLONE_NEWNET) != 0) ::_exit(1);
    close_fds();
    // The next init's copy of this process holds its own plan and nothing of this one.
    std::memset(buf, 0, static_cast<size_t>(n));
    const long sent = SendAnswer(sock, pid, pid < 0 ? err : 0, pid > 0 ? pidfd : -1);
    if (pidfd >= 0) ::close(pidfd);
    if (sent < 0) ::_exit(1);
  }
}

// This program run again as the spawner: before anything else of it starts.
__attribute__((constructor(101))) void EnterSpawner(int argc, char** argv, char** envp) {
  if (argc < 1 || !argv || !argv[0] || std::strcmp(argv[0], kArgv0) != 0 || !envp) return;
  if (::getauxval(AT_SECURE) != 0) return;  // never for a program given privileges to run
  int sock = -1;
  pid_t parent = -1;
  for (char** e = envp; *e; ++e) {
    if (std::strncmp(*e, kFdVar, sizeof kFdVar - 1) == 0) sock = std::atoi(*e + sizeof kFdVar - 1);
    if (std::strncmp(*e, kParentVar, sizeof kParentVar - 1) == 0) {
      parent = static_cast<pid_t>(std::atol(*e + sizeof kParentVar - 1));
    }
  }
  int type = 0;
  socklen_t len = sizeof type;
  if (sock < 3 || parent <= 1 || ::getsockopt(sock, SOL_SOCKET, SO_TYPE, &type, &len) != 0 ||
      type != SOCK_SEQPACKET) {
    return;
  }
  SpawnerMain(sock, parent, argv, envp);
}

}  // namespace

std::unique_ptr<Spawner> Spawner::Start(const cpu_set_t& cpus, std::string* why) {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
    *why = std::string("socketpair: ") + std::strerror(errno);
    return nullptr;
  }
  std::unique_ptr<Spawner> s(new Spawner());
  s->sock_.reset(sv[0]);
  // Room for the biggest request in the socket (AF_UNIX refuses a datagram beyond it).
  const int room = static_cast<int>(2 * kMaxRequest);
  for (int fd : {sv[0], sv[1]}) {
    if (::setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &room, sizeof room) != 0) {
      (void)::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &room, sizeof room);
    }
  }
  // Made before the fork: the child may only make system calls.
  const std::string fd_var = std::string(kFdVar) + "3";
  const std::string parent_var = std::string(kParentVar) + std::to_string(::getpid());
  std::mutex mu;
  std::condition_variable cv;
  pid_t pid = 0;  // 0: not yet; -1: failed
  int fork_errno = 0;
  Spawner* self = s.get();
  s->keeper_ = std::thread([&, self, theirs = sv[1]] {
    char* const child_argv[] = {const_cast<char*>(kArgv0), nullptr};
    char* const child_env[] = {const_cast<char*>(fd_var.c_str()),
                               const_cast<char*>(parent_var.c_str()), nullptr};
    const pid_t p = ::fork();
    if (p == 0) {
      // Its socket as fd 3, /dev/null as 0-2, nothing else of the engine's.
      if (theirs == 3 ? ::fcntl(3, F_SETFD, 0) != 0 : ::dup2(theirs, 3) != 3) ::_exit(127);
      const int null = ::open("/dev/null", O_RDWR);  // closed below unless it is one of 0-2
      if (null < 0 || ::dup2(null, 0) < 0 || ::dup2(null, 1) < 0 || ::dup2(null, 2) < 0)
        ::_exit(127);
      ::syscall(SYS_close_range, 4, ~0U, 0);
      ::execve("/proc/self/exe", child_argv, child_env);
      ::_exit(127);
    }
    const int err = errno;
    ::close(theirs);
    if (p > 0) {
      // Whichever thread made the Sandbox: the spawner (and the inits, which inherit
      // from it) gets every CPU of the process and the normal policy.
      struct sched_param none {};
      (void)::sched_setscheduler(p, SCHED_OTHER, &none);
      (void)::sched_setaffinity(p, sizeof cpus, &cpus);
    }
    {
      // Notified under the lock: Start's locals are not touched once it is released.
      std::lock_guard<std::mutex> lock(mu);
      pid = p > 0 ? p : -1;
      fork_errno = err;
      cv.notify_one();
    }
    if (p < 0) return;
    // Until ~Spawner (a condition, not a pipe: a child forked elsewhere could hold a
    // pipe's end): this thread is every init's parent.
    {
      std::unique_lock<std::mutex> lock(self->stop_mu_);
      self->stop_cv_.wait(lock, [self] { return self->stopping_; });
    }
    while (::waitpid(p, nullptr, 0) < 0 && errno == EINTR) {
    }
  });
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return pid != 0; });
  }
  if (pid < 0) {
    *why = std::string("fork: ") + std::strerror(fork_errno);
    return nullptr;  // ~Spawner joins the keeper
  }
  s->pid_ = pid;
  // Its "ready", or why not.
  struct pollfd pfd = {s->sock_.get(), POLLIN, 0};
  char ready = 0;
  int rc;
  do {
    rc = ::poll(&pfd, 1, kAnswerTimeoutMs);
  } while (rc < 0 && errno == EINTR);
  if (rc != 1 || ::recv(s->sock_.get(), &ready, 1, 0) != 1 || ready != 'r') {
    *why = "it did not start (running /proc/self/exe as " + std::string(kArgv0) + ")";
    return nullptr;
  }
  return s;
}

Spawner::~Spawner() {
  sock_.reset();                        // the spawner ends at the end of its socket
  if (pid_ > 0) ::kill(pid_, SIGKILL);  // at once, whatever it was doing
  {
    std::lock_guard<std::mutex> lock(stop_mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (keeper_.joinable()) keeper_.join();
}

bool Spawner::Refused(int err) { return err == EPIPE || err == E2BIG || err == EBADMSG; }

bool Spawner::usable() const {
  std::lock_guard<std::mutex> lock(mu_);
  return !gone_;
}

long Spawner::Clone(const ChildPlan& plan, uint64_t flags, int cgroup_fd, int netns_fd, int* pidfd,
                    bool* joining_failed) {
  *joining_failed = false;
  if (plan.n_keep_fds > kMaxKeepFds) {
    errno = E2BIG;
    return -1;
  }
  Request req{};
  req.flags = flags & ~static_cast<uint64_t>(CLONE_PIDFD | CLONE_PARENT | CLONE_INTO_CGROUP);
  req.n_keep = plan.n_keep_fds;
  req.has_cgroup = cgroup_fd >= 0;
  req.has_netns = netns_fd >= 0;
  std::string message(kHeader, '\0');
  std::memcpy(message.data(), &req, sizeof req);
  FlattenPlan(plan, &message);  // after the header, in place
  if (message.size() > kMaxRequest) {
    errno = E2BIG;
    return -1;
  }
  int fds[kMaxSendFds];
  int n_fds = 0;
  for (int i = 0; i < plan.n_keep_fds; ++i) fds[n_fds++] = plan.keep_fds[i];
  if (cgroup_fd >= 0) fds[n_fds++] = cgroup_fd;
  if (netns_fd >= 0) fds[n_fds++] = netns_fd;

  std::lock_guard<std::mutex> lock(mu_);
  if (gone_) {
    errno = EPIPE;
    return -1;
  }
  if (SendWithFds(sock_.get(), message.data(), message.size(), fds, n_fds) < 0) {
    // Nothing was sent: this request is refused; a dead spawner, every one from now on.
    if (errno == EMSGSIZE || errno == ENOBUFS || errno == ENOMEM || errno == ETOOMANYREFS) {
      errno = E2BIG;
      return -1;
    }
    GoneLocked("its socket refused a request");
    errno = EPIPE;
    return -1;
  }
  // Sent: from here on a failure is not a refusal (an init may have been made, holding
  // the run's socket), so the run fails, and the spawner, no longer trusted, goes.
  auto broken = [&](const char* what) {
    GoneLocked(what);
    errno = EIO;
    return -1L;
  };
  struct pollfd pfd = {sock_.get(), POLLIN, 0};
  int rc;
  do {
    rc = ::poll(&pfd, 1, kAnswerTimeoutMs);
  } while (rc < 0 && errno == EINTR);
  if (rc != 1) return broken("no answer within 30 s");
  Answer a{};
  int got = -1, n_got = 0;
  if (RecvWithFds(sock_.get(), &a, sizeof a, &got, 1, &n_got) != static_cast<ssize_t>(sizeof a)) {
    if (n_got > 0) ::close(got);
    return broken("a short answer, or none");
  }
  if (n_got == 0) got = -1;
  if (a.pid <= 0) {
    if (got >= 0) ::close(got);
    *joining_failed = a.joining != 0;
    errno = a.err ? a.err : EINVAL;
    return -1;
  }
  if (got < 0) return broken("a pid without its pidfd");
  *pidfd = got;
  return static_cast<long>(a.pid);
}

void Spawner::GoneLocked(const char* why) {
  if (gone_) return;
  gone_ = true;
  if (pid_ > 0) ::kill(pid_, SIGKILL);
  std::fprintf(stderr,
               "judge: the spawner (pid %d) is gone (%s); this process clones the containers' "
               "inits itself from now on\n",
               static_cast<int>(pid_), why);
}

}  // namespace judge
