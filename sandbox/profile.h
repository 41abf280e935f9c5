// Sandbox profiles (profiles/sandbox/*.textproto): default limits, the seccomp policy,
// and what the rootfs is made of. The files in profiles/ are compiled into the binary,
// so a built-in name works from anywhere; a path loads a file instead.
#pragma once

#include <string>
#include <vector>

#include "common/builtin_profiles.h"
#include "common/status.h"
#include "sandbox/limits.h"

namespace judge {

struct SandboxProfile {
  std::string name;
  std::string seccomp = "default";
  std::string hostname = "judge";
  std::string network = "none";
  Limits limits;
  // Host directories union-mounted read-only into the rootfs (symlinks stay symlinks).
  std::vector<std::string> host_dirs;
  // Entries of the host's /etc bound read-only into the rootfs's otherwise empty /etc.
  std::vector<std::string> etc;
  std::vector<std::string> env;
};

Result<SandboxProfile> LoadSandboxProfile(const std::string& name_or_file);
Result<SandboxProfile> ParseSandboxProfile(const std::string& text, const std::string& file);

}  // namespace judge
