#include "worker/judging.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ctime>

#include <algorithm>
#include <csignal>
#include <cstdint>
#include <set>
#include <cctype>
#include <thread>

#include "common/fd.h"
#include "common/file_util.h"
#include "worker/checkers.h"
#include "worker/compile_cache.h"
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

namespace judge {
namespace {

constexpr long long kMiB = 1 << 20;
// A compile's writable layer, and the most it may hand back (the program and the
// files beside it).
constexpr long long kCompileTmpfsBytes = 256 * kMiB;
// What a Kattis validator may leave in its feedback directory.
constexpr long long kFeedbackBytes = 1 * kMiB;

// A plain file name: no path, no NUL, not "." or "..", printable.
Status CheckName(const std::string& name, const char* what) {
  // Control characters (NUL among them) first: the other refusals quote the name, and a
  // NUL or an escape sequence would cut or garble the message wherever it is shown.
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f) {
      return Status::Error(std::string(what) + " name has a control character");
    }
  }
  if (name.empty() || name.size() > 255 || name == "." || name == ".." ||
      name.find('/') != std::string::npos) {
    return Status::Error(std::string(what) + " name '" + name +
                         "' is not a plain file name (no '/', no NUL, not . or ..)");
  }
  return Status::Ok();
}


class JobDir {
 public:
  static Result<std::unique_ptr<JobDir>> Make(const std::string& root) {
    std::string tmpl = root + "/judge-job-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) return Status::Errno("mkdtemp in " + root);
    std::unique_ptr<JobDir> dir(new JobDir(tmpl));
    // Held while the job runs: a directory nobody holds was left by a crash.
    dir->lock_.reset(::open(tmpl.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dir->lock_ || ::flock(dir->lock_.get(), LOCK_EX) != 0) return Status::Errno("lock " + tmpl);
    return dir;
  }
  ~JobDir() { RemoveTree(path_); }
  Result<std::string> Sub(const std::string& name, mode_t mode) {
    std::string p = path_ + "/" + name;
    if (::mkdir(p.c_str(), mode) != 0) return Status::Errno("mkdir " + p);
    if (::chmod(p.c_str(), mode) != 0) return Status::Errno("chmod " + p);
    return p;
  }

 private:
  explicit JobDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
  UniqueFd lock_;
};

// A validator's message: the start of a file it left (copied out, so a plain file of
// ours), or "" when there is none.
std::string ReadPlanted(const std::string& path) {
  auto text = ReadRegularFile(path, 1024, /*truncate=*/true);
  return text.ok() ? *text : "";
}

std::string Truncate(std::string s, size_t limit) {
  if (s.size() <= limit) return s;
  s.resize(limit);
  return s + "\n... (truncated)";
}

double Max(double a, double b) { return a > b ? a : b; }

}  // namespace

std::string ValidUtf8(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    bool ok = len > 0 && i + len <= s.size();
    for (size_t k = 1; ok && k < len; ++k) ok = (static_cast<unsigned char>(s[i + k]) >> 6) == 0x2;
    if (ok && len > 1) {
      // No overlong forms, no surrogates, nothing above U+10FFFF.
      uint32_t cp = c & (0xff >> (len + 1));
      for (size_t k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3f);
      static const uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
      ok = cp >= kMin[len] && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff);
    }
    if (ok) {
      out.append(s, i, len);
      i += len;
    } else {
      out += "\xef\xbf\xbd";
      ++i;
    }
  }
  return out;
}

bool NaturalLess(const std::string& a, const std::string& b) {
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    if (std::isdigit(static_cast<unsigned char>(a[i])) && std::isdigit(static_cast<unsigned char>(b[j]))) {
      size_t i2 = i, j2 = j;
      while (i2 < a.size() && std::isdigit(static_cast<unsigned char>(a[i2]))) ++i2;
      while (j2 < b.size() && std::isdigit(static_cast<unsigned char>(b[j2]))) ++j2;
      std::string na = a.substr(i, i2 - i), nb = b.substr(j, j2 - j);
      na.erase(0, std::min(na.find_first_not_of('0'), na.size()));
      nb.erase(0, std::min(nb.find_first_not_of('0'), nb.size()));
      if (na.size() != nb.size()) return na.size() < nb.size();
      if (na != nb) return na < nb;
      i = i2;
      j = j2;
    } else {
      if (a[i] != b[j]) return a[i] < b[j];
      ++i;
      ++j;
    }
  }
  return a.size() - i < b.size() - j;
}

