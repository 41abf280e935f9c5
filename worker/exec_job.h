// Exec jobs (INTERFACES.md section 5, judge.proto ExecJob): files in, command steps run
// in order in one container filesystem, logs (live and kept) and artifacts out.
//
// The writable layer of a job is a tmpfs of ExecLimits.writable_bytes mounted on the
// host at <work_root>/judge-exec-XXXXXX for the job's length (removed after), owned by
// the host uid of a sandbox slot leased for the whole job: every step runs in that slot
// with RunSpec::writable_dir pointing into it, so /box, /tmp and the overlays' upper
// layers carry over from step to step while each step is a fresh container (process
// tree, pid namespace, cgroup) of its own.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"
#include "protocol/judge.pb.h"
#include "sandbox/profile.h"
#include "sandbox/sandbox.h"
#include "sandbox/seccomp.h"

namespace judge {

struct ExecOptions {
  // judge-exec-XXXXXX is made here; what a crashed job left is removed at Create.
  std::string work_root = "/tmp";
  // Where ExecJob.layers are found. "": any host directory, by absolute path (judge exec
  // on one's own machine); else only names of directories below it (a worker: jobs come
  // from anyone, and a layer shows its files to the job).
  std::string layer_root;
  // The largest writable layer (a tmpfs, in RAM) a job may ask for; a worker's is
  // judge-worker --exec-max-writable.
  long long max_writable_bytes = 16ll << 30;
};

// The defaults of an exec job's limits (zero fields of ExecStep.limits, ExecJob.step_limits
// and ExecJob.limits).
inline constexpr double kExecCpuTimeS = 60;
inline constexpr long long kExecMemoryBytes = 1ll << 30;
inline constexpr long long kExecPids = 256;
inline constexpr long long kExecOutputBytes = 1ll << 30;  // a step's stdout + stderr
inline constexpr double kExecJobWallTimeS = 600;
inline constexpr long long kExecWritableBytes = 256ll << 20;
inline constexpr long long kExecLogBytes = 256ll << 10;
inline constexpr long long kExecArtifactBytes = 16ll << 20;
inline constexpr int kExecArtifactFiles = 100;

class ExecRunner {
 public:
  // Loads the "default" sandbox profile and compiles its seccomp policy.
  static Result<std::unique_ptr<ExecRunner>> Create(Sandbox& sandbox, ExecOptions options = {});

  // Refuses a job that cannot run: no steps, bad names, paths or globs, unknown
  // network, layers not allowed here, limits out of range. One sentence.
  Status Validate(const v1::ExecJob& job) const;

  struct Callbacks {
    // A piece of a running step's output (called on the caller's thread).
    std::function<void(int step, v1::ExecOutput::Stream stream, std::string_view data)> output;
    // A step has ended (or was skipped).
    std::function<void(int step, const v1::ExecStepResult& result)> step_done;
    // Asked while steps run (from another thread too): true stops the job.
    std::function<bool()> cancelled;
  };
  // Runs the job; never throws. A refused job, or the judge's own failure, is status SE
  // with the reason in `message` (exit_code 125).
  v1::ExecResult Run(const v1::ExecJob& job, const Callbacks& callbacks = {});

 private:
  class JobRun;
  ExecRunner(Sandbox& sandbox, ExecOptions options) : sandbox_(sandbox), options_(std::move(options)) {}
  Result<std::vector<std::string>> Layers(const v1::ExecJob& job) const;

  Sandbox& sandbox_;
  ExecOptions options_;
  SandboxProfile profile_;
  SeccompProgram seccomp_;
};

// Whether an artifact glob matches a path below /box: fnmatch per path part, "**" as a
// whole part spans any number of directories, and a part starting with '.' is matched
// only by a pattern part starting with '.' (as a shell's globs).
bool ArtifactGlobMatches(const std::string& glob, const std::string& path);

// What `judge exec` exits with for a step: 0 OK, its exit code, 128 + the signal that
// killed it, 124 TLE, 137 MLE, 153 OLE, 159 SV, 125 SE.
int ExecExitCode(const v1::ExecStepResult& step);

// An exec job run as the worker runs it: each step's output and end as PROGRESS
// (TestResult with job_id, index = the step, and `output` or `step`), and the JobResult
// (verdict AC when every step passed, else the first failing step's status as a
// verdict, IE for SE; `exec` holds the ExecResult). The result, encoded as it will be
// sent, fits in `budget`: over it, artifact contents are dropped (largest first), then
// the kept logs cut, and `exec.message` says so.
struct ResultBudget {
  std::string encoding = "pb";
  // Under the broker's default message limit of 64 MiB.
  size_t max_bytes = 48u << 20;
};
v1::JobResult RunExecJob(ExecRunner& runner, const v1::Job& job, const std::string& worker,
                         const std::function<void(const v1::TestResult&)>& progress,
                         const std::function<bool()>& cancelled, const ResultBudget& budget = {});

}  // namespace judge
