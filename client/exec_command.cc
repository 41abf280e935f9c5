#include "client/exec_command.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "client/table.h"
#include "common/file_util.h"
#include "protocol/codec.h"
#include "protocol/frame.h"
#include "protocol/wire.h"
#include "sandbox/options.h"
#include "sandbox/sandbox.h"
#include "worker/exec_job.h"
#include "worker/tar.h"

namespace judge {

const char kExecUsage[] =
    "usage: judge exec [OPTIONS] -- STEP [--step STEP]...\n"
    "  Runs the steps in order in one throwaway container filesystem: /box (the working\n"
    "  directory, with the files), /tmp and writes over the rootfs carry over from step to\n"
    "  step; each step is a fresh process tree. A STEP is a program and its arguments; a\n"
    "  single argument with a space in it is run by /bin/sh -c.\n"
    "  --file PATH             put PATH into /box (a relative PATH keeps its directories)\n"
    "  --archive DIR|TAR       unpack a directory or an uncompressed tar archive into /box\n"
    "  --artifact GLOB         copy /box files matching GLOB (a \"**\" part spans\n"
    "                          directories; * and ** skip names starting with '.')\n"
    "                          to --out after the steps\n"
    "  --out DIR               where artifacts go (default .)\n"
    "  --force                 artifacts replace existing files in --out (without it an\n"
    "                          existing file is kept, and judge exec exits 125)\n"
    "  --layer DIR             a rootfs image layer, top first (default: the host's system\n"
    "                          directories); through a broker, a name in the worker's\n"
    "                          --exec-layers directory\n"
    "  --env NAME=VALUE        for every step (HOME=/box and the profile's PATH are set)\n"
    "  --network none|loopback (default none: not even loopback)\n"
    "  --keep-going            run the steps after a failing one too\n"
    "limits of each step (defaults: 60 s CPU, 2 x CPU + 1 s wall, 1G memory, 256 pids,\n"
    "1G of stdout + stderr):\n"
    "  --cpu-time SEC  --wall-time SEC  --memory BYTES  --pids N  --output BYTES\n"
    "limits of the job: --job-wall-time SEC (600), --writable BYTES (the writable layer,\n"
    "  256M), --log-bytes BYTES (kept of each step's stdout and stderr, 256K),\n"
    "  --artifact-bytes BYTES (16M), --artifact-files N (100)\n"
    "  --json                  print one JSON object instead of the logs and the table\n"
    "through judge-broker (a worker runs it):\n"
    "  --broker ENDPOINT       judge-broker's client endpoint (without it: run here)\n"
    "  --encoding pb|mp  --key FILE  --broker-key FILE|KEY  --id ID  --timeout SEC\n"
    "exit status: the first failing step's (its exit code, 128 + the signal that killed\n"
    "  it, 124 time limit, 137 memory limit, 153 output limit, 159 forbidden system call),\n"
    "  0 if all passed, 125 for the judge's own failure or a bad command line\n";

namespace {

constexpr int kJudgeFailed = 125;
constexpr long long kMaxInput = 256ll << 20;

int Fail(const std::string& message) {
  std::fprintf(stderr, "judge: %s\n", message.c_str());
  return kJudgeFailed;
}

std::string CommandLine(const v1::ExecStepResult& s) {
  std::string line;
  for (int i = 0; i < s.argv_size(); ++i) {
    // A shell line shows as itself.
    if (i == 0 && s.argv_size() == 3 && s.argv(0) == "/bin/sh" && s.argv(1) == "-c") {
      return s.argv(2);
    }
    line += (line.empty() ? "" : " ") + s.argv(i);
  }
  return line;
}

Status AddFile(const std::string& path, v1::ExecJob* job) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return Status::Errno("--file " + path);
  ASSIGN_OR_RETURN(std::string content, ReadRegularFile(path, kMaxInput));
  std::string name = path;
  while (name.rfind("./", 0) == 0) name.erase(0, 2);
  if (!CheckBoxPath(name, "file").ok()) name = path.substr(path.rfind('/') + 1);
  RETURN_IF_ERROR(CheckBoxPath(name, "--file " + path));
  v1::File* f = job->add_files();
  f->set_name(name);
  f->set_content(std::move(content));
  f->set_mode(st.st_mode & 0777);
  return Status::Ok();
}

Status SetArchive(const std::string& path, v1::ExecJob* job) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return Status::Errno("--archive " + path);
  if (S_ISDIR(st.st_mode)) {
    ASSIGN_OR_RETURN(*job->mutable_archive(), TarDirectory(path, kMaxInput));
  } else {
    ASSIGN_OR_RETURN(*job->mutable_archive(), ReadRegularFile(path, kMaxInput));
  }
  return Status::Ok();
}

