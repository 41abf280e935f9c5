// The container engine: one call runs one program in a throwaway container (user,
// pid, mount, net, ipc, uts and cgroup namespaces; cgroup limits; seccomp; a tmpfs
// overlay rootfs) and returns what it did. Thread-safe: concurrent Run calls get
// distinct host uids and cgroups.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/fd.h"
#include "common/status.h"
#include "sandbox/cgroup.h"
#include "sandbox/limits.h"
#include "sandbox/profile.h"
#include "sandbox/seccomp.h"

namespace judge {

struct HostFacts;
class NetnsPool;
class Spawner;

enum class RunStatus {
  kOk,                 // OK: exited with code 0
  kRuntimeError,       // RE: non-zero exit, or a signal the sandbox did not send
  kTimeLimit,          // TLE: CPU or wall time over the limit
  kMemoryLimit,        // MLE
  kOutputLimit,        // OLE
  kSecurityViolation,  // SV: a forbidden system call
  kSandboxError,       // SE: the sandbox itself failed
};
const char* RunStatusName(RunStatus s);

// How a run ended: the status, told apart where callers act on the difference (a TLE
// of the wall clock, an SE of a program that is not there). Callers branch on this,
// never on the message, which is for people.
enum class RunEnd {
  kExited,         // OK or RE: the program exited, or died of a signal the sandbox did not send
  kCpuTime,        // TLE: over the CPU time limit
  kWallTime,       // TLE: over the wall time limit
  kOutput,         // OLE
  kMemory,         // MLE
  kSyscall,        // SV
  kCancelled,      // SE: RunSpec::cancelled asked for the stop
  kExecFailed,     // SE: the program could not be executed (not in the container, not executable)
  kSandboxFailed,  // SE: any other failure of the sandbox
};

struct Bind {
  std::string source;  // host path
  std::string target;  // absolute path inside
  bool writable = false;
};

// A standard stream of the program.
struct Stream {
  enum Kind {
    kNull,     // stdin: /dev/null; stdout/stderr: counted and discarded
    kFile,     // a host file (stdin read; stdout/stderr written through the parent); with
               // fd >= 0 that file already open (as O_RDONLY / O_WRONLY), `path` naming it
               // in messages
    kCapture,  // stdout/stderr: kept in RunResult (up to the output limit)
    kFd,       // an fd of the caller, passed as it is and not counted (pipes)
  } kind = kNull;
  std::string path;
  int fd = -1;
  long long capture_limit = -1;  // kCapture: most bytes kept (-1: the output limit)
  static Stream Null() { return {}; }
  static Stream File(std::string p) { return {kFile, std::move(p), -1, -1}; }
  static Stream Capture(long long limit = -1) { return {kCapture, "", -1, limit}; }
  static Stream Fd(int f) { return {kFd, "", f, -1}; }
};

// A host file put into the container before the program starts (read by the init
// with the caller's uid, written into the container's tmpfs).
struct CopyIn {
  std::string host_path;
  std::string inside_path;  // absolute, e.g. /box/main.cpp
};

// The regular files directly in a directory of the container, copied to a host
// directory when the program has exited (before the container is torn down). They are
// opened with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS |
// RESOLVE_NO_XDEV), so nothing the program planted leads outside its own tmpfs.
struct CopyOut {
  std::string inside_dir;  // absolute, e.g. /box
  std::string host_dir;    // exists; files are created in it (O_EXCL)
  long long max_bytes = 64ll << 20;
  int max_files = 256;
};

// A sandbox slot (its host uid and cgroup name) held across several runs: the steps of
// an exec job share one host uid, so that each can write what the ones before it left
// in their writable layer (RunSpec::writable_dir). Released when destroyed.
class SlotLease {
 public:
  int slot() const { return slot_; }
  uint32_t uid() const { return uid_; }  // host uid and gid of the runs in it

