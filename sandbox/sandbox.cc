#include "sandbox/sandbox.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <list>
#include <mutex>
#include <sstream>
#include <thread>

#include "common/file_util.h"
#include "sandbox/execution.h"
#include "sandbox/netns.h"
#include "sandbox/spawner.h"

namespace judge {
namespace {

constexpr size_t kSpawnStackSize = 256 * 1024;

// Takes (F_WRLCK) or drops (F_UNLCK) the byte of a slot in the lock file, without
// waiting. The lock belongs to the open file description, so it goes with the process.
bool LockSlotByte(int fd, int slot, short type) {
  struct flock fl {};
  fl.l_type = type;
  fl.l_whence = SEEK_SET;
  fl.l_start = slot;
  fl.l_len = 1;
  return ::fcntl(fd, F_OFD_SETLK, &fl) == 0;
}

// The oldest kernel the engine runs on, and why: overlayfs mounted inside a user
// namespace (5.11). Everything else it needs is older: seccomp user notification
// (5.0), clone3 with pidfds (5.3), waitid on a pidfd (5.4), close_range (5.9).
constexpr int kMinKernel[2] = {5, 11};

}  // namespace

Result<std::pair<int, int>> KernelVersion(const std::string& release) {
  int major = 0, minor = 0;
  if (std::sscanf(release.c_str(), "%d.%d", &major, &minor) != 2) {
    return Status::Error("cannot parse the kernel release '" + release + "'");
  }
  return std::make_pair(major, minor);
}

Status CheckKernel(const std::string& release, const CgroupManager& cgroups,
                   std::vector<std::string>* warnings) {
  ASSIGN_OR_RETURN(auto v, KernelVersion(release));
  auto older = [&](int major, int minor) {
    return v.first < major || (v.first == major && v.second < minor);
  };
  if (older(kMinKernel[0], kMinKernel[1])) {
    return Status::Error("judge needs Linux " + std::to_string(kMinKernel[0]) + "." +
                         std::to_string(kMinKernel[1]) +
                         " or newer (overlayfs in user namespaces); this kernel is " + release);
  }
  if (cgroups.version() == 2) {
    if (older(5, 19)) {
      warnings->push_back("Linux " + release +
                          " has no memory.peak (5.19): memory_peak_bytes is the usage at exit, "
                          "MLE still comes from OOM events");
    }
    if (older(5, 14)) {
      warnings->push_back("Linux " + release +
                          " has no cgroup.kill (5.14): runs are killed process by process");
    }
  }
  return Status::Ok();
}

// What is left of a run once its result is known and its processes are gone: its
// mounts (held by a mount namespace fd), its empty cgroup and its slot. A thread undoes
// them after Run has returned, off the critical path (unmounting and removing the
// cgroup are ~0.35 ms of a ~3 ms run); the slot stays locked until then, so nothing
// reuses its uid or cgroup name early. The destructor finishes what is pending.
class Sandbox::Teardown {
 public:
  struct Item {
    Execution::Remains remains;
    std::unique_ptr<RunCgroup> cgroup;
    UniqueFd slot_lock;
  };
  ~Teardown() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_one();
    if (thread_.joinable()) thread_.join();
  }
  void Add(Item item) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!thread_.joinable()) thread_ = std::thread([this] { Loop(); });
      items_.push_back(std::move(item));
      ++pending_;
    }
    cv_.notify_one();
  }
  void Settle() {
    std::unique_lock<std::mutex> lock(mu_);
    done_.wait(lock, [&] { return pending_ == 0; });
  }
  static Status Finish(Item& item) {
    item.remains.Clear();  // first: the tmpfs' pages are charged to the cgroup
    return item.cgroup->Remove().Context("removing the run's cgroup " + item.cgroup->path());
  }

 private:
  void Loop() {
    BackgroundScheduling();
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      cv_.wait(lock, [&] { return stop_ || !items_.empty(); });
      if (items_.empty()) return;  // stopping, nothing left
      Item item = std::move(items_.front());
      items_.pop_front();
      lock.unlock();
      Status removed = Finish(item);
      if (!removed.ok()) {
        // The next start of a Sandbox removes it (RemoveStaleRuns).
        std::fprintf(stderr, "judge-sandbox: %s\n", removed.ToString().c_str());
      }
      lock.lock();
      if (--pending_ == 0) done_.notify_all();
    }
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable done_;  // pending_ is 0
  bool stop_ = false;
  size_t pending_ = 0;  // added and not finished
  std::deque<Item> items_;
  std::thread thread_;
};

