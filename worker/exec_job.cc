#include "worker/exec_job.h"

#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <optional>
#include <set>
#include <thread>

#include "common/fd.h"
#include "common/file_util.h"
#include "protocol/codec.h"
#include "protocol/frame.h"
#include "worker/judging.h"
#include "worker/tar.h"

namespace judge {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kMaxSteps = 64;
constexpr int kMaxFiles = 10000;
constexpr int kMaxGlobs = 64;
constexpr int kMaxLayers = 16;
constexpr size_t kMaxArg = 128 << 10;
constexpr long long kMaxStdin = 64ll << 20;
constexpr long long kMaxLogBytes = 16ll << 20;
constexpr long long kMaxArtifactBytes = 64ll << 20;
constexpr int kMaxArtifactFiles = 10000;
// What one result may carry (kept logs of every step and the artifacts), under the
// broker's default message limit of 64 MiB; RunExecJob enforces it on the encoded result.
constexpr long long kMaxResultBytes = 48ll << 20;
constexpr int kMaxArtifactDepth = 64;
constexpr size_t kMaxEntries = 200000;
// Live output is sent in pieces of at most this much, at least every kFlushMs.
constexpr size_t kChunkBytes = 16 << 10;
constexpr int kFlushMs = 50;
constexpr const char* kDirPrefix = "judge-exec-";

// A step's limit where set, else the job's step limit, else the default.
template <typename T>
T Pick(T step, T job, T def) {
  return step > 0 ? step : job > 0 ? job : def;
}

struct JobLimits {
  double wall_time_s;
  long long writable_bytes, log_bytes, artifact_bytes;
  int artifact_files;
};

JobLimits LimitsOf(const v1::ExecJob& job) {
  const v1::ExecLimits& l = job.limits();
  return {l.wall_time_s() > 0 ? l.wall_time_s() : kExecJobWallTimeS,
          l.writable_bytes() > 0 ? l.writable_bytes() : kExecWritableBytes,
          l.log_bytes() > 0 ? l.log_bytes() : kExecLogBytes,
          l.artifact_bytes() > 0 ? l.artifact_bytes() : kExecArtifactBytes,
          l.artifact_files() > 0 ? l.artifact_files() : kExecArtifactFiles};
}

Status CheckString(const std::string& s, const std::string& what) {
  if (s.find('\0') != std::string::npos) return Status::Error(what + " has a NUL byte");
  if (s.size() > kMaxArg) return Status::Error(what + " is longer than 128 KiB");
  return Status::Ok();
}

// A shell line (one argument with a space) goes to /bin/sh -c.
std::vector<std::string> Argv(const v1::ExecStep& step) {
  std::vector<std::string> argv(step.argv().begin(), step.argv().end());
  if (argv.size() == 1 && argv[0].find(' ') != std::string::npos) {
    argv = {"/bin/sh", "-c", argv[0]};
  }
  return argv;
}

std::vector<std::string> SplitPath(const std::string& path) {
  std::vector<std::string> parts;
  size_t pos = 0;
  while (pos <= path.size()) {
    const size_t slash = std::min(path.find('/', pos), path.size());
    parts.push_back(path.substr(pos, slash - pos));
    pos = slash + 1;
  }
  return parts;
}

// A name the result can carry (proto3 strings are UTF-8) and a terminal can show.
bool PrintableName(const std::string& name) {
  if (ValidUtf8(name) != name) return false;
  return std::none_of(name.begin(), name.end(), [](char c) {
    return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
  });
}

// The longest prefix of valid UTF-8 `s` of at most `max` bytes that ends on a character.
void CutUtf8(std::string* s, size_t max) {
  if (s->size() <= max) return;
  size_t n = max;
  while (n > 0 && (static_cast<unsigned char>((*s)[n]) & 0xc0) == 0x80) --n;
  s->resize(n);
}

// The tmpfs that holds a job's writable layer, mounted on the host for the job's length.
// Its root is flock()ed while the job runs, so that a later Create can tell what a
// crashed worker left.
class ExecDir {
 public:
  static Result<std::unique_ptr<ExecDir>> Make(const std::string& root, long long bytes,
                                               uint32_t uid) {
    std::string path = root + "/" + kDirPrefix + "XXXXXX";
    if (::mkdtemp(path.data()) == nullptr) return Status::Errno("mkdtemp in " + root);
    std::unique_ptr<ExecDir> d(new ExecDir(path));
    // Made detached, locked and filled, then moved onto the path: a worker starting
    // meanwhile (RemoveStaleDirs) never sees it mounted and unlocked.
    const std::string mount_error = "cannot mount the job's writable layer (tmpfs) on " + path;
    UniqueFd fs(::fsopen("tmpfs", FSOPEN_CLOEXEC));
    if (!fs) return Status::Errno(mount_error);
    const long long inodes = std::max(4096ll, bytes / 4096);
    for (const auto& [key, value] : {std::pair<const char*, std::string>{"source", "judge-exec"},
                                     {"size", std::to_string(bytes)},
                                     {"nr_inodes", std::to_string(inodes)},
                                     {"mode", "0700"}}) {
      if (::fsconfig(fs.get(), FSCONFIG_SET_STRING, key, value.c_str(), 0) != 0) {
        return Status::Errno(mount_error + " (" + key + ")");
      }
    }
    if (::fsconfig(fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0) {
      return Status::Errno(mount_error);
    }
    UniqueFd mnt(::fsmount(fs.get(), FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV));
    if (!mnt) return Status::Errno(mount_error);
    d->root_.reset(::openat(mnt.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!d->root_ || ::flock(d->root_.get(), LOCK_EX) != 0) return Status::Errno("lock " + path);
    // layer/: the RunSpec::writable_dir, the slot's; layer/box: /box.
    for (const char* sub : {"layer", "layer/box"}) {
      if (::mkdirat(d->root_.get(), sub, 0755) != 0 ||
          ::fchownat(d->root_.get(), sub, uid, uid, AT_SYMLINK_NOFOLLOW) != 0) {
        return Status::Errno("cannot make " + path + "/" + sub);
      }
    }
    d->box_.reset(OpenBeneath(d->root_.get(), "layer/box", O_RDONLY | O_DIRECTORY));
    if (!d->box_) return Status::Errno("open " + path + "/layer/box");
    if (::move_mount(mnt.get(), "", AT_FDCWD, path.c_str(), MOVE_MOUNT_F_EMPTY_PATH) != 0) {
      return Status::Errno(mount_error);
    }
    d->mounted_ = true;
    return d;
  }
  ~ExecDir() {
    box_.reset();
    root_.reset();
    if (mounted_) ::umount2(path_.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW);
    ::rmdir(path_.c_str());
  }
  std::string layer() const { return path_ + "/layer"; }
  int box() const { return box_.get(); }

 private:
  explicit ExecDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
  bool mounted_ = false;
  UniqueFd root_, box_;
};

// A step's two output streams, read as the step runs: the first log_bytes of each kept,
// all counted, the kept bytes handed on live in pieces.
class OutputPump {
 public:
  struct Stream {
    UniqueFd read_end;
    v1::ExecOutput::Stream id;
    std::string kept, pending;
    long long total = 0;
  };

  OutputPump(long long log_bytes, long long output_limit, int step,
             const ExecRunner::Callbacks& cb)
      : log_bytes_(log_bytes), output_limit_(output_limit), step_(step), cb_(cb) {}

  // Until both streams are at EOF.
  void Run() {
    auto first_pending = Clock::time_point::max();
    while (streams[0].read_end || streams[1].read_end) {
      pollfd pfds[2];
      int n = 0;
      Stream* which[2];
      for (Stream& s : streams) {
        if (s.read_end) {
          which[n] = &s;
          pfds[n++] = {s.read_end.get(), POLLIN, 0};
        }
      }
      int timeout = -1;
      if (first_pending != Clock::time_point::max()) {
        const auto due = first_pending + std::chrono::milliseconds(kFlushMs);
        timeout = static_cast<int>(std::max<long long>(
            0, std::chrono::ceil<std::chrono::milliseconds>(due - Clock::now()).count()));
      }
      if (::poll(pfds, static_cast<nfds_t>(n), timeout) < 0 && errno != EINTR) break;
      for (int i = 0; i < n; ++i) {
        if (pfds[i].revents) Read(*which[i]);
      }
      const size_t pending = streams[0].pending.size() + streams[1].pending.size();
      if (pending > 0 && first_pending == Clock::time_point::max()) first_pending = Clock::now();
      const bool eof = !streams[0].read_end && !streams[1].read_end;
      if (pending > 0 && (eof || pending >= kChunkBytes ||
                          Clock::now() >= first_pending + std::chrono::milliseconds(kFlushMs))) {
        Flush();
        first_pending = Clock::time_point::max();
      }
    }
    Flush();
  }

  bool over() const { return over_.load(); }
  Stream streams[2];

 private:
  void Read(Stream& s) {
    char buf[65536];
    ssize_t n = ::read(s.read_end.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) return;
    if (n <= 0) {
      s.read_end.reset();
      return;
    }
    s.total += n;
    const long long room = std::max(0LL, log_bytes_ - static_cast<long long>(s.kept.size()));
    const size_t take = static_cast<size_t>(std::min<long long>(room, n));
    s.kept.append(buf, take);
    s.pending.append(buf, take);
    if (streams[0].total + streams[1].total > output_limit_) over_.store(true);
  }
  void Flush() {
    for (Stream& s : streams) {
      if (!s.pending.empty() && cb_.output) cb_.output(step_, s.id, s.pending);
      s.pending.clear();
    }
  }

  const long long log_bytes_, output_limit_;
  const int step_;
  const ExecRunner::Callbacks& cb_;
  std::atomic<bool> over_{false};
};

}  // namespace

bool ArtifactGlobMatches(const std::string& glob, const std::string& path) {
  const std::vector<std::string> g = SplitPath(glob), p = SplitPath(path);
  // at[j]: the glob's parts so far match the path's first j parts.
  std::vector<char> at(p.size() + 1, 0);
  at[0] = 1;
  for (const std::string& part : g) {
    std::vector<char> next(p.size() + 1, 0);
    for (size_t j = 0; j <= p.size(); ++j) {
      if (!at[j]) continue;
      if (part == "**") {
        // Zero or more parts, none of them hidden.
        for (size_t k = j; k <= p.size(); ++k) {
          next[k] = 1;
          if (k < p.size() && p[k].rfind('.', 0) == 0) break;
        }
      } else if (j < p.size() && ::fnmatch(part.c_str(), p[j].c_str(), FNM_PERIOD) == 0) {
        next[j + 1] = 1;
      }
    }
    at = std::move(next);
  }
  return at[p.size()] != 0;
}

int ExecExitCode(const v1::ExecStepResult& s) {
  const std::string& st = s.status();
  if (st == "OK" || st == "SKIPPED") return 0;
  if (st == "RE") return s.signal() != 0 ? 128 + s.signal() : s.exit_code();
  if (st == "TLE") return 124;
  if (st == "MLE") return 137;
  if (st == "OLE") return 128 + SIGXFSZ;
  if (st == "SV") return 128 + SIGSYS;
  return 125;
}

Result<std::unique_ptr<ExecRunner>> ExecRunner::Create(Sandbox& sandbox, ExecOptions options) {
  std::unique_ptr<ExecRunner> r(new ExecRunner(sandbox, std::move(options)));
  ASSIGN_OR_RETURN(r->profile_, LoadSandboxProfile("default"));
  ASSIGN_OR_RETURN(r->seccomp_,
                   LoadAndCompileSeccomp(r->profile_.seccomp, sandbox.seccomp_notify()));
  RemoveStaleDirs(r->options_.work_root, kDirPrefix, /*unmount=*/true);
  return r;
}

Result<std::vector<std::string>> ExecRunner::Layers(const v1::ExecJob& job) const {
  std::vector<std::string> out;
  for (const std::string& layer : job.layers()) {
    std::string path = layer;
    if (!options_.layer_root.empty()) {
      if (layer.empty() || layer.find('/') != std::string::npos || layer == "." || layer == "..") {
        return Status::Error("layer '" + Printable(layer) + "' must be the name of a directory in " +
                             options_.layer_root + " on the worker");
      }
      if (layer.rfind("judge-", 0) == 0) {
        // The judge's own directories, when --exec-layers is also the work root.
        return Status::Error("layer '" + Printable(layer) +
                             "' is refused: names starting with judge- are the judge's own");
      }
      path = options_.layer_root + "/" + layer;
    } else if (layer.empty() || layer[0] != '/') {
      return Status::Error("layer '" + Printable(layer) + "' must be an absolute path");
    }
    struct stat st;
    if (::stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      return Status::Error("layer " + Printable(path) + " is not a directory here");
    }
    out.push_back(path);
  }
  return out;
}

Status ExecRunner::Validate(const v1::ExecJob& job) const {
  if (job.steps().empty()) return Status::Error("the exec job has no steps; give at least one command");
  if (job.steps_size() > kMaxSteps) {
    return Status::Error("the exec job has more than " + std::to_string(kMaxSteps) + " steps");
  }
  for (int i = 0; i < job.steps_size(); ++i) {
    const v1::ExecStep& s = job.steps(i);
    const std::string what = "step " + std::to_string(i + 1);
    if (s.argv().empty() || s.argv(0).empty()) return Status::Error(what + " has no command");
    for (const std::string& a : s.argv()) RETURN_IF_ERROR(CheckString(a, what + "'s argument"));
    for (const std::string& e : s.env()) {
      RETURN_IF_ERROR(CheckString(e, what + "'s env"));
      if (e.find('=') == std::string::npos || e[0] == '=') {
        return Status::Error(what + "'s env entry '" + Printable(e) + "' is not NAME=VALUE");
      }
    }
    if (static_cast<long long>(s.stdin().size()) > kMaxStdin) {
      return Status::Error(what + "'s stdin is larger than 64 MiB");
    }
    const v1::Limits& l = s.limits();
    if (l.cpu_time_s() < 0 || l.wall_time_s() < 0 || l.memory_bytes() < 0 || l.pids() < 0 ||
        l.output_bytes() < 0 || !std::isfinite(l.cpu_time_s()) || !std::isfinite(l.wall_time_s())) {
      return Status::Error(what + "'s limits cannot be negative");
    }
  }
  const v1::Limits& sl = job.step_limits();
  if (sl.cpu_time_s() < 0 || sl.wall_time_s() < 0 || sl.memory_bytes() < 0 || sl.pids() < 0 ||
      sl.output_bytes() < 0 || !std::isfinite(sl.cpu_time_s()) || !std::isfinite(sl.wall_time_s())) {
    return Status::Error("step limits cannot be negative");
  }
  const v1::ExecLimits& l = job.limits();
  if (l.wall_time_s() < 0 || !std::isfinite(l.wall_time_s()) || l.writable_bytes() < 0 ||
      l.log_bytes() < 0 || l.artifact_bytes() < 0 || l.artifact_files() < 0) {
    return Status::Error("job limits cannot be negative");
  }
  const JobLimits jl = LimitsOf(job);
  if (jl.writable_bytes > options_.max_writable_bytes) {
    return Status::Error("the writable layer (" + std::to_string(jl.writable_bytes) +
                         " bytes) is larger than the " + std::to_string(options_.max_writable_bytes) +
                         " bytes allowed here (judge-worker --exec-max-writable); ask for less");
  }
  if (jl.log_bytes > kMaxLogBytes) return Status::Error("log bytes kept per stream can be at most 16 MiB");
  if (jl.artifact_bytes > kMaxArtifactBytes) return Status::Error("artifacts can be at most 64 MiB");
  if (jl.artifact_files > kMaxArtifactFiles) {
    return Status::Error("artifacts can be at most " + std::to_string(kMaxArtifactFiles) + " files");
  }
  if (2 * jl.log_bytes * job.steps_size() + jl.artifact_bytes > kMaxResultBytes) {
    return Status::Error("the kept logs (2 x log bytes x steps) and artifacts could exceed 48 MiB; "
                         "keep fewer log bytes or artifacts");
  }
  if (job.files_size() > kMaxFiles) {
    return Status::Error("the exec job has more than " + std::to_string(kMaxFiles) + " files");
  }
  std::set<std::string> names;
  long long bytes = 0;
  for (const v1::File& f : job.files()) {
    RETURN_IF_ERROR(CheckBoxPath(f.name(), "file"));
    if (!names.insert(f.name()).second) return Status::Error("two files are named " + Printable(f.name()));
    if (f.has_mode() && (f.mode() & ~0777u) != 0) {
      return Status::Error("file " + Printable(f.name()) + " has mode bits beyond 0777");
    }
    bytes += static_cast<long long>(f.content().size());
  }
  if (bytes + static_cast<long long>(job.archive().size()) > jl.writable_bytes) {
    return Status::Error("the files and archive are larger than the writable layer (" +
                         std::to_string(jl.writable_bytes) + " bytes); raise it");
  }
  if (job.network() != "" && job.network() != "none" && job.network() != "loopback") {
    return Status::Error("network '" + Printable(job.network()) + "' is not none or loopback");
  }
  if (job.artifacts_size() > kMaxGlobs) return Status::Error("more than 64 artifact globs");
  for (const std::string& g : job.artifacts()) {
    RETURN_IF_ERROR(CheckString(g, "an artifact glob"));
    if (g.empty() || g[0] == '/' || g.find("..") != std::string::npos) {
      return Status::Error("artifact glob '" + Printable(g) +
                           "' must be relative to /box, without '..'");
    }
  }
  if (job.layers_size() > kMaxLayers) return Status::Error("more than 16 layers");
  return Layers(job).status();
}

class ExecRunner::JobRun {
 public:
  JobRun(ExecRunner& r, const v1::ExecJob& job, const Callbacks& cb)
      : r_(r), job_(job), cb_(cb), limits_(LimitsOf(job)) {}

