// The container's filesystem as a list of MountOps, built in the parent before clone
// and executed by the child (child.cc). Staging happens on a tmpfs mounted over
// `staging` in the child's own mount namespace: <staging>/root becomes "/",
// <staging>/up and <staging>/work hold the overlay upper layers, unreachable after
// pivot_root (or, with RunSpec::writable_dir, in that directory, bound at
// <staging>/keep, with its box and tmp bound at /box and /tmp). With both, /dev
// is made on the staging tmpfs and bound at the root's /dev, so that a kept upper
// directory never holds an earlier run's /dev. Sources chosen by the
// caller (--dir, --layer, writable_dir) are opened by the child as
// O_PATH fds (numbered from first_fd) before staging covers anything, and mounted from
// /proc/self/fd/N, so they may lie anywhere, even below staging. (An fd opened by the
// parent would belong to the host's mount namespace, which bind mounts refuse.)
#pragma once

#include <deque>
#include <string>
#include <vector>

#include "common/status.h"
#include "sandbox/child.h"
#include "sandbox/sandbox.h"

namespace judge {

struct MountPlan {
  std::vector<MountOp> ops;
  std::vector<std::string> what;  // per op, for error messages
  std::deque<std::string> strings;

  const char* Str(std::string s) {
    strings.push_back(std::move(s));
    return strings.back().c_str();
  }
};

Result<MountPlan> BuildMountPlan(const RunSpec& spec, const std::string& staging, int first_fd);

// Flags of the mount holding `path` that a read-only remount of a bind of it, in a user
// namespace, must keep (the kernel refuses to clear them there).
unsigned long LockedMountFlags(const std::string& path);

// Checks a path inside the container: absolute, no "..", no empty components.
Status CheckInsidePath(const std::string& path, const char* what);

}  // namespace judge