struct Sandbox::Placement {
  UniqueFd lock;  // the slot's (none for a RunSpec::slot)
  int slot = -1;
  std::unique_ptr<RunCgroup> cgroup;
  UniqueFd netns;  // made ahead; none: the run makes its own
};

namespace {

// A container made ahead of its run (SandboxOptions::warm).
struct WarmContainer {
  struct Shape {
    RunSpec spec;            // no streams, callbacks or copy_out
    SeccompProgram seccomp;  // spec.seccomp points here
  };
  std::string key;
  std::shared_ptr<const Shape> shape;
  bool announced = false;                      // see Sandbox::Warm::Want
  std::chrono::steady_clock::time_point made;  // when it was ready for the init's part
  RunResult scratch;                           // where its making is traced
  UniqueFd lock;
  std::unique_ptr<RunCgroup> cgroup;
  std::unique_ptr<Execution> exec;
};

// Everything of a spec that goes into its container before the program's streams:
// two specs with the same key can run in the same warm container.
std::string ShapeKey(const RunSpec& s) {
  std::string k;
  k.reserve(1024 + (s.seccomp ? s.seccomp->filter.size() * sizeof(sock_filter) : 0));
  auto add = [&](std::string_view v) {
    k += std::to_string(v.size());
    k += ':';
    k.append(v);
  };
  auto list = [&](const std::vector<std::string>& l) {
    add(std::to_string(l.size()));
    for (const std::string& v : l) add(v);
  };
  list(s.argv);
  list(s.env);
  add(s.cwd);
  const Limits& l = s.limits;
  char limits[256];
  std::snprintf(limits, sizeof limits, "%a %a %lld %lld %lld %lld %lld", l.cpu_time_s,
                l.wall_time_s, l.memory_bytes, l.pids, l.output_bytes, l.tmpfs_bytes,
                l.tmpfs_inodes);
  add(limits);
  add(s.cpus);
  add(s.loopback ? "lo" : "-");
  add(s.hostname);
  list(s.host_dirs);
  list(s.etc);
  add(std::to_string(s.binds.size()));
  for (const Bind& b : s.binds) {
    add(b.source);
    add(b.target);
    add(b.writable ? "rw" : "ro");
  }
  if (s.seccomp) {
    add(s.seccomp->notify ? "notify" : "kill");
    add(std::string_view(reinterpret_cast<const char*>(s.seccomp->filter.data()),
                         s.seccomp->filter.size() * sizeof(sock_filter)));
  } else {
    add("-");
  }
  return k;
}

}  // namespace

