// cgroup v2: one unified hierarchy. Runs are children of a "domain" cgroup that this
// process may delegate controllers from: its own cgroup when that is the root, else
// its own cgroup after the process moved itself into a leaf child (the "no internal
// processes" rule forbids enabling controllers in a cgroup that holds processes).
#include <signal.h>
#include <unistd.h>

#include <cerrno>

#include "common/file_util.h"
#include "sandbox/cgroup.h"

namespace judge {
namespace {

class V2RunCgroup : public RunCgroup {
 public:
  V2RunCgroup(CgroupFs& fs, std::string dir) : fs_(fs), dir_(std::move(dir)) {}
  ~V2RunCgroup() override { (void)Remove(); }

  Status Open() {
    dir_fd_ = fs_.OpenDir(dir_);
    return Status::Ok();
  }

  Status Prepare(const CgroupLimits& limits) override {
    std::string bytes = limits.memory_bytes > 0 ? std::to_string(limits.memory_bytes) : "max";
    RETURN_IF_ERROR(fs_.Write(dir_ + "/memory.max", bytes));
    if (fs_.Exists(dir_ + "/memory.swap.max")) RETURN_IF_ERROR(fs_.Write(dir_ + "/memory.swap.max", "0"));
    // An OOM kill takes the whole run, not one process of it.
    if (fs_.Exists(dir_ + "/memory.oom.group")) (void)fs_.Write(dir_ + "/memory.oom.group", "1");
    RETURN_IF_ERROR(fs_.Write(dir_ + "/pids.max",
                              limits.pids > 0 ? std::to_string(limits.pids) : "max"));
    if (!limits.cpus.empty()) {
      Status st = fs_.Write(dir_ + "/cpuset.cpus", limits.cpus);
      if (!st.ok()) {
        return Status::Error("--cpus " + limits.cpus +
                                 " is not a subset of the CPUs this process may use",
                             st.err());
      }
    }
    ASSIGN_OR_RETURN(base_, Raw());
    return Status::Ok();
  }

  int clone_into_fd() const override { return dir_fd_; }

  Status Attach(pid_t pid) override {
    return fs_.Write(dir_ + "/cgroup.procs", std::to_string(pid));
  }

  Result<CgroupUsage> Usage() override {
    ASSIGN_OR_RETURN(CgroupUsage u, Raw());
    u.cpu_user_ns -= base_.cpu_user_ns;
    u.cpu_system_ns -= base_.cpu_system_ns;
    u.cpu_total_ns -= base_.cpu_total_ns;
    u.oom_kills -= base_.oom_kills;
    return u;
  }

  Status Kill() override {
    if (fs_.Exists(dir_ + "/cgroup.kill")) {
      RETURN_IF_ERROR(fs_.Write(dir_ + "/cgroup.kill", "1"));
    }
    return KillListed(fs_, dir_ + "/cgroup.procs");
  }

  Status Remove() override {
    if (removed_) return Status::Ok();
    if (dir_fd_ >= 0) ::close(dir_fd_);
    dir_fd_ = -1;
    for (UniqueFd& fd : held_) fd.reset();
    removed_ = true;
    return RemoveCgroupDir(fs_, dir_, dir_ + "/cgroup.procs");
  }

  std::string path() const override { return dir_; }

 private:
  Result<CgroupUsage> Raw() {
    CgroupUsage u;
    ASSIGN_OR_RETURN(std::string cpu, fs_.ReadHeld(dir_ + "/cpu.stat", &held_[0]));
    u.cpu_total_ns = FlatKey(cpu, "usage_usec") * 1000;
    u.cpu_user_ns = FlatKey(cpu, "user_usec") * 1000;
    u.cpu_system_ns = FlatKey(cpu, "system_usec") * 1000;
    // memory.peak needs Linux 5.19; older kernels report the current usage.
    auto peak = fs_.ReadHeld(dir_ + "/memory.peak", &held_[1]);
    if (!peak.ok()) peak = fs_.Read(dir_ + "/memory.current");
    if (peak.ok()) u.memory_peak_bytes = ParseInt(*peak).ok() ? *ParseInt(*peak) : 0;
    ASSIGN_OR_RETURN(std::string events, fs_.ReadHeld(dir_ + "/memory.events", &held_[2]));
    u.oom_kills = FlatKey(events, "oom_kill");
    return u;
  }

  CgroupFs& fs_;
  std::string dir_;
  int dir_fd_ = -1;
  UniqueFd held_[3];  // the files Raw reads, kept open (CgroupFs::ReadHeld)
  CgroupUsage base_;
  bool removed_ = false;
};

class V2Manager : public CgroupManager {
 public:
  V2Manager(CgroupFs& fs, std::string domain, std::string leaf)
      : fs_(fs), domain_(std::move(domain)), leaf_(std::move(leaf)) {}
  // Leaves the hierarchy as it was found: the controllers this manager enabled off
  // again, this process back in its own cgroup, the leaf removed. (A crash leaves the
  // leaf; the next start removes it.)
  ~V2Manager() override {
    if (leaf_.empty()) return;
    std::string off;
    for (const std::string& c : enabled_) off += (off.empty() ? "-" : " -") + c;
    if (!off.empty()) (void)fs_.Write(domain_ + "/cgroup.subtree_control", off);
    if (fs_.Write(domain_ + "/cgroup.procs", "0").ok()) (void)fs_.Rmdir(leaf_);
  }
  int version() const override { return 2; }