// One compiled (or interpreted) program of a job: the solution, a checker or an
// interactor, with its language and the host directory that holds it.
struct Program {
  const v1::LanguageProfile* lang = nullptr;
  std::string dir;  // bound at /job when it runs
};

class Judger::JobRun {
 public:
  JobRun(Judger& j, const v1::Job& job, const Progress& progress, const Cancelled& cancelled)
      : j_(j), job_(job), progress_(progress), cancelled_(cancelled) {}

  v1::JobResult Run() {
    result_.set_job_id(job_.id());
    result_.set_worker(j_.options_.worker_name);
    Status st = j_.Validate(job_);
    if (st.ok()) st = Judge();
    if (!st.ok()) {
      result_.set_verdict(v1::IE);
      result_.set_message(st.ToString());
    }
    // Compiler and checker output, and the program's own tokens quoted in messages,
    // are arbitrary bytes; the result's string fields must be valid UTF-8.
    result_.set_message(ValidUtf8(result_.message()));
    result_.mutable_compile()->set_log(ValidUtf8(result_.compile().log()));
    for (v1::TestResult& t : *result_.mutable_tests()) {
      t.set_checker_message(ValidUtf8(t.checker_message()));
    }
    return result_;
  }

 private:
  Status StopIfCancelled() const {
    if (cancelled_ && cancelled_()) return Status::Error("the job was cancelled");
    return Status::Ok();
  }