// The warm containers and the thread that makes them. A run of a warmable spec takes
// a ready container of its shape (or waits for one being made: three times what making
// one takes lately, between 100 ms and 1 s). Once a run is done, if its shape has been seen
// before (one-off shapes, such as a checker's with the test's own directory bound, are
// not worth making ahead), containers are asked for until two of its shape are ready
// or on their way. At most `warm` are ready, being made or asked for at once; a shape
// with none pushes out a container or request of another shape that no run was
// announced for (Expect). A container not taken within kMaxIdle goes: it holds a slot
// and its namespaces, and the host files it bound may have changed since. Each container serves one
// run: nothing of a run is left for the next to see.
class Sandbox::Warm {
 public:
  explicit Warm(Sandbox& sb) : sb_(sb) {}
  ~Warm() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_one();
    made_.notify_all();
    if (thread_.joinable()) thread_.join();
    for (auto& w : ready_) Drop(std::move(w));
  }

  // Runs `spec` (whose ShapeKey is `key`) in a warm container and returns true, or
  // returns false (none ready, or it cannot be used) for the caller to make one.
  bool Run(const RunSpec& spec, const std::string& key, RunResult& out) {
    std::unique_ptr<WarmContainer> w = Take(key);
    if (!w) return false;
    out.trace.Mark("take");
    w->exec->InheritFromCaller();
    if (!w->exec->AwaitReady().ok() || !w->exec->BindsMatch(spec)) {
      Drop(std::move(w));
      return false;
    }
    out.trace.Mark("ready");
    // None other of its shape ready or on its way (no room for two): the next one is
    // made while this run runs, rather than after it, asked for once the program has
    // its go (this thread only waits then).
    w->exec->RunPrepared(spec, out, [&] { Want(spec, key, 1, false, w->shape); });
    // The shape recurs: more are asked for now, not before the run (made meanwhile,
    // they would compete with it for the CPUs and the kernel's mount locks).
    auto shape = w->shape;
    Drop(std::move(w));
    Want(spec, key, kDepth, false, std::move(shape));
    out.trace.Mark("handoff");
    return true;
  }

  // A run of this shape, made on demand, has ended: if the shape was seen before, it
  // recurs, and containers of it are asked for (see Run).
  void RanOnDemand(const RunSpec& spec, const std::string& key) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (std::find(seen_.begin(), seen_.end(), key) == seen_.end()) {
        seen_.push_back(key);
        if (seen_.size() > kSeen) seen_.pop_front();
        return;
      }
    }
    Want(spec, key, kDepth, false);
  }

  // One run like `spec` is coming.
  void Announce(const RunSpec& spec) { Want(spec, ShapeKey(spec), 1, true); }

 private:
  struct Wanted {
    std::string key;
    std::shared_ptr<const WarmContainer::Shape> shape;
    bool announced = false;  // by Expect: a run will take it
  };
  using Clock = std::chrono::steady_clock;
  // Containers of a shape ready or on their way after its run: one for the next run
  // while the one after it is made, where there is room.
  static constexpr size_t kDepth = 2;
  static constexpr size_t kSeen = 16;  // shapes of the last runs made on demand
  static constexpr auto kMaxIdle = std::chrono::seconds(2);

  // A ready container of this shape, or one being made or asked for (waiting for it
  // costs less than making another), or none.
  std::unique_ptr<WarmContainer> Take(const std::string& key) {
    std::unique_lock<std::mutex> lock(mu_);
    // Longer than making one takes, even on a busy machine (or an emulated one: three
    // times the recent makings, at least 100 ms and at most 1 s); past it, something
    // holds the thread up, and the run makes its own.
    const auto deadline =
        Clock::now() + std::clamp<Clock::duration>(3 * making_, std::chrono::milliseconds(100),
                                                   std::chrono::seconds(1));
    for (;;) {
      for (auto it = ready_.begin(); it != ready_.end(); ++it) {
        if ((*it)->key == key) {
          std::unique_ptr<WarmContainer> w = std::move(*it);
          ready_.erase(it);
          return w;
        }
      }
      const bool coming =
          building_key_ == key || std::any_of(wanted_.begin(), wanted_.end(),
                                              [&](const Wanted& w) { return w.key == key; });
      if (!coming || stop_) return nullptr;
      if (made_.wait_until(lock, deadline) == std::cv_status::timeout) return nullptr;
    }
  }

  // Asks for containers of this shape until `count` are ready or on their way. When
  // all `warm` places are taken, the first may push out a container or request of
  // another shape that no run was announced for; the others only take free room. An
  // announced one is never pushed out (it expires), and goes over `warm` (up to twice
  // that) if it must.
  // `shape`: the spec's, if made already.
  void Want(const RunSpec& spec, const std::string& key, size_t count, bool announced,
            std::shared_ptr<const WarmContainer::Shape> shape = nullptr) {
    std::vector<std::unique_ptr<WarmContainer>> evicted;
    bool dropped_request = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_) return;
      if (announced && MarkAnnounced(key)) return;
      const size_t cap = static_cast<size_t>(sb_.options_.warm);
      auto same = [&](const auto& w) { return Key(w) == key; };
      auto spare = [&](const auto& w) { return Key(w) != key && !IsAnnounced(w); };
      size_t mine = static_cast<size_t>(std::count_if(ready_.begin(), ready_.end(), same) +
                                        std::count_if(wanted_.begin(), wanted_.end(), same)) +
                    (building_key_ == key ? 1 : 0);
      if (announced) mine = 0;  // none of its shape was free to announce
      while (mine < count) {
        const size_t total = ready_.size() + wanted_.size() + building_;
        if (total >= cap) {
          if (mine > 0) break;
          auto other = std::find_if(ready_.begin(), ready_.end(), spare);
          auto other_want = std::find_if(wanted_.begin(), wanted_.end(), spare);
          if (other != ready_.end()) {
            evicted.push_back(std::move(*other));
            ready_.erase(other);
          } else if (other_want != wanted_.end()) {
            wanted_.erase(other_want);
            dropped_request = true;
          } else if (!announced || total >= 2 * cap) {
            break;
          }
        }
        if (!shape) shape = MakeShape(spec);
        wanted_.push_back({key, shape, announced});
        ++mine;
      }
      if (!wanted_.empty() && !thread_.joinable()) thread_ = std::thread([this] { Loop(); });
    }
    cv_.notify_one();
    // A run waiting for what was pushed out stops waiting.
    if (dropped_request || !evicted.empty()) made_.notify_all();
    for (auto& w : evicted) Drop(std::move(w));
  }

  // Marks a container or request of this shape that no run was announced for as
  // announced; false if there is none.
  bool MarkAnnounced(const std::string& key) {
    for (auto& w : ready_) {
      if (w->key == key && !w->announced) return w->announced = true;
    }
    for (Wanted& w : wanted_) {
      if (w.key == key && !w.announced) return w.announced = true;
    }
    if (building_key_ == key && !building_announced_) return building_announced_ = true;
    return false;
  }
  static const std::string& Key(const std::unique_ptr<WarmContainer>& w) { return w->key; }
  static const std::string& Key(const Wanted& w) { return w.key; }
  static bool IsAnnounced(const std::unique_ptr<WarmContainer>& w) { return w->announced; }
  static bool IsAnnounced(const Wanted& w) { return w.announced; }

  static std::shared_ptr<const WarmContainer::Shape> MakeShape(const RunSpec& spec) {
    auto shape = std::make_shared<WarmContainer::Shape>();
    shape->spec = spec;
    shape->spec.stdin_stream = shape->spec.stdout_stream = shape->spec.stderr_stream =
        Stream::Null();
    shape->spec.on_started = nullptr;
    shape->spec.cancelled = nullptr;
    shape->spec.copy_out.reset();
    if (spec.seccomp) {
      shape->seccomp = *spec.seccomp;
      shape->spec.seccomp = &shape->seccomp;
    }
    return shape;
  }

  // Makes what is asked for, and drops what waited too long. The inits made here
  // inherit SCHED_BATCH, and take the normal policy back once built.
  void Loop() {
    BackgroundScheduling();
    // Every CPU this process may use, not those of the thread that started this one
    // (a judge-worker slot's).
    (void)::sched_setaffinity(0, sizeof sb_.host_->cpus, &sb_.host_->cpus);
    std::unique_lock<std::mutex> lock(mu_);
    while (!stop_) {
      std::vector<std::unique_ptr<WarmContainer>> expired;
      const auto now = Clock::now();
      for (auto it = ready_.begin(); it != ready_.end();) {
        if (now - (*it)->made >= kMaxIdle) {
          expired.push_back(std::move(*it));
          it = ready_.erase(it);
        } else {
          ++it;
        }
      }
      if (!expired.empty()) {
        lock.unlock();
        for (auto& w : expired) Drop(std::move(w));
        lock.lock();
        continue;
      }
      if (wanted_.empty()) {
        if (ready_.empty()) {
          cv_.wait(lock);
        } else {
          cv_.wait_until(lock, ready_.front()->made + kMaxIdle);
        }
        continue;
      }
      Wanted want = std::move(wanted_.front());
      wanted_.pop_front();
      ++building_;
      building_key_ = want.key;
      building_announced_ = want.announced;
      lock.unlock();
      const auto started = Clock::now();
      std::unique_ptr<WarmContainer> w = Make(std::move(want));
      lock.lock();
      if (w) making_ = (3 * making_ + (Clock::now() - started)) / 4;
      --building_;
      building_key_.clear();
      if (w) {
        w->announced = building_announced_;
        w->made = Clock::now();
        ready_.push_back(std::move(w));  // oldest first
      }
      made_.notify_all();
    }
  }

  // Runs on the thread: the container's init is this thread's child, or (made by the
  // spawner) its keeper thread's, and dies with that thread (PR_SET_PDEATHSIG); both
  // live as long as the pool.
  std::unique_ptr<WarmContainer> Make(Wanted want) {
    auto w = std::make_unique<WarmContainer>();
    w->key = std::move(want.key);
    w->shape = std::move(want.shape);
    const RunSpec& spec = w->shape->spec;
    Placement place;
    if (!sb_.Place(spec, &place, nullptr).ok()) return nullptr;
    w->lock = std::move(place.lock);
    w->cgroup = std::move(place.cgroup);
    w->exec = std::make_unique<Execution>(
        spec, *sb_.host_, *w->cgroup, sb_.options_.uid_base + static_cast<uint32_t>(place.slot),
        sb_.options_.staging_dir, place.netns ? place.netns.get() : -1, w->scratch);
    if (!w->exec->Ready(/*ahead=*/true).ok()) {
      Drop(std::move(w));
      return nullptr;
    }
    return w;
  }

  // Kills the container if its init still lives and hands what is left to teardown.
  void Drop(std::unique_ptr<WarmContainer> w) {
    Execution::Remains remains;
    if (w->exec) remains = w->exec->TakeRemains();
    w->exec.reset();
    if (w->cgroup) {
      sb_.teardown_->Add({std::move(remains), std::move(w->cgroup), std::move(w->lock)});
    } else {
      remains.Clear();
    }
  }

  Sandbox& sb_;
  std::mutex mu_;
  std::condition_variable cv_;    // the thread waits for requests (or an expiry)
  std::condition_variable made_;  // runs wait for a container being made
  bool stop_ = false;
  std::deque<Wanted> wanted_;
  size_t building_ = 0;
  std::string building_key_;
  bool building_announced_ = false;
  std::list<std::unique_ptr<WarmContainer>> ready_;  // oldest first
  std::deque<std::string> seen_;
  Clock::duration making_{};  // how long making a container takes, recently (a mean)
  std::thread thread_;
};

