// The profile loaders on hostile text: the text-format reader, the sandbox profile, the
// seccomp policy (parsing only: libseccomp resolves names without the kernel) and the
// language profile (protobuf's text format). The whole input is the file. A profile
// that loads must be one the loader's checks allow.
#include <seccomp.h>

#include <cmath>
#include <string>

#include "fuzz/fuzz_util.h"
#include "sandbox/profile.h"
#include "sandbox/seccomp.h"
#include "sandbox/textproto.h"
#include "worker/languages.h"

namespace judge::fuzz {
namespace {

const std::string kFile = "fuzz.textproto";

void CheckSandboxProfile(const SandboxProfile& p) {
  if (p.name.empty()) Fail("a sandbox profile without a name loaded");
  const Limits& l = p.limits;
  // "limits must be positive": NaN is not, and neither NaN nor infinity may reach the
  // run's conversions to nanoseconds.
  if (!(l.cpu_time_s > 0) || !std::isfinite(l.cpu_time_s) || !(l.wall_time_s >= 0) ||
      !std::isfinite(l.wall_time_s) || l.memory_bytes <= 0 || l.pids <= 0 || l.output_bytes <= 0 ||
      l.tmpfs_bytes <= 0 || l.tmpfs_inodes <= 0) {
    Fail("a sandbox profile with limits that are not positive loaded");
  }
  if (p.network != "none" && p.network != "loopback") Fail("network is " + p.network);
  for (const std::string& d : p.host_dirs) {
    if (d.empty() || d[0] != '/' || d == "/" || d.find("..") != std::string::npos) {
      Fail("host_dir '" + d + "' loaded");
    }
  }
  for (const std::string& e : p.etc) {
    if (e.empty() || e[0] == '.' || e.find('/') != std::string::npos) Fail("etc '" + e + "'");
  }
  for (const std::string& e : p.env) {
    if (e.find('=') == std::string::npos) Fail("env '" + e + "' loaded");
  }
}

void CheckSeccompPolicy(const SeccompPolicy& p) {
  if (p.name.empty()) Fail("a seccomp policy without a name loaded");
  // An errno of 0 would make a denied call return 0 without running; above 4095 the
  // kernel clamps it. The parser refuses both for rules, so for the default as well.
  if (p.default_errno < 1 || p.default_errno > 4095) {
    Fail("default_errno " + std::to_string(p.default_errno) + " loaded");
  }
  for (const SeccompRule& r : p.rules) {
    if (r.syscalls.empty()) Fail("a rule without a system call loaded");
    if (r.errno_value < 1 || r.errno_value > 4095) Fail("a rule's errno is out of range");
    for (const std::string& s : r.syscalls) {
      if (seccomp_syscall_resolve_name(s.c_str()) == __NR_SCMP_ERROR) Fail("syscall " + s);
    }
    for (const SeccompArg& a : r.args) {
      if (a.index > 5) Fail("argument index " + std::to_string(a.index) + " loaded");
    }
  }
}

void CheckLanguageProfile(const v1::LanguageProfile& p) {
  if (p.name().empty() || p.run().empty()) Fail("a language profile without name or run");
  if (p.source_name().empty() || p.source_name().find('/') != std::string::npos) {
    Fail("source_name '" + p.source_name() + "' loaded");
  }
  for (const std::string& t : p.toolchain()) {
    if (t.empty() || t[0] != '/') Fail("toolchain entry '" + t + "' loaded");
  }
}

}  // namespace
}  // namespace judge::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  judge::fuzz::QuietProtobufLog();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace judge;
  using namespace judge::fuzz;
  const std::string text(reinterpret_cast<const char*>(data), size);
  (void)ParseTextProto(text, kFile);
  if (auto p = ParseSandboxProfile(text, kFile); p.ok()) CheckSandboxProfile(*p);
  if (auto p = ParseSeccompPolicy(text, kFile); p.ok()) CheckSeccompPolicy(*p);
  if (auto p = ParseLanguageProfile(text, kFile); p.ok()) CheckLanguageProfile(*p);
  return 0;
}
