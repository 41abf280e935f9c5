// `judge exec` (INTERFACES.md section 5): command steps in one throwaway container
// filesystem, run here (no broker, as root) or, with --broker, by a worker through
// judge-broker. Logs stream live, a table of the steps follows, artifacts go to --out.
#pragma once

#include <string>
#include <vector>

#include "client/remote.h"
#include "common/status.h"
#include "protocol/judge.pb.h"

namespace judge {

extern const char kExecUsage[];

// What the command line asks for.
struct ExecCommand {
  v1::ExecJob job;
  std::string out_dir = ".";
  bool json = false;
  bool force = false;  // --force: artifacts replace existing files in out_dir
  bool help = false;
  bool remote = false;  // --broker given
  RemoteOptions remote_options;
  std::string id, timeout;
};

// Parses the arguments after `judge exec`; reads the --file and --archive files.
Result<ExecCommand> ParseExecCommand(const std::vector<std::string>& args);

// Writes the result's artifacts below `dir` (made if missing), never through a link that
// is already there and never outside it; an existing file is replaced only with `force`.
// An artifact that cannot be written (a bad name, a file in the way, one whose content
// the worker did not keep) is skipped and the rest written; the error then lists them.
Status WriteArtifacts(const v1::ExecResult& result, const std::string& dir, bool force = false);

// The table of the steps and the summary line.
std::string ExecSummary(const v1::ExecResult& result, const std::string& out_dir);

// The whole command; returns its exit status.
int ExecMain(const std::vector<std::string>& args);

}  // namespace judge
