#include "sandbox/bench.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string_view>
#include <thread>

#include "common/file_util.h"
#include "common/json.h"
#include "sandbox/cgroup.h"
#include "sandbox/mounts.h"
#include "sandbox/options.h"
#include "sandbox/profile.h"
#include "sandbox/sandbox.h"
#include "sandbox/seccomp.h"
#include "sandbox/serve.h"

namespace judge {

const char kBenchUsage[] =
    "usage: judge-sandbox bench [OPTIONS] [-- PROGRAM [ARGS...]]\n"
    "Container start-up latency: runs PROGRAM (default /bin/true) again and again with each\n"
    "runtime and prints min / median / p90 / p99 latency and runs per second, one stream\n"
    "after the other (sequential) and with P streams at once (parallel).\n"
    "  --runs N            timed runs per runtime and mode (default 1000)\n"
    "  --parallel P        streams of the parallel mode (default: the number of CPUs; 0: none)\n"
    "  --runtimes LIST     comma-separated, of: fork-exec ns-floor judge judge-cold judge-cli\n"
    "                      judge-served bwrap crun runc\n"
    "                      (default: all; those not installed are skipped with a note)\n"
    "  --idle MS           sleep MS before each sequential run (cold start-up; default 0)\n"
    "  --heap MB           first fill MB of this process's memory, as a worker holding a\n"
    "                      job's tests (what a clone from this process copies; default 0)\n"
    "  --json FILE         write the figures as JSON\n"
    "  --plot FILE.png     draw the latency distributions (needs gnuplot)\n"
    "fork-exec is the floor: a plain fork + exec + wait of PROGRAM from this process.\n"
    "ns-floor is the kernel's floor for the engine's isolation: clone with its seven\n"
    "namespaces, id maps, a tmpfs root with the host's /usr read-only and /proc, pivot_root,\n"
    "exec, wait; no cgroup, seccomp filter, masks or accounting (column x ns-floor).\n"
    "judge runs the engine in this process, as judge-worker does (default profile and\n"
    "seccomp policy, warm containers: each run's container made while the one before runs,\n"
    "its init cloned by the engine's spawner process);\n"
    "judge-cold makes each container on demand; judge-cli runs `judge-sandbox run -- PROGRAM`\n"
    "as a command (on demand, in a new process); judge-served runs the same command with\n"
    "JUDGE_SANDBOX_SERVER naming a `judge-sandbox serve` started for the benchmark, which\n"
    "runs it with warm containers. bwrap gets\n"
    "--unshare-all and the host's /usr read-only; crun and runc an OCI bundle with user, pid,\n"
    "network, ipc, uts, mount and cgroup namespaces, the host's /usr read-only, and memory\n"
    "and pids limits. Install them with: apt-get install bubblewrap crun runc gnuplot-nox\n";

namespace {

int64_t NowNs() {
  struct timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

std::string FindInPath(const std::string& name) {
  for (const char* dir : {"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"}) {
    std::string p = std::string(dir) + "/" + name;
    if (::access(p.c_str(), X_OK) == 0) return p;
  }
  return "";
}

// One runtime: how to run the command once. Returns "" or why the run failed (with what
// the runtime said on stderr when `err` is given: the probe's).
struct Runtime {
  std::string name;
  std::string what;  // one line for the table's legend
  std::function<std::string(std::string* err)> run;
};

// waitpid, again after EINTR; false (errno set) if it fails.
bool WaitFor(pid_t pid, int* status) {
  while (::waitpid(pid, status, 0) < 0) {
    if (errno != EINTR) return false;
  }
  return true;
}

constexpr char kPathEnv[] = "PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin";

// fork + execve + wait, the standard streams on /dev/null (stderr into `err` if given),
// the environment PATH and `extra_env`.
std::string Spawn(const std::vector<std::string>& argv, std::string* err = nullptr,
                  const std::string& extra_env = "") {
  std::vector<char*> av;
  for (const std::string& a : argv) av.push_back(const_cast<char*>(a.c_str()));
  av.push_back(nullptr);
  char* const env[] = {const_cast<char*>(kPathEnv),
                       extra_env.empty() ? nullptr : const_cast<char*>(extra_env.c_str()), nullptr};
  int pipefd[2] = {-1, -1};
  if (err && ::pipe2(pipefd, O_CLOEXEC) != 0) return std::string("pipe: ") + std::strerror(errno);
  pid_t pid = ::fork();
  if (pid < 0) return std::string("fork: ") + std::strerror(errno);
  if (pid == 0) {
    int null = ::open("/dev/null", O_RDWR);
    ::dup2(null, 0);
    ::dup2(null, 1);
    ::dup2(err ? pipefd[1] : null, 2);
    ::execve(av[0], av.data(), env);
    ::_exit(127);
  }
  if (err) {
    ::close(pipefd[1]);
    char buf[4096];
    ssize_t n;
    while ((n = ::read(pipefd[0], buf, sizeof buf)) > 0) err->append(buf, static_cast<size_t>(n));
    ::close(pipefd[0]);
  }
  int status = 0;
  if (!WaitFor(pid, &status)) return std::string("waitpid: ") + std::strerror(errno);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return "";
  std::string why = WIFEXITED(status) ? argv[0] + " exited with " + std::to_string(WEXITSTATUS(status))
                                      : argv[0] + " was killed by signal " + std::to_string(WTERMSIG(status));
  if (err) {
    while (!err->empty() && (err->back() == '\n' || err->back() == ' ')) err->pop_back();
    if (!err->empty()) why += ": " + err->substr(0, 300);
  }
  return why;
}

// The host's top-level directories a runtime needs for PROGRAM: /usr, and /bin, /lib,
// /lib64, /sbin either as links into /usr (merged /usr) or as directories.
struct HostTree {
  std::vector<std::string> dirs;                           // bound read-only
  std::vector<std::pair<std::string, std::string>> links;  // {"/bin", "usr/bin"}
};

HostTree ReadHostTree() {
  HostTree t;
  t.dirs.push_back("/usr");
  for (const char* d : {"/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"}) {
    struct stat st;
    if (::lstat(d, &st) != 0) continue;
    if (S_ISLNK(st.st_mode)) {
      char target[256];
      ssize_t n = ::readlink(d, target, sizeof target - 1);
      if (n > 0) t.links.emplace_back(d, std::string(target, static_cast<size_t>(n)));
    } else if (S_ISDIR(st.st_mode)) {
      t.dirs.push_back(d);
    }
  }
  return t;
}

Status MakeDir(const std::string& path) {
  if (::mkdir(path.c_str(), 0755) != 0) return Status::Errno("mkdir " + path);
  return Status::Ok();
}

// An OCI bundle for crun and runc: config.json and an empty rootfs of mount points.
Result<std::string> MakeBundle(const std::string& dir, const std::vector<std::string>& argv,
                               const HostTree& tree) {
  RETURN_IF_ERROR(MakeDir(dir));
  RETURN_IF_ERROR(MakeDir(dir + "/rootfs"));
  for (const char* d : {"proc", "dev", "tmp", "etc"}) RETURN_IF_ERROR(MakeDir(dir + "/rootfs/" + d));
  for (const std::string& d : tree.dirs) RETURN_IF_ERROR(MakeDir(dir + "/rootfs" + d));
  for (const auto& [path, target] : tree.links) {
    if (::symlink(target.c_str(), (dir + "/rootfs" + path).c_str()) != 0) {
      return Status::Errno("symlink in the OCI bundle");
    }
  }
  std::string args;
  for (const std::string& a : argv) args += (args.empty() ? "" : ",") + JsonEscape(a);
  std::string mounts =
      R"({"destination":"/proc","type":"proc","source":"proc"},)"
      R"({"destination":"/dev","type":"tmpfs","source":"tmpfs","options":["nosuid","strictatime","mode=755","size=65536k"]},)"
      R"({"destination":"/tmp","type":"tmpfs","source":"tmpfs","options":["nosuid","nodev","size=65536k"]})";
  for (const std::string& d : tree.dirs) {
    mounts += R"(,{"destination":)" + JsonEscape(d) + R"(,"type":"bind","source":)" + JsonEscape(d) +
              R"(,"options":["rbind","ro","nosuid","nodev"]})";
  }
  const std::string map = R"([{"containerID":0,"hostID":1999999999,"size":1}])";
  std::string config =
      R"({"ociVersion":"1.0.0","process":{"terminal":false,"user":{"uid":0,"gid":0},"args":[)" + args +
      R"(],"env":["PATH=/usr/local/bin:/usr/bin:/bin"],"cwd":"/tmp","noNewPrivileges":true,)"
      R"("capabilities":{"bounding":[],"effective":[],"permitted":[]}},)"
      R"("root":{"path":"rootfs","readonly":true},"hostname":"judge-bench","mounts":[)" + mounts +
      R"(],"linux":{"uidMappings":)" + map + R"(,"gidMappings":)" + map +
      R"(,"namespaces":[{"type":"pid"},{"type":"network"},{"type":"ipc"},{"type":"uts"},)"
      R"({"type":"mount"},{"type":"user"},{"type":"cgroup"}],)"
      R"("resources":{"memory":{"limit":268435456},"pids":{"limit":64}},)"
      R"("maskedPaths":["/proc/kcore","/proc/keys","/proc/timer_list"],)"
      R"("readonlyPaths":["/proc/sys","/proc/sysrq-trigger"]}})";
  RETURN_IF_ERROR(WriteNewFile(dir + "/config.json", config, 0644));
  return dir;
}

// The kernel's part of a container with the engine's isolation, and nothing else: clone
// with its seven namespaces (user, mount, pid, network, ipc, uts, cgroup), the id maps,
// a tmpfs root with the host's directories bound read-only and a /proc, pivot_root,
// exec, wait. No cgroup, seccomp filter, masks, limits or accounting: what no runtime
// giving this isolation can skip, so that the other rows can be read against it.
class NamespacesFloor {
 public:
  NamespacesFloor(const std::string& mount_point, const HostTree& tree,
                  const std::vector<std::string>& argv)
      : tmpfs_(mount_point), root_(mount_point + "/root"), argv_(argv) {
    for (const std::string& d : tree.dirs) binds_.push_back({d, root_ + d, LockedMountFlags(d)});
    for (const auto& [path, target] : tree.links) links_.push_back({target, root_ + path});
    proc_ = root_ + "/proc";
    tmp_ = root_ + "/tmp";
  }

  // Runs the program once; "" or why it failed.
  std::string Run() const {
    // The child's stack, one per stream (the child writes to its copy only).
    thread_local std::vector<char> stack(64 * 1024);
    std::vector<char*> av;
    for (const std::string& a : argv_) av.push_back(const_cast<char*>(a.c_str()));
    av.push_back(nullptr);
    Child c{this, av.data(), {-1, -1}, {-1, -1}};
    if (::pipe2(c.go, O_CLOEXEC) != 0 || ::pipe2(c.err, O_CLOEXEC) != 0) {
      for (int fd : {c.go[0], c.go[1], c.err[0], c.err[1]}) {
        if (fd >= 0) ::close(fd);
      }
      return std::string("pipe: ") + std::strerror(errno);
    }
    const int flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC |
                      CLONE_NEWUTS | CLONE_NEWCGROUP | SIGCHLD;
    const pid_t pid = ::clone(&NamespacesFloor::Main, stack.data() + stack.size(), flags, &c);
    const int clone_errno = errno;
    ::close(c.go[0]);
    ::close(c.err[1]);
    std::string why;
    if (pid < 0) {
      why = std::string("clone with new namespaces: ") + std::strerror(clone_errno);
    } else {
      const std::string proc = "/proc/" + std::to_string(pid);
      const char map[] = "0 1999999999 1\n";
      for (const char* f : {"/uid_map", "/gid_map"}) {
        if (why.empty() && !WriteFile(proc + f, map).ok()) why = std::string("writing ") + f;
      }
    }
    if (why.empty() && pid >= 0 && ::write(c.go[1], "g", 1) != 1) why = "starting the child";
    ::close(c.go[1]);  // without the go, the end
    std::string said;  // the child's failure, if any; end of file at its execve
    char buf[256];
    ssize_t n;
    while ((n = ::read(c.err[0], buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)) {
      if (n > 0) said.append(buf, static_cast<size_t>(n));
    }
    ::close(c.err[0]);
    if (pid < 0) return why;
    int status = 0;
    if (!WaitFor(pid, &status) && why.empty())
      why = std::string("waitpid: ") + std::strerror(errno);
    if (why.empty()) why = said;
    if (why.empty() && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
      why = WIFEXITED(status)
                ? argv_[0] + " exited with " + std::to_string(WEXITSTATUS(status))
                : argv_[0] + " was killed by signal " + std::to_string(WTERMSIG(status));
    }
    return why;
  }

 private:
  struct BindDir {
    std::string host, inside;
    unsigned long locked;
  };
  struct Child {
    const NamespacesFloor* self;
    char** argv;
    int go[2];
    int err[2];
  };

  // In the child: system calls only (the parent may have other threads).
  static int Main(void* arg) {
    const Child& c = *static_cast<Child*>(arg);
    const NamespacesFloor& f = *c.self;
    auto fail = [&](const char* step) {
      const char* why = ::strerrordesc_np(errno);  // a static table, no locale
      const std::string_view parts[] = {step, ": ", why ? why : "error"};
      for (std::string_view p : parts) {
        if (::write(c.err[1], p.data(), p.size()) < 0) break;
      }
      ::_exit(126);
    };
    // Other streams' pipes, copied in if their runs were starting at the same time, go:
    // a copy of their error pipe would make them wait for this run.
    const int lo = std::min(c.go[0], c.err[1]), hi = std::max(c.go[0], c.err[1]);
    if (lo > 3) ::close_range(3, static_cast<unsigned>(lo) - 1, 0);
    if (hi > lo + 1) ::close_range(static_cast<unsigned>(lo) + 1, static_cast<unsigned>(hi) - 1, 0);
    ::close_range(static_cast<unsigned>(hi) + 1, ~0U, 0);
    char go;
    if (::read(c.go[0], &go, 1) != 1) ::_exit(126);  // the maps are written
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);              // a benchmark killed takes its run along
    // The container's root (the host's kernel ids stay this process's until now). Raw
    // system calls: glibc's wrappers would wait for the parent's other threads.
    if (::syscall(SYS_setgroups, 0, nullptr) != 0 || ::syscall(SYS_setresgid, 0, 0, 0) != 0 ||
        ::syscall(SYS_setresuid, 0, 0, 0) != 0) {
      fail("ids");
    }
    const int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);  // dup2 clears it on 0-2
    if (null < 0 || ::dup2(null, 0) < 0 || ::dup2(null, 1) < 0 || ::dup2(null, 2) < 0) {
      fail("/dev/null");
    }
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) fail("making / private");
    if (::mount("judge", f.tmpfs_.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "size=64m,mode=0755") !=
        0) {
      fail("tmpfs");
    }
    if (::mkdir(f.root_.c_str(), 0755) != 0 ||
        ::mount(f.root_.c_str(), f.root_.c_str(), nullptr, MS_BIND, nullptr) != 0) {
      fail("root");
    }
    for (const BindDir& b : f.binds_) {
      if (::mkdir(b.inside.c_str(), 0755) != 0 ||
          // Recursive: a user namespace may not bind a mount without the ones below it.
          ::mount(b.host.c_str(), b.inside.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0 ||
          ::mount(nullptr, b.inside.c_str(), nullptr,
                  MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | b.locked,
                  nullptr) != 0) {
        fail("read-only bind of a host directory");
      }
    }
    for (const auto& [target, path] : f.links_) {
      if (::symlink(target.c_str(), path.c_str()) != 0) fail("symlink");
    }
    if (::mkdir(f.tmp_.c_str(), 01777) != 0 || ::chmod(f.tmp_.c_str(), 01777) != 0 ||  // (umask)
        ::mkdir(f.proc_.c_str(), 0555) != 0 ||
        ::mount("proc", f.proc_.c_str(), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0) {
      fail("proc");
    }
    if (::chdir(f.root_.c_str()) != 0 || ::syscall(SYS_pivot_root, ".", ".") != 0 ||
        ::umount2(".", MNT_DETACH) != 0 || ::chdir("/tmp") != 0) {
      fail("pivot_root");
    }
    static char* const kEnv[] = {const_cast<char*>("PATH=/usr/local/bin:/usr/bin:/bin"), nullptr};
    ::execve(c.argv[0], c.argv, kEnv);
    fail("execve");
    return 126;
  }

  std::string tmpfs_, root_, proc_, tmp_;
  std::vector<BindDir> binds_;
  std::vector<std::pair<std::string, std::string>> links_;  // {target, path}
  std::vector<std::string> argv_;
};

// crun refuses a hybrid cgroup layout (v1 controllers plus a cgroup2 mount that holds a
// controller). This process then moves to a mount namespace of its own in which the
// cgroup2 mount is gone; the other runtimes and the engine do not use it here.
std::string HideHybridCgroup2() {
  auto info = ReadFile("/proc/self/mountinfo");
  auto own = ReadFile("/proc/self/cgroup");
  if (!info.ok() || !own.ok()) return "";
  const CgroupLayout layout = ParseCgroupLayout(*info, *own);
  if (layout.v1_dirs.empty() || layout.v2_mount.empty()) return "";
  auto ctrls = ReadFile(layout.v2_mount + "/cgroup.controllers");
  if (!ctrls.ok() || ctrls->find_first_not_of(" \n") == std::string::npos) return "";
  if (::unshare(CLONE_NEWNS) != 0 || ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
      ::umount2(layout.v2_mount.c_str(), MNT_DETACH) != 0) {
    return std::string("cannot hide the cgroup2 mount for crun: ") + std::strerror(errno);
  }
  return "hybrid cgroups: " + layout.v2_mount +
         " (cgroup2 with controllers) is unmounted in this benchmark's own mount namespace, which crun needs";
}

struct Figures {
  std::string runtime;
  std::string mode;  // "sequential" or "parallel"
  int streams = 1;
  std::vector<double> ms;  // sorted latencies
  double busy_s = 0;       // wall time spent running
  long failures = 0;
  std::string first_failure;
  double median() const { return Quantile(ms, 0.5); }
  double runs_per_s() const { return busy_s > 0 ? static_cast<double>(ms.size()) / busy_s : 0; }
};

struct Options {
  long runs = 1000;
  int parallel = -1;
  std::vector<std::string> runtimes;
  int idle_ms = 0;
  long heap_mb = 0;
  std::string json_path;
  std::string plot_path;
  std::vector<std::string> argv = {"/bin/true"};
};

Result<Options> ParseOptions(const std::vector<std::string>& args) {
  Options o;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") {
      o.argv.assign(args.begin() + static_cast<long>(i) + 1, args.end());
      if (o.argv.empty()) return Status::Error("no program after --");
      break;
    }
    if (i + 1 >= args.size()) return Status::Error("unknown option " + a + " or it needs a value (see judge-sandbox bench --help)");
    const std::string& v = args[++i];
    if (a == "--runs") {
      ASSIGN_OR_RETURN(o.runs, ParseIntOption(a, v, 1, 10000000));
    } else if (a == "--parallel") {
      ASSIGN_OR_RETURN(long long p, ParseIntOption(a, v, 0, 1024));
      o.parallel = static_cast<int>(p);
    } else if (a == "--heap") {
      ASSIGN_OR_RETURN(o.heap_mb, ParseIntOption(a, v, 0, 65536));
    } else if (a == "--idle") {
      ASSIGN_OR_RETURN(long long ms, ParseIntOption(a, v, 0, 10000));
      o.idle_ms = static_cast<int>(ms);
    } else if (a == "--runtimes") {
      size_t b = 0;
      while (b <= v.size()) {
        size_t e = std::min(v.find(',', b), v.size());
        std::string name = v.substr(b, e - b);
        static const char* kKnown[] = {"fork-exec",  "ns-floor",  "judge",
                                       "judge-cold", "judge-cli", "judge-served",
                                       "bwrap",      "crun",      "runc"};
        if (std::find_if(std::begin(kKnown), std::end(kKnown), [&](const char* k) { return name == k; }) ==
            std::end(kKnown)) {
          return Status::Error("unknown runtime '" + name +
                               "' (known: fork-exec ns-floor judge judge-cold judge-cli "
                               "judge-served bwrap crun runc)");
        }
        o.runtimes.push_back(name);
        b = e + 1;
      }
    } else if (a == "--json") {
      o.json_path = v;
    } else if (a == "--plot") {
      o.plot_path = v;
    } else {
      return Status::Error("unknown option " + a + " (see judge-sandbox bench --help)");
    }
  }
  if (o.runtimes.empty()) {
    o.runtimes = {"fork-exec",    "ns-floor", "judge", "judge-cold", "judge-cli",
                  "judge-served", "bwrap",    "crun",  "runc"};
  }
  // Every runtime gets the same absolute path (the floor execs it as it is).
  if (o.argv[0].find('/') == std::string::npos) {
    const std::string found = FindInPath(o.argv[0]);
    if (found.empty()) return Status::Error("program '" + o.argv[0] + "' not found (give its absolute path)");
    o.argv[0] = found;
  }
  if (o.parallel < 0) o.parallel = std::max(1, static_cast<int>(::sysconf(_SC_NPROCESSORS_ONLN)));
  return o;
}

// Runs `runs` runs of `rt` on `streams` threads; appends latencies to `f`.
void Measure(const Runtime& rt, long runs, int streams, int idle_ms, Figures* f) {
  std::atomic<long> next{0};
  std::mutex mu;
  auto stream = [&] {
    std::vector<double> mine;
    long fails = 0;
    std::string first;
    for (;;) {
      long n = next.fetch_add(1);
      if (n >= runs) break;
      if (idle_ms > 0) ::usleep(static_cast<useconds_t>(idle_ms) * 1000);
      int64_t t0 = NowNs();
      std::string err = rt.run(nullptr);
      mine.push_back(static_cast<double>(NowNs() - t0) / 1e6);
      if (!err.empty() && fails++ == 0) first = err;
    }
    std::lock_guard<std::mutex> lock(mu);
    f->ms.insert(f->ms.end(), mine.begin(), mine.end());
    f->failures += fails;
    if (f->first_failure.empty()) f->first_failure = first;
  };
  int64_t t0 = NowNs();
  if (streams == 1) {
    stream();
  } else {
    std::vector<std::thread> threads;
    for (int s = 0; s < streams; ++s) threads.emplace_back(stream);
    for (auto& t : threads) t.join();
  }
  double wall = static_cast<double>(NowNs() - t0) / 1e9;
  // Sequential runs with --idle: the sleeps are not running time.
  f->busy_s += idle_ms > 0 ? wall - static_cast<double>(runs) * idle_ms / 1e3 : wall;
}

std::string Fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

Status Plot(const std::vector<Figures>& all, const std::string& png, const std::string& dir,
            const std::vector<std::string>& argv) {
  const std::string gnuplot = FindInPath("gnuplot");
  if (gnuplot.empty()) {
    return Status::Error("--plot needs gnuplot (apt-get install gnuplot-nox)");
  }
  std::string cmd;
  for (const std::string& a : argv) cmd += (cmd.empty() ? "" : " ") + a;
  std::string script =
      "set terminal pngcairo size 1000,560 noenhanced font 'sans,10'\n"
      "set output '" + png + "'\n"
      "set title 'Start-up latency of `" + cmd + "` per runtime (CDF; solid: sequential, dashed: parallel)'\n"
      "set xlabel 'latency of one run (ms, log scale)'\nset ylabel 'fraction of runs'\n"
      "set logscale x\nset grid\nset key right bottom\nset yrange [0:1]\nplot ";
  int i = 0;
  // Ten distinct colours, one per runtime (gnuplot's own cycle has eight).
  static const char* kPalette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                   "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
  std::map<std::string, int> colour;
  for (const Figures& f : all) {
    if (f.ms.empty()) continue;
    std::string data = dir + "/" + std::to_string(i) + ".dat";
    std::string rows;
    for (size_t k = 0; k < f.ms.size(); ++k) {
      rows += Fixed(f.ms[k], 4) + " " + Fixed(static_cast<double>(k + 1) / static_cast<double>(f.ms.size()), 5) + "\n";
    }
    RETURN_IF_ERROR(WriteNewFile(data, rows, 0600));
    if (!colour.count(f.runtime)) colour[f.runtime] = static_cast<int>(colour.size());
    script += std::string(i ? ", " : "") + "'" + data + "' using 1:2 with lines lw 2 lc rgb '" +
              kPalette[colour[f.runtime] % std::size(kPalette)] + "' dt " +
              (f.mode == "sequential" ? "1" : "2") + " title '" + f.runtime + " " +
              (f.mode == "sequential" ? "seq" : "x" + std::to_string(f.streams)) + "'";
    ++i;
  }
  script += "\n";
  RETURN_IF_ERROR(WriteNewFile(dir + "/plot.gp", script, 0600));
  std::string stderr_text;
  std::string failed = Spawn({gnuplot, dir + "/plot.gp"}, &stderr_text);
  if (!failed.empty()) return Status::Error("gnuplot failed: " + failed);
  return Status::Ok();
}

// Medians of the engine's per-phase trace over many in-process runs.
std::string TraceSummary(const std::map<std::string, std::vector<double>>& phases,
                         const std::vector<std::string>& order) {
  JsonObject out;
  for (const std::string& name : order) {
    auto it = phases.find(name);
    if (it == phases.end()) continue;
    std::vector<double> v = it->second;
    std::sort(v.begin(), v.end());
    out.Num(name.c_str(), Quantile(v, 0.5));
  }
  return out.Done();
}

// `judge-sandbox serve` as a child of the benchmark, for judge-served: started and
// awaited (its "serving on" line), ended with SIGTERM when destroyed or when the
// benchmark's thread that started it dies.
class ServerProcess {
 public:
  ServerProcess() = default;
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;
  ~ServerProcess() { Stop(); }