// Live output: each step's lines as they come, after a line that names the step.
class LiveLog {
 public:
  explicit LiveLog(const v1::ExecJob& job) : job_(job) {}
  void Output(int step, v1::ExecOutput::Stream stream, std::string_view data) {
    Header(step);
    FILE* f = stream == v1::ExecOutput::STDERR ? stderr : stdout;
    std::fwrite(data.data(), 1, data.size(), f);
    std::fflush(f);
  }
  void StepDone(int step, const v1::ExecStepResult& s) {
    Header(step);
    std::fprintf(stderr, "judge: step %d %s%s%s\n", step + 1, s.status().c_str(),
                 s.message().empty() ? "" : ": ", s.message().c_str());
  }

 private:
  void Header(int step) {
    if (step == current_ || step < 0 || step >= job_.steps_size()) return;
    current_ = step;
    v1::ExecStepResult s;
    for (const std::string& a : job_.steps(step).argv()) s.add_argv(a);
    std::fflush(stdout);
    std::fprintf(stderr, "judge: step %d: %s\n", step + 1, CommandLine(s).c_str());
  }
  const v1::ExecJob& job_;
  int current_ = -1;
};

Result<v1::ExecResult> RunHere(const ExecCommand& cmd) {
  ASSIGN_OR_RETURN(std::unique_ptr<Sandbox> sandbox, Sandbox::Create());
  ASSIGN_OR_RETURN(std::unique_ptr<ExecRunner> runner, ExecRunner::Create(*sandbox));
  RETURN_IF_ERROR(runner->Validate(cmd.job));
  LiveLog live(cmd.job);
  ExecRunner::Callbacks cb;
  if (!cmd.json) {
    cb.output = [&](int step, v1::ExecOutput::Stream s, std::string_view d) { live.Output(step, s, d); };
    cb.step_done = [&](int step, const v1::ExecStepResult& s) { live.StepDone(step, s); };
  }
  return runner->Run(cmd.job, cb);
}

Result<v1::ExecResult> RunThroughBroker(const ExecCommand& cmd) {
  ASSIGN_OR_RETURN(RemoteClock::time_point deadline, Deadline(cmd.timeout));
  v1::Job job;
  job.set_id(cmd.id.empty() ? RandomJobId() : cmd.id);
  job.set_language(kExecLanguage);
  *job.mutable_exec() = cmd.job;
  ASSIGN_OR_RETURN(std::unique_ptr<RemoteClient> client, RemoteClient::Connect(cmd.remote_options));
  ASSIGN_OR_RETURN(std::string id, client->Submit(job, deadline));
  if (id.empty()) return Status::Error("the broker did not accept the job within --timeout");
  LiveLog live(cmd.job);
  ASSIGN_OR_RETURN(WaitOutcome outcome, client->Wait(id, true, deadline, [&](const v1::TestResult& t) {
    if (cmd.json) return;
    if (t.has_output()) live.Output(t.index(), t.output().stream(), t.output().data());
    if (t.has_step()) live.StepDone(t.index(), t.step());
  }));
  if (outcome.state == WaitOutcome::kCancelled) return Status::Error("job " + id + " was cancelled");
  if (outcome.state == WaitOutcome::kTimedOut) {
    return Status::Error("no result for job " + id + " within --timeout (it goes on: judge wait " + id + ")");
  }
  if (!outcome.result.has_exec()) {
    return Status::Error("job " + id + " failed: " + outcome.result.message());
  }
  return outcome.result.exec();
}

}  // namespace