  Status Judge() {
    RETURN_IF_ERROR(StopIfCancelled());
    ASSIGN_OR_RETURN(dir_, JobDir::Make(j_.options_.work_root));
    ASSIGN_OR_RETURN(solution_.lang, j_.languages_.Find(job_.language()));
    ASSIGN_OR_RETURN(solution_.dir, dir_->Sub("solution", 0755));
    std::vector<v1::File> sources(job_.sources().begin(), job_.sources().end());
    if (sources.size() == 1) sources[0].set_name(solution_.lang->source_name());
    ASSIGN_OR_RETURN(bool compiled, Compile(solution_, sources, result_.mutable_compile()));
    if (!compiled) {
      result_.set_verdict(result_.compile().status() == v1::CompileResult::CE ? v1::CE : v1::IE);
      return Status::Ok();
    }
    const v1::Checker& checker = job_.checker();
    if (checker.kind() == v1::Checker::CUSTOM) {
      ASSIGN_OR_RETURN(checker_, Helper(checker.program(), checker.language(), "checker"));
    }
    if (job_.has_interactor()) {
      ASSIGN_OR_RETURN(interactor_,
                       Helper(job_.interactor(), job_.interactor_language(), "interactor"));
    }
    RETURN_IF_ERROR(dir_->Sub("data", 0755).status());

    // Tests in natural order of their names.
    std::vector<int> order(static_cast<size_t>(job_.tests_size()));
    for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
      return NaturalLess(job_.tests(a).name(), job_.tests(b).name());
    });
    bool failed = false;
    for (int index : order) {
      RETURN_IF_ERROR(StopIfCancelled());
      v1::TestResult* t = result_.add_tests();
      t->set_name(job_.tests(index).name());
      t->set_index(index);
      t->set_job_id(job_.id());
      if (failed && job_.stop_on_failure()) {
        t->set_verdict(v1::SKIPPED);
      } else {
        RETURN_IF_ERROR(RunTest(job_.tests(index), index, t));
        result_.set_max_cpu_time_ms(Max(result_.max_cpu_time_ms(), t->cpu_time_ms()));
        result_.set_max_memory_bytes(std::max(result_.max_memory_bytes(), t->memory_peak_bytes()));
      }
      if (t->verdict() != v1::AC && t->verdict() != v1::SKIPPED && result_.verdict() == 0) {
        result_.set_verdict(t->verdict());
      }
      failed = failed || t->verdict() != v1::AC;
      if (progress_) progress_(*t);
    }
    if (result_.verdict() == v1::VERDICT_UNSPECIFIED) result_.set_verdict(v1::AC);
    return Status::Ok();
  }

  // A checker's or interactor's program, compiled once for the job.
  Result<Program> Helper(const v1::File& file, const std::string& language, const char* what) {
    Program p;
    std::string lang = language;
    if (lang.empty()) {
      auto by_name = j_.languages_.ForFile(file.name());
      if (!by_name.ok()) return by_name.status().Context(what);
      lang = *by_name;
    }
    ASSIGN_OR_RETURN(p.lang, j_.languages_.Find(lang));
    ASSIGN_OR_RETURN(p.dir, dir_->Sub(what, 0755));
    v1::File f = file;
    f.set_name(p.lang->source_name());
    v1::CompileResult cr;
    RETURN_IF_ERROR(StopIfCancelled());
    ASSIGN_OR_RETURN(bool ok, Compile(p, {f}, &cr));
    if (!ok) {
      return Status::Error(std::string("the ") + what + " does not compile: " +
                           Truncate(cr.log(), 2000));
    }
    return p;
  }

  // Limits: the job's where set, else the profile's, else the sandbox profile's.
  static Limits Merge(const Limits& base, const v1::Limits& profile, const v1::Limits& job) {
    Limits l = base;
    auto pick = [](auto job_v, auto profile_v, auto base_v) {
      return job_v > 0 ? job_v : profile_v > 0 ? profile_v : base_v;
    };
    l.cpu_time_s = pick(job.cpu_time_s(), profile.cpu_time_s(), base.cpu_time_s);
    l.wall_time_s = pick(job.wall_time_s(), profile.wall_time_s(), 0.0);
    l.memory_bytes = pick(job.memory_bytes(), profile.memory_bytes(), base.memory_bytes);
    l.pids = pick(job.pids(), profile.pids(), base.pids);
    l.output_bytes = pick(job.output_bytes(), profile.output_bytes(), base.output_bytes);
    return l;
  }

  std::vector<std::string> Substitute(const google::protobuf::RepeatedPtrField<std::string>& argv,
                                      const Program& p, const std::vector<v1::File>& sources,
                                      const Limits& limits) {
    std::vector<std::string> out;
    for (const std::string& a : argv) {
      if (a == "{sources}") {
        for (const v1::File& f : sources) out.push_back(f.name());
        continue;
      }
      std::string s = a;
      auto replace = [&](const std::string& key, const std::string& value) {
        for (size_t pos; (pos = s.find(key)) != std::string::npos;) s.replace(pos, key.size(), value);
      };
      replace("{source}", p.lang->source_name());
      replace("{memory_mb}", std::to_string(limits.memory_bytes / kMiB));
      out.push_back(s);
    }
    return out;
  }

  Result<RunSpec> BaseSpec(const Program& p, const std::string& seccomp) {
    ASSIGN_OR_RETURN(SandboxProfile profile,
                     j_.Profile(p.lang->sandbox().empty() ? "default" : p.lang->sandbox()));
    RunSpec spec = SpecFromProfile(profile);
    for (const std::string& e : p.lang->env()) spec.env.push_back(e);
    ASSIGN_OR_RETURN(spec.seccomp, j_.Seccomp(seccomp.empty() ? profile.seccomp : seccomp));
    // A cancelled job stops within 100 ms, not at the end of the test that is running.
    if (cancelled_) spec.cancelled = cancelled_;
    return spec;
  }

  // Compiles into p.dir; false (with the log in `out`) when the compiler refused. The
  // sources are copied into the container's /box and what the compiler leaves there
  // is copied out (bounded, regular files only): the compiler never writes to the
  // host's disk.
  Result<bool> Compile(const Program& p, const std::vector<v1::File>& sources,
                       v1::CompileResult* out) {
    if (p.lang->compile().empty()) {
      for (const v1::File& f : sources) {
        RETURN_IF_ERROR(WriteNewFile(p.dir + "/" + f.name(), f.content(), 0644));
      }
      out->set_status(v1::CompileResult::OK);
      return true;
    }
    ASSIGN_OR_RETURN(RunSpec spec, BaseSpec(p, p.lang->compile_seccomp()));
    spec.limits = Merge(spec.limits, p.lang->compile_limits(), v1::Limits());
    spec.limits.tmpfs_bytes = std::max(spec.limits.tmpfs_bytes, kCompileTmpfsBytes);
    spec.argv = Substitute(p.lang->compile(), p, sources, spec.limits);
    std::string key;
    if (j_.cache_) {
      ASSIGN_OR_RETURN(key, CacheKey(p, sources, spec.limits));
      // A hit copies the stored files into the job's own directory, so the run binds
      // /job as it does after a compile; the entry itself is never bound.
      if (j_.cache_->Lookup(key, p.dir, out)) {
        ++j_.compile_cache_hits_;
        return true;
      }
    }
    const std::string src = p.dir + ".src";
    if (::mkdir(src.c_str(), 0755) != 0) return Status::Errno("mkdir " + src);
    for (const v1::File& f : sources) {
      RETURN_IF_ERROR(WriteNewFile(src + "/" + f.name(), f.content(), 0644));
      spec.copy_in.push_back({src + "/" + f.name(), "/box/" + f.name()});
    }
    spec.copy_out = CopyOut{"/box", p.dir, kCompileTmpfsBytes, 1000};
    // One byte over the log's bound, so that Truncate sees a cut and says so.
    const long long keep = static_cast<long long>(j_.options_.compile_log_bytes) + 1;
    spec.stdout_stream = Stream::Capture(keep);
    spec.stderr_stream = Stream::Capture(keep);
    RunResult r = j_.sandbox_.Run(spec);
    ++j_.compiles_run_;
    out->set_cpu_time_ms(r.cpu_time_ms);
    out->set_wall_time_ms(r.wall_time_ms);
    out->set_memory_peak_bytes(r.memory_peak_bytes);
    std::string log = Truncate(r.stderr_data + r.stdout_data, j_.options_.compile_log_bytes);
    switch (r.status) {
      case RunStatus::kOk:
        if (!r.copy_out_error.empty()) {
          out->set_status(v1::CompileResult::CE);
          out->set_log("the compiler's output cannot be used: " + r.copy_out_error);
          return false;
        }
        out->set_status(v1::CompileResult::OK);
        out->set_log(log);
        // Only a successful compile is stored: a CE (or IE) may come of a limit the
        // compiler hit by chance on a loaded machine, and is retried next time. A
        // store that fails costs only the next hit.
        if (j_.cache_) (void)j_.cache_->Store(key, p.dir, *out);
        return true;
      case RunStatus::kSandboxError:
        out->set_status(v1::CompileResult::IE);
        out->set_log(r.message);
        return false;
      case RunStatus::kRuntimeError:
        out->set_status(v1::CompileResult::CE);
        out->set_log(log);
        return false;
      default:  // a compiler bomb: over its time, memory or output
        out->set_status(v1::CompileResult::CE);
        out->set_log("compilation stopped: " + r.message + (log.empty() ? "" : "\n" + log));
        return false;
    }
  }

  // The compile cache's key: everything the compiler's output depends on that the
  // judge controls. The language profile (commands, env, limits) serialized
  // deterministically, the sandbox profile and seccomp policy by name, the compile's
  // limits in effect, the bound on the log kept, every source's name and content.
  Result<std::string> CacheKey(const Program& p, const std::vector<v1::File>& sources,
                               const Limits& limits) {
    const std::string sandbox_name = p.lang->sandbox().empty() ? "default" : p.lang->sandbox();
    ASSIGN_OR_RETURN(SandboxProfile profile, j_.Profile(sandbox_name));
    const std::string seccomp_name =
        p.lang->compile_seccomp().empty() ? profile.seccomp : p.lang->compile_seccomp();
    std::string lang;
    {
      google::protobuf::io::StringOutputStream stream(&lang);
      google::protobuf::io::CodedOutputStream coded(&stream);
      coded.SetSerializationDeterministic(true);
      if (!p.lang->SerializeToCodedStream(&coded)) return Status::Error("cannot serialize the language profile");
    }
    char cpu[64], wall[64];
    std::snprintf(cpu, sizeof cpu, "%.17g", limits.cpu_time_s);
    std::snprintf(wall, sizeof wall, "%.17g", limits.wall_time_s);
    CompileKey key;
    key.Add(lang).Add(sandbox_name).Add(seccomp_name).Add(cpu).Add(wall).Add(limits.memory_bytes)
        .Add(limits.pids).Add(limits.output_bytes).Add(limits.tmpfs_bytes).Add(limits.tmpfs_inodes)
        .Add(static_cast<long long>(j_.options_.compile_log_bytes))
        .Add(static_cast<long long>(sources.size()));
    for (const v1::File& f : sources) key.Add(f.name()).Add(f.content());
    return key.Hex();
  }

  static v1::Verdict FromStatus(RunStatus s) {
    switch (s) {
      case RunStatus::kOk: return v1::AC;
      case RunStatus::kRuntimeError: return v1::RE;
      case RunStatus::kTimeLimit: return v1::TLE;
      case RunStatus::kMemoryLimit: return v1::MLE;
      case RunStatus::kOutputLimit: return v1::OLE;
      case RunStatus::kSecurityViolation: return v1::SV;
      case RunStatus::kSandboxError: return v1::IE;
    }
    return v1::IE;
  }

  static void Fill(const RunResult& r, v1::TestResult* t) {
    t->set_cpu_time_ms(r.cpu_time_ms);
    t->set_wall_time_ms(r.wall_time_ms);
    t->set_memory_peak_bytes(r.memory_peak_bytes);
    t->set_exit_code(r.exit_code);
    t->set_signal(r.signal);
  }

  Result<RunSpec> SolutionSpec(Stream input) {
    ASSIGN_OR_RETURN(RunSpec spec, BaseSpec(solution_, solution_.lang->run_seccomp()));
    spec.limits = Merge(spec.limits, solution_.lang->run_limits(), job_.limits());
    spec.argv = Substitute(solution_.lang->run(), solution_, {}, spec.limits);
    spec.limits.memory_bytes += solution_.lang->run_memory_overhead_bytes();
    spec.limits.pids += solution_.lang->run_pids_overhead();
    spec.binds.push_back({solution_.dir, "/job", false});
    spec.stdin_stream = std::move(input);
    spec.stdout_stream = Stream::Capture();
    spec.stderr_stream = Stream::Null();
    return spec;
  }

  // A checker's or interactor's container: its program at /job, the test's files at
  // /data, generous limits of its own.
  Result<RunSpec> HelperSpec(const Program& p, const std::string& test_dir,
                             std::vector<std::string> args) {
    ASSIGN_OR_RETURN(RunSpec spec, BaseSpec(p, p.lang->run_seccomp()));
    spec.limits = Merge(spec.limits, p.lang->run_limits(), v1::Limits());
    spec.limits.cpu_time_s = 10;
    spec.limits.wall_time_s = 20;
    spec.limits.memory_bytes = 512 * kMiB + p.lang->run_memory_overhead_bytes();
    spec.limits.pids += p.lang->run_pids_overhead();
    spec.argv = Substitute(p.lang->run(), p, {}, spec.limits);
    for (std::string& a : args) spec.argv.push_back(std::move(a));
    spec.binds.push_back({p.dir, "/job", false});
    spec.binds.push_back({test_dir, "/data", false});
    spec.stdout_stream = Stream::Capture(4096);
    spec.stderr_stream = Stream::Capture(4096);
    return spec;
  }

  Status RunTest(const v1::Test& test, int index, v1::TestResult* t) {
    // A custom checker or an interactor reads the test's files; a built-in checker needs
    // none, and the input goes in from memory (no directory and files per test).
    const bool custom = job_.checker().kind() == v1::Checker::CUSTOM;
    std::string tdir;
    UniqueFd input;
    if (custom || job_.has_interactor()) {
      ASSIGN_OR_RETURN(tdir, dir_->Sub("data/" + std::to_string(index), 0755));
      RETURN_IF_ERROR(WriteNewFile(tdir + "/input", test.input(), 0644));
      RETURN_IF_ERROR(WriteNewFile(tdir + "/answer", test.answer(), 0644));
      if (job_.has_interactor()) return RunInteractive(tdir, t);
    } else {
      ASSIGN_OR_RETURN(input, SealedMemfd("judge-input", test.input()));
    }

    ASSIGN_OR_RETURN(RunSpec spec,
                     SolutionSpec(input ? Stream::Fd(input.get()) : Stream::File(tdir + "/input")));
    RunResult r = j_.sandbox_.Run(spec);
    Fill(r, t);
    if (r.status != RunStatus::kOk) {
      t->set_verdict(FromStatus(r.status));
      // What the sandbox saw ("killed by SIGSEGV", "forbidden system call ptrace").
      t->set_checker_message(r.message);
      return Status::Ok();
    }
    if (job_.checker().kind() != v1::Checker::CUSTOM) {
      CheckResult c = CheckBuiltin(job_.checker(), r.stdout_data, test.answer());
      t->set_verdict(c.verdict);
      t->set_checker_message(c.message);
      return Status::Ok();
    }
    return RunChecker(tdir, r.stdout_data, t);
  }

  Status RunChecker(const std::string& tdir, const std::string& output, v1::TestResult* t) {
    RETURN_IF_ERROR(WriteNewFile(tdir + "/output", output, 0644));
    const bool kattis = job_.checker().interface() == v1::Checker::KATTIS;
    RunResult r;
    if (kattis) {
      ASSIGN_OR_RETURN(std::string feedback, dir_->Sub("data/" + std::to_string(t->index()) + "/feedback", 0755));
      // The feedback directory is the validator's /box, copied out when it is done.
      ASSIGN_OR_RETURN(RunSpec spec, HelperSpec(checker_, tdir, {"/data/input", "/data/answer", "/box"}));
      spec.copy_out = CopyOut{"/box", feedback, kFeedbackBytes, 64};
      spec.stdin_stream = Stream::File(tdir + "/output");
      r = j_.sandbox_.Run(spec);
      std::string message = ReadPlanted(feedback + "/judgemessage.txt");
      t->set_checker_message(message.empty() ? r.stderr_data : message);
      if (r.status == RunStatus::kRuntimeError && r.exit_code == 43) {
        t->set_verdict(v1::WA);
      } else if (r.status == RunStatus::kRuntimeError && r.exit_code == 42) {
        t->set_verdict(v1::AC);
      } else {
        t->set_verdict(v1::IE);
        t->set_checker_message("the output validator failed: " + r.message + " " + r.stderr_data);
      }
      return Status::Ok();
    }
    ASSIGN_OR_RETURN(RunSpec spec, HelperSpec(checker_, tdir, {"/data/input", "/data/output", "/data/answer"}));
    r = j_.sandbox_.Run(spec);
    t->set_checker_message(Truncate(r.stderr_data.empty() ? r.stdout_data : r.stderr_data, 1024));
    if (r.status == RunStatus::kOk) {
      t->set_verdict(v1::AC);
    } else if (r.status == RunStatus::kRuntimeError && r.signal == 0 && r.exit_code == 1) {
      t->set_verdict(v1::WA);
    } else if (r.status == RunStatus::kRuntimeError && r.signal == 0 && r.exit_code == 2) {
      t->set_verdict(v1::PE);
    } else {
      t->set_verdict(v1::IE);
      t->set_checker_message("the checker failed: " + r.message + " " + t->checker_message());
    }
    return Status::Ok();
  }

  // The solution and the interactor, connected by two pipes, each in its own
  // container. The interactor is called as `interactor INPUT ANSWER`, exit 0 AC, 1 WA,
  // or with the Kattis interface `interactor INPUT ANSWER FEEDBACK_DIR`, 42 AC, 43 WA.
  Status RunInteractive(const std::string& tdir, v1::TestResult* t) {
    const bool kattis = job_.interactor_interface() == v1::Checker::KATTIS;
    int to_interactor[2], to_solution[2];
    if (::pipe2(to_interactor, O_CLOEXEC) != 0) return Status::Errno("pipe");
    UniqueFd ir(to_interactor[0]), sw(to_interactor[1]);
    if (::pipe2(to_solution, O_CLOEXEC) != 0) return Status::Errno("pipe");
    UniqueFd sr(to_solution[0]), iw(to_solution[1]);

    ASSIGN_OR_RETURN(RunSpec sol, SolutionSpec(Stream::Fd(sr.get())));
    sol.stdout_stream = Stream::Fd(sw.get());
    // Once a side's container holds its ends, ours go, so each side sees EOF when the
    // other is gone.
    sol.on_started = [&] {
      sr.reset();
      sw.reset();
    };
    std::vector<std::string> args = {"/data/input", "/data/answer"};
    std::string feedback;
    if (kattis) {
      ASSIGN_OR_RETURN(feedback, dir_->Sub("data/" + std::to_string(t->index()) + "/feedback", 0755));
      args.push_back("/box");
    }
    ASSIGN_OR_RETURN(RunSpec inter, HelperSpec(interactor_, tdir, args));
    if (kattis) inter.copy_out = CopyOut{"/box", feedback, kFeedbackBytes, 64};
    inter.stdin_stream = Stream::Fd(ir.get());
    inter.stdout_stream = Stream::Fd(iw.get());
    inter.limits.cpu_time_s = sol.limits.cpu_time_s * 2 + 1;
    inter.limits.wall_time_s =
        (sol.limits.wall_time_s > 0 ? sol.limits.wall_time_s : 2 * sol.limits.cpu_time_s + 1) + 2;
    inter.on_started = [&] {
      ir.reset();
      iw.reset();
    };
    RunResult ri;
    std::thread interactor([&] {
      ri = j_.sandbox_.Run(inter);
      ir.reset();  // also when the run failed before its container existed
      iw.reset();
    });
    RunResult rs = j_.sandbox_.Run(sol);
    sr.reset();
    sw.reset();
    interactor.join();

    Fill(rs, t);
    const std::string message = kattis ? ReadPlanted(feedback + "/judgemessage.txt") : "";
    t->set_checker_message(Truncate(message.empty() ? ri.stderr_data : message, 1024));
    const bool exited = ri.status == RunStatus::kOk || (ri.status == RunStatus::kRuntimeError && ri.signal == 0);
    const bool interactor_ac = exited && ri.exit_code == (kattis ? 42 : 0);
    // An interactor killed by SIGPIPE wrote to a solution that had gone: the solution
    // stopped talking, which is its failure.
    const bool interactor_wa = (exited && ri.exit_code == (kattis ? 43 : 1)) ||
                               (ri.status == RunStatus::kRuntimeError && ri.signal == SIGPIPE);
    // ICPC rules: the solution's TLE stays TLE; the interactor's WA wins over the
    // solution's failure (it may have died of the closed pipe). The judge's own
    // failure on either side comes first.
    if (rs.status == RunStatus::kSandboxError || ri.status == RunStatus::kSandboxError) {
      t->set_verdict(v1::IE);
      t->set_checker_message(rs.status == RunStatus::kSandboxError ? rs.message : ri.message);
    } else if (rs.status == RunStatus::kTimeLimit) {
      t->set_verdict(v1::TLE);
    } else if (interactor_wa) {
      t->set_verdict(v1::WA);
    } else if (!interactor_ac && rs.status == RunStatus::kRuntimeError && rs.signal == SIGPIPE) {
      // The solution wrote to an interactor that had already gone without a verdict
      // (crashed, or stopped at its limits): the broken pipe is its consequence.
      t->set_verdict(v1::IE);
      t->set_checker_message("the interactor failed: " + ri.message + " " + t->checker_message());
    } else if (rs.status != RunStatus::kOk) {
      t->set_verdict(FromStatus(rs.status));
    } else if (interactor_ac) {
      t->set_verdict(v1::AC);
    } else {
      t->set_verdict(v1::IE);
      t->set_checker_message("the interactor failed: " + ri.message + " " + t->checker_message());
    }
    return Status::Ok();
  }

  Judger& j_;
  const v1::Job& job_;
  const Progress& progress_;
  const Cancelled& cancelled_;
  v1::JobResult result_;
  std::unique_ptr<JobDir> dir_;
  Program solution_, checker_, interactor_;
};