  v1::ExecResult Run() {
    Status st = r_.Validate(job_);
    if (st.ok()) st = Steps();
    if (!st.ok()) {
      result_.set_status("SE");
      result_.set_message(st.ToString());
    }
    result_.set_message(ValidUtf8(result_.message()));
    if (result_.status().empty()) result_.set_status("OK");
    result_.set_exit_code(result_.status() == "SE" ? 125 : exit_code_);
    return result_;
  }

 private:
  bool Cancelled() const { return cb_.cancelled && cb_.cancelled(); }

  Status Steps() {
    ASSIGN_OR_RETURN(layers_, r_.Layers(job_));
    ASSIGN_OR_RETURN(lease_, r_.sandbox_.LeaseSlot());
    ASSIGN_OR_RETURN(dir_, ExecDir::Make(r_.options_.work_root, limits_.writable_bytes, lease_->uid()));
    RETURN_IF_ERROR(PutFiles());
    const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                             std::chrono::duration<double>(limits_.wall_time_s));
    bool stop = false;
    for (int i = 0; i < job_.steps_size(); ++i) {
      v1::ExecStepResult* s = result_.add_steps();
      for (const std::string& a : Argv(job_.steps(i))) s->add_argv(a);
      if (stop) {
        s->set_status("SKIPPED");
      } else if (Cancelled()) {
        return Status::Error("the job was cancelled");
      } else {
        RETURN_IF_ERROR(RunStep(i, deadline, s));
      }
      if (s->status() != "OK" && s->status() != "SKIPPED" && result_.status().empty()) {
        result_.set_status(s->status());
        exit_code_ = ExecExitCode(*s);
        if (s->status() == "SE") result_.set_message("step " + std::to_string(i + 1) + ": " + s->message());
      }
      if (step_cancelled_) return Status::Error("the job was cancelled");
      if (s->status() != "OK" && s->status() != "SKIPPED" &&
          (!job_.steps(i).continue_on_failure() || job_out_of_time_)) {
        stop = true;
      }
      if (cb_.step_done) cb_.step_done(i, *s);
    }
    return Collect();
  }