Result<ExecCommand> ParseExecCommand(const std::vector<std::string>& args) {
  ExecCommand cmd;
  cmd.remote_options = RemoteOptionsFromEnvironment();  // keys and warnings; --broker selects the broker
  v1::ExecJob& job = cmd.job;
  v1::Limits& sl = *job.mutable_step_limits();
  v1::ExecLimits& jl = *job.mutable_limits();
  std::vector<std::string> env;
  bool keep_going = false;
  size_t i = 0;
  auto value = [&](const std::string& option) -> Result<std::string> {
    if (i + 1 >= args.size() || args[i + 1].empty()) return Status::Error(option + " needs a value");
    return args[++i];
  };
  auto bytes = [&](const std::string& option) -> Result<long long> {
    ASSIGN_OR_RETURN(std::string v, value(option));
    Result<long long> b = ParseBytes(v);
    if (!b.ok()) return Status::Error(option + ": " + b.status().ToString());
    return b;
  };
  auto seconds = [&](const std::string& option) -> Result<double> {
    ASSIGN_OR_RETURN(std::string v, value(option));
    Result<double> s = ParseSeconds(v);
    if (!s.ok()) return Status::Error(option + ": " + s.status().ToString());
    return s;
  };
  for (; i < args.size() && args[i] != "--"; ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      cmd.help = true;
      return cmd;
    } else if (a == "--json") {
      cmd.json = true;
    } else if (a == "--force") {
      cmd.force = true;
    } else if (a == "--keep-going") {
      keep_going = true;
    } else if (a == "--file") {
      ASSIGN_OR_RETURN(std::string path, value(a));
      RETURN_IF_ERROR(AddFile(path, &job));
    } else if (a == "--archive") {
      ASSIGN_OR_RETURN(std::string path, value(a));
      RETURN_IF_ERROR(SetArchive(path, &job));
    } else if (a == "--artifact") {
      ASSIGN_OR_RETURN(*job.add_artifacts(), value(a));
    } else if (a == "--out") {
      ASSIGN_OR_RETURN(cmd.out_dir, value(a));
    } else if (a == "--layer") {
      ASSIGN_OR_RETURN(*job.add_layers(), value(a));
    } else if (a == "--env") {
      ASSIGN_OR_RETURN(std::string e, value(a));
      env.push_back(e);
    } else if (a == "--network") {
      ASSIGN_OR_RETURN(*job.mutable_network(), value(a));
    } else if (a == "--cpu-time") {
      ASSIGN_OR_RETURN(double s, seconds(a));
      sl.set_cpu_time_s(s);
    } else if (a == "--wall-time") {
      ASSIGN_OR_RETURN(double s, seconds(a));
      sl.set_wall_time_s(s);
    } else if (a == "--memory") {
      ASSIGN_OR_RETURN(long long b, bytes(a));
      sl.set_memory_bytes(b);
    } else if (a == "--pids") {
      ASSIGN_OR_RETURN(std::string v, value(a));
      ASSIGN_OR_RETURN(long long n, ParseIntOption(a, v, 1, 1 << 20));
      sl.set_pids(n);
    } else if (a == "--output") {
      ASSIGN_OR_RETURN(long long b, bytes(a));
      sl.set_output_bytes(b);
    } else if (a == "--job-wall-time") {
      ASSIGN_OR_RETURN(double s, seconds(a));
      jl.set_wall_time_s(s);
    } else if (a == "--writable") {
      ASSIGN_OR_RETURN(long long b, bytes(a));
      jl.set_writable_bytes(b);
    } else if (a == "--log-bytes") {
      ASSIGN_OR_RETURN(long long b, bytes(a));
      jl.set_log_bytes(b);
    } else if (a == "--artifact-bytes") {
      ASSIGN_OR_RETURN(long long b, bytes(a));
      jl.set_artifact_bytes(b);
    } else if (a == "--artifact-files") {
      ASSIGN_OR_RETURN(std::string v, value(a));
      ASSIGN_OR_RETURN(long long n, ParseIntOption(a, v, 1, 1 << 20));
      jl.set_artifact_files(static_cast<int32_t>(n));
    } else if (a == "--broker") {
      cmd.remote = true;
      ASSIGN_OR_RETURN(cmd.remote_options.broker, value(a));
    } else if (a == "--encoding") {
      ASSIGN_OR_RETURN(cmd.remote_options.encoding, value(a));
    } else if (a == "--key") {
      ASSIGN_OR_RETURN(cmd.remote_options.key_file, value(a));
    } else if (a == "--broker-key") {
      ASSIGN_OR_RETURN(cmd.remote_options.broker_key, value(a));
    } else if (a == "--id") {
      ASSIGN_OR_RETURN(cmd.id, value(a));
    } else if (a == "--timeout") {
      ASSIGN_OR_RETURN(cmd.timeout, value(a));
    } else {
      return Status::Error("unknown option " + a + " (see judge exec --help; steps go after --)");
    }
  }
  // After "--": STEP [--step STEP]...
  v1::ExecStep* step = nullptr;
  for (++i; i < args.size(); ++i) {
    if (args[i] == "--step") {
      step = nullptr;
      continue;
    }
    if (!step) {
      step = job.add_steps();
      for (const std::string& e : env) step->add_env(e);
      step->set_continue_on_failure(keep_going);
    }
    step->add_argv(args[i]);
  }
  if (job.steps().empty()) return Status::Error("no steps: give them after --, as -- make --step make test");
  for (const v1::ExecStep& s : job.steps()) {
    if (s.argv().empty()) return Status::Error("an empty step: --step must be followed by a command");
  }
  return cmd;
}