Judger::Judger(Sandbox& sandbox, const LanguageRegistry& languages, JudgeOptions options)
    : sandbox_(sandbox), languages_(languages), options_(std::move(options)) {
  RemoveStaleDirs(options_.work_root, "judge-job-");
  if (!options_.compile_cache_dir.empty()) {
    // A cache that cannot be made (no /var/cache, not root) is no cache.
    auto cache = CompileCache::Open(options_.compile_cache_dir, options_.compile_cache_bytes);
    if (cache.ok()) cache_ = std::move(*cache);
  }
}

Judger::~Judger() = default;

Result<const SeccompProgram*> Judger::Seccomp(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  if (name == "none") return static_cast<const SeccompProgram*>(nullptr);
  auto it = seccomp_.find(name);
  if (it != seccomp_.end()) return static_cast<const SeccompProgram*>(it->second.get());
  ASSIGN_OR_RETURN(SeccompProgram prog, LoadAndCompileSeccomp(name, sandbox_.seccomp_notify()));
  auto owned = std::make_unique<SeccompProgram>(std::move(prog));
  const SeccompProgram* raw = owned.get();
  seccomp_[name] = std::move(owned);
  return raw;
}

Result<SandboxProfile> Judger::Profile(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = profiles_.find(name);
  if (it != profiles_.end()) return it->second;
  ASSIGN_OR_RETURN(SandboxProfile p, LoadSandboxProfile(name));
  profiles_[name] = p;
  return p;
}

