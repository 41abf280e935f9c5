// The cgroup layer without the kernel: ParseCgroupLayout on mountinfo texts, the
// backend choice, and both backends against FakeCgroupFs, a temp dir that behaves like
// cgroupfs (control files appear with mkdir, writes are checked like the kernel checks
// them, cgroup.procs lists live processes only, cgroup.kill kills).
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/file_util.h"
#include "sandbox/cgroup.h"
#include "tests/sandbox/test_util.h"

namespace judge::testing {
namespace {

namespace fs = std::filesystem;

#define EXPECT_HAS(text, part)                                                     \
  do {                                                                             \
    const std::string _t = (text), _p = (part);                                    \
    EXPECT_NE(_t.find(_p), std::string::npos) << "'" << _t << "' lacks '" << _p << "'"; \
  } while (0)

std::vector<std::string> Words(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string w;
  while (in >> w) out.push_back(w);
  return out;
}

std::string Trimmed(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\n");
  size_t e = s.find_last_not_of(" \t\n");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

// "0-2,5" -> {0,1,2,5}; false if malformed.
bool ParseCpuList(const std::string& text, std::set<int>* out) {
  std::string t = Trimmed(text);
  if (t.empty()) return true;
  std::stringstream in(t);
  std::string part;
  while (std::getline(in, part, ',')) {
    size_t dash = part.find('-');
    char* end = nullptr;
    long a = std::strtol(part.c_str(), &end, 10);
    if (end == part.c_str()) return false;
    long b = a;
    if (dash != std::string::npos) {
      const char* rest = part.c_str() + dash + 1;
      b = std::strtol(rest, &end, 10);
      if (end == rest) return false;
    }
    if (*end != '\0' || a < 0 || b < a) return false;
    for (long c = a; c <= b; ++c) out->insert(static_cast<int>(c));
  }
  return true;
}

// A process is in a cgroup until it exits: zombies are no longer listed.
bool Alive(pid_t pid) {
  auto stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  if (!stat.ok()) return false;
  size_t p = stat->rfind(") ");
  if (p == std::string::npos || p + 2 >= stat->size()) return false;
  char state = (*stat)[p + 2];
  return state != 'Z' && state != 'X';
}

// A cgroupfs-shaped temp dir. Paths given to the CgroupFs methods are the paths the
// backends would use on the host ("/sys/fs/cgroup/memory/..."); they live below the
// temp dir. version 1: each Mount is a hierarchy with its controllers' files; version
// 2: one unified hierarchy, where a child's files depend on its parent's
// cgroup.subtree_control as in the kernel.
class FakeCgroupFs : public CgroupFs {
 public:
  explicit FakeCgroupFs(int version) : version_(version) {}

  // Kernel features that older kernels or kernels without swap accounting lack.
  bool swap = true;
  bool peak = true;      // v2 memory.peak (5.19)
  bool kill_file = true;  // v2 cgroup.kill (5.14)
  std::string host_cpus = "0-3";

  std::string Real(const std::string& path) const { return tmp_.path() + path; }

  // Mounts a hierarchy: v1 with `controllers`; v2 with these available at its root.
  void Mount(const std::string& mount, const std::vector<std::string>& controllers) {
    mounts_[mount] = controllers;
    fs::create_directories(Real(mount));
    Put(mount + "/cgroup.procs", "");
    if (version_ == 1) {
      CreateV1Files(mount, controllers);
      if (std::count(controllers.begin(), controllers.end(), "cpuset")) {
        Put(mount + "/cpuset.cpus", host_cpus + "\n");
        Put(mount + "/cpuset.mems", "0\n");
      }
    } else {
      std::string list;
      for (const auto& c : controllers) list += (list.empty() ? "" : " ") + c;
      Put(mount + "/cgroup.controllers", list + "\n");
      Put(mount + "/cgroup.subtree_control", "\n");
      Put(mount + "/cpu.stat", "usage_usec 0\nuser_usec 0\nsystem_usec 0\n");
    }
  }

  // mkdir -p of a cgroup (v2: delegating every available controller on the way down,
  // as systemd does for a service with Delegate=yes).
  void MakeCgroup(const std::string& path) {
    std::string mount = MountOf(path);
    ASSERT_FALSE(mount.empty()) << path;
    std::string cur = mount;
    std::string rest = path.substr(mount.size());
    std::stringstream in(rest);
    std::string part;
    while (std::getline(in, part, '/')) {
      if (part.empty()) continue;
      if (version_ == 2) {
        std::string enable;
        for (const auto& c : Words(Content(cur + "/cgroup.controllers"))) enable += " +" + c;
        if (!enable.empty()) {
          ASSERT_TRUE(DoWrite(cur + "/cgroup.subtree_control", enable).ok());
        }
      }
      cur += "/" + part;
      if (!Exists(cur)) {
        ASSERT_TRUE(DoMkdir(cur).ok()) << cur;
      }
    }
  }

  // The kernel side: counters change while a run runs.
  void Set(const std::string& path, const std::string& content) {
    ASSERT_TRUE(fs::exists(Real(path))) << path;
    Put(path, content);
  }
  void RemoveFile(const std::string& path) { fs::remove(Real(path)); }
  std::string Content(const std::string& path) const {
    auto r = ReadFile(Real(path));
    return r.ok() ? *r : "<missing>";
  }
  // Puts a process in a cgroup (as if it had been started there).
  void AddProc(const std::string& dir, pid_t pid) {
    Put(dir + "/cgroup.procs", Content(dir + "/cgroup.procs") + std::to_string(pid) + "\n");
  }

  // What the backends did: "mkdir P", "rmdir P", "write P DATA".
  const std::vector<std::string>& ops() const { return ops_; }
  void ClearOps() { ops_.clear(); }
  // The data written to one file, in order.
  std::vector<std::string> WritesTo(const std::string& path) const {
    std::vector<std::string> out;
    for (const auto& [p, d] : writes_)
      if (p == path) out.push_back(d);
    return out;
  }
  size_t OpIndex(const std::string& op) const {
    auto it = std::find(ops_.begin(), ops_.end(), op);
    return it == ops_.end() ? std::string::npos : static_cast<size_t>(it - ops_.begin());
  }

  // CgroupFs
  Status Mkdir(const std::string& path) override {
    ops_.push_back("mkdir " + path);
    return DoMkdir(path);
  }
  Status Rmdir(const std::string& path) override {
    ops_.push_back("rmdir " + path);
    std::string real = Real(path);
    if (!fs::is_directory(real)) return Status::Error("rmdir " + path, ENOENT);
    if (!List(path).empty() || !LivePids(path).empty()) return Status::Error("rmdir " + path, EBUSY);
    for (const auto& e : fs::directory_iterator(real)) fs::remove(e.path());
    fs::remove(real);
    return Status::Ok();
  }
  bool Exists(const std::string& path) override { return ::access(Real(path).c_str(), F_OK) == 0; }
  std::vector<std::string> List(const std::string& dir) override {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(Real(dir), ec)) {
      if (e.is_directory()) out.push_back(e.path().filename().string());
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  Result<std::string> Read(const std::string& path) override {
    if (!fs::is_regular_file(Real(path))) return Status::Error("open " + path, ENOENT);
    if (Base(path) == "cgroup.procs") {
      std::string out;
      for (pid_t p : LivePids(Dir(path))) out += std::to_string(p) + "\n";
      return out;
    }
    return ReadFile(Real(path));
  }
  Status Write(const std::string& path, const std::string& data) override {
    ops_.push_back("write " + path + " " + data);
    writes_.emplace_back(path, data);
    return DoWrite(path, data);
  }
  int OpenDir(const std::string& path) override {
    return ::open(Real(path).c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  }

 private:
  static std::string Base(const std::string& p) { return p.substr(p.rfind('/') + 1); }
  static std::string Dir(const std::string& p) { return p.substr(0, p.rfind('/')); }

  void Put(const std::string& path, const std::string& content) {
    std::ofstream(Real(path), std::ios::binary | std::ios::trunc) << content;
  }

  std::string MountOf(const std::string& path) const {
    std::string best;
    for (const auto& [m, c] : mounts_) {
      if ((path == m || path.rfind(m + "/", 0) == 0) && m.size() > best.size()) best = m;
    }
    return best;
  }
  bool IsMount(const std::string& dir) const { return mounts_.count(dir) != 0; }

  std::vector<pid_t> RawPids(const std::string& dir) const {
    std::vector<pid_t> out;
    for (const auto& w : Words(Content(dir + "/cgroup.procs"))) out.push_back(std::atoi(w.c_str()));
    return out;
  }
  std::vector<pid_t> LivePids(const std::string& dir) const {
    std::vector<pid_t> out;
    for (pid_t p : RawPids(dir))
      if (Alive(p)) out.push_back(p);
    return out;
  }

  void CreateV1Files(const std::string& dir, const std::vector<std::string>& controllers) {
    for (const auto& c : controllers) {
      if (c == "memory") {
        Put(dir + "/memory.limit_in_bytes", "9223372036854771712\n");
        if (swap) Put(dir + "/memory.memsw.limit_in_bytes", "9223372036854771712\n");
        Put(dir + "/memory.max_usage_in_bytes", "0\n");
        Put(dir + "/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n");
      } else if (c == "pids") {
        Put(dir + "/pids.max", "max\n");
      } else if (c == "cpuacct") {
        Put(dir + "/cpuacct.usage", "0\n");
        Put(dir + "/cpuacct.usage_user", "0\n");
        Put(dir + "/cpuacct.usage_sys", "0\n");
      } else if (c == "cpuset") {
        // A new v1 cpuset has no CPUs and no memory nodes until they are written.
        Put(dir + "/cpuset.cpus", "\n");
        Put(dir + "/cpuset.mems", "\n");
      }
    }
  }

  Status DoMkdir(const std::string& path) {
    std::string real = Real(path);
    if (fs::exists(real)) return Status::Error("mkdir " + path, EEXIST);
    if (!fs::is_directory(Real(Dir(path)))) return Status::Error("mkdir " + path, ENOENT);
    std::string mount = MountOf(path);
    if (mount.empty()) return Status::Error("mkdir " + path + ": not on a cgroup mount", EPERM);
    fs::create_directory(real);
    Put(path + "/cgroup.procs", "");
    if (version_ == 1) {
      CreateV1Files(path, mounts_[mount]);
      return Status::Ok();
    }
    std::string enabled = Content(Dir(path) + "/cgroup.subtree_control");
    Put(path + "/cgroup.controllers", enabled);
    Put(path + "/cgroup.subtree_control", "\n");
    Put(path + "/cpu.stat", "usage_usec 0\nuser_usec 0\nsystem_usec 0\n");
    if (kill_file) Put(path + "/cgroup.kill", "");
    for (const auto& c : Words(enabled)) CreateV2Files(path, c);
    return Status::Ok();
  }

  // The interface files of a v2 controller enabled for `dir` by its parent.
  void CreateV2Files(const std::string& dir, const std::string& c) {
    if (c == "memory") {
      Put(dir + "/memory.max", "max\n");
      if (swap) Put(dir + "/memory.swap.max", "max\n");
      Put(dir + "/memory.oom.group", "0\n");
      Put(dir + "/memory.current", "0\n");
      if (peak) Put(dir + "/memory.peak", "0\n");
      Put(dir + "/memory.events", "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n");
    } else if (c == "pids") {
      Put(dir + "/pids.max", "max\n");
    } else if (c == "cpuset") {
      Put(dir + "/cpuset.cpus", "\n");
    }
  }

  static bool IsNumberOrMax(const std::string& v, bool minus_one_ok) {
    std::string t = Trimmed(v);
    if (t == "max") return true;
    if (minus_one_ok && t == "-1") return true;
    return !t.empty() && t.find_first_not_of("0123456789") == std::string::npos;
  }
  static long long Limit(const std::string& v) {
    std::string t = Trimmed(v);
    if (t == "-1" || t == "max") return 9223372036854771712LL;
    return std::atoll(t.c_str());
  }

  Status DoWrite(const std::string& path, const std::string& data) {
    if (!fs::is_regular_file(Real(path))) return Status::Error("open " + path, ENOENT);
    const std::string name = Base(path);
    const std::string dir = Dir(path);
    auto inval = [&] { return Status::Error("write '" + data + "' to " + path, EINVAL); };
    if (name == "cgroup.procs") {
      std::string t = Trimmed(data);
      if (t.empty() || t.find_first_not_of("0123456789") != std::string::npos) return inval();
      pid_t pid = std::atoi(t.c_str());
      if (pid == 0) pid = ::getpid();
      if (::kill(pid, 0) != 0) return Status::Error("write to " + path, ESRCH);
      // v2: no processes in a cgroup that hands controllers to children.
      if (version_ == 2 && !IsMount(dir) && !Words(Content(dir + "/cgroup.subtree_control")).empty())
        return Status::Error("write to " + path, EBUSY);
      // A process is in one cgroup per hierarchy: moving it takes it out of the others.
      for (const auto& e : fs::recursive_directory_iterator(Real(MountOf(path)))) {
        if (e.path().filename() != "cgroup.procs") continue;
        std::string other = e.path().string().substr(tmp_.path().size());
        std::string kept;
        for (pid_t p : RawPids(Dir(other)))
          if (p != pid) kept += std::to_string(p) + "\n";
        Put(other, kept);
      }
      AddProc(dir, pid);
      return Status::Ok();
    }
    if (name == "cgroup.subtree_control") {
      std::vector<std::string> enabled = Words(Content(path));
      std::vector<std::string> available = Words(Content(dir + "/cgroup.controllers"));
      for (const auto& tok : Words(data)) {
        if (tok.size() < 2 || (tok[0] != '+' && tok[0] != '-')) return inval();
        std::string c = tok.substr(1);
        if (std::find(available.begin(), available.end(), c) == available.end())
          return Status::Error("write '" + data + "' to " + path, ENOENT);
        auto it = std::find(enabled.begin(), enabled.end(), c);
        if (tok[0] == '+' && it == enabled.end()) {
          if (!IsMount(dir) && !LivePids(dir).empty())
            return Status::Error("write '" + data + "' to " + path, EBUSY);
          enabled.push_back(c);
        } else if (tok[0] == '-' && it != enabled.end()) {
          enabled.erase(it);
        }
      }
      std::string out;
      for (const char* c : {"cpuset", "cpu", "io", "memory", "hugetlb", "pids", "rdma", "misc"})
        if (std::count(enabled.begin(), enabled.end(), c)) out += (out.empty() ? "" : " ") + std::string(c);
      Put(path, out + "\n");
      // Children see the change at once: cgroup.controllers and the controllers' files.
      for (const std::string& child : List(dir)) {
        std::string cdir = dir + "/" + child;
        std::vector<std::string> had = Words(Content(cdir + "/cgroup.controllers"));
        Put(cdir + "/cgroup.controllers", out + "\n");
        for (const auto& c : Words(out))
          if (std::find(had.begin(), had.end(), c) == had.end()) CreateV2Files(cdir, c);
      }
      return Status::Ok();
    }
    if (name == "cgroup.kill") {
      if (Trimmed(data) != "1") return inval();
      for (const auto& e : fs::recursive_directory_iterator(Real(dir))) {
        if (e.path().filename() != "cgroup.procs") continue;
        for (pid_t p : LivePids(Dir(e.path().string().substr(tmp_.path().size())))) {
          if (p == ::getpid()) {
            ADD_FAILURE() << "cgroup.kill would kill the test itself";
            continue;
          }
          ::kill(p, SIGKILL);
        }
      }
      return Status::Ok();
    }
    if (name == "cpuacct.usage") {
      if (Trimmed(data) != "0") return inval();
      Put(dir + "/cpuacct.usage", "0\n");
      Put(dir + "/cpuacct.usage_user", "0\n");
      Put(dir + "/cpuacct.usage_sys", "0\n");
      return Status::Ok();
    }
    if (name == "pids.max" || name == "memory.max" || name == "memory.swap.max") {
      if (!IsNumberOrMax(data, false)) return inval();
    }
    if (name == "memory.oom.group" && Trimmed(data) != "0" && Trimmed(data) != "1") return inval();
    if (name == "memory.limit_in_bytes" || name == "memory.memsw.limit_in_bytes") {
      if (!IsNumberOrMax(data, true) || Trimmed(data) == "max") return inval();
      // memory + swap can never be below memory.
      bool memsw = name == "memory.memsw.limit_in_bytes";
      std::string other = dir + (memsw ? "/memory.limit_in_bytes" : "/memory.memsw.limit_in_bytes");
      if (fs::exists(Real(other))) {
        long long mem = memsw ? Limit(Content(other)) : Limit(data);
        long long sw = memsw ? Limit(data) : Limit(Content(other));
        if (sw < mem) return inval();
      }
    }
    if (name == "cpuset.cpus") {
      std::set<int> want, allowed;
      if (!ParseCpuList(data, &want)) return inval();
      std::string parent_file = Dir(dir) + "/cpuset.cpus";
      std::string parent = fs::exists(Real(parent_file)) ? Content(parent_file) : "";
      if (Trimmed(parent).empty() || IsMount(dir)) parent = host_cpus;
      ParseCpuList(parent, &allowed);
      for (int c : want)
        if (!allowed.count(c)) return inval();
    }
    Put(path, data);
    return Status::Ok();
  }

  int version_;
  TempDir tmp_;
  std::map<std::string, std::vector<std::string>> mounts_;
  std::vector<std::string> ops_;
  std::vector<std::pair<std::string, std::string>> writes_;
};

// A child process that waits until it is released or killed.
class Child {
 public:
  Child() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) std::abort();
    pid_ = ::fork();
    if (pid_ < 0) std::abort();
    if (pid_ == 0) {
      ::close(fds[1]);
      char c;
      while (::read(fds[0], &c, 1) < 0 && errno == EINTR) {
      }
      ::_exit(0);
    }
    ::close(fds[0]);
    release_fd_ = fds[1];
  }
  ~Child() {
    if (pid_ > 0) Wait();
  }
  pid_t pid() const { return pid_; }
  // Releases the child (if it still waits) and reaps it; returns the wait status.
  int Wait() {
    if (release_fd_ >= 0) ::close(release_fd_);
    release_fd_ = -1;
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    return status;
  }
  bool WasKilled() {
    int status = Wait();
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
  }

 private:
  pid_t pid_ = -1;
  int release_fd_ = -1;
};

// ---------------------------------------------------------------- layout parsing

// This host's kind of hybrid layout: v1 controllers each at /sys/fs/cgroup/<ctrl>, the
// memory cgroup of the process not the root, and an (empty) cgroup2 at .../unified.
const char kHybridMountinfo[] =
    "24 29 0:22 / /sys rw,nosuid,nodev,noexec,relatime - sysfs sysfs rw\n"
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
    "34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset\n"
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices\n"
    "37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer\n"
    "38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio\n"
    "39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
    "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
const char kHybridProcCgroup[] =
    "9:name=systemd:/\n8:pids:/\n7:blkio:/\n6:freezer:/\n5:devices:/\n"
    "4:memory:/process_api/abc\n3:cpuset:/\n2:cpuacct:/\n1:cpu:/\n0::/\n";

TEST(CgroupLayout, HybridHostLayout) {
  CgroupLayout l = ParseCgroupLayout(kHybridMountinfo, kHybridProcCgroup);
  EXPECT_EQ(l.v1_dirs["memory"], "/sys/fs/cgroup/memory/process_api/abc");
  EXPECT_EQ(l.v1_dirs["pids"], "/sys/fs/cgroup/pids");
  EXPECT_EQ(l.v1_dirs["cpuacct"], "/sys/fs/cgroup/cpuacct");
  EXPECT_EQ(l.v1_dirs["cpu"], "/sys/fs/cgroup/cpu");
  EXPECT_EQ(l.v1_dirs["cpuset"], "/sys/fs/cgroup/cpuset");
  EXPECT_EQ(l.v1_dirs["name=systemd"], "/sys/fs/cgroup/systemd");
  EXPECT_EQ(l.v1_dirs.count("rw"), 0u) << "mount options are not controllers";
  EXPECT_EQ(l.v1_dirs.size(), 9u);
  EXPECT_EQ(l.v2_mount, "/sys/fs/cgroup/unified");
  EXPECT_EQ(l.v2_dir, "/sys/fs/cgroup/unified");
  EXPECT_TRUE(l.v2_controllers.empty()) << "filled in from cgroup.controllers, not parsed";
}

TEST(CgroupLayout, SharedV1Hierarchy) {
  CgroupLayout l = ParseCgroupLayout(
      "30 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:10 - cgroup cgroup rw,cpu,cpuacct\n"
      "31 25 0:27 / /sys/fs/cgroup/memory rw,nosuid shared:11 - cgroup cgroup rw,memory\n",
      "5:memory:/user.slice\n3:cpu,cpuacct:/user.slice/session-1.scope\n");
  EXPECT_EQ(l.v1_dirs["cpu"], "/sys/fs/cgroup/cpu,cpuacct/user.slice/session-1.scope");
  EXPECT_EQ(l.v1_dirs["cpuacct"], "/sys/fs/cgroup/cpu,cpuacct/user.slice/session-1.scope");
  EXPECT_EQ(l.v1_dirs["memory"], "/sys/fs/cgroup/memory/user.slice");
  EXPECT_EQ(l.v1_dirs.count("pids"), 0u);
  EXPECT_EQ(l.v2_dir, "");
}

TEST(CgroupLayout, PureV2Service) {
  CgroupLayout l = ParseCgroupLayout(
      "22 1 259:2 / / rw,relatime shared:1 - ext4 /dev/root rw\n"
      "30 24 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 "
      "rw,nsdelegate,memory_recursiveprot\n",
      "0::/system.slice/judge.service\n");
  EXPECT_EQ(l.v2_dir, "/sys/fs/cgroup/system.slice/judge.service");
  EXPECT_EQ(l.v2_mount, "/sys/fs/cgroup");
  EXPECT_TRUE(l.v1_dirs.empty());
}

TEST(CgroupLayout, PureV2AtRoot) {
  CgroupLayout l = ParseCgroupLayout(
      "30 24 0:26 / /sys/fs/cgroup rw,relatime - cgroup2 cgroup2 rw\n", "0::/\n");
  EXPECT_EQ(l.v2_dir, "/sys/fs/cgroup");
  EXPECT_EQ(l.v2_mount, "/sys/fs/cgroup");
}

TEST(CgroupLayout, CgroupNamespaceSeesItsRootAsSlash) {
  // Inside a container with its own cgroup namespace: own path "/" and mount root "/".
  CgroupLayout l = ParseCgroupLayout(
      "812 801 0:26 / /sys/fs/cgroup ro,nosuid,nodev,noexec,relatime - cgroup2 cgroup rw\n",
      "0::/\n");
  EXPECT_EQ(l.v2_dir, "/sys/fs/cgroup");
}

TEST(CgroupLayout, MountRootNotSlash) {
  // A container sharing the host's cgroup namespace: the mount shows only its subtree.
  CgroupLayout l = ParseCgroupLayout(
      "812 801 0:26 /docker/abc123 /sys/fs/cgroup rw,nosuid - cgroup2 cgroup rw\n",
      "0::/docker/abc123/workers\n");
  EXPECT_EQ(l.v2_dir, "/sys/fs/cgroup/workers");
  EXPECT_EQ(l.v2_mount, "/sys/fs/cgroup");

  CgroupLayout own_root = ParseCgroupLayout(
      "812 801 0:26 /docker/abc123 /sys/fs/cgroup rw,nosuid - cgroup2 cgroup rw\n",
      "0::/docker/abc123\n");
  EXPECT_EQ(own_root.v2_dir, "/sys/fs/cgroup");

  CgroupLayout v1 = ParseCgroupLayout(
      "900 899 0:40 /docker/abc123 /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
      "901 899 0:41 /docker/abc123 /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids\n",
      "4:memory:/docker/abc123\n3:pids:/docker/abc123/x\n");
  EXPECT_EQ(v1.v1_dirs["memory"], "/sys/fs/cgroup/memory");
  EXPECT_EQ(v1.v1_dirs["pids"], "/sys/fs/cgroup/pids/x");
}

TEST(CgroupLayout, EscapedMountPoint) {
  CgroupLayout l = ParseCgroupLayout(
      "50 24 0:45 / /mnt/my\\040cgroups rw - cgroup2 cgroup2 rw\n"
      "51 24 0:46 / /mnt/tab\\011and\\134back rw - cgroup cgroup rw,pids\n",
      "2:pids:/a b\n0::/run\n");
  EXPECT_EQ(l.v2_mount, "/mnt/my cgroups");
  EXPECT_EQ(l.v2_dir, "/mnt/my cgroups/run");
  EXPECT_EQ(l.v1_dirs["pids"], "/mnt/tab\tand\\back/a b");
}

TEST(CgroupLayout, FirstMountOfAHierarchyWins) {
  CgroupLayout l = ParseCgroupLayout(
      "30 24 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n"
      "31 24 0:26 / /run/other rw - cgroup2 cgroup2 rw\n"
      "32 24 0:27 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids\n"
      "33 24 0:27 / /elsewhere/pids rw - cgroup cgroup rw,pids\n",
      "1:pids:/p\n0::/q\n");
  EXPECT_EQ(l.v2_dir, "/sys/fs/cgroup/q");
  EXPECT_EQ(l.v1_dirs["pids"], "/sys/fs/cgroup/pids/p");
}

TEST(CgroupLayout, NoV2MembershipMeansNoV2) {
  // cgroup2 mounted but the process's /proc/self/cgroup has no "0::" line.
  CgroupLayout l = ParseCgroupLayout(
      "30 24 0:26 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n"
      "31 24 0:27 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n",
      "4:memory:/\n");
  EXPECT_EQ(l.v2_dir, "");
  EXPECT_EQ(l.v1_dirs["memory"], "/sys/fs/cgroup/memory");
}

TEST(CgroupLayout, IgnoresGarbage) {
  CgroupLayout l = ParseCgroupLayout("garbage\n\n1 2 3 - cgroup2\n - - -\n", "nonsense\n::\n");
  EXPECT_EQ(l.v2_dir, "");
  EXPECT_TRUE(l.v1_dirs.empty());
}

TEST(CgroupLayout, ThisHostDirectoriesExist) {
  auto mountinfo = ReadFile("/proc/self/mountinfo");
  auto proc_cgroup = ReadFile("/proc/self/cgroup");
  ASSERT_TRUE(mountinfo.ok() && proc_cgroup.ok());
  CgroupLayout l = ParseCgroupLayout(*mountinfo, *proc_cgroup);
  if (l.v2_dir.empty() && l.v1_dirs.empty()) GTEST_SKIP() << "no cgroup mounts visible here";
  if (!l.v2_dir.empty()) {
    EXPECT_TRUE(fs::is_directory(l.v2_dir)) << l.v2_dir;
  }
  for (const auto& [ctrl, dir] : l.v1_dirs) EXPECT_TRUE(fs::is_directory(dir)) << ctrl << " " << dir;
}

// ---------------------------------------------------------------- helpers

TEST(CgroupHelpers, ParsePids) {
  EXPECT_EQ(ParsePids("12\n345\n"), (std::vector<pid_t>{12, 345}));
  EXPECT_EQ(ParsePids(""), std::vector<pid_t>{});
  EXPECT_EQ(ParsePids("\n"), std::vector<pid_t>{});
  EXPECT_EQ(ParsePids("  7 \n\n0\n-3\nabc\n12x\n8"), (std::vector<pid_t>{7, 8}));
}

TEST(CgroupHelpers, FlatKey) {
  const std::string stat = "usage_usec 100\nuser_usec 60\nsystem_usec 40\nnr_periods 0\n";
  EXPECT_EQ(FlatKey(stat, "usage_usec"), 100);
  EXPECT_EQ(FlatKey(stat, "user_usec"), 60);
  EXPECT_EQ(FlatKey(stat, "system_usec"), 40);
  EXPECT_EQ(FlatKey(stat, "usec"), 0);
  EXPECT_EQ(FlatKey(stat, "missing"), 0);
  // A key that is a prefix of another key matches only itself.
  const std::string oom = "oom_kill_disable 1\nunder_oom 0\noom_kill 5\n";
  EXPECT_EQ(FlatKey(oom, "oom_kill"), 5);
  EXPECT_EQ(FlatKey(oom, "oom_kill_disable"), 1);
  const std::string events = "low 0\nhigh 0\nmax 7\noom 2\noom_kill 1\n";
  EXPECT_EQ(FlatKey(events, "oom"), 2);
  EXPECT_EQ(FlatKey(events, "oom_kill"), 1);
  EXPECT_EQ(FlatKey("big 9000000000000\n", "big"), 9000000000000LL);
  EXPECT_EQ(FlatKey("bad x\n", "bad"), 0);
}

// ---------------------------------------------------------------- backend choice

TEST(CgroupManagerChoice, V2WhenItHasMemoryPidsCpu) {
  FakeCgroupFs fake(2);
  fake.Mount("/sys/fs/cgroup", {"cpuset", "cpu", "io", "memory", "pids"});
  CgroupLayout l;
  l.v2_mount = l.v2_dir = "/sys/fs/cgroup";
  l.v2_controllers = {"cpuset", "cpu", "io", "memory", "pids"};
  l.v1_dirs = {{"memory", "/x"}, {"pids", "/y"}, {"cpuacct", "/z"}};  // v2 still wins
  auto m = MakeCgroupManager(l, fake);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ((*m)->version(), 2);
}

TEST(CgroupManagerChoice, V1WhenV2LacksAController) {
  FakeCgroupFs fake(1);
  CgroupLayout l = ParseCgroupLayout(kHybridMountinfo, kHybridProcCgroup);
  l.v2_controllers = {"hugetlb"};  // this host's unified hierarchy
  auto m = MakeCgroupManager(l, fake);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ((*m)->version(), 1);
  EXPECT_HAS((*m)->Describe(), "memory=/sys/fs/cgroup/memory/process_api/abc");

  l.v2_controllers = {"memory", "pids"};  // no cpu
  m = MakeCgroupManager(l, fake);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ((*m)->version(), 1);
  EXPECT_TRUE(fake.ops().empty()) << "choosing v1 touches nothing";
}

TEST(CgroupManagerChoice, ErrorNamesWhatIsMissing) {
  FakeCgroupFs fake(1);
  CgroupLayout l;
  l.v1_dirs = {{"memory", "/sys/fs/cgroup/memory"}, {"cpu", "/sys/fs/cgroup/cpu"}};
  auto m = MakeCgroupManager(l, fake);
  ASSERT_FALSE(m.ok());
  EXPECT_HAS(m.status().message(), "not mounted");
  EXPECT_HAS(m.status().message(), "lacks pids, cpuacct");

  l.v2_mount = l.v2_dir = "/sys/fs/cgroup/unified";
  l.v2_controllers = {"memory", "pids"};
  l.v1_dirs.clear();
  m = MakeCgroupManager(l, fake);
  ASSERT_FALSE(m.ok());
  EXPECT_HAS(m.status().message(), "/sys/fs/cgroup/unified lacks memory/pids/cpu");
  EXPECT_HAS(m.status().message(), "memory, pids, cpuacct");
}

TEST(CgroupManagerChoice, BackendsRefuseIncompleteLayouts) {
  FakeCgroupFs fake(1);
  CgroupLayout l;
  l.v1_dirs = {{"memory", "/m"}, {"cpuacct", "/c"}};
  auto v1 = MakeCgroupV1Manager(l, fake);
  ASSERT_FALSE(v1.ok());
  EXPECT_HAS(v1.status().message(), "'pids'");
  auto v2 = MakeCgroupV2Manager(l, fake);
  ASSERT_FALSE(v2.ok());
  EXPECT_HAS(v2.status().message(), "not mounted");
}

// ---------------------------------------------------------------- v1 backend

class CgroupV1Test : public ::testing::Test {
 protected:
  static constexpr const char* kMem = "/sys/fs/cgroup/memory/process_api/abc";
  static constexpr const char* kPids = "/sys/fs/cgroup/pids";
  static constexpr const char* kAcct = "/sys/fs/cgroup/cpu,cpuacct";
  static constexpr const char* kCpuset = "/sys/fs/cgroup/cpuset";

  explicit CgroupV1Test(bool swap = true) : fake(1) { fake.swap = swap; }

  void SetUp() override {
    fake.Mount("/sys/fs/cgroup/memory", {"memory"});
    fake.Mount(kPids, {"pids"});
    fake.Mount(kAcct, {"cpu", "cpuacct"});
    fake.Mount(kCpuset, {"cpuset"});
    fake.MakeCgroup(kMem);
    layout.v1_dirs = {{"memory", kMem}, {"pids", kPids}, {"cpu", kAcct}, {"cpuacct", kAcct},
                      {"cpuset", kCpuset}};
    auto m = MakeCgroupV1Manager(layout, fake);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    mgr = std::move(m).value();
    fake.ClearOps();
  }

  std::unique_ptr<RunCgroup> Create(const std::string& name, bool cpuset = false) {
    auto r = mgr->Create(name, cpuset);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::move(r).value() : nullptr;
  }
  static std::string Path(const char* h, const std::string& f) {
    return std::string(h) + "/judge-run-1" + (f.empty() ? "" : "/" + f);
  }
  static std::string Mem(const std::string& f) { return Path(kMem, f); }
  static std::string Pids(const std::string& f) { return Path(kPids, f); }
  static std::string Acct(const std::string& f) { return Path(kAcct, f); }
  static std::string Cpuset(const std::string& f) { return Path(kCpuset, f); }

  FakeCgroupFs fake;
  CgroupLayout layout;
  std::unique_ptr<CgroupManager> mgr;
};

TEST_F(CgroupV1Test, CreateMakesADirInEachHierarchyBelowTheOwnCgroup) {
  auto run = Create("judge-run-1");
  ASSERT_TRUE(run);
  EXPECT_EQ(mgr->version(), 1);
  EXPECT_TRUE(fake.Exists(std::string(kMem) + "/judge-run-1/memory.limit_in_bytes"));
  EXPECT_TRUE(fake.Exists(std::string(kPids) + "/judge-run-1/pids.max"));
  EXPECT_TRUE(fake.Exists(std::string(kAcct) + "/judge-run-1/cpuacct.usage"));
  EXPECT_FALSE(fake.Exists(std::string(kCpuset) + "/judge-run-1")) << "no cpuset without pinning";
  // cpu and cpuacct share a hierarchy: one mkdir for both.
  EXPECT_EQ(std::count(fake.ops().begin(), fake.ops().end(),
                       "mkdir " + std::string(kAcct) + "/judge-run-1"),
            1);
  EXPECT_EQ(run->path(), std::string(kMem) + "/judge-run-1");
  EXPECT_EQ(run->clone_into_fd(), -1) << "v1 cannot clone into a cgroup";
}

TEST_F(CgroupV1Test, CreateWithCpuset) {
  auto run = Create("judge-run-1", true);
  ASSERT_TRUE(run);
  EXPECT_TRUE(fake.Exists(Cpuset("cpuset.cpus")));
}

TEST_F(CgroupV1Test, CpusetMustBeMountedWhenPinning) {
  layout.v1_dirs.erase("cpuset");
  auto m = MakeCgroupV1Manager(layout, fake);
  ASSERT_TRUE(m.ok());
  auto r = (*m)->Create("judge-run-1", true);
  ASSERT_FALSE(r.ok());
  EXPECT_HAS(r.status().message(), "'cpuset'");
  EXPECT_TRUE((*m)->Create("judge-run-1", false).ok());
}

TEST_F(CgroupV1Test, PrepareWritesTheLimits) {
  auto run = Create("judge-run-1");
  ASSERT_TRUE(run);
  fake.Set(Acct("cpuacct.usage"), "777\n");
  fake.Set(Acct("cpuacct.usage_user"), "700\n");
  ASSERT_TRUE(run->Prepare({64ll << 20, 10, ""}).ok());
  EXPECT_EQ(Trimmed(fake.Content(Mem("memory.limit_in_bytes"))), "67108864");
  EXPECT_EQ(Trimmed(fake.Content(Mem("memory.memsw.limit_in_bytes"))), "67108864");
  EXPECT_EQ(Trimmed(fake.Content(Pids("pids.max"))), "10");
  EXPECT_EQ(fake.WritesTo(Mem("memory.max_usage_in_bytes")).size(), 1u) << "peak reset";
  EXPECT_EQ(fake.WritesTo(Acct("cpuacct.usage")), std::vector<std::string>{"0"});
  EXPECT_EQ(Trimmed(fake.Content(Acct("cpuacct.usage_user"))), "0") << "cpu accounting reset";
  EXPECT_TRUE(fake.WritesTo(Cpuset("cpuset.cpus")).empty());
}

TEST_F(CgroupV1Test, PrepareCanLowerAndRaiseTheMemoryLimit) {
  // memsw >= memory at every moment, or the kernel refuses the write (the fake too).
  auto run = Create("judge-run-1");
  ASSERT_TRUE(run);
  for (long long mb : {64, 16, 512, 32}) {
    Status st = run->Prepare({mb << 20, 10, ""});
    ASSERT_TRUE(st.ok()) << mb << "M: " << st.ToString();
    EXPECT_EQ(Trimmed(fake.Content(Mem("memory.limit_in_bytes"))), std::to_string(mb << 20));
    EXPECT_EQ(Trimmed(fake.Content(Mem("memory.memsw.limit_in_bytes"))), std::to_string(mb << 20));
  }
}

TEST_F(CgroupV1Test, PrepareUnlimited) {
  auto run = Create("judge-run-1");
  ASSERT_TRUE(run);
  ASSERT_TRUE(run->Prepare({64ll << 20, 10, ""}).ok());
  ASSERT_TRUE(run->Prepare({0, 0, ""}).ok());
  EXPECT_EQ(Trimmed(fake.Content(Mem("memory.limit_in_bytes"))), "-1");
  EXPECT_EQ(Trimmed(fake.Content(Pids("pids.max"))), "max");
}

class CgroupV1NoSwapTest : public CgroupV1Test {
 protected:
  CgroupV1NoSwapTest() : CgroupV1Test(false) {}
};

TEST_F(CgroupV1NoSwapTest, PrepareWithoutSwapAccounting) {
  auto run = Create("judge-run-1");
  ASSERT_TRUE(run);
  ASSERT_TRUE(run->Prepare({64ll << 20, 10, ""}).ok());
  EXPECT_EQ(Trimmed(fake.Content(Mem("memory.limit_in_bytes"))), "67108864");
  EXPECT_TRUE(fake.WritesTo(Mem("memory.memsw.limit_in_bytes")).empty());
}

TEST_F(CgroupV1Test, PreparePinsCpusAndCopiesMems) {
  auto run = Create("judge-run-1", true);
  ASSERT_TRUE(run);
  ASSERT_TRUE(run->Prepare({64ll << 20, 10, "1-2"}).ok());
  EXPECT_EQ(Trimmed(fake.Content(Cpuset("cpuset.cpus"))), "1-2");
  EXPECT_EQ(Trimmed(fake.Content(Cpuset("cpuset.mems"))), "0");
  // mems first: a cpuset without memory nodes cannot take tasks.
  EXPECT_LT(fake.OpIndex("write " + Cpuset("cpuset.mems") + " 0"),
            fake.OpIndex("write " + Cpuset("cpuset.cpus") + " 1-2"));
}

TEST_F(CgroupV1Test, PrepareWithCpusetButNoPinningGetsAllCpus) {
  auto run = Create("judge-run-1", true);
  ASSERT_TRUE(run);
  ASSERT_TRUE(run->Prepare({64ll << 20, 10, ""}).ok());
  EXPECT_EQ(Trimmed(fake.Content(Cpuset("cpuset.cpus"))), fake.host_cpus);
}

TEST_F(CgroupV1Test, PrepareRefusesCpusOutsideTheParent) {
  auto run = Create("judge-run-1", true);
  ASSERT_TRUE(run);
  Status st = run->Prepare({64ll << 20, 10, "7"});
  ASSERT_FALSE(st.ok());
  EXPECT_HAS(st.message(), "--cpus 7 is not a subset");
}

TEST_F(CgroupV1Test, UsageReadsCountersAndSubtractsTheOomBaseline) {
  auto run = Create("judge-run-1");
  ASSERT_TRUE(run);
  fake.Set(Mem("memory.oom_control"), "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n");
  ASSERT_TRUE(run->Prepare({64ll << 20, 10, ""}).ok());
  fake.Set(Acct("cpuacct.usage_user"), "1500000\n");
  fake.Set(Acct("cpuacct.usage_sys"), "500000\n");
  fake.Set(Acct("cpuacct.usage"), "2000123\n");
  fake.Set(Mem("memory.max_usage_in_bytes"), "123456789\n");
  fake.Set(Mem("memory.oom_control"), "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n");
  auto u = run->Usage();
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ(u->cpu_user_ns, 1500000);
  EXPECT_EQ(u->cpu_system_ns, 500000);
  EXPECT_EQ(u->cpu_total_ns, 2000123);
  EXPECT_EQ(u->memory_peak_bytes, 123456789);
  EXPECT_EQ(u->oom_kills, 1);
}

TEST_F(CgroupV1Test, UsageReportsUnreadableCounters) {
  auto run = Create("judge-run-1");
  ASSERT_TRUE(run);
  ASSERT_TRUE(run->Prepare({64ll << 20, 10, ""}).ok());
  fake.Set(Acct("cpuacct.usage_sys"), "garbage\n");
  auto u = run->Usage();
  ASSERT_FALSE(u.ok());
  EXPECT_HAS(u.status().message(), "cpuacct.usage_sys");
}

TEST_F(CgroupV1Test, AttachWritesThePidToEachHierarchy) {
  auto run = Create("judge-run-1");
  ASSERT_TRUE(run);
  Child child;
  ASSERT_TRUE(run->Attach(child.pid()).ok());
  const std::string pid = std::to_string(child.pid());
  for (const std::string& procs : {Mem("cgroup.procs"), Pids("cgroup.procs"), Acct("cgroup.procs")}) {
    EXPECT_EQ(fake.WritesTo(procs), std::vector<std::string>{pid}) << procs;
    auto r = fake.Read(procs);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(*r, pid + "\n") << procs;
  }
  ASSERT_TRUE(run->Kill().ok());
  EXPECT_TRUE(child.WasKilled());
}

TEST_F(CgroupV1Test, AttachFailsForAMissingProcess) {
  auto run = Create("judge-run-1");
  ASSERT_TRUE(run);
  Child child;
  pid_t gone = child.pid();
  child.Wait();
  EXPECT_FALSE(run->Attach(gone).ok());
}

TEST_F(CgroupV1Test, KillEmptiesTheCgroup) {
  auto run = Create("judge-run-1");
  ASSERT_TRUE(run);
  Child a, b;
  ASSERT_TRUE(run->Attach(a.pid()).ok());
  ASSERT_TRUE(run->Attach(b.pid()).ok());
  ASSERT_TRUE(run->Kill().ok());
  EXPECT_EQ(*fake.Read(Pids("cgroup.procs")), "");
  EXPECT_TRUE(a.WasKilled());
  EXPECT_TRUE(b.WasKilled());
}

TEST_F(CgroupV1Test, RemoveRemovesEveryDirectory) {
  auto run = Create("judge-run-1", true);
  ASSERT_TRUE(run);
  ASSERT_TRUE(run->Remove().ok());
  for (const char* h : {kMem, kPids, kAcct, kCpuset}) {
    EXPECT_FALSE(fake.Exists(std::string(h) + "/judge-run-1")) << h;
    EXPECT_TRUE(fake.Exists(h)) << "the own cgroup stays: " << h;
  }
  EXPECT_TRUE(run->Remove().ok()) << "twice is harmless";
}

TEST_F(CgroupV1Test, RemoveKillsWhatIsLeft) {
  auto run = Create("judge-run-1");
  ASSERT_TRUE(run);
  Child child;
  ASSERT_TRUE(run->Attach(child.pid()).ok());
  ASSERT_TRUE(run->Remove().ok());
  EXPECT_TRUE(child.WasKilled());
  EXPECT_FALSE(fake.Exists(Mem("")));
  EXPECT_FALSE(fake.Exists(Pids("")));
}

TEST_F(CgroupV1Test, DestructorRemoves) {
  {
    auto run = Create("judge-run-1");
    ASSERT_TRUE(run);
    ASSERT_TRUE(fake.Exists(Mem("")));
  }
  EXPECT_FALSE(fake.Exists(Mem("")));
  EXPECT_FALSE(fake.Exists(Pids("")));
  EXPECT_FALSE(fake.Exists(Acct("")));
}

TEST_F(CgroupV1Test, StaleDirOfTheSameNameIsRemovedAndRecreated) {
  // A crashed run left its cgroups, one process still in them and a limit set.
  fake.MakeCgroup(std::string(kMem) + "/judge-run-1");
  fake.MakeCgroup(std::string(kPids) + "/judge-run-1");
  fake.MakeCgroup(std::string(kAcct) + "/judge-run-1");
  fake.Set(Mem("memory.limit_in_bytes"), "4096\n");
  Child stale;
  fake.AddProc(Mem(""), stale.pid());
  fake.AddProc(Pids(""), stale.pid());
  fake.AddProc(Acct(""), stale.pid());
  fake.ClearOps();

  auto run = Create("judge-run-1");
  ASSERT_TRUE(run);
  EXPECT_TRUE(stale.WasKilled());
  for (const char* h : {kMem, kPids, kAcct}) {
    std::string dir = std::string(h) + "/judge-run-1";
    size_t rm = fake.OpIndex("rmdir " + dir), mk = fake.OpIndex("mkdir " + dir);
    EXPECT_NE(rm, std::string::npos) << dir;
    EXPECT_NE(mk, std::string::npos) << dir;
    EXPECT_LT(rm, mk) << dir;
  }
  EXPECT_EQ(Trimmed(fake.Content(Mem("memory.limit_in_bytes"))), "9223372036854771712")
      << "a fresh cgroup";
  ASSERT_TRUE(run->Prepare({64ll << 20, 10, ""}).ok());
}

TEST_F(CgroupV1Test, StaleDirThatCannotBeRemovedIsAnError) {
  fake.MakeCgroup(std::string(kMem) + "/judge-run-1/nested");
  auto r = mgr->Create("judge-run-1", false);
  ASSERT_FALSE(r.ok());
  EXPECT_HAS(r.status().message(), "removing stale cgroup");
}

TEST_F(CgroupV1Test, Describe) {
  std::string d = mgr->Describe();
  EXPECT_HAS(d, "cgroup v1");
  EXPECT_HAS(d, std::string("memory=") + kMem);
  EXPECT_HAS(d, std::string("pids=") + kPids);
  EXPECT_HAS(d, std::string("cpuacct=") + kAcct);
}

// ---------------------------------------------------------------- v2 backend

constexpr const char* kV2Root = "/sys/fs/cgroup";
const std::vector<std::string> kV2Controllers = {"cpuset", "cpu", "io", "memory", "pids"};

class CgroupV2Test : public ::testing::Test {
 protected:
  CgroupV2Test() : fake(2) {}
  // The manager with `own` as this process's cgroup (the root unless given).
  void Start(const std::string& own = kV2Root) {
    fake.Mount(kV2Root, kV2Controllers);
    if (own != kV2Root) fake.MakeCgroup(own);
    layout.v2_mount = kV2Root;
    layout.v2_dir = own;
    layout.v2_controllers = Words(fake.Content(own + "/cgroup.controllers"));
    auto m = MakeCgroupV2Manager(layout, fake);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    mgr = std::move(m).value();
  }
  std::unique_ptr<RunCgroup> Create(const std::string& name, bool cpuset = false) {
    auto r = mgr->Create(name, cpuset);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::move(r).value() : nullptr;
  }
  static std::string Run(const std::string& f) {
    return std::string(kV2Root) + "/judge-run-1" + (f.empty() ? "" : "/" + f);
  }

  FakeCgroupFs fake;
  CgroupLayout layout;
  std::unique_ptr<CgroupManager> mgr;
};

TEST_F(CgroupV2Test, ManagerEnablesControllersInTheDomain) {
  Start();
  EXPECT_EQ(mgr->version(), 2);
  EXPECT_EQ(fake.WritesTo("/sys/fs/cgroup/cgroup.subtree_control"),
            std::vector<std::string>{"+memory +pids +cpu"});
  EXPECT_EQ(fake.Content("/sys/fs/cgroup/cgroup.subtree_control"), "cpu memory pids\n");
  EXPECT_HAS(mgr->Describe(), "cgroup v2: /sys/fs/cgroup");
}

TEST_F(CgroupV2Test, CreateMakesARunCgroupWithTheControllers) {
  Start();
  auto run = Create("judge-run-1");
  ASSERT_TRUE(run);
  EXPECT_EQ(run->path(), "/sys/fs/cgroup/judge-run-1");
  EXPECT_EQ(Words(fake.Content(Run("cgroup.controllers"))),
            (std::vector<std::string>{"cpu", "memory", "pids"}));
  EXPECT_TRUE(fake.Exists(Run("memory.max")));
  EXPECT_TRUE(fake.Exists(Run("pids.max")));
  EXPECT_GE(run->clone_into_fd(), 0) << "v2 clones straight into the cgroup";
  // Already enabled: no second write to subtree_control.
  EXPECT_EQ(fake.WritesTo("/sys/fs/cgroup/cgroup.subtree_control").size(), 1u);
}

TEST_F(CgroupV2Test, CreateWithCpusetEnablesIt) {
  Start();
  auto run = Create("judge-run-1", true);
  ASSERT_TRUE(run);
  EXPECT_EQ(fake.WritesTo("/sys/fs/cgroup/cgroup.subtree_control").back(), "+cpuset");
  EXPECT_TRUE(fake.Exists(Run("cpuset.cpus")));
}

TEST_F(CgroupV2Test, PrepareWritesTheLimits) {
  Start();
  auto run = Create("judge-run-1");
  ASSERT_TRUE(run);
  ASSERT_TRUE(run->Prepare({64ll << 20, 10, ""}).ok());
  EXPECT_EQ(fake.WritesTo(Run("memory.max")), std::vector<std::string>{"67108864"});
  EXPECT_EQ(fake.WritesTo(Run("memory.swap.max")), std::vector<std::string>{"0"});
  EXPECT_EQ(fake.WritesTo(Run("pids.max")), std::vector<std::string>{"10"});
  EXPECT_EQ(Trimmed(fake.Content(Run("memory.oom.group"))), "1");
}

TEST_F(CgroupV2Test, PrepareUnlimited) {
  Start();
  auto run = Create("judge-run-1");
  ASSERT_TRUE(run);
  ASSERT_TRUE(run->Prepare({0, 0, ""}).ok());
  EXPECT_EQ(Trimmed(fake.Content(Run("memory.max"))), "max");
  EXPECT_EQ(Trimmed(fake.Content(Run("pids.max"))), "max");
  EXPECT_EQ(Trimmed(fake.Content(Run("memory.swap.max"))), "0") << "never swap";
}

TEST_F(CgroupV2Test, PrepareWithoutSwapFile) {
  fake.swap = false;
  Start();
  auto run = Create("judge-run-1");
  ASSERT_TRUE(run);
  ASSERT_TRUE(run->Prepare({64ll << 20, 10, ""}).ok());
  EXPECT_TRUE(fake.WritesTo(Run("memory.swap.max")).empty());
}

TEST_F(CgroupV2Test, PreparePinsCpus) {
  Start();
  auto run = Create("judge-run-1", true);
  ASSERT_TRUE(run);
  ASSERT_TRUE(run->Prepare({64ll << 20, 10, "0,2"}).ok());
  EXPECT_EQ(Trimmed(fake.Content(Run("cpuset.cpus"))), "0,2");
  Status st = run->Prepare({64ll << 20, 10, "9"});
  ASSERT_FALSE(st.ok());
  EXPECT_HAS(st.message(), "--cpus 9 is not a subset");
}

TEST_F(CgroupV2Test, UsageParsesCpuStatAndMemoryWithBaselines) {
  Start();
  auto run = Create("judge-run-1");
  ASSERT_TRUE(run);
  // Counters before Prepare (a reused cgroup) are the baseline.
  fake.Set(Run("cpu.stat"), "usage_usec 1000\nuser_usec 600\nsystem_usec 400\n");
  fake.Set(Run("memory.events"), "low 0\nhigh 0\nmax 2\noom 1\noom_kill 1\n");
  ASSERT_TRUE(run->Prepare({64ll << 20, 10, ""}).ok());
  fake.Set(Run("cpu.stat"),
           "usage_usec 3500\nuser_usec 2100\nsystem_usec 1400\nnr_periods 0\nnr_throttled 0\n");
  fake.Set(Run("memory.peak"), "4096000\n");
  fake.Set(Run("memory.current"), "1000\n");
  fake.Set(Run("memory.events"), "low 0\nhigh 0\nmax 9\noom 3\noom_kill 3\n");
  auto u = run->Usage();
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ(u->cpu_total_ns, 2500000);
  EXPECT_EQ(u->cpu_user_ns, 1500000);
  EXPECT_EQ(u->cpu_system_ns, 1000000);
  EXPECT_EQ(u->memory_peak_bytes, 4096000);
  EXPECT_EQ(u->oom_kills, 2);
}

TEST_F(CgroupV2Test, UsageWithoutMemoryPeakUsesCurrent) {
  fake.peak = false;  // before Linux 5.19
  Start();
  auto run = Create("judge-run-1");
  ASSERT_TRUE(run);
  ASSERT_TRUE(run->Prepare({64ll << 20, 10, ""}).ok());
  fake.Set(Run("memory.current"), "2048000\n");
  auto u = run->Usage();
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ(u->memory_peak_bytes, 2048000);
}

TEST_F(CgroupV2Test, AttachWritesCgroupProcs) {
  Start();
  auto run = Create("judge-run-1");
  ASSERT_TRUE(run);
  Child child;
  ASSERT_TRUE(run->Attach(child.pid()).ok());
  EXPECT_EQ(fake.WritesTo(Run("cgroup.procs")), std::vector<std::string>{std::to_string(child.pid())});
  EXPECT_EQ(*fake.Read(Run("cgroup.procs")), std::to_string(child.pid()) + "\n");
}

TEST_F(CgroupV2Test, KillWritesCgroupKill) {
  Start();
  auto run = Create("judge-run-1");
  ASSERT_TRUE(run);
  Child a, b;
  ASSERT_TRUE(run->Attach(a.pid()).ok());
  ASSERT_TRUE(run->Attach(b.pid()).ok());
  ASSERT_TRUE(run->Kill().ok());
  EXPECT_EQ(fake.WritesTo(Run("cgroup.kill")), std::vector<std::string>{"1"});
  EXPECT_EQ(*fake.Read(Run("cgroup.procs")), "");
  EXPECT_TRUE(a.WasKilled());
  EXPECT_TRUE(b.WasKilled());
}

TEST_F(CgroupV2Test, KillWithoutCgroupKillSignalsEachProcess) {
  fake.kill_file = false;  // before Linux 5.14
  Start();
  auto run = Create("judge-run-1");
  ASSERT_TRUE(run);
  Child child;
  ASSERT_TRUE(run->Attach(child.pid()).ok());
  ASSERT_TRUE(run->Kill().ok());
  EXPECT_TRUE(fake.WritesTo(Run("cgroup.kill")).empty());
  EXPECT_TRUE(child.WasKilled());
}

TEST_F(CgroupV2Test, RemoveRemovesTheDirAndClosesTheFd) {
  Start();
  auto run = Create("judge-run-1");
  ASSERT_TRUE(run);
  int fd = run->clone_into_fd();
  ASSERT_GE(fd, 0);
  Child child;
  ASSERT_TRUE(run->Attach(child.pid()).ok());
  ASSERT_TRUE(run->Remove().ok());
  EXPECT_EQ(::fcntl(fd, F_GETFD), -1) << "fd closed";
  EXPECT_FALSE(fake.Exists(Run("")));
  EXPECT_TRUE(child.WasKilled());
  EXPECT_TRUE(run->Remove().ok());
}

TEST_F(CgroupV2Test, StaleDirOfTheSameNameIsRemovedAndRecreated) {
  Start();
  fake.MakeCgroup(Run(""));
  fake.Set(Run("memory.max"), "4096\n");
  Child stale;
  fake.AddProc(Run(""), stale.pid());
  fake.ClearOps();
  auto run = Create("judge-run-1");
  ASSERT_TRUE(run);
  EXPECT_TRUE(stale.WasKilled());
  size_t rm = fake.OpIndex("rmdir /sys/fs/cgroup/judge-run-1");
  size_t mk = fake.OpIndex("mkdir /sys/fs/cgroup/judge-run-1");
  ASSERT_NE(rm, std::string::npos);
  ASSERT_NE(mk, std::string::npos);
  EXPECT_LT(rm, mk);
  EXPECT_EQ(Trimmed(fake.Content(Run("memory.max"))), "max");
}

// A service's own cgroup (pure v2, systemd Delegate=yes) holds the judge process: it
// must move into a leaf before the own cgroup may hand controllers to runs.
constexpr const char* kService = "/sys/fs/cgroup/system.slice/judge.service";

TEST_F(CgroupV2Test, NonRootOwnCgroupMovesThisProcessIntoALeaf) {
  fake.Mount(kV2Root, kV2Controllers);
  fake.MakeCgroup(kService);
  fake.AddProc(kService, ::getpid());
  layout.v2_mount = kV2Root;
  layout.v2_dir = kService;
  auto m = MakeCgroupV2Manager(layout, fake);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  std::string leaf = std::string(kService) + "/judge-supervisor-" + std::to_string(::getpid());
  EXPECT_EQ(*fake.Read(leaf + "/cgroup.procs"), std::to_string(::getpid()) + "\n");
  EXPECT_EQ(*fake.Read(std::string(kService) + "/cgroup.procs"), "");
  EXPECT_EQ(fake.Content(std::string(kService) + "/cgroup.subtree_control"), "cpu memory pids\n");
  auto run = (*m)->Create("judge-run-1", false);
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  EXPECT_EQ((*run)->path(), std::string(kService) + "/judge-run-1");
  EXPECT_TRUE(fake.Exists(std::string(kService) + "/judge-run-1/memory.max"));
}

TEST_F(CgroupV2Test, NonRootOwnCgroupWithOtherProcessesIsAClearError) {
  fake.Mount(kV2Root, kV2Controllers);
  fake.MakeCgroup(kService);
  Child other;
  fake.AddProc(kService, other.pid());
  fake.AddProc(kService, ::getpid());
  layout.v2_mount = kV2Root;
  layout.v2_dir = kService;
  auto m = MakeCgroupV2Manager(layout, fake);
  ASSERT_FALSE(m.ok());
  EXPECT_HAS(m.status().message(), "other processes live in it");
}

TEST_F(CgroupV2Test, EmptySupervisorLeavesOfEarlierProcessesAreRemoved) {
  fake.Mount(kV2Root, kV2Controllers);
  fake.MakeCgroup(kService);
  const std::string svc = kService;
  fake.MakeCgroup(svc + "/judge-supervisor-1");  // its process exited
  fake.MakeCgroup(svc + "/judge-supervisor-2");  // still running
  fake.MakeCgroup(svc + "/unrelated");
  Child running;
  fake.AddProc(svc + "/judge-supervisor-2", running.pid());
  layout.v2_mount = kV2Root;
  layout.v2_dir = kService;
  auto m = MakeCgroupV2Manager(layout, fake);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_FALSE(fake.Exists(svc + "/judge-supervisor-1"));
  EXPECT_TRUE(fake.Exists(svc + "/judge-supervisor-2"));
  EXPECT_TRUE(fake.Exists(svc + "/unrelated"));
}

TEST_F(CgroupV2Test, ManagerLeavesTheHierarchyAsItFoundIt) {
  fake.Mount(kV2Root, kV2Controllers);
  fake.MakeCgroup(kService);
  fake.AddProc(kService, ::getpid());
  const std::string svc = kService;
  const std::string leaf = svc + "/judge-supervisor-" + std::to_string(::getpid());
  layout.v2_mount = kV2Root;
  layout.v2_dir = kService;
  {
    auto m = MakeCgroupV2Manager(layout, fake);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    auto run = (*m)->Create("judge-run-1", false);
    ASSERT_TRUE(run.ok()) << run.status().ToString();
    ASSERT_TRUE(fake.Exists(leaf));
  }
  EXPECT_EQ(*fake.Read(svc + "/cgroup.procs"), std::to_string(::getpid()) + "\n");
  EXPECT_FALSE(fake.Exists(leaf));
  EXPECT_TRUE(Words(fake.Content(svc + "/cgroup.subtree_control")).empty());
  EXPECT_TRUE(fake.List(svc).empty());
}

TEST_F(CgroupV2Test, SecondManagerInTheSameProcessDoesNotNestLeaves) {
  // While the first manager lives, /proc/self/cgroup names its leaf: a second
  // Sandbox::Create in the same process sees the leaf as its own cgroup.
  fake.Mount(kV2Root, kV2Controllers);
  fake.MakeCgroup(kService);
  fake.AddProc(kService, ::getpid());
  layout.v2_mount = kV2Root;
  layout.v2_dir = kService;
  auto first = MakeCgroupV2Manager(layout, fake);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  std::string leaf = std::string(kService) + "/judge-supervisor-" + std::to_string(::getpid());
  ASSERT_EQ(*fake.Read(leaf + "/cgroup.procs"), std::to_string(::getpid()) + "\n");

  CgroupLayout again = layout;
  again.v2_dir = leaf;
  again.v2_controllers = Words(fake.Content(leaf + "/cgroup.controllers"));
  auto second = MakeCgroupV2Manager(again, fake);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_TRUE(fake.List(leaf).empty()) << "a leaf inside the leaf could never be removed";
  auto run = (*second)->Create("judge-run-1", false);
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  EXPECT_EQ((*run)->path(), std::string(kService) + "/judge-run-1");
}

TEST_F(CgroupV2Test, ChildOfAJudgeProcessSharesItsDomain) {
  // A judge process started by another one inherits that one's supervisor leaf.
  fake.Mount(kV2Root, kV2Controllers);
  Child parent_judge;
  const std::string svc = kService;
  const std::string parent_leaf = svc + "/judge-supervisor-" + std::to_string(parent_judge.pid());
  fake.MakeCgroup(parent_leaf);  // the service delegates its controllers below itself
  fake.AddProc(parent_leaf, parent_judge.pid());
  fake.AddProc(parent_leaf, ::getpid());

  layout.v2_mount = kV2Root;
  layout.v2_dir = parent_leaf;
  auto m = MakeCgroupV2Manager(layout, fake);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  auto run = (*m)->Create("judge-run-1", false);
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  EXPECT_EQ((*run)->path(), svc + "/judge-run-1");
  EXPECT_TRUE(fake.List(parent_leaf).empty());
}

}  // namespace
}  // namespace judge::testing
