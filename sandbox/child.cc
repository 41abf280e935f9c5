// Runs in the cloned child, in its new namespaces, until execve. Only raw system calls:
// the parent may be multi-threaded and this is a copy of one of its threads, so no
// allocation, no locks, no stdio, and no libc functions that broadcast to threads
// (setresuid and friends go through syscall(2) for that reason).
#include "sandbox/child.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/close_range.h>
#include <linux/futex.h>
#include <linux/keyctl.h>
#include <linux/seccomp.h>
#include <linux/securebits.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace judge {
namespace {

[[noreturn]] void Fail(const ChildPlan& p, int step, int err) {
  ChildMessage m{};
  m.kind = ChildMessage::kError;
  m.step = step;
  m.err = err;
  (void)::send(p.sync_fd, &m, sizeof m, MSG_NOSIGNAL);
  ::_exit(127);
}

void Check(const ChildPlan& p, long rc, int step) {
  if (rc < 0) Fail(p, step, errno);
}

// Closes every fd but the plan's, 0-2 included (the program's streams come later).
void CloseOtherFds(const ChildPlan& p) {
  unsigned next = 0;
  for (int i = 0; i < p.n_keep_fds; ++i) {
    unsigned fd = static_cast<unsigned>(p.keep_fds[i]);
    if (fd < next) continue;
    if (fd > next) ::syscall(SYS_close_range, next, fd - 1, 0);
    next = fd + 1;
  }
  ::syscall(SYS_close_range, next, ~0U, 0);
}

// Runs the plan's ops from index `first`; stops before the first op of another kind
// than kOpen when only_opens is set. Returns where it stopped.
int RunMounts(const ChildPlan& p, int first, bool only_opens) {
  int i = first;
  for (; i < p.n_mounts; ++i) {
    const MountOp& op = p.mounts[i];
    if (only_opens && op.kind != MountOp::kOpen) break;
    long rc = 0;
    switch (op.kind) {
      case MountOp::kMount:
        rc = ::mount(op.source, op.target, op.fstype, op.flags, op.data);
        break;
      case MountOp::kRemountRo:
        rc = ::mount("none", op.target, nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY | op.flags,
                     nullptr);
        break;
      case MountOp::kMkdir:
        rc = ::mkdir(op.target, op.mode);
        if (rc < 0 && errno == EEXIST) rc = 0;
        break;
      case MountOp::kSymlink:
        rc = ::symlink(op.source, op.target);
        break;
      case MountOp::kFile: {
        int fd = ::open(op.target, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, op.mode);
        rc = fd;
        if (fd >= 0) {
          size_t len = op.data ? std::strlen(op.data) : 0;
          if (len > 0 && ::write(fd, op.data, len) != static_cast<ssize_t>(len)) rc = -1;
          ::close(fd);
        }
        break;
      }
      case MountOp::kOpen: {
        // O_PATH for a mount source; a copy source (data set) is read, so opened O_RDONLY.
        int fd = ::open(op.source, (op.data ? O_RDONLY | O_NONBLOCK : O_PATH) | O_CLOEXEC);
        rc = fd;
        if (fd >= 0 && fd != static_cast<int>(op.mode)) {
          rc = ::dup3(fd, static_cast<int>(op.mode), O_CLOEXEC);
          ::close(fd);
        }
        break;
      }
      case MountOp::kWrite: {
        int fd = ::open(op.target, O_WRONLY | O_CLOEXEC);
        rc = fd;
        if (fd >= 0) {
          size_t len = std::strlen(op.data);
          if (::write(fd, op.data, len) != static_cast<ssize_t>(len)) rc = -1;
          ::close(fd);
        }
        break;
      }
      case MountOp::kCopy: {
        struct stat st;
        if (::fstat(static_cast<int>(op.mode), &st) != 0 || !S_ISREG(st.st_mode)) {
          errno = EINVAL;  // the source changed into something else than a file
          rc = -1;
          break;
        }
        int out = ::open(op.target, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
        rc = out;
        char buf[16384];
        while (out >= 0) {
          ssize_t n = ::read(static_cast<int>(op.mode), buf, sizeof buf);
          if (n == 0) break;
          if (n < 0 || ::write(out, buf, static_cast<size_t>(n)) != n) {
            rc = -1;
            break;
          }
        }
        if (out >= 0) ::close(out);
        break;
      }
      case MountOp::kCloseFrom:
        rc = ::syscall(SYS_close_range, op.mode, ~0U, 0);
        break;
      case MountOp::kPivotRoot:
        rc = ::chdir(op.target);
        if (rc == 0) rc = ::syscall(SYS_pivot_root, ".", ".");
        if (rc == 0) rc = ::umount2(".", MNT_DETACH);
        if (rc == 0) rc = ::chdir("/");
        break;
    }
    if (rc < 0 && !(op.optional && errno == ENOENT)) Fail(p, kStepMount + i, errno);
  }
  return i;
}

void LoopbackUp(const ChildPlan& p) {
  int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  Check(p, s, kStepLoopback);
  struct ifreq ifr;
  std::memset(&ifr, 0, sizeof ifr);
  std::memcpy(ifr.ifr_name, "lo", 3);
  Check(p, ::ioctl(s, SIOCGIFFLAGS, &ifr), kStepLoopback);
  ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP | IFF_RUNNING);
  Check(p, ::ioctl(s, SIOCSIFFLAGS, &ifr), kStepLoopback);
  ::close(s);
}

void DropPrivileges(const ChildPlan& p) {
  for (int cap = 0; cap <= p.cap_last_cap; ++cap) {
    Check(p, ::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0), kStepCaps);
  }
  Check(p, ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0), kStepCaps);
  // uid 0 inside gets no capabilities from execve, now or after any setuid.
  Check(p,
        ::prctl(PR_SET_SECUREBITS,
                SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |
                    SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED |
                    SECBIT_NO_CAP_AMBIENT_RAISE | SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED,
                0, 0, 0),
        kStepCaps);
  Check(p, ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), kStepNoNewPrivs);
  struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2];
  std::memset(data, 0, sizeof data);
  Check(p, ::syscall(SYS_capset, &hdr, data), kStepCaps);
}