const char* RunStatusName(RunStatus s) {
  switch (s) {
    case RunStatus::kOk: return "OK";
    case RunStatus::kRuntimeError: return "RE";
    case RunStatus::kTimeLimit: return "TLE";
    case RunStatus::kMemoryLimit: return "MLE";
    case RunStatus::kOutputLimit: return "OLE";
    case RunStatus::kSecurityViolation: return "SV";
    case RunStatus::kSandboxError: return "SE";
  }
  return "SE";
}

RunSpec SpecFromProfile(const SandboxProfile& profile) {
  RunSpec spec;
  spec.limits = profile.limits;
  spec.env = profile.env;
  spec.hostname = profile.hostname;
  spec.loopback = profile.network == "loopback";
  spec.host_dirs = profile.host_dirs;
  spec.etc = profile.etc;
  return spec;
}

Sandbox::~Sandbox() {
  warm_.reset();
  teardown_.reset();
  spawner_.reset();
  if (spawn_stack_) ::munmap(spawn_stack_, kSpawnStackSize);
}

Result<std::unique_ptr<Sandbox>> Sandbox::Create(const SandboxOptions& options) {
  if (::geteuid() != 0) {
    return Status::Error("judge-sandbox must run as root (it creates user namespaces with "
                         "unprivileged uid maps and cgroups); run it with sudo");
  }
  std::unique_ptr<Sandbox> sb(new Sandbox());
  sb->options_ = options;
  // fds 0-2 open (on /dev/null where closed): no fd of the engine's may get a number
  // that the container's init gives to the program's streams.
  for (int fd = 0; fd < 3; ++fd) {
    if (::fcntl(fd, F_GETFD) < 0 && errno == EBADF) {
      const int null = ::open("/dev/null", O_RDWR);  // the lowest free number: fd
      if (null >= 0 && null != fd) ::close(null);
    }
  }
  ASSIGN_OR_RETURN(std::string mountinfo, ReadFile("/proc/self/mountinfo"));
  ASSIGN_OR_RETURN(std::string proc_cgroup, ReadFile("/proc/self/cgroup"));
  CgroupLayout layout = ParseCgroupLayout(mountinfo, proc_cgroup);
  if (!layout.v2_dir.empty()) {
    auto ctrls = ReadFile(layout.v2_dir + "/cgroup.controllers");
    if (ctrls.ok()) {
      std::string word;
      for (char c : *ctrls + " ") {
        if (c == ' ' || c == '\n') {
          if (!word.empty()) layout.v2_controllers.push_back(word);
          word.clear();
        } else {
          word += c;
        }
      }
    }
  }
  ASSIGN_OR_RETURN(sb->cgroups_, MakeCgroupManager(layout, RealCgroupFs()));
  sb->RemoveStaleRuns();
  struct utsname uts;
  ::uname(&uts);
  RETURN_IF_ERROR(CheckKernel(uts.release, *sb->cgroups_, &sb->warnings_));
  sb->host_ = std::make_unique<HostFacts>();
  sb->netns_ = std::make_unique<NetnsPool>();
  sb->teardown_ = std::make_unique<Teardown>();
  if (options.warm > 0) sb->warm_ = std::make_unique<Warm>(*sb);
  auto last = ReadInt("/proc/sys/kernel/cap_last_cap");
  if (last.ok()) sb->host_->cap_last_cap = static_cast<int>(*last);
  sb->host_->online_cpus = std::max(1, static_cast<int>(::sysconf(_SC_NPROCESSORS_ONLN)));
  CPU_ZERO(&sb->host_->cpus);
  if (::sched_getaffinity(0, sizeof sb->host_->cpus, &sb->host_->cpus) != 0) {
    for (int c = 0; c < sb->host_->online_cpus && c < CPU_SETSIZE; ++c)
      CPU_SET(c, &sb->host_->cpus);
  }
  sb->seccomp_notify_ = SeccompNotifySupported();
  // arg_start, arg_end, env_start, env_end: fields 48-51 of /proc/self/stat.
  auto stat = ReadFile("/proc/self/stat");
  if (stat.ok()) {
    std::istringstream in(stat->substr(stat->rfind(')') + 2));
    std::vector<unsigned long> f;
    std::string word;
    while (in >> word) f.push_back(std::strtoul(word.c_str(), nullptr, 10));
    // Field 3 is f[0] here, so field n is f[n - 3].
    if (f.size() >= 49) {
      unsigned long begin = f[45], end = f[48] > f[46] ? f[48] : f[46];
      if (end > begin && end - begin < (1ul << 20)) {
        sb->host_->arg_area = reinterpret_cast<char*>(begin);
        sb->host_->arg_area_len = end - begin;
      }
    }
  }
  struct stat st;
  if (::stat(options.staging_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return Status::Error("staging directory " + options.staging_dir + " does not exist");
  }
  // The stack the container's init spawns the program on. Every init has its own copy
  // of this address space, so one region serves concurrent runs.
  void* stack = ::mmap(nullptr, kSpawnStackSize, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) return Status::Errno("mmap");
  sb->spawn_stack_ = stack;
  sb->host_->spawn_stack_top = static_cast<char*>(stack) + kSpawnStackSize;
  if (options.warm > 0) {
    // A long-lived engine: its inits come from a small process, not from its own
    // address space (sandbox/spawner.h).
    std::string why;
    sb->spawner_ = Spawner::Start(sb->host_->cpus, &why);
    if (sb->spawner_) {
      sb->host_->spawner = sb->spawner_.get();
    } else {
      sb->warnings_.push_back("no spawner (" + why +
                              "): the containers are cloned from this process");
    }
  }
  return sb;
}

void Sandbox::RemoveStaleRuns() {
  // A run's cgroup whose slot nobody holds was left by a process that crashed.
  UniqueFd lock;
  if (!OpenLockFile(&lock).ok()) return;
  for (const std::string& name : cgroups_->Children()) {
    int slot = -1;
    if (std::sscanf(name.c_str(), "judge-run-%d", &slot) != 1 || slot < 0 ||
        name != "judge-run-" + std::to_string(slot)) {
      continue;
    }
    if (!LockSlotByte(lock.get(), slot, F_WRLCK)) continue;  // a live run's
    (void)cgroups_->RemoveStale(name);
    LockSlotByte(lock.get(), slot, F_UNLCK);
  }
}

Status Sandbox::OpenLockFile(UniqueFd* lock) const {
  lock->reset(::open(options_.lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!*lock) {
    return Status::Errno("cannot open the slot lock file " + options_.lock_path +
                         " (it must be writable by root)");
  }
  return Status::Ok();
}

Result<int> Sandbox::AcquireSlot(UniqueFd* lock) {
  RETURN_IF_ERROR(OpenLockFile(lock));
  const std::string& path = options_.lock_path;
  // One byte-range lock per slot. The lock belongs to this open file description, so
  // it goes away with the process, however that ends.
  for (int slot = 0; slot < options_.max_slots; ++slot) {
    if (LockSlotByte(lock->get(), slot, F_WRLCK)) return slot;
    if (errno != EAGAIN && errno != EACCES) return Status::Errno("lock " + path);
  }
  return Status::Error("all " + std::to_string(options_.max_slots) + " sandbox slots are busy");
}

Result<SlotLease> Sandbox::LeaseSlot() {
  SlotLease lease;
  ASSIGN_OR_RETURN(lease.slot_, AcquireSlot(&lease.lock_));
  lease.uid_ = options_.uid_base + static_cast<uint32_t>(lease.slot_);
  return lease;
}

void Sandbox::Settle() { teardown_->Settle(); }

bool Sandbox::Warmable(const RunSpec& spec) {
  return !spec.slot && spec.writable_dir.empty() && spec.copy_in.empty() && spec.layers.empty();
}

void Sandbox::Expect(const RunSpec& spec) {
  netns_->Expect(spec.loopback);
  if (warm_ && Warmable(spec)) warm_->Announce(spec);
}

Status Sandbox::Place(const RunSpec& spec, Placement* p, RunTrace* trace) {
  auto slot = spec.slot ? Result<int>(spec.slot->slot()) : AcquireSlot(&p->lock);
  if (trace) trace->Mark("slot");
  if (!slot.ok()) return slot.status();
  p->slot = *slot;
  auto cg = cgroups_->Create("judge-run-" + std::to_string(*slot), !spec.cpus.empty());
  if (!cg.ok()) return cg.status().Context("creating the run's cgroup");
  CgroupLimits limits;
  limits.memory_bytes = spec.limits.memory_bytes;
  limits.pids = spec.limits.pids + 1;  // the container's init is one of them
  limits.cpus = spec.cpus;
  if (Status s = (*cg)->Prepare(limits); !s.ok()) {
    (void)(*cg)->Remove();
    return s.Context("setting cgroup limits");
  }
  p->cgroup = std::move(*cg);
  // A network namespace made ahead when one can be had; else the run makes its own.
  auto netns = netns_->Take(spec.loopback);
  if (netns.ok()) p->netns = std::move(*netns);
  if (trace) trace->Mark("cgroup");
  return Status::Ok();
}

RunResult Sandbox::Run(const RunSpec& spec) {
  RunResult out;
  out.trace.Start();
  const bool warmable = warm_ && Warmable(spec);
  std::string key;
  if (warmable) {
    key = ShapeKey(spec);
    if (warm_->Run(spec, key, out)) return out;
  }
  Placement place;
  if (Status s = Place(spec, &place, &out.trace); !s.ok()) {
    out.message = s.ToString();
    return out;
  }
  Execution::Remains remains;
  {
    Execution run(spec, *host_, *place.cgroup,
                  options_.uid_base + static_cast<uint32_t>(place.slot), options_.staging_dir,
                  place.netns ? place.netns.get() : -1, out);
    run.Run();
    remains = run.TakeRemains();
  }
  Teardown::Item rest{std::move(remains), std::move(place.cgroup), std::move(place.lock)};
  if (spec.slot) {
    // The slot's next run may follow at once: its cgroup name must be free by then.
    Status removed = Teardown::Finish(rest);
    if (!removed.ok() && out.status != RunStatus::kSandboxError) {
      out.status = RunStatus::kSandboxError;
      out.end = RunEnd::kSandboxFailed;
      out.message = removed.ToString();
    }
  } else {
    teardown_->Add(std::move(rest));
  }
  if (warmable) warm_->RanOnDemand(spec, key);
  out.trace.Mark("handoff");
  return out;
}

}  // namespace judge
