// `judge-sandbox serve`: one engine, with warm containers, that runs the `judge-sandbox
// run` commands handed to it over a unix socket, so that a command does not make its
// engine and its container when it starts. A command hands its run over when
// JUDGE_SANDBOX_SERVER names the server's socket; it prints and returns what it would
// have (result JSON, messages, exit code). The command opens its own stream files and
// writes its own --result; the server reads only a profile or policy file, by the
// absolute path the command resolved.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/fd.h"
#include "sandbox/options.h"
#include "sandbox/sandbox.h"
#include "sandbox/seccomp.h"
#include "sandbox/serve_wire.h"

namespace judge {

inline constexpr char kServerEnv[] = "JUDGE_SANDBOX_SERVER";
inline constexpr char kDefaultServerSocket[] = "/run/judge-sandbox.sock";

// The run of `judge-sandbox run`, its options parsed, on `engine`, with the compiled
// filter (nullptr: none).
CommandOutput RunParsed(Sandbox& engine, RunOptions& opts, const SeccompProgram* program);

// Writes o->out (the result JSON) to a --result `path` ("" : leaves it for stdout);
// false, with exit code 1 and the reason in o->err, when it cannot.
bool WriteResult(const std::string& path, CommandOutput* o);

// Hands `judge-sandbox run ARGS` (parsed into `opts`) to the server listening on
// `socket_path`. The command's --stdin/--stdout/--stderr files are opened here and go as
// fds (kept in `opened`, and set in opts' streams for a run here); its --result is
// written here. nullopt: the run is to happen here, with `opts` as they are now: no
// server there, or it refused (a warning on stderr says so), or options or files that
// the run here reports on.
std::optional<CommandOutput> RunThroughServer(const std::string& socket_path,
                                              const std::vector<std::string>& args,
                                              RunOptions& opts, std::vector<UniqueFd>* opened);

extern const char kServeUsage[];
// `judge-sandbox serve [--socket PATH] [--warm N] [--parallel N]`: serves until SIGTERM,
// SIGINT or SIGHUP.
int Serve(const std::vector<std::string>& args);

}  // namespace judge