// Sends the seccomp notification fd (if any) to the parent; from the init, which
// shares the fd table of the program's process until its execve.
void SendListener(const ChildPlan& p, int fd) {
  if (fd < 0) return;
  ChildMessage m{};
  m.kind = ChildMessage::kListener;
  Check(p, SendWithFds(p.sync_fd, &m, sizeof m, &fd, 1), kStepSeccomp);
  ::close(fd);
}

// Returns the notification fd (close-on-exec), or -1.
int LoadSeccomp(const ChildPlan& p) {
  // SPEC_ALLOW: the filter must not switch on speculative-store-bypass mitigation for
  // the program (it protects a process from itself and slows it, which would skew its
  // CPU time); it does nothing for the host's isolation.
  unsigned long flags = SECCOMP_FILTER_FLAG_SPEC_ALLOW;
  if (p.seccomp_listener) flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
  long rc = ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, p.seccomp);
  if (rc < 0 && errno == EINVAL) {
    flags &= ~static_cast<unsigned long>(SECCOMP_FILTER_FLAG_SPEC_ALLOW);
    rc = ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, p.seccomp);
  }
  Check(p, rc, kStepSeccomp);
  return p.seccomp_listener ? static_cast<int>(rc) : -1;
}

int64_t Ns(const struct timeval& tv) { return tv.tv_sec * 1000000000LL + tv.tv_usec * 1000LL; }

