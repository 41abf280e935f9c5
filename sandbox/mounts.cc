#include "sandbox/mounts.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

namespace judge {
namespace {

constexpr unsigned long kRo = MS_NOSUID | MS_NODEV;

class Builder {
 public:
  Builder(MountPlan& plan, const std::string& staging, int first_fd)
      : p_(plan),
        s_(staging),
        root_(staging + "/root"),
        up_(staging + "/up"),
        work_(staging + "/work"),
        first_fd_(first_fd),
        next_fd_(first_fd) {}

  // Opens a host path in the child before staging covers anything; returns the path
  // that reaches it afterwards.
  int OpenEarly(const std::string& host, bool for_reading = false) {
    int fd = next_fd_++;
    opens_.push_back({MountOp::kOpen, false, p_.Str(host), nullptr, nullptr, 0,
                      for_reading ? "r" : nullptr, static_cast<unsigned>(fd)});
    open_what_.push_back("open " + host);
    return fd;
  }
  std::string OpenEarlyPath(const std::string& host) {
    return "/proc/self/fd/" + std::to_string(OpenEarly(host));
  }

  void Add(MountOp op, std::string what) {
    p_.ops.push_back(op);
    p_.what.push_back(std::move(what));
  }
  void Mkdir(const std::string& path, unsigned mode) {
    Add({MountOp::kMkdir, false, nullptr, p_.Str(path), nullptr, 0, nullptr, mode}, "mkdir " + path);
  }
  void File(const std::string& path, const std::string& content, unsigned mode) {
    Add({MountOp::kFile, false, nullptr, p_.Str(path), nullptr, 0, p_.Str(content), mode},
        "create " + path);
  }
  void Symlink(const std::string& target, const std::string& path) {
    Add({MountOp::kSymlink, false, p_.Str(target), p_.Str(path), nullptr, 0, nullptr, 0},
        "symlink " + path);
  }
  void Mount(const std::string& src, const std::string& dst, const char* fstype,
             unsigned long flags, const std::string& data, const std::string& what,
             bool optional = false) {
    Add({MountOp::kMount, optional, p_.Str(src), p_.Str(dst), fstype, flags,
         data.empty() ? nullptr : p_.Str(data), 0},
        what);
  }
  void RemountRo(const std::string& dst, unsigned long flags, bool optional = false) {
    Add({MountOp::kRemountRo, optional, nullptr, p_.Str(dst), nullptr, flags, nullptr, 0},
        "read-only remount of " + dst);
  }
  // Binds a host path read-only (or rw) onto inside path `dst` (below root).
  Status BindHost(const std::string& host, const std::string& inside, bool writable, bool via_fd) {
    struct stat st;
    if (::stat(host.c_str(), &st) != 0) return Status::Errno("bind source " + host);
    std::string dst = root_ + inside;
    if (S_ISDIR(st.st_mode)) {
      Mkdir(dst, 0755);
    } else {
      File(dst, "", 0644);
    }
    std::string src = via_fd ? OpenEarlyPath(host) : host;
    // Not recursive: mounts below the source stay out (a read-only remount would not
    // reach them, and the staging tmpfs may be one of them).
    Mount(src, dst, nullptr, MS_BIND, "", "bind " + host + " to " + inside);
    if (!writable) RemountRo(dst, kRo | LockedMountFlags(host));
    return Status::Ok();
  }

