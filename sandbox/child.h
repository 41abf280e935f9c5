// The child's side of a run. The cloned child is the container's init (PID 1): it
// builds the container and spawns the program's process as PID 2 (so the program gets
// ordinary signal semantics, which a PID 1 lacks: raise(SIGABRT) would be ignored).
// That process does everything up to its execve (session, limits, and the seccomp
// filter where the policy lets it wait under it: seccomp_before_go) and waits; the init says it is
// ready and waits for the program's standard streams (sent at once for a run made on demand; a warm
// container waits for its run), puts them on 0-2, lets the program's process execve, reaps
// everything, and reports the program's wait status to the parent. The init is not dumpable and the
// program has no capabilities, so the program can neither signal, trace nor read the init.
//
// The parent prepares a ChildPlan of plain arrays before cloning; this code only
// makes async-signal-safe system calls (no allocation, locks, logging or exceptions)
// and reports a failure to the parent as a ChildMessage (step, errno).
#pragma once

#include <linux/filter.h>
#include <sys/resource.h>

#include <cstddef>
#include <cstdint>

namespace judge {

// One step of building the container's filesystem.
struct MountOp {
  enum Kind : uint8_t {
    kMount,       // mount(source, target, fstype, flags, data)
    kRemountRo,   // mount(NULL, target, NULL, MS_REMOUNT|MS_BIND|MS_RDONLY|flags, NULL)
    kMkdir,       // mkdir(target, mode), EEXIST tolerated
    kSymlink,     // symlink(source, target)
    kFile,        // create target with `data` as content and `mode`
    kPivotRoot,   // chdir(target); pivot_root(".", "."); umount2(".", MNT_DETACH)
    kOpen,        // open(source, O_PATH) as fd number `mode`, before anything is covered
    kCloseFrom,   // close every fd from number `mode` up
    kWrite,       // write `data` to the existing file `target` (a sysctl)
    kCopy,        // copy the file open as fd number `mode` to a new file `target`
  } kind;
  bool optional = false;  // skip on ENOENT (e.g. a /proc file this kernel lacks)
  const char* source = nullptr;
  const char* target = nullptr;
  const char* fstype = nullptr;
  unsigned long flags = 0;
  const char* data = nullptr;
  unsigned mode = 0;
};

struct RlimitSetting {
  int resource;
  struct rlimit value;
};

struct ChildPlan {
  int sync_fd = -1;  // SOCK_SEQPACKET, close-on-exec
  // fds the child keeps until execve (sorted ascending); all others are closed first.
  const int* keep_fds = nullptr;
  int n_keep_fds = 0;

  // cgroup v1 `tasks` files (open for writing) the init writes "0" to, first thing.
  const int* attach_fds = nullptr;
  int n_attach_fds = 0;

  const MountOp* mounts = nullptr;
  int n_mounts = 0;

  const char* hostname = nullptr;
  bool loopback = false;
  const char* cwd = "/";

  const RlimitSetting* rlimits = nullptr;
  int n_rlimits = 0;
  int cap_last_cap = 40;
  // Signals whose disposition is not the default in the parent (handled or ignored):
  // the init resets them first, so no handler of the parent's ever runs in the
  // container and SIGCHLD is not ignored.
  const int* reset_signals = nullptr;
  int n_reset_signals = 0;
  // The parent's argv and environ strings, which the init (a copy of the parent that
  // never execs) blanks so that /proc/1/cmdline shows nothing of the host.
  char* arg_area = nullptr;
  unsigned long arg_area_len = 0;

  const struct sock_fprog* seccomp = nullptr;  // nullptr: no filter
  bool seccomp_listener = false;               // send a user-notification fd to the parent
  // Load the filter before the go (off the run's critical path): only when it lets
  // futex and getrusage through, which the program's process waits with and measures
  // its own CPU time by (SeccompProgram::allows_waiting).
  bool seccomp_before_go = false;

