#include "sandbox/seccomp.h"

#include <linux/audit.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <memory>

#include "common/fd.h"
#include "sandbox/profile.h"
#include "sandbox/textproto.h"

namespace judge {
namespace {

Result<SeccompAction> ParseAction(const std::string& file, const TextNode& node) {
  ASSIGN_OR_RETURN(std::string a, TextEnum(file, node, {"ALLOW", "KILL", "ERRNO"}));
  if (a == "ALLOW") return SeccompAction::kAllow;
  if (a == "KILL") return SeccompAction::kKill;
  return SeccompAction::kErrno;
}

Result<SeccompArg> ParseArg(const std::string& file, const TextNode& msg) {
  SeccompArg arg;
  bool have_value = false;
  for (const TextNode& f : msg.children) {
    if (f.name == "index") {
      ASSIGN_OR_RETURN(long long v, TextInt(file, f));
      if (v < 0 || v > 5) return TextError(file, f, "argument index must be 0..5");
      arg.index = static_cast<unsigned>(v);
    } else if (f.name == "op") {
      ASSIGN_OR_RETURN(std::string op,
                       TextEnum(file, f, {"EQ", "NE", "MASKED_EQ", "LT", "LE", "GT", "GE"}));
      static const std::pair<const char*, SeccompArg::Op> kOps[] = {
          {"EQ", SeccompArg::kEq}, {"NE", SeccompArg::kNe}, {"MASKED_EQ", SeccompArg::kMaskedEq},
          {"LT", SeccompArg::kLt}, {"LE", SeccompArg::kLe}, {"GT", SeccompArg::kGt},
          {"GE", SeccompArg::kGe}};
      for (const auto& [n, o] : kOps)
        if (op == n) arg.op = o;
    } else if (f.name == "mask") {
      ASSIGN_OR_RETURN(long long v, TextInt(file, f));
      arg.mask = static_cast<uint64_t>(v);
    } else if (f.name == "value") {
      ASSIGN_OR_RETURN(long long v, TextInt(file, f));
      arg.value = static_cast<uint64_t>(v);
      have_value = true;
    } else {
      return TextError(file, f, "unknown field '" + f.name + "' in arg");
    }
  }
  if (!have_value) return TextError(file, msg, "arg needs a value");
  return arg;
}

scmp_compare ToScmp(SeccompArg::Op op) {
  switch (op) {
    case SeccompArg::kEq: return SCMP_CMP_EQ;
    case SeccompArg::kNe: return SCMP_CMP_NE;
    case SeccompArg::kMaskedEq: return SCMP_CMP_MASKED_EQ;
    case SeccompArg::kLt: return SCMP_CMP_LT;
    case SeccompArg::kLe: return SCMP_CMP_LE;
    case SeccompArg::kGt: return SCMP_CMP_GT;
    case SeccompArg::kGe: return SCMP_CMP_GE;
  }
  return SCMP_CMP_EQ;
}

uint32_t ToScmp(SeccompAction action, int err, bool notify) {
  switch (action) {
    case SeccompAction::kAllow: return SCMP_ACT_ALLOW;
    case SeccompAction::kKill: return notify ? SCMP_ACT_NOTIFY : SCMP_ACT_KILL_PROCESS;
    case SeccompAction::kErrno: return SCMP_ACT_ERRNO(static_cast<uint16_t>(err));
  }
  return SCMP_ACT_KILL_PROCESS;
}

struct CtxDeleter {
  void operator()(void* ctx) const { seccomp_release(ctx); }
};

}  // namespace

Result<SeccompPolicy> ParseSeccompPolicy(const std::string& text, const std::string& file) {
  ASSIGN_OR_RETURN(TextNode root, ParseTextProto(text, file));
  SeccompPolicy p;
  for (const TextNode& f : root.children) {
    if (f.name == "name") {
      ASSIGN_OR_RETURN(p.name, TextString(file, f));
    } else if (f.name == "default_action") {
      ASSIGN_OR_RETURN(p.default_action, ParseAction(file, f));
    } else if (f.name == "default_errno") {
      ASSIGN_OR_RETURN(long long v, TextInt(file, f));
      // As for a rule's: 0 would make a denied call return 0 without running.
      if (v <= 0 || v > 4095) return TextError(file, f, "default_errno must be 1..4095");
      p.default_errno = static_cast<int>(v);
    } else if (f.name == "rule" && f.is_message) {
      SeccompRule rule;
      for (const TextNode& r : f.children) {
        if (r.name == "action") {
          ASSIGN_OR_RETURN(rule.action, ParseAction(file, r));
        } else if (r.name == "errno") {
          ASSIGN_OR_RETURN(long long v, TextInt(file, r));
          if (v <= 0 || v > 4095) return TextError(file, r, "errno must be 1..4095");
          rule.errno_value = static_cast<int>(v);
        } else if (r.name == "syscall") {
          ASSIGN_OR_RETURN(std::string name, TextString(file, r));
          if (seccomp_syscall_resolve_name(name.c_str()) == __NR_SCMP_ERROR) {
            return TextError(file, r, "unknown system call '" + name + "'");
          }
          rule.syscalls.push_back(name);
        } else if (r.name == "arg" && r.is_message) {
          ASSIGN_OR_RETURN(SeccompArg a, ParseArg(file, r));
          rule.args.push_back(a);
        } else {
          return TextError(file, r, "unknown field '" + r.name + "' in rule");
        }
      }
      if (rule.syscalls.empty()) return TextError(file, f, "rule names no syscall");
      p.rules.push_back(std::move(rule));
    } else {
      return TextError(file, f, "unknown field '" + f.name + "' in seccomp policy");
    }
  }
  if (p.name.empty()) return Status::Error(file + ": seccomp policy has no name");
  return p;
}

Result<SeccompPolicy> LoadSeccompPolicy(const std::string& name_or_file) {
  ASSIGN_OR_RETURN(ProfileText text, FindProfileText("seccomp", name_or_file));
  return ParseSeccompPolicy(text.text, text.file);
}

bool SeccompNotifySupported() {
  struct seccomp_notif_sizes sizes {};
  return ::syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) == 0;
}

