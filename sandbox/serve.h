// `judge-sandbox serve`: one engine, with warm containers, that runs the `judge-sandbox
// run` commands handed to it over a unix socket, so that a command does not make its
// engine and its container when it starts. A command hands its run over when
// JUDGE_SANDBOX_SERVER names the server's socket; the run is the same as the command's
// own (same options, same result JSON, same exit code), its relative paths taken from
// the command's working directory.
#pragma once

#include <optional>
#include <string>
#include <vector>

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

// Hands `judge-sandbox run ARGS` to the server listening on `socket_path`. nullopt:
// the run is to happen here, the server being absent or having refused it (a warning
// on stderr says which).
std::optional<CommandOutput> RunThroughServer(const std::string& socket_path,
                                              const std::vector<std::string>& args);

extern const char kServeUsage[];
// `judge-sandbox serve [--socket PATH] [--warm N]`: serves until SIGTERM or SIGINT.
int Serve(const std::vector<std::string>& args);

}  // namespace judge
