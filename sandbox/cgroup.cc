#include "sandbox/cgroup.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sstream>

#include "common/file_util.h"

namespace judge {
namespace {

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream in(s);
  while (std::getline(in, cur, sep)) out.push_back(cur);
  return out;
}

// mountinfo escapes space, tab, newline and backslash as octal.
std::string Unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      int v = (s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0');
      out.push_back(static_cast<char>(v));
      i += 3;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// The own cgroup path inside a hierarchy mounted with `root` at `mountpoint`.
std::string JoinOwn(const std::string& mountpoint, const std::string& root, std::string own) {
  // Strip the mount's root when it is a whole-component prefix ("/a" of "/a/b", not "/ab").
  if (root != "/" && own.compare(0, root.size(), root) == 0 &&
      (own.size() == root.size() || own[root.size()] == '/')) {
    own = own.substr(root.size());
  }
  if (own == "/") own = "";
  return mountpoint + own;
}

class RealFs : public CgroupFs {
 public:
  Status Mkdir(const std::string& path) override {
    if (::mkdir(path.c_str(), 0755) != 0) return Status::Errno("mkdir " + path);
    return Status::Ok();
  }
  Status Rmdir(const std::string& path) override {
    if (::rmdir(path.c_str()) != 0) return Status::Errno("rmdir " + path);
    return Status::Ok();
  }
  bool Exists(const std::string& path) override { return ::access(path.c_str(), F_OK) == 0; }
  std::vector<std::string> List(const std::string& dir) override {
    std::vector<std::string> out;
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return out;
    while (struct dirent* e = ::readdir(d)) {
      if (e->d_type == DT_DIR && e->d_name[0] != '.') out.emplace_back(e->d_name);
    }
    ::closedir(d);
    return out;
  }
  Result<std::string> Read(const std::string& path) override { return ReadFile(path); }
  Result<std::string> ReadHeld(const std::string& path, UniqueFd* held) override {
    if (!*held) {
      held->reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
      if (!*held) return Status::Errno("open " + path);
    }
    char buf[4096];
    ssize_t n;
    do {
      n = ::pread(held->get(), buf, sizeof buf, 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return Status::Errno("read " + path);
    if (static_cast<size_t>(n) == sizeof buf) return ReadFile(path);  // longer: all of it
    return std::string(buf, static_cast<size_t>(n));
  }
  Status Write(const std::string& path, const std::string& data) override {
    return WriteFile(path, data);
  }
  int OpenDir(const std::string& path) override {
    return ::open(path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  }
};

}  // namespace

CgroupLayout ParseCgroupLayout(const std::string& mountinfo, const std::string& proc_cgroup) {
  // Own paths: "0::/path" for v2, "N:ctrl1,ctrl2:/path" for v1.
  std::string v2_own;
  bool have_v2_own = false;
  std::map<std::string, std::string> v1_own;  // controller -> path
  for (const std::string& line : Split(proc_cgroup, '\n')) {
    size_t a = line.find(':');
    size_t b = a == std::string::npos ? a : line.find(':', a + 1);
    if (b == std::string::npos) continue;
    std::string ctrls = line.substr(a + 1, b - a - 1);
    std::string path = line.substr(b + 1);
    if (line.substr(0, a) == "0" && ctrls.empty()) {
      v2_own = path;
      have_v2_own = true;
      continue;
    }
    for (const std::string& c : Split(ctrls, ',')) v1_own[c] = path;
  }

  CgroupLayout layout;
  for (const std::string& line : Split(mountinfo, '\n')) {
    size_t dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    std::vector<std::string> pre = Split(line.substr(0, dash), ' ');
    std::vector<std::string> post = Split(line.substr(dash + 3), ' ');
    if (pre.size() < 5 || post.size() < 3) continue;
    const std::string root = Unescape(pre[3]);
    const std::string mountpoint = Unescape(pre[4]);
    const std::string& fstype = post[0];
    if (fstype == "cgroup2" && have_v2_own && layout.v2_mount.empty()) {
      layout.v2_mount = mountpoint;
      layout.v2_dir = JoinOwn(mountpoint, root, v2_own);
    } else if (fstype == "cgroup") {
      for (const std::string& opt : Split(post[2], ',')) {
        auto it = v1_own.find(opt);
        if (it == v1_own.end() || layout.v1_dirs.count(opt)) continue;
        layout.v1_dirs[opt] = JoinOwn(mountpoint, root, it->second);
      }
    }
  }
  return layout;
}

CgroupFs& RealCgroupFs() {
  static RealFs fs;
  return fs;
}

std::vector<pid_t> ParsePids(const std::string& procs) {
  std::vector<pid_t> out;
  for (const std::string& line : Split(procs, '\n')) {
    auto v = ParseInt(line);
    if (v.ok() && *v > 0) out.push_back(static_cast<pid_t>(*v));
  }
  return out;
}

Status KillListed(CgroupFs& fs, const std::string& procs_file) {
  for (int round = 0; round < 100; ++round) {
    ASSIGN_OR_RETURN(std::string text, fs.Read(procs_file));
    std::vector<pid_t> pids = ParsePids(text);
    if (pids.empty()) return Status::Ok();
    for (pid_t p : pids) ::kill(p, SIGKILL);
    ::usleep(round < 10 ? 100 : 2000);
  }
  return Status::Error("processes in " + procs_file + " survive SIGKILL");
}

Status RemoveCgroupDir(CgroupFs& fs, const std::string& dir, const std::string& procs_file) {
  Status st;
  for (int i = 0; i < 200; ++i) {
    st = fs.Rmdir(dir);
    if (st.ok() || st.err() == ENOENT) return Status::Ok();
    if (st.err() != EBUSY) return st;
    if (i == 0) (void)KillListed(fs, procs_file);
    ::usleep(500);
  }
  return st;
}

long long FlatKey(const std::string& text, const std::string& key) {
  for (const std::string& line : Split(text, '\n')) {
    if (line.size() > key.size() && line.compare(0, key.size(), key) == 0 &&
        line[key.size()] == ' ') {
      auto v = ParseInt(line.substr(key.size() + 1));
      return v.ok() ? *v : 0;
    }
  }
  return 0;
}

Result<std::unique_ptr<CgroupManager>> MakeCgroupManager(const CgroupLayout& layout,
                                                         CgroupFs& fs) {
  auto has_v2 = [&](const char* c) {
    for (const auto& x : layout.v2_controllers)
      if (x == c) return true;
    return false;
  };
  if (!layout.v2_dir.empty() && has_v2("memory") && has_v2("pids") && has_v2("cpu")) {
    return MakeCgroupV2Manager(layout, fs);
  }
  std::string missing;
  for (const char* c : {"memory", "pids", "cpuacct"}) {
    if (!layout.v1_dirs.count(c)) missing += std::string(missing.empty() ? "" : ", ") + c;
  }
  if (missing.empty()) return MakeCgroupV1Manager(layout, fs);
  return Status::Error(
      "no usable cgroup controllers: cgroup v2 " +
      (layout.v2_dir.empty() ? std::string("is not mounted") : "at " + layout.v2_dir +
                                                                   " lacks memory/pids/cpu") +
      " and cgroup v1 lacks " + missing +
      "; mount cgroup2 (or the v1 controllers) and run judge as root");
}

}  // namespace judge