int64_t MonotonicNs() {
  struct timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int64_t TmpfsBytes() {
  struct statfs st;
  if (::statfs("/", &st) != 0) return 0;
  return static_cast<int64_t>(st.f_blocks - st.f_bfree) * st.f_bsize;
}

void Send(const ChildPlan& p, const ChildMessage& m, int step) {
  if (::send(p.sync_fd, &m, sizeof m, MSG_NOSIGNAL) < 0) Fail(p, step, errno);
}

// Waits for the parent's go, which carries the program's three streams, and moves them
// onto 0-2 (whatever numbers they arrived with). EOF means the parent is gone. Returns
// the go's byte.
char ReceiveStdio(const ChildPlan& p) {
  char word = 0;
  int fds[3];
  int n_fds = 0;
  const long n = RecvWithFds(p.sync_fd, &word, 1, fds, 3, &n_fds);
  if (n < 0 && errno == EMSGSIZE) Fail(p, kStepStdio, EPROTO);
  if (n != 1) ::_exit(126);
  if (n_fds != 3) Fail(p, kStepStdio, EPROTO);
  // Usually 0-2 were free, so they arrived in place.
  static constexpr int kStdio[3] = {0, 1, 2};
  if (!MoveFds(fds, kStdio, 3, /*cloexec=*/false)) Fail(p, kStepStdio, errno);
  return word;
}

// The program's process and the init share one address space and one fd table from
// the spawn until the program's execve (which gives it its own of both); they
// coordinate through this word and the fields beside it. They take turns (one runs
// while the other sleeps in FUTEX_WAIT), which also keeps their shared errno apart.
// The kernel clears `phase` and wakes its waiters when the program's process execs or
// dies (CLONE_CHILD_CLEARTID), which is how the init learns the program has started.
// Once its filter is loaded, the program's process makes no call but futex, getrusage
// and execve: the init sends what it has to say (the notification fd, an execve's
// failure).
struct Spawn {
  enum : int32_t { kGone = 0, kStarting = 1, kWaiting = 2, kGo = 3 };
  int32_t phase = kGone;               // a futex word
  int64_t user_ns = 0, system_ns = 0;  // the program's process's CPU time until it waited
  int64_t time_ns = 0;                 // the clock at the go
  int32_t listener = -1;               // the seccomp notification fd, for the init to send
  int32_t exec_err = 0;                // why execve failed
};
// Constant-initialized: the spawner (spawner.cc) runs before any dynamic initializer.
constinit Spawn spawn;

int32_t Load(const int32_t* word) { return __atomic_load_n(word, __ATOMIC_ACQUIRE); }

// Not FUTEX_PRIVATE: the kernel's wake for CLONE_CHILD_CLEARTID is a shared one.
void Wake(int32_t* word) { ::syscall(SYS_futex, word, FUTEX_WAKE, 1, nullptr, nullptr, 0); }

void Store(int32_t* word, int32_t value) {
  __atomic_store_n(word, value, __ATOMIC_RELEASE);
  Wake(word);
}

// Waits while *word == value.
void WaitWhile(const int32_t* word, int32_t value) {
  while (Load(word) == value) {
    ::syscall(SYS_futex, word, FUTEX_WAIT, value, nullptr, nullptr, 0);
  }
}

// The program's side of the spawn: everything up to its execve is done before the
// go, so that only the execve itself is left for the run. It runs on its own stack
// and touches nothing of the init's memory but `spawn`.
int ProgramMain(void* arg) {
  const ChildPlan& p = *static_cast<const ChildPlan*>(arg);
  Check(p, ::setsid(), kStepSession);
  // Only 0-2 survive execve (a caller's fd passed as a stream keeps its number too).
  Check(p, ::syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC), kStepStdio);
  for (int i = 0; i < p.n_rlimits; ++i) {
    Check(p, ::setrlimit(static_cast<__rlimit_resource>(p.rlimits[i].resource), &p.rlimits[i].value),
          kStepRlimit);
  }
  sigset_t none;
  sigemptyset(&none);
  Check(p, ::sigprocmask(SIG_SETMASK, &none, nullptr), kStepSignals);
  // With the filter loaded, all that is left is getrusage and futex (when the filter
  // allows them: seccomp_before_go) and execve; what the init has to send for this
  // process (the notification fd, execve's failure) is left in `spawn`.
  // The CPU time taken so far is the setup's, not the program's: loaded before the
  // go, the filter's load is in it (the run's wall time starts at the go).
  if (p.seccomp && p.seccomp_before_go) spawn.listener = LoadSeccomp(p);
  struct rusage ru;
  ::getrusage(RUSAGE_SELF, &ru);
  spawn.user_ns = Ns(ru.ru_utime);
  spawn.system_ns = Ns(ru.ru_stime);
  Store(&spawn.phase, Spawn::kWaiting);
  WaitWhile(&spawn.phase, Spawn::kWaiting);
  if (p.seccomp && !p.seccomp_before_go) spawn.listener = LoadSeccomp(p);
  int err = ENOENT;
  for (int i = 0; i < p.n_exec_paths; ++i) {
    ::execve(p.exec_paths[i], p.argv, p.envp);
    if (errno != ENOENT && errno != ENOTDIR) err = errno;
  }
  spawn.exec_err = err;
  ::_exit(127);
}

