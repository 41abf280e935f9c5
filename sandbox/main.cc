// judge-sandbox: one throwaway container, no broker.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "common/file_util.h"
#include "sandbox/bench.h"
#include "sandbox/options.h"
#include "sandbox/sandbox.h"
#include "sandbox/seccomp.h"
#include "sandbox/serve.h"

namespace {

int Die(int code, const std::string& message) {
  std::fprintf(stderr, "judge-sandbox: %s\n", message.c_str());
  return code;
}

int Emit(const judge::CommandOutput& o) {
  std::fputs(o.out.c_str(), stdout);
  std::fputs(o.err.c_str(), stderr);
  return o.exit_code;
}

int Run(const std::vector<std::string>& args) {
  using namespace judge;
  auto opts = ParseRunOptions(args);
  if (!opts.ok()) return Die(2, opts.status().ToString());
  std::vector<UniqueFd> opened;  // stream files the hand-over opened, used here if it fails
  if (const char* server = std::getenv(kServerEnv); server && *server) {
    if (auto served = RunThroughServer(server, args, *opts, &opened)) return Emit(*served);
  }

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
  }
  return Emit(RunParsed(**sandbox, *opts, policy ? &program : nullptr));
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
    std::fputs(
        "usage: judge-sandbox run [OPTIONS] -- PROGRAM [ARGS...]\n"
        "       judge-sandbox bench [OPTIONS] [-- PROGRAM [ARGS...]]\n"
        "       judge-sandbox serve [--socket PATH] [--warm N] [--parallel N]\n"
        "run: runs PROGRAM in a throwaway container and prints its result as JSON.\n"
        "bench: start-up latency of this engine next to bwrap, crun, runc and fork+exec.\n"
        "serve: runs the run commands that name it in JUDGE_SANDBOX_SERVER, their\n"
        "containers made before they come.\n"
        "judge-sandbox COMMAND --help lists a command's options.\n",
        args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  const std::string command = args[0];
  args.erase(args.begin());
  if (command == "run" || command == "bench" || command == "serve") {
    // -h or --help among the options (not in the program's arguments after --).
    for (const std::string& a : args) {
      if (a == "--") break;
      if (a == "-h" || a == "--help") {
        std::fputs(command == "run"     ? judge::kRunUsage
                   : command == "bench" ? judge::kBenchUsage
                                        : judge::kServeUsage,
                   stdout);
        return 0;
      }
    }
  }
  if (command == "run") return Run(args);
  if (command == "bench") return judge::RunBench(args);
  if (command == "serve") return judge::Serve(args);
  return Die(2, "unknown command '" + command + "' (try: judge-sandbox run --help)");
}