  // Made ahead by a thread at SCHED_BATCH (a warm container): the init takes the
  // normal policy once built, before the program's process is made, which inherits it.
  bool normal_policy_when_built = false;

  // Stack for the program's process until its execve (top of the region).
  void* spawn_stack_top = nullptr;

  // execve is tried on each candidate path in order (PATH search done in the parent).
  const char* const* exec_paths = nullptr;
  int n_exec_paths = 0;
  char* const* argv = nullptr;
  char* const* envp = nullptr;
};

// Child -> parent messages on the sync socket.
struct ChildMessage {
  enum Kind : int32_t {
    kError = 1,     // step, err: setup failed
    kListener = 3,  // from the init: the program's seccomp notification fd (SCM_RIGHTS)
    kStarted = 4,   // from the init: the program has called execve; the program's CPU
                    // time before it (not charged) and the init's CPU so far
    kExit = 5,      // from the init: the program's wait status and CPU times, and the
                    // init's own CPU time (not charged). The init then waits until the
                    // parent ends it (Execution::Remains), so the parent reads the
                    // cgroup's counters before the namespaces' teardown is charged.
    kReady = 6,     // from the init: the container is built; it waits for the go (a
                    // one-byte message with the program's three streams as SCM_RIGHTS)
  } kind;
  int32_t step;
  int32_t err;
  int32_t wait_status;
  int64_t user_ns;  // kStarted: the program's; kExit: the program's (with its children)
  int64_t system_ns;
  int64_t init_user_ns;  // kStarted, kExit
  int64_t init_system_ns;
  // CLOCK_MONOTONIC (the host's: no time namespace) taken in the container, so a late
  // parent does not shorten the wall time. kStarted: when the program's process was
  // let go to execve; kExit: when the program's exit was reaped.
  int64_t time_ns;
  int64_t tmpfs_bytes;  // kStarted, kExit: bytes used in the container's tmpfs
};

enum ChildStep : int32_t {
  kStepSync = 1,
  kStepIds,
  kStepGroups,
  kStepPrivate,
  kStepHostname,
  kStepLoopback,
  kStepChdir,
  kStepRlimit,
  kStepCaps,
  kStepNoNewPrivs,
  kStepSession,
  kStepStdio,
  kStepSignals,
  kStepSeccomp,
  kStepExec,
  kStepCgroupNs,
  kStepCgroupAttach,
  kStepSpawn,
  kStepMount = 1000,  // + index into the mount plan
};

// The go's byte: kGoInherit, a warm container's init gives the program's process the
// CPUs it was given itself (Execution::InheritFromCaller).
constexpr char kGo = 'x';
constexpr char kGoInherit = 'w';

// Never returns.
[[noreturn]] void RunChild(const ChildPlan& plan);

// Most fds one message carries (the spawner's requests: the fds an init keeps, its
// cgroup and its network namespace).
constexpr int kMaxSendFds = 18;

// sendmsg of `len` bytes with up to kMaxSendFds fds as SCM_RIGHTS (MSG_NOSIGNAL),
// retried on EINTR; async-signal-safe, for the init and the parent alike.
long SendWithFds(int sock, const void* data, size_t len, const int* fds, int n_fds);

// recvmsg of up to `len` bytes into `buf`, retried on EINTR, with the fds that came
// along (close-on-exec; up to `max_fds` kept in fds, the rest closed) in *n_fds. A
// message cut short (data or fds) is -1 with EMSGSIZE, its fds closed. Async-signal-safe.
long RecvWithFds(int sock, void* buf, size_t len, int* fds, int max_fds, int* n_fds);

// Puts the fds `from[i]` on the numbers `to[i]` (up to kMaxSendFds; close-on-exec as
// `cloexec` says), whatever the two lists share: each is first duplicated above both,
// the originals are closed, then the duplicates go onto their numbers and are closed.
// Fds already in place only get their flag. False (errno set) on a failure.
// Async-signal-safe.
bool MoveFds(const int* from, const int* to, int n, bool cloexec);

}  // namespace judge
