// One run from the parent's side (internal to the sandbox library): prepares the
// child's plan, clones, supervises (output, seccomp notifications, time limits) and
// turns what happened into a RunResult.
#pragma once

#include <sched.h>
#include <signal.h>
#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/fd.h"
#include "common/status.h"
#include "sandbox/cgroup.h"
#include "sandbox/child.h"
#include "sandbox/mounts.h"
#include "sandbox/sandbox.h"

struct clone_args;  // <linux/sched.h>

namespace judge {

class Spawner;

struct HostFacts {
  int cap_last_cap = 40;
  int online_cpus = 1;
  cpu_set_t cpus;  // the CPUs this process may use (when the Sandbox was made)
  void* spawn_stack_top = nullptr;
  // This process's argv + environ strings (from /proc/self/stat), blanked in the init.
  char* arg_area = nullptr;
  unsigned long arg_area_len = 0;
  // Clones the inits when set and usable (sandbox/spawner.h); else this process does.
  Spawner* spawner = nullptr;
};

class Execution {
 public:
  // netns: a network namespace to join (NetnsPool), or -1 to make one per run.
  Execution(const RunSpec& spec, const HostFacts& host, RunCgroup& cg, uint32_t host_id,
            const std::string& staging, int netns, RunResult& out);
  ~Execution();  // kills and reaps the child if it still exists

  // The whole run, the container made on demand; failures of the sandbox end in
  // status SE.
  void Run();

  // A container made ahead (a warm one): Ready() clones the init, which builds the
  // container and then waits; AwaitReady() waits until it is built; RunPrepared runs a
  // spec of the same shape (Sandbox's ShapeKey) in it, its result in `out`. The spec
  // and result given to the constructor are then no longer used.
  // `ahead`: made by the warm containers' thread (SCHED_BATCH), not by the run's.
  Status Ready(bool ahead = false);
  Status AwaitReady();
  // `after_go`, if set, is called once the program has its go.
  void RunPrepared(const RunSpec& spec, RunResult& out,
                   const std::function<void()>& after_go = nullptr);
  // Whether each of spec.binds has the same file mounted inside the (built) container
  // as its source is now on the host (not replaced since the container was made).
  bool BindsMatch(const RunSpec& spec) const;
  // What is left of a run (or of a container never used) once its result is known,
  // for Clear to undo, e.g. on another thread: its init if not reaped yet (killed and
  // reaped by Clear), the init's socket, and its mount namespace, held open so that
  // nothing can enter it; closing it tears the container's mounts down.
  struct Remains {
    UniqueFd init;
    UniqueFd sync;
    UniqueFd mount_ns;
    void Clear();
  };
  Remains TakeRemains();
  // For a warm container, made by another thread: the init gets the CPU affinity it
  // would have inherited from the calling thread (a judge-worker slot's CPU), had that
  // thread cloned it, and passes it on to the program's process after the go. (The
  // maker's SCHED_BATCH it gives up by itself once built: normal_policy_when_built.)
  void InheritFromCaller();

 private:
  struct OutPipe {
    UniqueFd read_end;
    UniqueFd write_end;  // the child's, closed in the parent after clone
    UniqueFd file;       // Stream::kFile destination
    std::string* capture = nullptr;
    long long capture_limit = 0;
    bool open = false;
  };
  enum class Killed { kNo, kCpu, kWall, kOutput, kSyscall, kCancelled };

  Status Prepare();
  Status OpenStreams();
  Status Start();
  // Sends the init the word to go, with the program's streams.
  Status SendGo();
  // From the go on: the program's start, supervision, result.
  void Complete(Status st);
  // The next message of a container being built; a failure becomes an error.
  Status NextSetupMessage(ChildMessage* m);
  // clone3 of the init, in netns_ when there is one: by the spawner when there is one
  // that takes it (*spawned), else by this thread (0 in the child).
  long Clone(::clone_args* args, bool* spawned);
  Status AwaitStart();
  void Supervise();
  void Pump(OutPipe& o);
  bool ReceiveMessage(ChildMessage* m);  // false on EOF or error
  void Kill(Killed why);
  void Reap();
  // Copies spec_.copy_out out of the container while its init waits after kExit.
  void CopyOutFiles();
  siginfo_t init_exit_{};  // how the init ended, once reaped
  void Classify();
  std::string DescribeError(const ChildMessage& m) const;

  const RunSpec* spec_;
  const HostFacts& host_;
  RunCgroup& cg_;
  const uint32_t host_id_;
  const std::string& staging_;
  const int netns_;
  bool netns_failed_ = false;
  RunResult* out_;

  // Prepared before clone.
  MountPlan plan_;
  std::string path_var_;
  std::vector<std::string> exec_paths_;
  std::vector<const char*> exec_cstr_;
  std::vector<char*> argv_, envp_;
  std::vector<RlimitSetting> rlimits_;
  std::vector<int> reset_signals_;
  std::vector<int> keep_fds_;
  std::vector<UniqueFd> attach_owned_;  // the cgroup files the init moves itself with
  std::vector<int> attach_fds_;
  struct sock_fprog fprog_ {};
  ChildPlan child_;
  UniqueFd stdin_fd_;
  int stdio_[3] = {-1, -1, -1};  // the program's streams, sent with the go
  OutPipe outs_[2];
  UniqueFd sync_, child_sync_;

  // The child.
  pid_t pid_ = -1;
  UniqueFd pidfd_;
  UniqueFd mount_ns_;  // see Start()
  bool reaped_ = false;
  bool inherited_ = false;  // InheritFromCaller was called: the go says so
  bool born_in_cgroup_ = false;
  UniqueFd listener_;

  // What happened.
  int64_t start_ns_ = 0, end_ns_ = 0;
  // CPU time that is setup, not the program's: the program's before execve, and the
  // init's (as of kStarted, then its total from kExit).
  int64_t pre_exec_user_ns_ = 0, pre_exec_system_ns_ = 0;
  int64_t init_user_ns_ = 0, init_system_ns_ = 0;
  int64_t SetupUser() const { return pre_exec_user_ns_ + init_user_ns_; }
  int64_t SetupSystem() const { return pre_exec_system_ns_ + init_system_ns_; }
  int64_t program_user_ns_ = 0, program_system_ns_ = 0;
  bool exited_ = false;  // the init reported the program's exit
  int64_t tmpfs_base_ = 0;       // tmpfs bytes in use when the program started
  long long file_bytes_ = 0;     // what the program left in the tmpfs
  std::unique_ptr<CgroupUsage> usage_;  // read when the program exited, before teardown
  int wait_status_ = 0;
  Killed killed_ = Killed::kNo;
  bool exec_failed_ = false;  // the init reported that the program's execve failed
  long long output_ = 0;
  std::string syscall_;
  int64_t cpu_used_ns_ = 0;
};

}  // namespace judge
