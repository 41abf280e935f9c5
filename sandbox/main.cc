// judge-sandbox: one throwaway container, no broker.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "common/file_util.h"
#include "sandbox/bench.h"
#include "sandbox/options.h"
#include "sandbox/sandbox.h"
#include "sandbox/seccomp.h"

namespace {

int Die(int code, const std::string& message) {
  std::fprintf(stderr, "judge-sandbox: %s\n", message.c_str());
  return code;
}

int Run(const std::vector<std::string>& args) {
  using namespace judge;
  auto opts = ParseRunOptions(args);
  if (!opts.ok()) return Die(2, opts.status().ToString());

  std::optional<SeccompPolicy> policy;
  if (opts->seccomp != "none") {
    auto loaded = LoadSeccompPolicy(opts->seccomp);
    if (!loaded.ok()) return Die(2, loaded.status().ToString());
    policy = std::move(loaded).value();
  }

  auto sandbox = Sandbox::Create();
  if (!sandbox.ok()) return Die(1, sandbox.status().ToString());
  for (const std::string& w : (*sandbox)->warnings()) {
    std::fprintf(stderr, "judge-sandbox: warning: %s\n", w.c_str());
  }
  // The network namespace is made on another thread while the filter compiles.
  (*sandbox)->Expect(opts->spec);
  SeccompProgram program;
  if (policy) {
    auto compiled = CompileSeccomp(*policy, (*sandbox)->seccomp_notify());
    if (!compiled.ok()) return Die(2, compiled.status().ToString());
    program = std::move(compiled).value();
    opts->spec.seccomp = &program;
  }
  RunResult result = (*sandbox)->Run(opts->spec);

  if (opts->trace) std::fprintf(stderr, "%s\n", result.trace.Json().c_str());
  std::string json = RunResultJson(result) + "\n";
  if (!opts->result_path.empty()) {
    int fd = ::open(opts->result_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || ::write(fd, json.data(), json.size()) != static_cast<ssize_t>(json.size())) {
      return Die(1, "cannot write --result " + opts->result_path + ": " + std::strerror(errno));
    }
    ::close(fd);
  } else {
    std::fputs(json.c_str(), stdout);
  }
  if (result.status == RunStatus::kSandboxError) return Die(1, result.message);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // fds 0-2 must exist so that no pipe or socket of a run lands on them.
  for (int fd = 0; fd < 3; ++fd) {
    if (::fcntl(fd, F_GETFD) < 0) {
      if (::open("/dev/null", O_RDWR) < 0) return 1;
    }
  }
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
    std::fputs("usage: judge-sandbox run [OPTIONS] -- PROGRAM [ARGS...]\n"
               "       judge-sandbox bench [OPTIONS] [-- PROGRAM [ARGS...]]\n"
               "run: runs PROGRAM in a throwaway container and prints its result as JSON.\n"
               "bench: start-up latency of this engine next to bwrap, crun, runc and fork+exec.\n"
               "judge-sandbox run --help and judge-sandbox bench --help list the options.\n",
               args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  const std::string command = args[0];
  args.erase(args.begin());
  if (command == "run" || command == "bench") {
    // -h or --help among the options (not in the program's arguments after --).
    for (const std::string& a : args) {
      if (a == "--") break;
      if (a == "-h" || a == "--help") {
        std::fputs(command == "run" ? judge::kRunUsage : judge::kBenchUsage, stdout);
        return 0;
      }
    }
  }
  if (command == "run") return Run(args);
  if (command == "bench") return judge::RunBench(args);
  return Die(2, "unknown command '" + command + "' (try: judge-sandbox run --help)");
}
