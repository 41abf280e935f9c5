// cgroup v1: one directory per controller hierarchy (memory, pids, cpuacct and, when
// pinning, cpuset), each below this process's own cgroup in that hierarchy.
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <set>

#include "common/file_util.h"
#include "sandbox/cgroup.h"

namespace judge {
namespace {

class V1RunCgroup : public RunCgroup {
 public:
  V1RunCgroup(CgroupFs& fs, std::map<std::string, std::string> dirs)
      : fs_(fs), dirs_(std::move(dirs)) {}
  ~V1RunCgroup() override { (void)Remove(); }

  Status Prepare(const CgroupLimits& limits) override {
    const std::string& mem = dirs_.at("memory");
    std::string bytes = limits.memory_bytes > 0 ? std::to_string(limits.memory_bytes) : "-1";
    // memsw (memory + swap) must stay >= memory: lower it second, raise it first.
    bool memsw = fs_.Exists(mem + "/memory.memsw.limit_in_bytes");
    if (memsw) (void)fs_.Write(mem + "/memory.memsw.limit_in_bytes", "-1");
    RETURN_IF_ERROR(fs_.Write(mem + "/memory.limit_in_bytes", bytes));
    if (memsw) RETURN_IF_ERROR(fs_.Write(mem + "/memory.memsw.limit_in_bytes", bytes));
    // Resets the peak to the current usage.
    RETURN_IF_ERROR(fs_.Write(mem + "/memory.max_usage_in_bytes", "0"));
    RETURN_IF_ERROR(fs_.Write(dirs_.at("pids") + "/pids.max",
                              limits.pids > 0 ? std::to_string(limits.pids) : "max"));
    RETURN_IF_ERROR(fs_.Write(dirs_.at("cpuacct") + "/cpuacct.usage", "0"));
    auto cs = dirs_.find("cpuset");
    if (cs != dirs_.end()) {
      std::string cpus = limits.cpus;
      if (cpus.empty()) {
        ASSIGN_OR_RETURN(cpus, fs_.Read(Parent(cs->second) + "/cpuset.cpus"));
      }
      ASSIGN_OR_RETURN(std::string mems, fs_.Read(Parent(cs->second) + "/cpuset.mems"));
      RETURN_IF_ERROR(fs_.Write(cs->second + "/cpuset.mems", Trim(mems)));
      Status st = fs_.Write(cs->second + "/cpuset.cpus", Trim(cpus));
      if (!st.ok()) {
        return Status::Error("--cpus " + cpus + " is not a subset of the CPUs this process may use",
                             st.err());
      }
    }
    ASSIGN_OR_RETURN(std::string oom, fs_.Read(mem + "/memory.oom_control"));
    oom_base_ = FlatKey(oom, "oom_kill");
    return Status::Ok();
  }

  int clone_into_fd() const override { return -1; }

  std::vector<std::string> SelfAttachFiles() const override {
    std::set<std::string> dirs;
    for (const auto& [ctrl, dir] : dirs_) dirs.insert(dir);
    std::vector<std::string> out;
    for (const std::string& dir : dirs) out.push_back(dir + "/tasks");
    return out;
  }

  Status Attach(pid_t pid) override {
    std::string p = std::to_string(pid);
    for (const auto& [ctrl, dir] : dirs_) RETURN_IF_ERROR(fs_.Write(dir + "/cgroup.procs", p));
    return Status::Ok();
  }

  Result<CgroupUsage> Usage() override {
    CgroupUsage u;
    const std::string& acct = dirs_.at("cpuacct");
    ASSIGN_OR_RETURN(u.cpu_user_ns, ReadNum(acct + "/cpuacct.usage_user", &held_[0]));
    ASSIGN_OR_RETURN(u.cpu_system_ns, ReadNum(acct + "/cpuacct.usage_sys", &held_[1]));
    ASSIGN_OR_RETURN(u.cpu_total_ns, ReadNum(acct + "/cpuacct.usage", &held_[2]));
    const std::string& mem = dirs_.at("memory");
    ASSIGN_OR_RETURN(u.memory_peak_bytes, ReadNum(mem + "/memory.max_usage_in_bytes", &held_[3]));
    ASSIGN_OR_RETURN(std::string oom, fs_.ReadHeld(mem + "/memory.oom_control", &held_[4]));
    u.oom_kills = FlatKey(oom, "oom_kill") - oom_base_;
    return u;
  }

  Status Kill() override {
    // Every hierarchy holds the same processes; pids is the one that always exists.
    return KillListed(fs_, dirs_.at("pids") + "/cgroup.procs");
  }