Status WriteArtifacts(const v1::ExecResult& result, const std::string& dir, bool force) {
  if (result.artifacts().empty()) return Status::Ok();
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) return Status::Errno("mkdir --out " + dir);
  UniqueFd out(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!out) return Status::Errno("--out " + dir);
  TreeWriter writer(out.get(), static_cast<uid_t>(-1), static_cast<gid_t>(-1));
  std::vector<std::string> refused;
  for (const v1::Artifact& a : result.artifacts()) {
    Status st = CheckBoxPath(a.name(), "artifact");
    if (st.ok() && !a.has_content()) {
      st = Status::Error("artifact " + Printable(a.name()) + " was not kept by the worker");
    }
    if (st.ok()) st = writer.File(a.name(), a.content(), a.has_mode() ? a.mode() : 0644, force);
    if (st.ok()) continue;
    const bool exists = st.err() == EEXIST;
    refused.push_back(exists ? Printable(a.name()) + " exists (--force replaces it)" : st.ToString());
  }
  if (refused.empty()) return Status::Ok();
  std::string list;
  for (const std::string& r : refused) list += (list.empty() ? "" : "; ") + r;
  return Status::Error(std::to_string(refused.size()) + " of " +
                       std::to_string(result.artifacts_size()) + " artifacts were not written to " +
                       dir + ": " + list);
}

std::string ExecSummary(const v1::ExecResult& r, const std::string& out_dir) {
  std::string text;
  char line[512];
  std::snprintf(line, sizeof line, "%-5s %-8s %5s %10s %10s %12s  %s\n", "step", "status", "exit",
                "cpu", "wall", "memory", "command");
  text += line;
  for (int i = 0; i < r.steps_size(); ++i) {
    const v1::ExecStepResult& s = r.steps(i);
    const std::string exit = s.status() == "SKIPPED" ? "-" : std::to_string(ExecExitCode(s));
    std::string command = CommandLine(s).substr(0, 60);
    for (char& c : command) c = c == '\n' ? ' ' : c;
    std::snprintf(line, sizeof line, "%-5d %-8s %5s %10s %10s %12s  %s%s\n", i + 1,
                  s.status().c_str(), exit.c_str(), Ms(s.cpu_time_ms()).c_str(),
                  Ms(s.wall_time_ms()).c_str(), Mib(s.memory_peak_bytes()).c_str(), command.c_str(),
                  s.truncated() ? "  (log truncated)" : "");
    text += line;
  }
  long long bytes = 0;
  for (const v1::Artifact& a : r.artifacts()) bytes += a.size();
  text += "status " + r.status() + "  exit " + std::to_string(r.exit_code());
  if (!r.artifacts().empty()) {
    text += "  artifacts " + std::to_string(r.artifacts_size()) + " (" + std::to_string(bytes) +
            " bytes) in " + out_dir;
  }
  text += "\n";
  if (!r.message().empty()) text += r.message() + "\n";
  return text;
}

int ExecMain(const std::vector<std::string>& args) {
  Result<ExecCommand> cmd = ParseExecCommand(args);
  if (!cmd.ok()) return Fail(cmd.status().ToString());
  if (cmd->help) {
    std::fputs(kExecUsage, stdout);
    return 0;
  }
  Result<v1::ExecResult> result = cmd->remote ? RunThroughBroker(*cmd) : RunHere(*cmd);
  if (!result.ok()) return Fail(result.status().ToString());
  Status written = result->status() == "SE" ? Status::Error(result->message())
                                             : WriteArtifacts(*result, cmd->out_dir, cmd->force);
  if (cmd->json) {
    v1::ExecResult shown = *result;
    for (v1::Artifact& a : *shown.mutable_artifacts()) {
      a.clear_content();
      a.clear_mode();
    }
    std::printf("%s\n", ToJson(shown).c_str());
  } else if (result->status() != "SE") {
    std::fputs(ExecSummary(*result, cmd->out_dir).c_str(), stdout);
  }
  std::fflush(stdout);
  if (!written.ok()) return Fail(written.ToString());
  return result->exit_code();
}

}  // namespace judge