  Status PutFiles() {
    TreeWriter box(dir_->box(), lease_->uid(), lease_->uid());
    if (!job_.archive().empty()) {
      TarLimits tl;
      tl.max_bytes = limits_.writable_bytes;
      ASSIGN_OR_RETURN(std::vector<TarEntry> entries, ParseTar(job_.archive(), tl));
      for (const TarEntry& e : entries) RETURN_IF_ERROR(box.Write(e).Context("unpacking the archive"));
      RETURN_IF_ERROR(CheckUnpackedLinks(dir_->box(), entries));
    }
    for (const v1::File& f : job_.files()) {
      RETURN_IF_ERROR(box.File(f.name(), f.content(), f.has_mode() ? f.mode() : 0644, true));
    }
    return Status::Ok();
  }

  RunSpec Spec(int i, double wall_left_s) {
    const v1::ExecStep& step = job_.steps(i);
    const v1::Limits& sl = step.limits();
    const v1::Limits& jl = job_.step_limits();
    RunSpec spec = SpecFromProfile(r_.profile_);
    spec.seccomp = &r_.seccomp_;
    spec.argv = Argv(step);
    spec.env.push_back("HOME=/box");
    for (const std::string& e : step.env()) {
      const std::string name = e.substr(0, e.find('=') + 1);
      std::erase_if(spec.env, [&](const std::string& x) { return x.rfind(name, 0) == 0; });
      spec.env.push_back(e);
    }
    spec.cwd = "/box";
    spec.limits.cpu_time_s = Pick<double>(sl.cpu_time_s(), jl.cpu_time_s(), kExecCpuTimeS);
    const double wall = Pick<double>(sl.wall_time_s(), jl.wall_time_s(), 2 * spec.limits.cpu_time_s + 1);
    spec.limits.wall_time_s = std::max(0.001, std::min(wall, wall_left_s));
    step_wall_s_ = wall;
    spec.limits.memory_bytes = Pick<long long>(sl.memory_bytes(), jl.memory_bytes(), kExecMemoryBytes);
    spec.limits.pids = Pick<long long>(sl.pids(), jl.pids(), kExecPids);
    // The step's own output limit bounds stdout + stderr (OutputPump); files are bounded by
    // the writable layer (and /dev/shm by the staging tmpfs), so the engine's limit
    // (RLIMIT_FSIZE and its count of written bytes) lets them fill those.
    step_output_bytes_ = Pick<long long>(sl.output_bytes(), jl.output_bytes(), kExecOutputBytes);
    spec.limits.output_bytes = limits_.writable_bytes + spec.limits.tmpfs_bytes;
    spec.layers = layers_;
    spec.loopback = job_.network() == "loopback";
    spec.slot = &*lease_;
    spec.writable_dir = dir_->layer();
    return spec;
  }