 private:
  friend class Sandbox;
  UniqueFd lock_;
  int slot_ = -1;
  uint32_t uid_ = 0;
};

struct RunSpec {
  std::vector<std::string> argv;  // argv[0] is searched in PATH unless it has a '/'
  std::vector<std::string> env;
  std::string cwd = "/box";
  Limits limits;
  std::string cpus;  // "" or a cpuset list such as "0" or "0-1"
  bool loopback = false;
  std::string hostname = "judge";
  // Rootfs: image layers (top first); when empty, host_dirs and etc (from the profile).
  std::vector<std::string> layers;
  std::vector<std::string> host_dirs;
  std::vector<std::string> etc;
  std::vector<Bind> binds;
  std::vector<CopyIn> copy_in;
  std::optional<CopyOut> copy_out;
  Stream stdin_stream, stdout_stream, stderr_stream;
  const SeccompProgram* seccomp = nullptr;  // nullptr: no filter
  // Called once the container exists (it holds its copies of any Stream::kFd fds, so
  // the caller may close its own, e.g. the ends of pipes between two runs).
  std::function<void()> on_started;
  // Asked at least every 100 ms while the program runs; true ends the run at once with
  // status SE, RunEnd::kCancelled (a job cancelled while one of its tests runs).
  std::function<bool()> cancelled;
  // Run in this held slot instead of a free one (it must outlive the run, and runs in
  // one slot must not overlap).
  const SlotLease* slot = nullptr;
  // A host directory that holds the writable layer instead of the run's own tmpfs, so
  // that what one run writes is there for the next: the overlay upper and work
  // directories, /box and /tmp (writes elsewhere under / still go to the run's tmpfs).
  // It must be owned by the run's host uid (a SlotLease's) and lie on a filesystem that
  // bounds its size; it is opened like a --dir source and left as the run left it.
  std::string writable_dir;
};

// Opens a Stream::kFile's host file as a run does: stdin read-only, stdout/stderr
// created or truncated (0644 under the umask). -1 with errno on failure.
int OpenStreamFile(const std::string& path, bool output);

// Fills a spec's limits, env, hostname, network and rootfs from a profile.
RunSpec SpecFromProfile(const SandboxProfile& profile);

// Where a run's time went, phase by phase, on the parent's clock: slot, cgroup, plan,
// clone, ids, setup, exec, run, measure, teardown, handoff (judge-sandbox --trace). The
// handoff passes the run's mounts, cgroup and slot to a thread that removes them.
struct RunTrace {
  std::vector<std::pair<std::string, double>> phases_ms;
  int64_t last_ns = 0;
  void Start();
  void Mark(const char* phase);  // the time since the previous mark is `phase`'s
  std::string Json() const;      // {"trace_ms":{"slot":0.012,...}}
};

struct RunResult {
  RunStatus status = RunStatus::kSandboxError;
  RunEnd end = RunEnd::kSandboxFailed;
  int exit_code = 0;
  int signal = 0;
  std::string signal_name;
  std::string syscall;
  double cpu_time_ms = 0;
  double user_time_ms = 0;
  double system_time_ms = 0;
  double wall_time_ms = 0;
  long long memory_peak_bytes = 0;
  long long output_bytes = 0;
  std::string message;
  std::string stdout_data;  // with Stream::kCapture
  std::string stderr_data;
  std::vector<std::string> copied_out;  // names of the files CopyOut copied
  std::string copy_out_error;           // why CopyOut stopped, if it did
  RunTrace trace;
};

// One line of JSON, field names per docs (INTERFACES.md section 1).
std::string RunResultJson(const RunResult& r);

struct SandboxOptions {
  // Slots (one per concurrent run) are locked in this file; each maps to host uid and
  // gid uid_base + slot and to the cgroup judge-run-<slot>.
  std::string lock_path = "/run/judge-sandbox.lock";
  uint32_t uid_base = 2000000000u;
  int max_slots = 4096;
  // Where the container's tmpfs is staged inside its own mount namespace (never
  // visible on the host); any existing directory works.
  std::string staging_dir = "/tmp";
  // Warm containers: after a run, another container of the same shape (the same spec
  // but for its streams, callbacks and copy_out) is built on a thread of the engine's,
  // and the next run like it starts in it, its container already made. At most this
  // many wait at once (the least recently wanted goes first); 0: none. Runs with a
  // slot, writable_dir, copy_in or layers are always made on demand, and a warm
  // container is not used if a bind's source is no longer the file it mounted.
  int warm = 0;
};

class Sandbox {
 public:
  // Probes the host (cgroups, kernel features); fails with a message saying what is
  // missing and how to fix it.
  static Result<std::unique_ptr<Sandbox>> Create(const SandboxOptions& options = {});
  ~Sandbox();

  // Never throws; setup failures come back as status SE with a message.
  RunResult Run(const RunSpec& spec);

  // A run like `spec` is coming: starts preparing what can be made ahead of it (its
  // network namespace; with SandboxOptions::warm, its container) on another thread.
  // Optional; Run works without it.
  void Expect(const RunSpec& spec);

  // Whether a run of `spec` may be given a warm container (SandboxOptions::warm): not
  // with a slot, writable_dir, copy_in or layers.
  static bool Warmable(const RunSpec& spec);

  // Returns once what the runs that have ended left behind is undone: their inits
  // reaped, mounts gone, cgroups removed, slots free (Run hands that to a thread of
  // the engine's). Warm containers (SandboxOptions::warm) are not runs: they stay.
  void Settle();

  // Holds a free slot until the lease is destroyed (for RunSpec::slot).
  Result<SlotLease> LeaseSlot();

  const CgroupManager& cgroups() const { return *cgroups_; }
  // What this kernel cannot do and how results degrade because of it, one line each.
  const std::vector<std::string>& warnings() const { return warnings_; }
  bool seccomp_notify() const { return seccomp_notify_; }

 private:
  Sandbox() = default;
  Status OpenLockFile(UniqueFd* lock) const;
  // Locks a free slot in the lock file; the returned fd holds the lock.
  Result<int> AcquireSlot(UniqueFd* lock);
  // Removes the cgroups of runs whose process crashed (their slot is not locked).
  void RemoveStaleRuns();

  // What a run's container takes from the host: a slot, a cgroup, a network namespace.
  struct Placement;
  Status Place(const RunSpec& spec, Placement* p, RunTrace* trace);
  class Teardown;
  class Warm;
  SandboxOptions options_;
  std::unique_ptr<CgroupManager> cgroups_;
  std::unique_ptr<HostFacts> host_;
  std::unique_ptr<NetnsPool> netns_;
  bool seccomp_notify_ = false;
  void* spawn_stack_ = nullptr;
  std::vector<std::string> warnings_;
  // With warm containers (a long-lived engine): clones the inits; ~Sandbox destroys it
  // last, once no init is left.
  std::unique_ptr<Spawner> spawner_;
  // Finishes the teardowns still pending; ~Sandbox destroys it after warm_.
  std::unique_ptr<Teardown> teardown_;
  std::unique_ptr<Warm> warm_;  // with options_.warm
};

// "6.1.0-56-cloud-amd64" -> {6, 1}.
Result<std::pair<int, int>> KernelVersion(const std::string& release);
// Fails on kernels older than the engine needs; adds a line per degraded feature.
Status CheckKernel(const std::string& release, const CgroupManager& cgroups,
                   std::vector<std::string>* warnings);

}  // namespace judge
