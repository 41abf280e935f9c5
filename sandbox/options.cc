#include "sandbox/options.h"

#include <cmath>
#include <cstdlib>
#include <map>

#include "sandbox/mounts.h"

namespace judge {

const char kRunUsage[] =
    "usage: judge-sandbox run [OPTIONS] -- PROGRAM [ARGS...]\n"
    "  --profile NAME|FILE     sandbox profile (default: default)\n"
    "  --cpu-time SEC          CPU time of all processes together (default 2)\n"
    "  --wall-time SEC         wall-clock time (default 2 x cpu-time + 1)\n"
    "  --memory BYTES          memory limit, suffixes K M G (default 256M)\n"
    "  --pids N                most processes and threads at once (default 64)\n"
    "  --output BYTES          most bytes written to stdout + stderr + files (default 64M)\n"
    "  --tmpfs BYTES           size of the writable layer (default 64M)\n"
    "  --stdin FILE  --stdout FILE  --stderr FILE   host files for the standard streams\n"
    "  --dir SRC:DST[:rw]      bind a host directory (read-only unless :rw)\n"
    "  --chdir DIR             working directory inside (default /box)\n"
    "  --env NAME=VALUE        environment (nothing is inherited)\n"
    "  --layer DIR             read-only rootfs layer, repeatable, top first\n"
    "  --cpus LIST             pin the run to these CPUs (e.g. 0 or 0-1)\n"
    "  --network none|loopback (default none)\n"
    "  --seccomp NAME|FILE|none  seccomp policy (default: the profile's)\n"
    "  --result FILE           write the result JSON here instead of stdout\n"
    "  --trace                 print where the time went, phase by phase, on stderr\n"
    "With JUDGE_SANDBOX_SERVER=SOCKET in the environment, the run is handed to the\n"
    "`judge-sandbox serve` listening there (judge-sandbox serve --help).\n";

Result<long long> ParseBytes(const std::string& text) {
  if (text.empty()) return Status::Error("empty size");
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(text.c_str(), &end);
  std::string suffix(end);
  if (!suffix.empty() && (suffix.back() == 'B' || suffix.back() == 'b')) suffix.pop_back();
  double mult = 1;
  if (suffix == "K" || suffix == "k") mult = 1024.0;
  else if (suffix == "M" || suffix == "m") mult = 1024.0 * 1024;
  else if (suffix == "G" || suffix == "g") mult = 1024.0 * 1024 * 1024;
  else if (!suffix.empty()) return Status::Error("bad size '" + text + "' (use e.g. 512K, 64M, 1G)");
  if (errno != 0 || end == text.c_str() || !(v * mult >= 1) || v * mult > 9e18) {
    return Status::Error("bad size '" + text + "' (use a positive number, e.g. 64M)");
  }
  return static_cast<long long>(v * mult);
}

Result<double> ParseSeconds(const std::string& text) {
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !(v > 0) || !std::isfinite(v) || v > 86400 * 7) {
    return Status::Error("bad time '" + text + "' (use seconds, e.g. 1.5)");
  }
  return v;
}

Result<RunArgs> SplitRunArgs(const std::vector<std::string>& args) {
  RunArgs out;
  static const char* kFlags[] = {"--profile", "--cpu-time", "--wall-time", "--memory", "--pids",
                                 "--output", "--tmpfs", "--stdin", "--stdout", "--stderr",
                                 "--dir", "--chdir", "--env", "--layer", "--cpus", "--network",
                                 "--seccomp", "--result"};
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") {
      out.program.assign(args.begin() + static_cast<long>(i) + 1, args.end());
      break;
    }
    if (a == "--trace") {
      out.options.emplace_back(a, "");
      continue;
    }
    std::string name = a, value;
    bool inline_value = false;
    if (size_t eq = a.find('='); a.rfind("--", 0) == 0 && eq != std::string::npos) {
      name = a.substr(0, eq);
      value = a.substr(eq + 1);
      inline_value = true;
    }
    bool known = false;
    for (const char* f : kFlags) known = known || name == f;
    if (!known) {
      if (a.rfind("-", 0) != 0) {
        // The program may follow the options without "--".
        out.program.assign(args.begin() + static_cast<long>(i), args.end());
        break;
      }
      return Status::Error("unknown option " + a + " (see judge-sandbox run --help)");
    }
    if (!inline_value) {
      if (i + 1 >= args.size()) return Status::Error(name + " needs a value");
      value = args[++i];
    }
    out.options.emplace_back(name, value);
  }
  if (out.program.empty())
    return Status::Error("no program given: judge-sandbox run [OPTIONS] -- PROGRAM [ARGS...]");
  return out;
}

