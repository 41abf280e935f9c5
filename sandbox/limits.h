// The limits of one run (INTERFACES.md section 1), shared by profiles and run specs.
#pragma once

namespace judge {

struct Limits {
  double cpu_time_s = 2;
  double wall_time_s = 0;  // 0: 2 x cpu_time_s + 1
  long long memory_bytes = 256ll << 20;
  long long pids = 64;
  long long output_bytes = 64ll << 20;
  long long tmpfs_bytes = 64ll << 20;
  long long tmpfs_inodes = 65536;
};

}  // namespace judge
