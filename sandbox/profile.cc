#include "sandbox/profile.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "common/file_util.h"
#include "sandbox/textproto.h"

namespace judge {

Result<SandboxProfile> ParseSandboxProfile(const std::string& text, const std::string& file) {
  ASSIGN_OR_RETURN(TextNode root, ParseTextProto(text, file));
  SandboxProfile p;
  for (const TextNode& f : root.children) {
    if (f.name == "name") {
      ASSIGN_OR_RETURN(p.name, TextString(file, f));
    } else if (f.name == "seccomp") {
      ASSIGN_OR_RETURN(p.seccomp, TextString(file, f));
    } else if (f.name == "hostname") {
      ASSIGN_OR_RETURN(p.hostname, TextString(file, f));
    } else if (f.name == "network") {
      ASSIGN_OR_RETURN(std::string n, TextEnum(file, f, {"NONE", "LOOPBACK"}));
      p.network = n == "NONE" ? "none" : "loopback";
    } else if (f.name == "limits" && f.is_message) {
      for (const TextNode& l : f.children) {
        if (l.name == "cpu_time_s") {
          ASSIGN_OR_RETURN(p.limits.cpu_time_s, TextDouble(file, l));
        } else if (l.name == "wall_time_s") {
          ASSIGN_OR_RETURN(p.limits.wall_time_s, TextDouble(file, l));
        } else if (l.name == "memory_bytes") {
          ASSIGN_OR_RETURN(p.limits.memory_bytes, TextInt(file, l));
        } else if (l.name == "pids") {
          ASSIGN_OR_RETURN(p.limits.pids, TextInt(file, l));
        } else if (l.name == "output_bytes") {
          ASSIGN_OR_RETURN(p.limits.output_bytes, TextInt(file, l));
        } else if (l.name == "tmpfs_bytes") {
          ASSIGN_OR_RETURN(p.limits.tmpfs_bytes, TextInt(file, l));
        } else if (l.name == "tmpfs_inodes") {
          ASSIGN_OR_RETURN(p.limits.tmpfs_inodes, TextInt(file, l));
        } else {
          return TextError(file, l, "unknown field '" + l.name + "' in limits");
        }
      }
    } else if (f.name == "host_dir") {
      ASSIGN_OR_RETURN(std::string d, TextString(file, f));
      if (d.empty() || d[0] != '/' || d.find("..") != std::string::npos || d == "/") {
        return TextError(file, f, "host_dir must be an absolute path below /, without '..'");
      }
      p.host_dirs.push_back(d);
    } else if (f.name == "etc") {
      ASSIGN_OR_RETURN(std::string e, TextString(file, f));
      if (e.empty() || e.find('/') != std::string::npos || e[0] == '.') {
        return TextError(file, f, "etc names an entry of /etc, e.g. \"ld.so.cache\"");
      }
      p.etc.push_back(e);
    } else if (f.name == "env") {
      ASSIGN_OR_RETURN(std::string e, TextString(file, f));
      if (e.find('=') == std::string::npos) return TextError(file, f, "env takes NAME=VALUE");
      p.env.push_back(e);
    } else {
      return TextError(file, f, "unknown field '" + f.name + "' in sandbox profile");
    }
  }
  if (p.name.empty()) return Status::Error(file + ": sandbox profile has no name");
  const Limits& l = p.limits;
  // Written so that NaN fails too; an infinite time would overflow the run's nanoseconds.
  if (!(l.cpu_time_s > 0) || !std::isfinite(l.cpu_time_s) || l.memory_bytes <= 0 ||
      l.pids <= 0 || l.output_bytes <= 0 || l.tmpfs_bytes <= 0 || l.tmpfs_inodes <= 0 ||
      !(l.wall_time_s >= 0) || !std::isfinite(l.wall_time_s)) {
    return Status::Error(file + ": limits must be positive");
  }
  return p;
}

Result<SandboxProfile> LoadSandboxProfile(const std::string& name_or_file) {
  ASSIGN_OR_RETURN(ProfileText text, FindProfileText("sandbox", name_or_file));
  return ParseSandboxProfile(text.text, text.file);
}

}  // namespace judge