Result<RunOptions> ParseRunOptions(const std::vector<std::string>& args) {
  // First pass: option values; the profile is applied before the other options.
  ASSIGN_OR_RETURN(RunArgs split, SplitRunArgs(args));
  const auto& opts = split.options;
  const std::vector<std::string>& program = split.program;

  RunOptions ro;
  for (const auto& [k, v] : opts)
    if (k == "--profile") ro.profile = v;
  ASSIGN_OR_RETURN(SandboxProfile profile, LoadSandboxProfile(ro.profile));
  ro.seccomp = profile.seccomp;
  ro.spec = SpecFromProfile(profile);
  RunSpec& s = ro.spec;
  s.argv = program;
  std::map<std::string, std::string> env;
  std::vector<std::string> env_order;
  auto set_env = [&](const std::string& kv) {
    std::string key = kv.substr(0, kv.find('='));
    if (!env.count(key)) env_order.push_back(key);
    env[key] = kv;
  };
  for (const std::string& e : s.env) set_env(e);
  bool layers_given = false;

  for (const auto& [k, v] : opts) {
    if (k == "--cpu-time") {
      ASSIGN_OR_RETURN(s.limits.cpu_time_s, ParseSeconds(v));
    } else if (k == "--wall-time") {
      ASSIGN_OR_RETURN(s.limits.wall_time_s, ParseSeconds(v));
    } else if (k == "--memory") {
      ASSIGN_OR_RETURN(s.limits.memory_bytes, ParseBytes(v));
      if (s.limits.memory_bytes < (4 << 20)) return Status::Error("--memory must be at least 4M");
    } else if (k == "--pids") {
      char* end = nullptr;
      long n = std::strtol(v.c_str(), &end, 10);
      if (v.empty() || *end != '\0' || n < 1 || n > 1000000) {
        return Status::Error("bad --pids '" + v + "' (a whole number from 1)");
      }
      s.limits.pids = n;
    } else if (k == "--output") {
      ASSIGN_OR_RETURN(s.limits.output_bytes, ParseBytes(v));
    } else if (k == "--tmpfs") {
      ASSIGN_OR_RETURN(s.limits.tmpfs_bytes, ParseBytes(v));
    } else if (k == "--stdin") {
      s.stdin_stream = Stream::File(v);
    } else if (k == "--stdout") {
      s.stdout_stream = Stream::File(v);
    } else if (k == "--stderr") {
      s.stderr_stream = Stream::File(v);
    } else if (k == "--dir") {
      Bind b;
      size_t c1 = v.find(':');
      if (c1 == std::string::npos) return Status::Error("--dir takes SRC:DST[:rw], got '" + v + "'");
      b.source = v.substr(0, c1);
      std::string rest = v.substr(c1 + 1);
      if (rest.size() > 3 && rest.compare(rest.size() - 3, 3, ":rw") == 0) {
        b.writable = true;
        rest.resize(rest.size() - 3);
      } else if (rest.size() > 3 && rest.compare(rest.size() - 3, 3, ":ro") == 0) {
        rest.resize(rest.size() - 3);
      }
      b.target = rest;
      RETURN_IF_ERROR(CheckInsidePath(b.target, "--dir destination"));
      if (b.source.empty() || b.source[0] != '/') {
        return Status::Error("--dir source must be an absolute host path: '" + b.source + "'");
      }
      s.binds.push_back(b);
    } else if (k == "--chdir") {
      if (v != "/") RETURN_IF_ERROR(CheckInsidePath(v, "--chdir"));
      s.cwd = v;
    } else if (k == "--env") {
      if (v.find('=') == std::string::npos || v[0] == '=') {
        return Status::Error("--env takes NAME=VALUE, got '" + v + "'");
      }
      set_env(v);
    } else if (k == "--layer") {
      if (v.empty() || v[0] != '/') return Status::Error("--layer takes an absolute directory");
      if (!layers_given) s.layers.clear();
      layers_given = true;
      s.layers.push_back(v);
    } else if (k == "--cpus") {
      if (v.empty() || v.find_first_not_of("0123456789,-") != std::string::npos) {
        return Status::Error("bad --cpus '" + v + "' (a list such as 0 or 0-1,3)");
      }
      s.cpus = v;
    } else if (k == "--network") {
      if (v != "none" && v != "loopback") return Status::Error("--network takes none or loopback");
      s.loopback = v == "loopback";
    } else if (k == "--seccomp") {
      ro.seccomp = v;
    } else if (k == "--result") {
      ro.result_path = v;
    } else if (k == "--trace") {
      ro.trace = true;
    }
  }
  s.env.clear();
  for (const std::string& key : env_order) s.env.push_back(env[key]);
  return ro;
}

}  // namespace judge