  Status RunStep(int i, Clock::time_point deadline, v1::ExecStepResult* s) {
    step_cancelled_ = false;
    const double left = std::chrono::duration<double>(deadline - Clock::now()).count();
    if (left <= 0) {
      s->set_status("TLE");
      s->set_message("the job's wall time limit (" + Seconds(limits_.wall_time_s) + ") was reached");
      job_out_of_time_ = true;
      return Status::Ok();
    }
    RunSpec spec = Spec(i, left);
    const v1::ExecStep& step = job_.steps(i);
    UniqueFd input;  // from memory, as a judged test's (not in the writable layer)
    if (!step.stdin().empty()) {
      ASSIGN_OR_RETURN(input, SealedMemfd("judge-exec-stdin", step.stdin()));
      spec.stdin_stream = Stream::Fd(input.get());
    }
    OutputPump pump(limits_.log_bytes, step_output_bytes_, i, cb_);
    UniqueFd write_ends[2];
    for (int k = 0; k < 2; ++k) {
      int p[2];
      if (::pipe2(p, O_CLOEXEC) != 0) return Status::Errno("pipe");
      pump.streams[k].read_end.reset(p[0]);
      pump.streams[k].id = k == 0 ? v1::ExecOutput::STDOUT : v1::ExecOutput::STDERR;
      write_ends[k].reset(p[1]);
    }
    spec.stdout_stream = Stream::Fd(write_ends[0].get());
    spec.stderr_stream = Stream::Fd(write_ends[1].get());
    // The container holds its copies: ours go, so that its end is the streams' EOF.
    spec.on_started = [&] {
      write_ends[0].reset();
      write_ends[1].reset();
    };
    spec.cancelled = [&] { return pump.over() || Cancelled(); };
    RunResult r;
    // The sandbox runs on a thread of its own; this one reads the output and calls back.
    std::thread runner([&] {
      r = r_.sandbox_.Run(spec);
      write_ends[0].reset();
      write_ends[1].reset();
    });
    pump.Run();
    runner.join();

    s->set_status(RunStatusName(r.status));
    s->set_message(r.message);
    if (r.end == RunEnd::kExecFailed) {
      // A command that is not there fails the step as a shell would: 127.
      s->set_status("RE");
      r.exit_code = 127;
    } else if (pump.over() &&
               (r.status != RunStatus::kSandboxError || r.end == RunEnd::kCancelled)) {
      // Over the limit, whether the stop came in time or the step ended first.
      s->set_status("OLE");
      s->set_message("output limit exceeded (more than " + std::to_string(step_output_bytes_) +
                     " bytes on stdout and stderr)");
    } else if (r.end == RunEnd::kWallTime && spec.limits.wall_time_s < step_wall_s_) {
      s->set_message("the job's wall time limit (" + Seconds(limits_.wall_time_s) + ") was reached");
      job_out_of_time_ = true;
    }
    step_cancelled_ = s->status() == "SE" && r.end == RunEnd::kCancelled;  // not an output stop
    s->set_exit_code(r.exit_code);
    s->set_signal(r.signal);
    s->set_cpu_time_ms(r.cpu_time_ms);
    s->set_wall_time_ms(r.wall_time_ms);
    s->set_memory_peak_bytes(r.memory_peak_bytes);
    const OutputPump::Stream& out = pump.streams[0];
    const OutputPump::Stream& err = pump.streams[1];
    s->set_stdout(ValidUtf8(out.kept));
    s->set_stderr(ValidUtf8(err.kept));
    s->set_stdout_bytes(out.total);
    s->set_stderr_bytes(err.total);
    s->set_truncated(out.total > static_cast<long long>(out.kept.size()) ||
                     err.total > static_cast<long long>(err.kept.size()));
    s->set_message(ValidUtf8(s->message()));
    return Status::Ok();
  }