Result<SeccompProgram> CompileSeccomp(const SeccompPolicy& policy, bool use_notify) {
  std::unique_ptr<void, CtxDeleter> ctx(
      seccomp_init(ToScmp(policy.default_action, policy.default_errno, use_notify)));
  if (!ctx) return Status::Error("seccomp_init failed");
  // System calls of another ABI (i386 int 0x80, x32) are never allowed.
  if (seccomp_attr_set(ctx.get(), SCMP_FLTATR_ACT_BADARCH,
                       use_notify ? SCMP_ACT_NOTIFY : SCMP_ACT_KILL_PROCESS) != 0) {
    seccomp_attr_set(ctx.get(), SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
  }
  // Binary-tree dispatch keeps the filter short for long syscall lists.
  seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_OPTIMIZE, 2);
  for (const SeccompRule& rule : policy.rules) {
    uint32_t action = ToScmp(rule.action, rule.errno_value, use_notify);
    std::vector<scmp_arg_cmp> cmps;
    for (const SeccompArg& a : rule.args) {
      cmps.push_back(a.op == SeccompArg::kMaskedEq
                         ? scmp_arg_cmp{a.index, SCMP_CMP_MASKED_EQ, a.mask, a.value}
                         : scmp_arg_cmp{a.index, ToScmp(a.op), a.value, 0});
    }
    for (const std::string& name : rule.syscalls) {
      int nr = seccomp_syscall_resolve_name(name.c_str());
      int rc = seccomp_rule_add_array(ctx.get(), action, nr, static_cast<unsigned>(cmps.size()),
                                      cmps.data());
      if (rc != 0) {
        return Status::Error("seccomp policy '" + policy.name + "': rule for " + name, -rc);
      }
    }
  }
  UniqueFd mem(::memfd_create("judge-seccomp", MFD_CLOEXEC));
  if (!mem) return Status::Errno("memfd_create");
  int rc = seccomp_export_bpf(ctx.get(), mem.get());
  if (rc != 0) return Status::Error("seccomp_export_bpf", -rc);
  off_t size = ::lseek(mem.get(), 0, SEEK_END);
  SeccompProgram prog;
  prog.notify = use_notify;
  // Whether the calls a program's process makes while it waits for its run are
  // allowed whatever their arguments (see ChildPlan::seccomp_before_go).
  prog.allows_waiting = true;
  for (const char* call : {"futex", "getrusage"}) {
    bool named = false, refused = false;
    for (const SeccompRule& rule : policy.rules) {
      if (std::find(rule.syscalls.begin(), rule.syscalls.end(), call) == rule.syscalls.end()) {
        continue;
      }
      named = true;
      if (rule.action != SeccompAction::kAllow || !rule.args.empty()) refused = true;
    }
    if (named ? refused : policy.default_action != SeccompAction::kAllow) {
      prog.allows_waiting = false;
    }
  }
  prog.filter.resize(static_cast<size_t>(size) / sizeof(sock_filter));
  if (::pread(mem.get(), prog.filter.data(), static_cast<size_t>(size), 0) != size) {
    return Status::Errno("reading the seccomp filter");
  }
  return prog;
}

std::string SyscallName(uint32_t audit_arch, int nr) {
  uint32_t arch = audit_arch;
  int n = nr;
  std::string prefix;
  if (audit_arch == AUDIT_ARCH_X86_64 && (nr & 0x40000000)) {
    arch = SCMP_ARCH_X32;
    prefix = "x32:";
  } else if (audit_arch != seccomp_arch_native()) {
    prefix = audit_arch == AUDIT_ARCH_I386 ? "i386:" : "foreign:";
  }
  char* name = seccomp_syscall_resolve_num_arch(arch, n);
  std::string out = prefix + (name ? std::string(name) : "syscall " + std::to_string(nr));
  std::free(name);
  return out;
}

Result<SeccompProgram> LoadAndCompileSeccomp(const std::string& name_or_file, bool use_notify) {
  ASSIGN_OR_RETURN(SeccompPolicy policy, LoadSeccompPolicy(name_or_file));
  return CompileSeccomp(policy, use_notify);
}

}  // namespace judge