Status Judger::Validate(const v1::Job& job) const {
  auto lang = languages_.Find(job.language());
  if (!lang.ok()) return lang.status();
  if (job.sources().empty()) return Status::Error("the job has no source file");
  std::set<std::string> names;
  size_t total = 0;
  for (const v1::File& f : job.sources()) {
    RETURN_IF_ERROR(CheckName(f.name(), "source"));
    // Compilers read "-..." as an option and "@file" as a file of options (gcc's
    // -wrapper would run a program of the submitter's choosing).
    if (f.name()[0] == '-' || f.name()[0] == '@') {
      return Status::Error("source name '" + f.name() + "' starts with '-' or '@'");
    }
    if (!names.insert(f.name()).second) return Status::Error("two sources are named " + f.name());
    total += f.content().size();
  }
  if (total > options_.max_source_bytes) {
    return Status::Error("the sources have " + std::to_string(total) + " bytes, more than the " +
                         std::to_string(options_.max_source_bytes) + " allowed");
  }
  if (job.tests().empty()) return Status::Error("the job has no tests");
  if (static_cast<size_t>(job.tests_size()) > options_.max_tests) {
    return Status::Error("the job has more than " + std::to_string(options_.max_tests) + " tests");
  }
  names.clear();
  for (const v1::Test& t : job.tests()) {
    RETURN_IF_ERROR(CheckName(t.name(), "test"));
    if (!names.insert(t.name()).second) return Status::Error("two tests are named " + t.name());
    if (t.input().size() + t.answer().size() > options_.max_test_bytes) {
      return Status::Error("test " + t.name() + " is larger than " +
                           std::to_string(options_.max_test_bytes) + " bytes");
    }
  }
  const v1::Checker& c = job.checker();
  // A checker's or interactor's program is compiled like a source, and bounded alike.
  for (const auto& [what, file] : {std::pair{"checker", &c.program()},
                                   std::pair{"interactor", &job.interactor()}}) {
    if (file->content().size() > options_.max_source_bytes) {
      return Status::Error(std::string("the ") + what + " has " +
                           std::to_string(file->content().size()) + " bytes, more than the " +
                           std::to_string(options_.max_source_bytes) + " allowed");
    }
  }
  if (c.kind() == v1::Checker::CUSTOM) {
    if (c.program().content().empty()) return Status::Error("a CUSTOM checker needs a program");
    if (c.language().empty() && !languages_.ForFile(c.program().name()).ok()) {
      return Status::Error("the checker's language is unknown: give checker.language");
    }
  }
  if (c.abs_tol() < 0 || c.rel_tol() < 0) return Status::Error("tolerances cannot be negative");
  if (job.has_interactor()) {
    if (job.interactor().content().empty()) return Status::Error("the interactor has no program");
    if (job.interactor_language().empty() && !languages_.ForFile(job.interactor().name()).ok()) {
      return Status::Error("the interactor's language is unknown: give interactor_language");
    }
  }
  const v1::Limits& l = job.limits();
  if (l.cpu_time_s() < 0 || l.wall_time_s() < 0 || l.memory_bytes() < 0 || l.pids() < 0 ||
      l.output_bytes() < 0) {
    return Status::Error("limits cannot be negative");
  }
  return Status::Ok();
}

v1::JobResult Judger::Judge(const v1::Job& job, const Progress& progress,
                            const Cancelled& cancelled) {
  return JobRun(*this, job, progress, cancelled).Run();
}

}  // namespace judge
