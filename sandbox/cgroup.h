// cgroups: one interface, two backends (v1 per-controller hierarchies, v2 unified),
// chosen by probing the host. Every run gets its own cgroup below the cgroup this
// process runs in, never at a hierarchy root that someone else owns.
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/fd.h"
#include "common/status.h"

namespace judge {

// Where the controllers are, as read from /proc/self/mountinfo and /proc/self/cgroup.
struct CgroupLayout {
  // cgroup v2: the directory of this process's own cgroup ("" if no v2 mount) and the
  // controllers that cgroup can hand to children (its cgroup.controllers).
  std::string v2_dir;
  std::string v2_mount;
  std::vector<std::string> v2_controllers;
  // cgroup v1: controller name -> directory of this process's own cgroup in the
  // hierarchy that has that controller.
  std::map<std::string, std::string> v1_dirs;
};

// Parses the text of /proc/self/mountinfo and /proc/self/cgroup (pure, for tests).
CgroupLayout ParseCgroupLayout(const std::string& mountinfo, const std::string& proc_cgroup);

// The file operations on a cgroup filesystem: a seam so the backends can be tested
// against a cgroupfs-shaped temp dir (FakeCgroupFs in tests) as well as the kernel.
class CgroupFs {
 public:
  virtual ~CgroupFs() = default;
  virtual Status Mkdir(const std::string& path) = 0;
  virtual Status Rmdir(const std::string& path) = 0;
  virtual bool Exists(const std::string& path) = 0;
  // Names of the subdirectories of dir.
  virtual std::vector<std::string> List(const std::string& dir) = 0;
  virtual Result<std::string> Read(const std::string& path) = 0;
  // Read, for a file read again and again (a run's counters): the kernel's is kept
  // open in *held and read from its start, which gives its current values.
  virtual Result<std::string> ReadHeld(const std::string& path, UniqueFd* held) {
    (void)held;
    return Read(path);
  }
  virtual Status Write(const std::string& path, const std::string& data) = 0;
  // An O_PATH|O_DIRECTORY fd for clone3(CLONE_INTO_CGROUP); -1 where unsupported.
  virtual int OpenDir(const std::string& path) = 0;
};
// The real kernel interface.
CgroupFs& RealCgroupFs();

struct CgroupLimits {
  long long memory_bytes = 0;  // 0: unlimited
  long long pids = 0;          // 0: unlimited
  std::string cpus;            // cpuset list, "" for no pinning
};

struct CgroupUsage {
  long long cpu_user_ns = 0;
  long long cpu_system_ns = 0;
  long long cpu_total_ns = 0;
  long long memory_peak_bytes = 0;
  long long oom_kills = 0;
};

// One run's cgroup (in every hierarchy that the backend uses).
class RunCgroup {
 public:
  virtual ~RunCgroup() = default;
  // Sets the limits and resets the peak counters for a new run.
  virtual Status Prepare(const CgroupLimits& limits) = 0;
  // A directory fd for clone3(CLONE_INTO_CGROUP), or -1: then Attach is needed.
  virtual int clone_into_fd() const = 0;
  virtual Status Attach(pid_t pid) = 0;
  // Files a single-threaded child may write "0" to, to move itself in (cgroup v1's
  // `tasks`, one per hierarchy). Moving one's own thread skips the global threadgroup
  // lock whose first use after a quiet spell costs ~15 ms, which Attach(pid) pays.
  virtual std::vector<std::string> SelfAttachFiles() const { return {}; }
  virtual Result<CgroupUsage> Usage() = 0;
  // SIGKILLs every process in the cgroup; returns once it is empty.
  virtual Status Kill() = 0;
  // Kills what is left and removes the directories.
  virtual Status Remove() = 0;
  virtual std::string path() const = 0;
};

class CgroupManager {
 public:
  virtual ~CgroupManager() = default;
  virtual int version() const = 0;
  // Creates the cgroup `name` (recovering a stale one of that name: a crashed run
  // left it) in each hierarchy the backend uses. want_cpuset: pinning will be used.
  virtual Result<std::unique_ptr<RunCgroup>> Create(const std::string& name, bool want_cpuset) = 0;
  virtual std::string Describe() const = 0;
  // Names of the cgroups below the one runs are created in (in any hierarchy used).
  virtual std::vector<std::string> Children() = 0;
  // Kills what is in the cgroup `name` (a crashed run's) and removes it everywhere.
  virtual Status RemoveStale(const std::string& name) = 0;
};

// Picks v2 when this process's v2 cgroup can delegate memory, pids and cpu; else v1
// when every needed controller is on some v1 hierarchy; else an error naming what is
// missing. `fs` must outlive the manager.
Result<std::unique_ptr<CgroupManager>> MakeCgroupManager(const CgroupLayout& layout, CgroupFs& fs);

// The backends, exposed for tests that point them at a fixture.
Result<std::unique_ptr<CgroupManager>> MakeCgroupV1Manager(const CgroupLayout& layout, CgroupFs& fs);
Result<std::unique_ptr<CgroupManager>> MakeCgroupV2Manager(const CgroupLayout& layout, CgroupFs& fs);

// Helpers shared by both backends.
std::vector<pid_t> ParsePids(const std::string& procs);
// SIGKILLs every pid listed in `procs_file` until it lists none.
Status KillListed(CgroupFs& fs, const std::string& procs_file);
// rmdir that waits out the moment a cgroup whose last task just exited stays busy
// (killing what `procs_file` still lists, once). ENOENT counts as done.
Status RemoveCgroupDir(CgroupFs& fs, const std::string& dir, const std::string& procs_file);
// Value of "key N" in a flat-keyed file (cpu.stat, memory.events, memory.oom_control).
long long FlatKey(const std::string& text, const std::string& key);

}  // namespace judge
