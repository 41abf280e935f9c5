#include "sandbox/sandbox.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <sstream>
#include <thread>

#include "common/file_util.h"
#include "sandbox/execution.h"
#include "sandbox/netns.h"

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
    UniqueFd mount_ns;
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
    }
    cv_.notify_one();
  }
  static Status Finish(Item& item) {
    item.mount_ns.reset();  // first: the tmpfs' pages are charged to the cgroup
    return item.cgroup->Remove().Context("removing the run's cgroup " + item.cgroup->path());
  }

 private:
  void Loop() {
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
    }
  }
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::deque<Item> items_;
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
  teardown_.reset();
  if (spawn_stack_) ::munmap(spawn_stack_, kSpawnStackSize);
}

Result<std::unique_ptr<Sandbox>> Sandbox::Create(const SandboxOptions& options) {
  if (::geteuid() != 0) {
    return Status::Error("judge-sandbox must run as root (it creates user namespaces with "
                         "unprivileged uid maps and cgroups); run it with sudo");
  }
  std::unique_ptr<Sandbox> sb(new Sandbox());
  sb->options_ = options;
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
  auto last = ReadInt("/proc/sys/kernel/cap_last_cap");
  if (last.ok()) sb->host_->cap_last_cap = static_cast<int>(*last);
  sb->host_->online_cpus = std::max(1, static_cast<int>(::sysconf(_SC_NPROCESSORS_ONLN)));
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

void Sandbox::Expect(const RunSpec& spec) { netns_->Expect(spec.loopback); }

RunResult Sandbox::Run(const RunSpec& spec) {
  RunResult out;
  out.trace.Start();
  UniqueFd lock;
  auto slot = spec.slot ? Result<int>(spec.slot->slot()) : AcquireSlot(&lock);
  out.trace.Mark("slot");
  if (!slot.ok()) {
    out.message = slot.status().ToString();
    return out;
  }
  auto cg = cgroups_->Create("judge-run-" + std::to_string(*slot), !spec.cpus.empty());
  if (!cg.ok()) {
    out.message = cg.status().Context("creating the run's cgroup").ToString();
    return out;
  }
  CgroupLimits limits;
  limits.memory_bytes = spec.limits.memory_bytes;
  limits.pids = spec.limits.pids + 1;  // the container's init is one of them
  limits.cpus = spec.cpus;
  if (Status s = (*cg)->Prepare(limits); !s.ok()) {
    out.message = s.Context("setting cgroup limits").ToString();
    return out;
  }
  // A network namespace made ahead when one can be had; else the run makes its own.
  auto netns = netns_->Take(spec.loopback);
  out.trace.Mark("cgroup");
  UniqueFd mount_ns;
  {
    Execution run(spec, *host_, **cg, options_.uid_base + static_cast<uint32_t>(*slot),
                  options_.staging_dir, netns.ok() ? netns->get() : -1, out);
    run.Run();
    mount_ns = run.TakeMountNamespace();
  }
  Teardown::Item rest{std::move(mount_ns), std::move(*cg), std::move(lock)};
  if (spec.slot) {
    // The slot's next run may follow at once: its cgroup name must be free by then.
    Status removed = Teardown::Finish(rest);
    if (!removed.ok() && out.status != RunStatus::kSandboxError) {
      out.status = RunStatus::kSandboxError;
      out.message = removed.ToString();
    }
  } else {
    teardown_->Add(std::move(rest));
  }
  out.trace.Mark("handoff");
  return out;
}

}  // namespace judge