  static std::string Seconds(double s) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g s", s);
    return buf;
  }

  // The artifacts: regular files below /box matching a glob, read without following
  // any link the steps left (a planted symbolic link is neither followed nor copied).
  // Directories to visit are kept as paths and opened from /box when visited, so that
  // a deep or wide tree holds no more than one directory open.
  Status Collect() {
    if (job_.artifacts().empty()) return Status::Ok();
    long long bytes = 0;
    std::vector<std::string> notes, skipped, unread, too_big;
    std::vector<std::string> todo = {""};
    size_t visited = 0;
    bool full = false;
    while (!todo.empty() && !full) {
      const std::string rel = std::move(todo.back());
      todo.pop_back();
      UniqueFd fd(rel.empty() ? ::fcntl(dir_->box(), F_DUPFD_CLOEXEC, 0)
                              : OpenBeneath(dir_->box(), rel, O_RDONLY | O_DIRECTORY));
      Result<std::vector<std::string>> names =
          fd ? ListDirectory(fd.get()) : Result<std::vector<std::string>>(Status::Errno("open"));
      if (!names.ok()) {
        unread.push_back(rel.empty() ? "/box" : rel);
        continue;
      }
      for (const std::string& n : *names) {
        if (++visited > kMaxEntries) {
          notes.push_back("more than " + std::to_string(kMaxEntries) +
                          " entries below /box: artifacts after them were not looked at");
          full = true;
          break;
        }
        const std::string path = rel.empty() ? n : rel + "/" + n;
        struct stat st;
        if (::fstatat(fd.get(), n.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
        if (S_ISDIR(st.st_mode)) {
          if (std::count(path.begin(), path.end(), '/') < kMaxArtifactDepth) todo.push_back(path);
          continue;
        }
        if (!S_ISREG(st.st_mode)) continue;  // links, FIFOs, sockets, devices: never read
        if (!std::any_of(job_.artifacts().begin(), job_.artifacts().end(),
                         [&](const std::string& g) { return ArtifactGlobMatches(g, path); })) {
          continue;
        }
        if (!PrintableName(path)) {
          skipped.push_back(Printable(path, 80));
          continue;
        }
        if (result_.artifacts_size() >= limits_.artifact_files) {
          notes.push_back("more than " + std::to_string(limits_.artifact_files) +
                          " artifacts match; the rest were not kept");
          full = true;
          break;
        }
        UniqueFd in(OpenBeneath(fd.get(), n, O_RDONLY | O_NONBLOCK));
        if (!in || ::fstat(in.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
          unread.push_back(Printable(path, 80));
          continue;
        }
        if (bytes + st.st_size > limits_.artifact_bytes) {
          too_big.push_back(path);
          continue;
        }
        std::string data(static_cast<size_t>(st.st_size), '\0');
        size_t done = 0;
        while (done < data.size()) {
          ssize_t k = ::read(in.get(), data.data() + done, data.size() - done);
          if (k <= 0) break;
          done += static_cast<size_t>(k);
        }
        data.resize(done);
        bytes += static_cast<long long>(done);
        v1::Artifact* a = result_.add_artifacts();
        a->set_name(path);
        a->set_size(static_cast<long long>(done));
        a->set_mode(st.st_mode & 0777);
        a->set_content(std::move(data));
      }
    }
    std::sort(result_.mutable_artifacts()->begin(), result_.mutable_artifacts()->end(),
              [](const v1::Artifact& a, const v1::Artifact& b) { return a.name() < b.name(); });
    auto list = [](const std::vector<std::string>& names) {
      std::string out;
      for (size_t i = 0; i < names.size() && i < 10; ++i) out += (i ? ", " : "") + names[i];
      return names.size() > 10 ? out + " and " + std::to_string(names.size() - 10) + " more" : out;
    };
    if (!skipped.empty()) {
      notes.push_back("artifacts whose names are not UTF-8 or have control characters were "
                      "skipped: " + list(skipped));
    }
    if (!too_big.empty()) {
      notes.push_back("artifacts over " + std::to_string(limits_.artifact_bytes) +
                      " bytes were not kept: " + list(too_big));
    }
    if (!unread.empty()) notes.push_back("could not be read for artifacts: " + list(unread));
    std::string message = result_.message();
    for (const std::string& n : notes) message += (message.empty() ? "" : "; ") + n;
    result_.set_message(message);
    return Status::Ok();
  }

  ExecRunner& r_;
  const v1::ExecJob& job_;
  const Callbacks& cb_;
  const JobLimits limits_;
  v1::ExecResult result_;
  int exit_code_ = 0;
  bool job_out_of_time_ = false;
  bool step_cancelled_ = false;  // the last step was stopped because the job was cancelled
  double step_wall_s_ = 0;
  long long step_output_bytes_ = 0;
  std::vector<std::string> layers_;
  std::optional<SlotLease> lease_;
  std::unique_ptr<ExecDir> dir_;  // after lease_: removed first
};

v1::ExecResult ExecRunner::Run(const v1::ExecJob& job, const Callbacks& callbacks) {
  return JobRun(*this, job, callbacks).Run();
}

namespace {

size_t EncodedSize(const v1::JobResult& r, const std::string& encoding) {
  // Protobuf's size is known without encoding (the result is encoded again to be sent).
  if (encoding == kEncodingProtobuf) return r.ByteSizeLong();
  Result<std::string> body = EncodeBody(encoding, r);
  return body.ok() ? body->size() : SIZE_MAX;
}

void AddMessage(v1::ExecResult* r, const std::string& m) {
  r->set_message(r->message() + (r->message().empty() ? "" : "; ") + m);
}

// Makes the encoded result fit the budget: artifact contents go first (largest first),
// then the kept logs are cut to a common length, then the steps' argv go.
void FitResult(v1::JobResult* result, const ResultBudget& budget) {
  size_t size = EncodedSize(*result, budget.encoding);
  if (size <= budget.max_bytes) return;
  v1::ExecResult& r = *result->mutable_exec();
  const std::string over = "the result was over " + std::to_string(budget.max_bytes) + " bytes: ";
  std::vector<v1::Artifact*> artifacts;
  for (v1::Artifact& a : *r.mutable_artifacts()) artifacts.push_back(&a);
  std::sort(artifacts.begin(), artifacts.end(),
            [](const v1::Artifact* a, const v1::Artifact* b) { return a->content().size() > b->content().size(); });
  std::vector<std::string> dropped;
  for (v1::Artifact* a : artifacts) {
    if (size <= budget.max_bytes) break;
    size -= std::min(size, a->content().size());
    a->clear_content();
    a->clear_mode();
    dropped.push_back(a->name());
  }
  if (!dropped.empty()) {
    AddMessage(&r, over + std::to_string(dropped.size()) + " artifact(s) were not kept");
    size = EncodedSize(*result, budget.encoding);
  }
  for (int round = 0; round < 4 && size > budget.max_bytes; ++round) {
    // The longest kept logs are cut to one length, so that what is cut adds up to the
    // excess (and then some, for the encoding).
    std::vector<std::string*> logs;
    size_t total = 0;
    for (v1::ExecStepResult& s : *r.mutable_steps()) {
      for (std::string* log : {s.mutable_stdout(), s.mutable_stderr()}) {
        logs.push_back(log);
        total += log->size();
      }
    }
    const size_t excess = size - budget.max_bytes + 4096;
    const size_t keep = total > excess ? total - excess : 0;
    std::vector<size_t> lengths;
    for (const std::string* log : logs) lengths.push_back(log->size());
    std::sort(lengths.begin(), lengths.end());
    size_t cap = 0, below = 0;
    for (size_t i = 0; i < lengths.size(); ++i) {
      const size_t rest = lengths.size() - i;
      if (below + lengths[i] * rest >= keep) {
        cap = (keep - below) / rest;
        break;
      }
      below += lengths[i];
      cap = lengths[i];
    }
    bool cut = false;
    for (v1::ExecStepResult& s : *r.mutable_steps()) {
      if (s.stdout().size() <= cap && s.stderr().size() <= cap) continue;
      s.set_truncated(true);
      CutUtf8(s.mutable_stdout(), cap);
      CutUtf8(s.mutable_stderr(), cap);
      cut = true;
    }
    if (!cut) break;
    if (round == 0) AddMessage(&r, over + "the kept logs were cut");
    size = EncodedSize(*result, budget.encoding);
  }
  if (size > budget.max_bytes) {
    for (v1::ExecStepResult& s : *r.mutable_steps()) s.clear_argv();
    r.clear_artifacts();
    AddMessage(&r, over + "the steps' commands and the artifact list were left out");
  }
}

}  // namespace

v1::JobResult RunExecJob(ExecRunner& runner, const v1::Job& job, const std::string& worker,
                         const std::function<void(const v1::TestResult&)>& progress,
                         const std::function<bool()>& cancelled, const ResultBudget& budget) {
  ExecRunner::Callbacks cb;
  auto message = [&](int step) {
    v1::TestResult t;
    t.set_job_id(job.id());
    t.set_index(step);
    t.set_name(std::to_string(step + 1));
    return t;
  };
  cb.output = [&](int step, v1::ExecOutput::Stream stream, std::string_view data) {
    if (!progress) return;
    v1::TestResult t = message(step);
    t.mutable_output()->set_stream(stream);
    t.mutable_output()->set_data(std::string(data));
    progress(t);
  };
  cb.step_done = [&](int step, const v1::ExecStepResult& s) {
    if (!progress) return;
    v1::TestResult t = message(step);
    *t.mutable_step() = s;
    t.mutable_step()->clear_stdout();
    t.mutable_step()->clear_stderr();
    progress(t);
  };
  cb.cancelled = cancelled;
  v1::JobResult result;
  result.set_job_id(job.id());
  result.set_worker(worker);
  *result.mutable_exec() = runner.Run(job.exec(), cb);
  const std::string& st = result.exec().status();
  v1::Verdict v = v1::IE;
  if (st == "OK") {
    v = v1::AC;
  } else if (st != "SE") {
    v1::Verdict_Parse(st, &v);
  }
  result.set_verdict(v);
  for (const v1::ExecStepResult& s : result.exec().steps()) {
    result.set_max_cpu_time_ms(std::max(result.max_cpu_time_ms(), s.cpu_time_ms()));
    result.set_max_memory_bytes(std::max(result.max_memory_bytes(), s.memory_peak_bytes()));
  }
  FitResult(&result, budget);
  if (v == v1::IE) result.set_message(result.exec().message());
  return result;
}

}  // namespace judge