  Status Build(const RunSpec& spec) {
    const Limits& l = spec.limits;
    Mount("judge", s_, "tmpfs", MS_NOSUID | MS_NODEV,
          "size=" + std::to_string(l.tmpfs_bytes) + ",nr_inodes=" + std::to_string(l.tmpfs_inodes) +
              ",mode=0755",
          "tmpfs on " + s_);
    if (!spec.writable_dir.empty()) {
      // The writable layer lives on in the caller's directory (RunSpec::writable_dir).
      keep_ = s_ + "/keep";
      Mkdir(keep_, 0755);
      Mount(OpenEarlyPath(spec.writable_dir), keep_, nullptr, MS_BIND, "",
            "bind the writable layer " + spec.writable_dir);
      up_ = keep_ + "/up";
      work_ = keep_ + "/work";
    }
    Mkdir(up_, 0755);
    Mkdir(work_, 0755);
    if (!spec.layers.empty()) {
      RETURN_IF_ERROR(Layers(spec.layers));
    } else {
      RETURN_IF_ERROR(HostDirs(spec.host_dirs, spec.etc, spec.hostname));
    }
    // Only a kept upper layer (image layers and writable_dir) would keep /dev.
    Dev(/*per_run=*/!spec.layers.empty() && !keep_.empty());
    Proc();
    Mkdir(root_ + "/tmp", 01777);
    Mkdir(root_ + "/box", 0755);
    if (!keep_.empty()) {
      for (const auto& [dir, mode] : {std::pair{"/box", 0755u}, std::pair{"/tmp", 01777u}}) {
        Mkdir(keep_ + dir, mode);
        Mount(keep_ + dir, root_ + dir, nullptr, MS_BIND, "", std::string("bind the kept ") + dir);
      }
    }
    for (const judge::Bind& b : spec.binds) {
      RETURN_IF_ERROR(CheckInsidePath(b.target, "--dir target"));
      // Parents of the target, created in the writable layer.
      for (size_t pos = 1; (pos = b.target.find('/', pos)) != std::string::npos; ++pos) {
        Mkdir(root_ + b.target.substr(0, pos), 0755);
      }
      RETURN_IF_ERROR(BindHost(b.source, b.target, b.writable, /*via_fd=*/true));
    }
    for (const CopyIn& c : spec.copy_in) {
      RETURN_IF_ERROR(CheckInsidePath(c.inside_path, "copy-in target"));
      struct stat st;
      if (::stat(c.host_path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
        return Status::Error("copy-in source " + c.host_path + " is not a regular file");
      }
      for (size_t pos = 1; (pos = c.inside_path.find('/', pos)) != std::string::npos; ++pos) {
        Mkdir(root_ + c.inside_path.substr(0, pos), 0755);
      }
      const int fd = OpenEarly(c.host_path, /*for_reading=*/true);
      Add({MountOp::kCopy, false, nullptr, p_.Str(root_ + c.inside_path), nullptr, 0, nullptr,
           static_cast<unsigned>(fd)},
          "copy " + c.host_path + " to " + c.inside_path);
    }
    if (next_fd_ > first_fd_) {
      Add({MountOp::kCloseFrom, false, nullptr, nullptr, nullptr, 0, nullptr,
           static_cast<unsigned>(first_fd_)},
          "closing the source fds");
    }
    Add({MountOp::kPivotRoot, false, nullptr, p_.Str(root_), nullptr, 0, nullptr, 0},
        "pivot_root to " + root_);
    // The opens go first.
    p_.ops.insert(p_.ops.begin(), opens_.begin(), opens_.end());
    p_.what.insert(p_.what.begin(), open_what_.begin(), open_what_.end());
    return Status::Ok();
  }

 private:
  Status Layers(const std::vector<std::string>& layers) {
    std::string lower;
    for (const std::string& layer : layers) {
      struct stat st;
      if (::stat(layer.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
        return Status::Error("--layer " + layer + " is not a directory");
      }
      lower += (lower.empty() ? "" : ":") + OpenEarlyPath(layer);
    }
    Mkdir(up_ + "/root", 0755);
    Mkdir(work_ + "/root", 0755);
    Mkdir(root_, 0755);
    Mount("judge-overlay", root_, "overlay", MS_NOSUID | MS_NODEV,
          "lowerdir=" + lower + ",upperdir=" + up_ + "/root,workdir=" + work_ + "/root",
          "overlay of the layers on /");
    Mkdir(root_ + "/etc", 0755);
    return Status::Ok();
  }

  Status HostDirs(const std::vector<std::string>& dirs, const std::vector<std::string>& etc,
                  const std::string& hostname) {
    Mkdir(root_, 0755);
    // pivot_root needs the new root to be a mount point.
    Mount(root_, root_, nullptr, MS_BIND | MS_REC, "", "bind " + root_ + " onto itself");
    for (const std::string& dir : dirs) {
      struct stat st;
      if (::lstat(dir.c_str(), &st) != 0) continue;  // e.g. no /lib32 on this host
      std::string inside = root_ + dir;
      if (S_ISLNK(st.st_mode)) {
        char target[4096];
        ssize_t n = ::readlink(dir.c_str(), target, sizeof target - 1);
        if (n <= 0) continue;
        Symlink(std::string(target, static_cast<size_t>(n)), inside);
        continue;
      }
      if (!S_ISDIR(st.st_mode)) continue;
      std::string key = dir.substr(1);
      for (char& c : key)
        if (c == '/') c = '_';
      Mkdir(inside, 0755);
      Mkdir(up_ + "/" + key, 0755);
      Mkdir(work_ + "/" + key, 0755);
      Mount("judge-overlay", inside, "overlay", MS_NOSUID | MS_NODEV,
            "lowerdir=" + dir + ",upperdir=" + up_ + "/" + key + ",workdir=" + work_ + "/" + key,
            "overlay of " + dir);
    }
    Mkdir(root_ + "/etc", 0755);
    File(root_ + "/etc/passwd",
         "root:x:0:0:root:/box:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
         0644);
    File(root_ + "/etc/group", "root:x:0:\nnogroup:x:65534:\n", 0644);
    File(root_ + "/etc/hosts", "127.0.0.1 localhost " + hostname + "\n::1 localhost\n", 0644);
    File(root_ + "/etc/hostname", hostname + "\n", 0644);
    for (const std::string& e : etc) {
      std::string host = "/etc/" + e;
      if (::access(host.c_str(), F_OK) != 0) continue;  // not on this host
      RETURN_IF_ERROR(BindHost(host, "/etc/" + e, false, false));
    }
    return Status::Ok();
  }

  // `per_run`: the root is an overlay whose upper layer may be kept for the next run
  // (RunSpec::writable_dir), where the entries would already be: they go on the staging
  // tmpfs, bound on /dev.
  void Dev(bool per_run) {
    const std::string dev = root_ + "/dev";
    Mkdir(dev, 0755);
    if (per_run) {
      Mkdir(s_ + "/dev", 0755);
      Mount(s_ + "/dev", dev, nullptr, MS_BIND, "", "bind the run's own /dev");
    }
    for (const char* name : {"null", "zero", "full", "random", "urandom"}) {
      File(dev + "/" + name, "", 0666);
      Mount(std::string("/dev/") + name, dev + "/" + name, nullptr, MS_BIND, "",
            std::string("bind /dev/") + name);
    }
    Symlink("/proc/self/fd", dev + "/fd");
    Symlink("/proc/self/fd/0", dev + "/stdin");
    Symlink("/proc/self/fd/1", dev + "/stdout");
    Symlink("/proc/self/fd/2", dev + "/stderr");
    Mkdir(dev + "/shm", 01777);
  }

  void Proc() {
    const std::string proc = root_ + "/proc";
    Mkdir(proc, 0555);
    Mount("proc", proc, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "", "mount /proc");
    // No user namespaces below this one, even under a policy that allows unshare: a
    // nested one would hand the program capabilities over fresh network and mount
    // namespaces, and with them more of the kernel.
    Add({MountOp::kWrite, true, nullptr, p_.Str(proc + "/sys/user/max_user_namespaces"), nullptr,
         0, "0", 0},
        "limiting nested user namespaces");
    // Host information and kernel knobs that the program has no business with.
    for (const char* f : {"kcore", "keys", "timer_list", "sched_debug", "latency_stats",
                          "sysrq-trigger", "kallsyms", "kpagecount", "kpageflags"}) {
      Mount("/dev/null", proc + "/" + f, nullptr, MS_BIND, "", std::string("mask /proc/") + f,
            /*optional=*/true);
    }
    for (const char* d : {"acpi", "scsi"}) {
      Mount("judge", proc + "/" + d, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "",
            std::string("mask /proc/") + d, /*optional=*/true);
    }
    for (const char* d : {"sys", "irq", "bus", "fs"}) {
      std::string path = proc + "/" + d;
      Mount(path, path, nullptr, MS_BIND, "", "bind " + path, /*optional=*/true);
      RemountRo(path, MS_NOSUID | MS_NODEV | MS_NOEXEC, /*optional=*/true);
    }
  }

  MountPlan& p_;
  std::string s_;
  std::string root_;
  std::string up_, work_;  // where the overlays' upper and work directories go
  std::string keep_;       // the bound RunSpec::writable_dir, if any
  int first_fd_;
  int next_fd_;
  std::vector<MountOp> opens_;
  std::vector<std::string> open_what_;
};

}  // namespace

unsigned long LockedMountFlags(const std::string& path) {
  struct statvfs v;
  if (::statvfs(path.c_str(), &v) != 0) return 0;
  unsigned long f = 0;
  if (v.f_flag & ST_NOEXEC) f |= MS_NOEXEC;
  if (v.f_flag & ST_NOATIME) f |= MS_NOATIME;
  if (v.f_flag & ST_NODIRATIME) f |= MS_NODIRATIME;
  if (v.f_flag & ST_RELATIME) f |= MS_RELATIME;
  return f;
}

Status CheckInsidePath(const std::string& path, const char* what) {
  if (path.empty() || path[0] != '/') return Status::Error(std::string(what) + " must be absolute: " + path);
  if (path == "/") return Status::Error(std::string(what) + " cannot be /");
  size_t start = 1;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    std::string part = path.substr(start, end - start);
    if (part.empty() || part == "." || part == "..") {
      return Status::Error(std::string(what) + " must not contain empty, '.' or '..' parts: " + path);
    }
    start = end + 1;
  }
  return Status::Ok();
}

Result<MountPlan> BuildMountPlan(const RunSpec& spec, const std::string& staging, int first_fd) {
  MountPlan plan;
  Builder b(plan, staging, first_fd);
  RETURN_IF_ERROR(b.Build(spec));
  return plan;
}

}  // namespace judge
