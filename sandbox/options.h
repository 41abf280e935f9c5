// Command-line options of `judge-sandbox run` (INTERFACES.md section 1).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "sandbox/sandbox.h"

namespace judge {

struct RunOptions {
  std::string profile = "default";
  std::string seccomp;  // "" = the profile's
  std::string result_path;
  bool trace = false;   // --trace: per-phase timings on stderr
  RunSpec spec;         // limits, streams, binds etc., the profile's defaults applied
};

// The arguments after "run" split into options (name, value; "--trace" has "") in their
// order, and the program with its arguments. Fails on an unknown option, a missing
// value or no program.
struct RunArgs {
  std::vector<std::pair<std::string, std::string>> options;
  std::vector<std::string> program;
};
Result<RunArgs> SplitRunArgs(const std::vector<std::string>& args);

// Parses the arguments after "run". Loads the profile (built-in name or file).
Result<RunOptions> ParseRunOptions(const std::vector<std::string>& args);

// "64M" -> 67108864; suffixes K, M, G (powers of 1024), optional trailing B.
Result<long long> ParseBytes(const std::string& text);
Result<double> ParseSeconds(const std::string& text);

extern const char kRunUsage[];

}  // namespace judge
