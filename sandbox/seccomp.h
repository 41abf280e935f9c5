// seccomp policies: loaded from profiles, compiled once per policy with libseccomp in
// the parent into a BPF program that the child loads with one system call.
#pragma once

#include <linux/filter.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace judge {

enum class SeccompAction {
  kAllow,
  kKill,   // the run ends with SV naming the system call
  kErrno,  // the call fails with `errno_value`
};

struct SeccompArg {
  unsigned index = 0;  // argument 0..5
  enum Op { kEq, kNe, kMaskedEq, kLt, kLe, kGt, kGe } op = kEq;
  uint64_t mask = 0;  // for kMaskedEq
  uint64_t value = 0;
};

struct SeccompRule {
  SeccompAction action = SeccompAction::kKill;
  int errno_value = 1;
  std::vector<std::string> syscalls;
  std::vector<SeccompArg> args;  // all must match
};

struct SeccompPolicy {
  std::string name;
  SeccompAction default_action = SeccompAction::kAllow;
  int default_errno = 1;
  std::vector<SeccompRule> rules;
};

// Loads a policy: a built-in name (profiles/seccomp/NAME.textproto) or a file path.
Result<SeccompPolicy> LoadSeccompPolicy(const std::string& name_or_file);
Result<SeccompPolicy> ParseSeccompPolicy(const std::string& text, const std::string& file);

struct SeccompProgram {
  std::vector<sock_filter> filter;
  // kKill rules compiled as SECCOMP_RET_USER_NOTIF: the parent learns the system
  // call's number, then kills the run. Without kernel support they kill the process.
  bool notify = false;
  // futex and getrusage are allowed whatever their arguments, so the program's
  // process can load the filter before its run's go and wait under it (ChildPlan).
  bool allows_waiting = false;
  int instructions() const { return static_cast<int>(filter.size()); }
};

// Whether this kernel supports seccomp user notification (Linux 5.0+).
bool SeccompNotifySupported();
Result<SeccompProgram> CompileSeccomp(const SeccompPolicy& policy, bool use_notify);
// LoadSeccompPolicy, then CompileSeccomp.
Result<SeccompProgram> LoadAndCompileSeccomp(const std::string& name_or_file, bool use_notify);

// "ptrace", or "i386:execve" for a non-native ABI, or "syscall 999" if unknown.
std::string SyscallName(uint32_t audit_arch, int nr);

}  // namespace judge
