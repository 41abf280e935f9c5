// Shared helpers for the sandbox tests: a Sandbox per test binary, specs built from
// the default profile, temp dirs that clean up after themselves.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "sandbox/sandbox.h"

namespace judge::testing {

// Skips the test (with the reason printed) where the kernel or privileges are missing.
#define JUDGE_REQUIRE_SANDBOX()                                        \
  do {                                                                 \
    std::string _why = ::judge::testing::SandboxUnavailableReason();   \
    if (!_why.empty()) GTEST_SKIP() << _why;                           \
  } while (0)

// EXPECT_HAS(text, part): text contains part.
#define EXPECT_HAS(text, part)                                                              \
  do {                                                                                      \
    const std::string _t = (text), _p = (part);                                             \
    EXPECT_NE(_t.find(_p), std::string::npos) << "'" << _t << "' lacks '" << _p << "'"; \
  } while (0)

// "" when containers can run here, else why not.
std::string SandboxUnavailableReason();
// The shared Sandbox (created on first use). With JUDGE_TEST_WARM set in the
// environment (CTest's "warm." copies of the engine's tests), it keeps warm containers
// and RunIt runs each warmable spec in one, made for it ahead (Sandbox::Expect).
Sandbox& TestSandbox();
bool WarmMode();
// The default profile's seccomp policy, compiled once.
const SeccompProgram& DefaultSeccomp();

// A spec from the default profile with the default seccomp policy, the test programs
// bound read-only at /progs, and stdout/stderr captured.
RunSpec Spec(std::vector<std::string> argv);
// Spec for a program from tests/programs: Prog("hello", {"arg"}) runs /progs/hello arg.
RunSpec ProgSpec(const std::string& prog, std::vector<std::string> args = {});
// Spec for a shell command line: /bin/sh -c CMD.
RunSpec ShellSpec(const std::string& cmd);
RunResult RunIt(const RunSpec& spec);

// Path of a built test program on the host.
std::string ProgPath(const std::string& prog);

// A directory /tmp/judge-test-XXXXXX, removed recursively on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string Write(const std::string& name, const std::string& content, int mode = 0644) const;

 private:
  std::string path_;
};

std::string ReadFileOrDie(const std::string& path);
// Pids of all processes on the host whose command line contains `needle`.
std::vector<int> HostPidsMatching(const std::string& needle);

}  // namespace judge::testing