  Status EnableControllers(bool cpuset) {
    ASSIGN_OR_RETURN(std::string enabled, fs_.Read(domain_ + "/cgroup.subtree_control"));
    std::string want;
    std::vector<std::string> added;
    for (const char* c : {"memory", "pids", "cpu", "cpuset"}) {
      if (std::string(c) == "cpuset" && !cpuset) continue;
        if (!HasWord(enabled, c)) {
        want += std::string(want.empty() ? "+" : " +") + c;
        added.push_back(c);
      }
    }
    if (want.empty()) return Status::Ok();
    Status st = fs_.Write(domain_ + "/cgroup.subtree_control", want);
    if (!st.ok() && st.err() == EBUSY) {
      return Status::Error("cgroup v2: cannot enable controllers below " + domain_ +
                           " because other processes live in it; start judge in a cgroup of its "
                           "own (e.g. systemd-run --scope -p Delegate=yes ...)");
    }
    if (st.ok()) enabled_.insert(enabled_.end(), added.begin(), added.end());
    return st;
  }

  Result<std::unique_ptr<RunCgroup>> Create(const std::string& name, bool want_cpuset) override {
    RETURN_IF_ERROR(EnableControllers(want_cpuset));
    std::string dir = domain_ + "/" + name;
    if (fs_.Exists(dir)) {  // left by a crashed run of the same name
      RETURN_IF_ERROR(RemoveStale(name).Context("removing stale cgroup"));
    }
    RETURN_IF_ERROR(fs_.Mkdir(dir));
    auto run = std::make_unique<V2RunCgroup>(fs_, dir);
    RETURN_IF_ERROR(run->Open());
    return std::unique_ptr<RunCgroup>(std::move(run));
  }

  std::string Describe() const override { return "cgroup v2: " + domain_; }

  std::vector<std::string> Children() override { return fs_.List(domain_); }

  Status RemoveStale(const std::string& name) override {
    V2RunCgroup stale(fs_, domain_ + "/" + name);
    (void)stale.Kill();
    return stale.Remove();
  }

  static bool HasWord(const std::string& text, const std::string& word) {
    size_t pos = 0;
    while ((pos = text.find(word, pos)) != std::string::npos) {
      bool start = pos == 0 || text[pos - 1] == ' ';
      size_t end = pos + word.size();
      bool stop = end == text.size() || text[end] == ' ' || text[end] == '\n';
      if (start && stop) return true;
      pos = end;
    }
    return false;
  }

 private:
  CgroupFs& fs_;
  std::string domain_;
  std::string leaf_;                  // where this process moved itself, if it did
  std::vector<std::string> enabled_;  // controllers this manager switched on
};

}  // namespace

Result<std::unique_ptr<CgroupManager>> MakeCgroupV2Manager(const CgroupLayout& layout,
                                                           CgroupFs& fs) {
  if (layout.v2_dir.empty()) return Status::Error("cgroup v2 is not mounted");
  std::string own = layout.v2_dir;
  // Already in a supervisor leaf (an earlier manager of this process, or a parent judge
  // process, moved it there): the leaf's parent is the domain. A leaf in the leaf could
  // never be removed by the cleanup below.
  static const std::string kLeafPrefix = "judge-supervisor-";
  size_t slash = own.rfind('/');
  if (own != layout.v2_mount && slash != std::string::npos &&
      own.compare(slash + 1, kLeafPrefix.size(), kLeafPrefix) == 0) {
    own.resize(slash);
  }
  bool is_root = own == layout.v2_mount;
  std::string leaf;
  if (!is_root) {
    // Leaves of earlier judge processes that have exited are empty: remove them.
    for (const std::string& name : fs.List(own)) {
      if (name.rfind("judge-supervisor-", 0) != 0) continue;
      auto left = fs.Read(own + "/" + name + "/cgroup.procs");
      if (left.ok() && ParsePids(*left).empty()) (void)fs.Rmdir(own + "/" + name);
    }
    ASSIGN_OR_RETURN(std::string procs, fs.Read(own + "/cgroup.procs"));
    if (!ParsePids(procs).empty()) {
      // Move this process into a leaf so `own` can delegate controllers.
      leaf = own + "/judge-supervisor-" + std::to_string(::getpid());
      Status st = fs.Mkdir(leaf);
      if (!st.ok() && st.err() != EEXIST) return st;
      st = fs.Write(leaf + "/cgroup.procs", "0");
      if (!st.ok()) {
        (void)fs.Rmdir(leaf);
        return st.Context("moving this process into " + leaf);
      }
    }
  }
  auto mgr = std::make_unique<V2Manager>(fs, own, leaf);
  RETURN_IF_ERROR(mgr->EnableControllers(false));
  return std::unique_ptr<CgroupManager>(std::move(mgr));
}

}  // namespace judge