  // "" or why it did not come up (with what it said).
  std::string Start(const std::string& self, const std::string& socket, int warm) {
    int pipefd[2];
    if (::pipe2(pipefd, O_CLOEXEC) != 0) return std::string("pipe: ") + std::strerror(errno);
    UniqueFd read_end(pipefd[0]), write_end(pipefd[1]);
    const std::string warm_arg = std::to_string(warm);
    const char* argv[] = {self.c_str(), "serve",          "--socket", socket.c_str(),
                          "--warm",     warm_arg.c_str(), nullptr};
    char* const env[] = {const_cast<char*>(kPathEnv), nullptr};
    const pid_t parent = ::getpid();
    pid_ = ::fork();
    if (pid_ < 0) return std::string("fork: ") + std::strerror(errno);
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (::getppid() != parent) ::_exit(1);
      int null = ::open("/dev/null", O_RDWR);
      ::dup2(null, 0);
      ::dup2(null, 1);
      ::dup2(write_end.get(), 2);
      ::execve(argv[0], const_cast<char* const*>(argv), env);
      ::_exit(127);
    }
    write_end.reset();
    std::string said;
    char buf[512];
    for (;;) {
      struct pollfd p = {read_end.get(), POLLIN, 0};
      if (::poll(&p, 1, 30000) <= 0) return "no answer in 30 s";
      const ssize_t n = ::read(read_end.get(), buf, sizeof buf);
      if (n <= 0) break;
      said.append(buf, static_cast<size_t>(n));
      if (said.find("judge-sandbox: serving on ") != std::string::npos) {
        // Its later lines (the count at the end) are not read; the pipe is closed.
        return "";
      }
    }
    while (!said.empty() && said.back() == '\n') said.pop_back();
    Stop();
    return "judge-sandbox serve did not start: " + said;
  }