  Status Remove() override {
    if (removed_) return Status::Ok();
    for (UniqueFd& fd : held_) fd.reset();
    Status result;
    for (const auto& [ctrl, dir] : dirs_) {
      Status st = RemoveCgroupDir(fs_, dir, dirs_.at("pids") + "/cgroup.procs");
      if (!st.ok() && result.ok()) result = st;
    }
    removed_ = true;
    return result;
  }

  std::string path() const override { return dirs_.at("memory"); }

 private:
  static std::string Parent(const std::string& dir) { return dir.substr(0, dir.rfind('/')); }
  static std::string Trim(const std::string& s) {
    size_t e = s.find_last_not_of(" \n");
    return e == std::string::npos ? "" : s.substr(0, e + 1);
  }
  Result<long long> ReadNum(const std::string& path, UniqueFd* held) {
    ASSIGN_OR_RETURN(std::string text, fs_.ReadHeld(path, held));
    auto v = ParseInt(text);
    if (!v.ok()) return Status::Error(path + ": " + v.status().message());
    return v;
  }
  CgroupFs& fs_;
  std::map<std::string, std::string> dirs_;
  UniqueFd held_[5];  // the files Usage reads, kept open (CgroupFs::ReadHeld)
  long long oom_base_ = 0;
  bool removed_ = false;
};

// The controllers the v1 backend uses (cpuset only when pinning).
constexpr const char* kControllers[] = {"memory", "pids", "cpuacct", "cpuset"};

class V1Manager : public CgroupManager {
 public:
  V1Manager(CgroupFs& fs, CgroupLayout layout) : fs_(fs), layout_(std::move(layout)) {}
  int version() const override { return 1; }

  Result<std::unique_ptr<RunCgroup>> Create(const std::string& name, bool want_cpuset) override {
    std::map<std::string, std::string> dirs;
    for (const char* ctrl : kControllers) {
      if (std::string(ctrl) == "cpuset" && !want_cpuset) continue;
      auto it = layout_.v1_dirs.find(ctrl);
      if (it == layout_.v1_dirs.end()) {
        return Status::Error(std::string("cgroup v1 controller '") + ctrl + "' is not mounted");
      }
      dirs[ctrl] = it->second + "/" + name;
    }
    // Controllers may share a hierarchy (e.g. cpu,cpuacct): each directory once.
    std::set<std::string> unique;
    for (const auto& [ctrl, dir] : dirs) unique.insert(dir);
    // Left by a crashed run of the same name: empty it and start afresh.
    RETURN_IF_ERROR(RemoveStale(name).Context("removing stale cgroup"));
    for (const std::string& dir : unique) {
      Status st = fs_.Mkdir(dir);
      if (!st.ok() && st.err() != EEXIST) return st;
    }
    auto run = std::make_unique<V1RunCgroup>(fs_, dirs);
    return std::unique_ptr<RunCgroup>(std::move(run));
  }

  std::vector<std::string> Children() override {
    std::set<std::string> names;
    for (const char* ctrl : kControllers) {
      auto it = layout_.v1_dirs.find(ctrl);
      if (it == layout_.v1_dirs.end()) continue;
      for (const std::string& n : fs_.List(it->second)) names.insert(n);
    }
    return {names.begin(), names.end()};
  }

  Status RemoveStale(const std::string& name) override {
    const std::string procs = layout_.v1_dirs.at("pids") + "/" + name + "/cgroup.procs";
    Status result;
    for (const char* ctrl : kControllers) {
      auto it = layout_.v1_dirs.find(ctrl);
      if (it == layout_.v1_dirs.end() || !fs_.Exists(it->second + "/" + name)) continue;
      (void)KillListed(fs_, it->second + "/" + name + "/cgroup.procs");
      Status st = RemoveCgroupDir(fs_, it->second + "/" + name, procs);
      if (!st.ok() && result.ok()) result = st;
    }
    return result;
  }

  std::string Describe() const override {
    std::string s = "cgroup v1:";
    for (const auto& [ctrl, dir] : layout_.v1_dirs) {
      if (ctrl == "memory" || ctrl == "pids" || ctrl == "cpuacct" || ctrl == "cpuset")
        s += " " + ctrl + "=" + dir;
    }
    return s;
  }

 private:
  CgroupFs& fs_;
  CgroupLayout layout_;
};

}  // namespace

Result<std::unique_ptr<CgroupManager>> MakeCgroupV1Manager(const CgroupLayout& layout,
                                                           CgroupFs& fs) {
  for (const char* c : {"memory", "pids", "cpuacct"}) {
    if (!layout.v1_dirs.count(c)) {
      return Status::Error(std::string("cgroup v1 controller '") + c + "' is not mounted");
    }
  }
  return std::unique_ptr<CgroupManager>(std::make_unique<V1Manager>(fs, layout));
}

}  // namespace judge