// Gives the program's process the CPUs the init was given before the go (a warm
// container's init takes its caller's: Execution::InheritFromCaller).
void PassOnAffinity(pid_t program) {
  cpu_set_t cpus;
  if (::sched_getaffinity(0, sizeof cpus, &cpus) == 0) {
    (void)::sched_setaffinity(program, sizeof cpus, &cpus);
  }
}

}  // namespace

long RecvWithFds(int sock, void* buf, size_t len, int* fds, int max_fds, int* n_fds) {
  struct iovec iov = {buf, len};
  union {
    struct cmsghdr align;
    char space[CMSG_SPACE(sizeof(int) * kMaxSendFds)];
  } control;
  struct msghdr msg {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.space;
  msg.msg_controllen = sizeof control.space;
  long n;
  do {
    n = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  *n_fds = 0;
  if (n < 0) return n;
  for (struct cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    const int k = static_cast<int>((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
    for (int i = 0; i < k; ++i) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
      if (*n_fds < max_fds) {
        fds[(*n_fds)++] = fd;
      } else {
        ::close(fd);
      }
    }
  }
  if (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
    for (int i = 0; i < *n_fds; ++i) ::close(fds[i]);
    *n_fds = 0;
    errno = EMSGSIZE;
    return -1;
  }
  return n;
}

bool MoveFds(const int* from, const int* to, int n, bool cloexec) {
  if (n < 0 || n > kMaxSendFds) {
    errno = EINVAL;
    return false;
  }
  bool in_place = true;
  int top = 2;
  for (int i = 0; i < n; ++i) {
    in_place = in_place && from[i] == to[i];
    top = std::max({top, from[i], to[i]});
  }
  if (in_place) {
    for (int i = 0; i < n; ++i) {
      if (::fcntl(to[i], F_SETFD, cloexec ? FD_CLOEXEC : 0) != 0) return false;
    }
    return true;
  }
  int high[kMaxSendFds];
  for (int i = 0; i < n; ++i) {
    high[i] = ::fcntl(from[i], F_DUPFD_CLOEXEC, top + 1);
    if (high[i] < 0) return false;
  }
  for (int i = 0; i < n; ++i) ::close(from[i]);
  for (int i = 0; i < n; ++i) {
    if (::dup3(high[i], to[i], cloexec ? O_CLOEXEC : 0) < 0) return false;
    ::close(high[i]);
  }
  return true;
}

long SendWithFds(int sock, const void* data, size_t len, const int* fds, int n_fds) {
  if (n_fds < 0 || n_fds > kMaxSendFds) {
    errno = EINVAL;
    return -1;
  }
  struct iovec iov = {const_cast<void*>(data), len};
  union {
    char buf[CMSG_SPACE(kMaxSendFds * sizeof(int))];
    struct cmsghdr align;
  } control;
  std::memset(&control, 0, sizeof control);
  struct msghdr msg;
  std::memset(&msg, 0, sizeof msg);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (n_fds > 0) {
    msg.msg_control = control.buf;
    msg.msg_controllen = CMSG_SPACE(n_fds * sizeof(int));
    struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(n_fds * sizeof(int));
    std::memcpy(CMSG_DATA(c), fds, n_fds * sizeof(int));
  }
  long rc;
  do {
    rc = ::sendmsg(sock, &msg, MSG_NOSIGNAL);
  } while (rc < 0 && errno == EINTR);
  return rc;
}

void RunChild(const ChildPlan& p) {
  CloseOtherFds(p);
  // Into the run's cgroup, moving this (single) thread itself: see SelfAttachFiles.
  for (int i = 0; i < p.n_attach_fds; ++i) {
    if (::write(p.attach_fds[i], "0", 1) != 1) Fail(p, kStepCgroupAttach, errno);
    ::close(p.attach_fds[i]);
  }
  // Nothing of the parent's signal handling comes along (a handler would run here if
  // the program signalled the init; an ignored SIGCHLD would hide the program's exit).
  struct sigaction dfl;
  std::memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  for (int i = 0; i < p.n_reset_signals; ++i) ::sigaction(p.reset_signals[i], &dfl, nullptr);
  // Nothing of the parent's command line or environment either.
  if (p.arg_area) std::memset(p.arg_area, 0, p.arg_area_len);
  ::prctl(PR_SET_NAME, "judge-init", 0, 0, 0);

  // Wait until the parent has written the id maps (and, where the init could not move
  // itself, moved it into the run's cgroup). EOF means the parent is gone.
  char go = 0;
  ssize_t n;
  do {
    n = ::recv(p.sync_fd, &go, 1, 0);
  } while (n < 0 && errno == EINTR);
  if (n != 1) ::_exit(126);

  // The caller's bind sources and layers are opened while this process still has the
  // caller's host uid (root), so they may sit below directories only root can enter.
  const int after_opens = RunMounts(p, 0, /*only_opens=*/true);

  // Identity: uid/gid 0 inside, the slot's unprivileged ids outside, no host groups
  // (the parent's supplementary groups, root's included, must not come along).
  Check(p, ::syscall(SYS_setgroups, 0, nullptr), kStepGroups);
  Check(p, ::syscall(SYS_setresgid, 0, 0, 0), kStepIds);
  Check(p, ::syscall(SYS_setresuid, 0, 0, 0), kStepIds);
  // Set after the uid change, which clears it. If the parent dies, the run dies.
  Check(p, ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0), kStepIds);
  // A keyring of its own: the parent's session keyring is readable by whoever holds it.
  ::syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, nullptr);
  // The cgroup namespace is rooted at the run's own cgroup.
  Check(p, ::unshare(CLONE_NEWCGROUP), kStepCgroupNs);

  ::umask(0);
  Check(p, ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr), kStepPrivate);
  RunMounts(p, after_opens, /*only_opens=*/false);
  ::umask(022);

  if (p.hostname) Check(p, ::sethostname(p.hostname, std::strlen(p.hostname)), kStepHostname);
  if (p.loopback) LoopbackUp(p);
  Check(p, ::chdir(p.cwd), kStepChdir);

  // Nothing in the container may trace or read the init.
  Check(p, ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0), kStepCaps);
  DropPrivileges(p);

  if (p.normal_policy_when_built) {
    struct sched_param none {};
    (void)::sched_setscheduler(0, SCHED_OTHER, &none);
  }
  // The program's process, made now and waiting for the go with everything up to its
  // execve done; the init sleeps meanwhile. It shares the init's memory and fd table
  // until its execve, so the streams the init puts on 0-2 are the program's.
  spawn.phase = Spawn::kStarting;
  const long pid = ::clone(ProgramMain, p.spawn_stack_top,
                           CLONE_VM | CLONE_FILES | CLONE_CHILD_CLEARTID | SIGCHLD,
                           const_cast<ChildPlan*>(&p), nullptr, nullptr, &spawn.phase);
  if (pid < 0) Fail(p, kStepExec, errno);
  WaitWhile(&spawn.phase, Spawn::kStarting);
  // Gone: it has said why (a message from it comes first), or it was killed.
  if (Load(&spawn.phase) == Spawn::kGone) Fail(p, kStepSpawn, 0);
  SendListener(p, spawn.listener);  // loaded before the go
  spawn.listener = -1;

  // What kStarted reports is taken now, off the run's critical path: nothing runs in
  // the container until the program, and the init's CPU time from here to there is
  // in kExit's total.
  struct rusage self;
  ::getrusage(RUSAGE_SELF, &self);
  ChildMessage started{};
  started.kind = ChildMessage::kStarted;
  started.init_user_ns = Ns(self.ru_utime);
  started.init_system_ns = Ns(self.ru_stime);
  started.tmpfs_bytes = TmpfsBytes();

  ChildMessage ready{};
  ready.kind = ChildMessage::kReady;
  Send(p, ready, kStepSync);
  // The container is ready. The program's streams come with the word to start it: at
  // once for a run made on demand, later for one made ahead (a warm container).
  if (ReceiveStdio(p) == kGoInherit) PassOnAffinity(static_cast<pid_t>(pid));
  spawn.time_ns = MonotonicNs();  // the run's wall time starts with the go
  // Killed while it waited (by someone outside: it does nothing itself), the process
  // has left kGone in the word, which must not be overwritten.
  int32_t waiting = Spawn::kWaiting;
  if (!__atomic_compare_exchange_n(&spawn.phase, &waiting, Spawn::kGo, false, __ATOMIC_ACQ_REL,
                                   __ATOMIC_ACQUIRE)) {
    Fail(p, kStepSpawn, 0);
  }
  Wake(&spawn.phase);
  WaitWhile(&spawn.phase, Spawn::kGo);  // until its execve (or its end)
  SendListener(p, spawn.listener);      // loaded after the go
  if (spawn.exec_err != 0) Fail(p, kStepExec, spawn.exec_err);
  // The program has its own copies of its streams; the init keeps none, so a reader
  // sees EOF once the program (and what it started) is gone.
  ::syscall(SYS_close_range, 0, 2, 0);
  started.user_ns = spawn.user_ns;
  started.system_ns = spawn.system_ns;
  started.time_ns = spawn.time_ns;
  Send(p, started, kStepSync);
  int status = 0;
  struct rusage ru;

  // Reap everything until the program itself exits; then report, wait for the parent
  // to take its measurements, and exit, which kills whatever is left in the pid
  // namespace.
  for (;;) {
    pid_t w = ::wait4(-1, &status, 0, &ru);
    if (w == pid) break;
    if (w < 0 && errno != EINTR) ::_exit(125);
  }
  const int64_t exit_ns = MonotonicNs();
  // What the program left running dies now, before the parent measures and copies out.
  ::kill(-1, SIGKILL);
  int ignored;
  while (::waitpid(-1, &ignored, 0) > 0 || errno == EINTR) {
  }
  ChildMessage done{};
  done.kind = ChildMessage::kExit;
  done.time_ns = exit_ns;
  done.wait_status = status;
  done.user_ns = Ns(ru.ru_utime);
  done.system_ns = Ns(ru.ru_stime);
  done.tmpfs_bytes = TmpfsBytes();
  ::getrusage(RUSAGE_SELF, &self);
  done.init_user_ns = Ns(self.ru_utime);
  done.init_system_ns = Ns(self.ru_stime);
  Send(p, done, kStepSync);
  char ack;
  while (::recv(p.sync_fd, &ack, 1, 0) < 0 && errno == EINTR) {
  }
  ::_exit(0);
}

}  // namespace judge