  void Stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    int status;
    WaitFor(pid_, &status);
    pid_ = -1;
  }

 private:
  pid_t pid_ = -1;
};

// Removes /tmp/judge-bench-PID-* left by a benchmark that was killed (PID gone).
void RemoveStaleWorkDirs() {
  UniqueFd tmp(::open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!tmp) return;
  auto names = ListDirectory(tmp.get());
  if (!names.ok()) return;
  const std::string prefix = "judge-bench-";
  for (const std::string& name : *names) {
    if (name.rfind(prefix, 0) != 0) continue;
    const long pid = std::strtol(name.c_str() + prefix.size(), nullptr, 10);
    if (pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) {
      RemoveTree("/tmp/" + name);
    }
  }
}

}  // namespace

double Quantile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  return sorted[std::min(sorted.size() - 1, rank > 0 ? rank - 1 : 0)];
}

int RunBench(const std::vector<std::string>& args) {
  auto parsed = ParseOptions(args);
  if (!parsed.ok()) {
    std::fprintf(stderr, "judge-sandbox: %s\n", parsed.status().ToString().c_str());
    return 2;
  }
  Options o = std::move(parsed).value();
  // Touched, so that it is in this process's page tables, as a job's tests would be.
  std::vector<char> heap(static_cast<size_t>(o.heap_mb) << 20, 'j');
  auto want = [&](const char* name) { return std::find(o.runtimes.begin(), o.runtimes.end(), name) != o.runtimes.end(); };
  std::vector<std::string> notes;
  if (want("crun") && !FindInPath("crun").empty()) {
    std::string note = HideHybridCgroup2();
    if (!note.empty()) notes.push_back(note);
  }

  // The engine, loaded as judge-worker loads it (warm), and without warm containers.
  std::unique_ptr<Sandbox> sandbox, cold_sandbox;
  SeccompProgram seccomp;
  RunSpec spec;
  std::mutex trace_mu;
  struct Trace {
    std::map<std::string, std::vector<double>> phases;
    std::vector<std::string> order;
  };
  std::map<std::string, Trace> traces;  // per engine runtime
  bool collect_trace = false;  // sequential timed runs only
  if (want("judge") || want("judge-cold")) {
    SandboxOptions warm;
    warm.warm = 2 * std::max(1, o.parallel);
    auto sb = Sandbox::Create(warm);
    auto cold = Sandbox::Create();
    auto profile = LoadSandboxProfile("default");
    if (!sb.ok() || !cold.ok() || !profile.ok()) {
      std::fprintf(stderr, "judge-sandbox: %s\n",
                   (!sb.ok()     ? sb.status()
                    : !cold.ok() ? cold.status()
                                 : profile.status())
                       .ToString()
                       .c_str());
      return 1;
    }
    sandbox = std::move(sb).value();
    cold_sandbox = std::move(cold).value();
    auto compiled = LoadAndCompileSeccomp(profile->seccomp, sandbox->seccomp_notify());
    if (!compiled.ok()) {
      std::fprintf(stderr, "judge-sandbox: %s\n", compiled.status().ToString().c_str());
      return 1;
    }
    seccomp = std::move(compiled).value();
    spec = SpecFromProfile(*profile);
    spec.argv = o.argv;
    spec.seccomp = &seccomp;
  }

  char self[4096];
  ssize_t self_len = ::readlink("/proc/self/exe", self, sizeof self - 1);
  const std::string self_path = self_len > 0 ? std::string(self, static_cast<size_t>(self_len)) : "";
  const HostTree tree = ReadHostTree();
  // The work directory (OCI bundles, plot data) is named after this process, so a
  // later benchmark removes what one that was killed left.
  RemoveStaleWorkDirs();
  std::string tmpl = "/tmp/judge-bench-" + std::to_string(::getpid()) + "-XXXXXX";
  if (!::mkdtemp(tmpl.data())) {
    std::fprintf(stderr, "judge-sandbox: cannot make a directory in /tmp: %s\n", std::strerror(errno));
    return 1;
  }
  const std::string work = tmpl;
  // The OCI bundles' rootfs must be reachable by the containers' unprivileged uid.
  ::chmod(work.c_str(), 0711);
  const std::string id_prefix = "judge-bench-" + std::to_string(::getpid()) + "-";
  ServerProcess server;  // judge-served's; stopped before `work` goes

  std::vector<Runtime> runtimes;
  for (const std::string& name : o.runtimes) {
    Runtime rt;
    rt.name = name;
    if (name == "fork-exec") {
      rt.what = "fork + exec + wait of the program, no isolation (the floor)";
      rt.run = [&](std::string* err) { return Spawn(o.argv, err); };
    } else if (name == "ns-floor") {
      rt.what =
          "clone with the engine's 7 namespaces, id maps, tmpfs root, host dirs read-only, /proc, "
          "pivot_root, exec, wait (the kernel's floor for this isolation; no cgroup, filter or "
          "masks)";
      const std::string point = work + "/ns-floor";
      if (!MakeDir(point).ok()) {
        notes.push_back("ns-floor: cannot make " + point + ", skipped");
        continue;
      }
      auto floor = std::make_shared<NamespacesFloor>(point, tree, o.argv);
      rt.run = [floor](std::string*) { return floor->Run(); };
    } else if (name == "judge" || name == "judge-cold") {
      rt.what = name == "judge" ? "this engine in this process, as judge-worker runs it (warm "
                                  "containers, inits cloned by its spawner)"
                                : "this engine in this process, each container made on demand";
      Sandbox* engine = name == "judge" ? sandbox.get() : cold_sandbox.get();
      Trace* trace = &traces[name];
      rt.run = [&, engine, trace](std::string*) {
        RunResult r = engine->Run(spec);
        std::lock_guard<std::mutex> lock(trace_mu);
        if (!collect_trace) return r.status == RunStatus::kSandboxError ? r.message : "";
        for (const auto& [phase, ms] : r.trace.phases_ms) {
          if (!trace->phases.count(phase)) trace->order.push_back(phase);
          trace->phases[phase].push_back(ms);
        }
        return r.status == RunStatus::kSandboxError ? r.message : "";
      };
    } else if (name == "judge-cli" || name == "judge-served") {
      std::vector<std::string> argv = {self_path, "run", "--result", "/dev/null", "--"};
      argv.insert(argv.end(), o.argv.begin(), o.argv.end());
      std::string env;
      if (name == "judge-served") {
        const std::string socket = work + "/serve.sock";
        const std::string failed = server.Start(self_path, socket, 2 * std::max(1, o.parallel));
        if (!failed.empty()) {
          notes.push_back(name + ": " + failed + ", skipped");
          continue;
        }
        env = std::string(kServerEnv) + "=" + socket;
        rt.what = "the same command handed to a running `judge-sandbox serve` (" + env + ")";
      } else {
        rt.what = "judge-sandbox run --result /dev/null -- PROGRAM, as a command";
      }
      rt.run = [argv, env](std::string* err) { return Spawn(argv, err, env); };
    } else if (name == "bwrap") {
      const std::string bin = FindInPath("bwrap");
      if (bin.empty()) {
        notes.push_back("bwrap: not installed (apt-get install bubblewrap), skipped");
        continue;
      }
      rt.what = "bwrap --unshare-all --die-with-parent, the host's /usr read-only, /proc /dev /tmp";
      std::vector<std::string> argv = {bin, "--unshare-all", "--die-with-parent"};
      for (const std::string& d : tree.dirs) argv.insert(argv.end(), {"--ro-bind", d, d});
      for (const auto& [path, target] : tree.links) argv.insert(argv.end(), {"--symlink", target, path});
      argv.insert(argv.end(), {"--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--chdir", "/tmp", "--"});
      argv.insert(argv.end(), o.argv.begin(), o.argv.end());
      rt.run = [argv](std::string* err) { return Spawn(argv, err); };
    } else {  // crun, runc
      const std::string bin = FindInPath(name);
      if (bin.empty()) {
        notes.push_back(name + ": not installed (apt-get install " + name + "), skipped");
        continue;
      }
      auto bundle = MakeBundle(work + "/" + name, o.argv, tree);
      if (!bundle.ok()) {
        notes.push_back(name + ": " + bundle.status().ToString() + ", skipped");
        continue;
      }
      rt.what = name + " run: OCI bundle, user/pid/net/ipc/uts/mount/cgroup namespaces, memory and pids limits";
      const std::string dir = *bundle;
      // Each run a container id of its own.
      auto n = std::make_shared<std::atomic<long>>(0);
      rt.run = [bin, dir, id_prefix, name, n](std::string* err) {
        return Spawn({bin, "run", "--bundle", dir, id_prefix + name + "-" + std::to_string((*n)++)}, err);
      };
    }
    // One run first, to say why a runtime cannot run here instead of timing failures.
    std::string stderr_text;
    const std::string probe = rt.run(&stderr_text);
    if (!probe.empty()) {
      notes.push_back(name + ": " + probe + ", skipped");
      continue;
    }
    runtimes.push_back(std::move(rt));
  }

  std::fprintf(stderr, "judge-sandbox bench: %ld runs per runtime, sequential then %d streams\n", o.runs, o.parallel);
  std::vector<Figures> all;
  std::vector<std::string> modes = {"sequential"};
  if (o.parallel > 0) modes.push_back("parallel");
  // Rounds: each runtime gets a slice of its runs in turn, so that a noisy moment of the
  // machine falls on every runtime rather than on one.
  const long kRounds = std::min<long>(10, o.runs);
  const bool tty = ::isatty(2);
  for (const std::string& mode : modes) {
    const int streams = mode == "sequential" ? 1 : o.parallel;
    std::vector<Figures> figs;
    for (const Runtime& rt : runtimes) {
      Figures warm_up;
      Measure(rt, std::min<long>(20, o.runs), streams, 0, &warm_up);
      figs.push_back(Figures{rt.name, mode, streams, {}, 0, 0, ""});
    }
    {
      std::lock_guard<std::mutex> lock(trace_mu);
      collect_trace = mode == "sequential";
    }
    for (long round = 0; round < kRounds; ++round) {
      const long slice = o.runs / kRounds + (round < o.runs % kRounds ? 1 : 0);
      for (size_t r = 0; r < runtimes.size(); ++r) {
        Measure(runtimes[r], slice, streams, mode == "sequential" ? o.idle_ms : 0, &figs[r]);
      }
      if (tty) std::fprintf(stderr, "\r  %s: round %ld of %ld", mode.c_str(), round + 1, kRounds);
    }
    if (tty) std::fprintf(stderr, "\n");
    for (Figures& f : figs) {
      std::sort(f.ms.begin(), f.ms.end());
      all.push_back(std::move(f));
    }
  }

  // The table.
  double floor_seq = 0, floor_par = 0, ns_seq = 0, ns_par = 0;
  for (const Figures& f : all) {
    if (f.runtime == "fork-exec") (f.mode == "sequential" ? floor_seq : floor_par) = f.median();
    if (f.runtime == "ns-floor") (f.mode == "sequential" ? ns_seq : ns_par) = f.median();
  }
  const bool ns_column = ns_seq > 0 || ns_par > 0;
  std::string cmd;
  for (const std::string& a : o.argv) cmd += (cmd.empty() ? "" : " ") + a;
  std::printf(
      "start-up latency of `%s`, %ld runs each (ms)%s\n", cmd.c_str(), o.runs,
      o.heap_mb > 0 ? (", this process holding " + std::to_string(o.heap_mb) + " MB").c_str() : "");
  std::printf("%-12s %-6s %9s %9s %9s %9s %10s %9s%s\n", "runtime", "mode", "min", "median", "p90",
              "p99", "runs/s", "x floor", ns_column ? " x ns-floor" : "");
  std::string rows;
  for (const Figures& f : all) {
    const double fl = f.mode == "sequential" ? floor_seq : floor_par;
    const double ns = f.mode == "sequential" ? ns_seq : ns_par;
    std::string mode = f.mode == "sequential" ? "seq" : "x" + std::to_string(f.streams);
    char ns_cell[32] = "";
    if (ns_column) {
      std::snprintf(ns_cell, sizeof ns_cell, " %10s",
                    ns > 0 ? (Fixed(f.median() / ns, 2) + "x").c_str() : "-");
    }
    std::printf("%-12s %-6s %9.3f %9.3f %9.3f %9.3f %10.0f %9s%s\n", f.runtime.c_str(),
                mode.c_str(), f.ms.empty() ? 0 : f.ms.front(), f.median(), Quantile(f.ms, 0.9),
                Quantile(f.ms, 0.99), f.runs_per_s(),
                fl > 0 ? (Fixed(f.median() / fl, 2) + "x").c_str() : "-", ns_cell);
    if (f.failures > 0) {
      std::printf("  %s: %ld of %zu runs failed, first: %s\n", f.runtime.c_str(), f.failures, f.ms.size(),
                  f.first_failure.c_str());
    }
    JsonObject row;
    row.Str("runtime", f.runtime).Str("mode", f.mode).Int("streams", f.streams);
    row.Int("runs", static_cast<long long>(f.ms.size())).Int("failures", f.failures);
    row.Num("min_ms", f.ms.empty() ? 0 : f.ms.front()).Num("median_ms", f.median());
    row.Num("p90_ms", Quantile(f.ms, 0.9)).Num("p99_ms", Quantile(f.ms, 0.99));
    row.Num("runs_per_s", f.runs_per_s());
    if (fl > 0) row.Num("median_vs_floor", f.median() / fl);
    if (ns > 0) row.Num("median_vs_ns_floor", f.median() / ns);
    rows += std::string(rows.empty() ? "" : ",") + "\n  " + row.Done();
  }
  for (const Runtime& rt : runtimes) std::printf("  %-12s %s\n", rt.name.c_str(), rt.what.c_str());
  for (const std::string& n : notes) std::printf("  note: %s\n", n.c_str());
  std::string phases;
  for (const auto& [name, trace] : traces) {
    if (trace.phases.empty()) continue;
    const std::string summary = TraceSummary(trace.phases, trace.order);
    std::printf("%s (in-process), median per phase (ms): %s\n", name.c_str(), summary.c_str());
    phases += std::string(phases.empty() ? "" : ",") + JsonEscape(name) + ":" + summary;
  }

  int rc = 0;
  if (!o.json_path.empty()) {
    std::string args_json;
    for (const std::string& a : o.argv) args_json += (args_json.empty() ? "" : ",") + JsonEscape(a);
    std::string notes_json;
    for (const std::string& n : notes) notes_json += (notes_json.empty() ? "" : ",") + JsonEscape(n);
    JsonObject doc;
    doc.Raw("command", "[" + args_json + "]").Int("runs", o.runs).Int("parallel", o.parallel);
    doc.Int("idle_ms", o.idle_ms)
        .Int("heap_mb", o.heap_mb)
        .Int("cpus", ::sysconf(_SC_NPROCESSORS_ONLN));
    doc.Raw("results", "[" + rows + "\n]").Raw("trace_median_ms", "{" + phases + "}");
    doc.Raw("notes", "[" + notes_json + "]");
    const std::string json = doc.Done() + "\n";
    ::unlink(o.json_path.c_str());
    Status s = WriteNewFile(o.json_path, json, 0644);
    if (!s.ok()) {
      std::fprintf(stderr, "judge-sandbox: cannot write --json %s: %s\n", o.json_path.c_str(), s.ToString().c_str());
      rc = 1;
    }
  }
  if (!o.plot_path.empty()) {
    ::unlink(o.plot_path.c_str());
    Status s = Plot(all, o.plot_path, work, o.argv);
    if (!s.ok()) {
      std::fprintf(stderr, "judge-sandbox: %s\n", s.ToString().c_str());
      rc = 1;
    } else {
      std::printf("plot: %s\n", o.plot_path.c_str());
    }
  }
  server.Stop();
  RemoveTree(work);
  return rc;
}

}  // namespace judge
