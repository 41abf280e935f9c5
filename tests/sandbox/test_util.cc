#include "tests/sandbox/test_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>

#include "common/file_util.h"
#include "sandbox/profile.h"

namespace judge::testing {

std::string SandboxUnavailableReason() {
  if (::geteuid() != 0) return "needs root (user namespaces with uid maps, cgroups)";
  auto n = ReadInt("/proc/sys/user/max_user_namespaces");
  if (n.ok() && *n == 0) return "user namespaces are disabled (max_user_namespaces = 0)";
  auto sb = Sandbox::Create();
  if (!sb.ok()) return "no sandbox on this host: " + sb.status().ToString();
  return "";
}

bool WarmMode() {
  static const bool warm = std::getenv("JUDGE_TEST_WARM") != nullptr;
  return warm;
}

Sandbox& TestSandbox() {
  static std::unique_ptr<Sandbox> sandbox;
  static std::once_flag once;
  std::call_once(once, [] {
    SandboxOptions options;
    if (WarmMode()) options.warm = 2;
    auto sb = Sandbox::Create(options);
    if (!sb.ok()) {
      ADD_FAILURE() << sb.status().ToString();
      std::abort();
    }
    sandbox = std::move(sb).value();
  });
  return *sandbox;
}

const SeccompProgram& DefaultSeccomp() {
  static SeccompProgram program = [] {
    auto policy = LoadSeccompPolicy("default");
    if (!policy.ok()) std::abort();
    auto compiled = CompileSeccomp(*policy, SeccompNotifySupported());
    if (!compiled.ok()) std::abort();
    return std::move(compiled).value();
  }();
  return program;
}

std::string ProgPath(const std::string& prog) {
  return std::string(JUDGE_TEST_PROGRAMS_DIR) + "/" + prog;
}

RunSpec Spec(std::vector<std::string> argv) {
  auto profile = LoadSandboxProfile("default");
  if (!profile.ok()) std::abort();
  RunSpec spec = SpecFromProfile(*profile);
  spec.argv = std::move(argv);
  spec.seccomp = &DefaultSeccomp();
  spec.binds.push_back({JUDGE_TEST_PROGRAMS_DIR, "/progs", false});
  spec.stdout_stream = Stream::Capture();
  spec.stderr_stream = Stream::Capture();
  return spec;
}

RunSpec ProgSpec(const std::string& prog, std::vector<std::string> args) {
  args.insert(args.begin(), "/progs/" + prog);
  return Spec(std::move(args));
}

RunSpec ShellSpec(const std::string& cmd) { return Spec({"/bin/sh", "-c", cmd}); }

RunResult RunIt(const RunSpec& spec) {
  if (!WarmMode()) return TestSandbox().Run(spec);
  // The container is asked for ahead, and the run waits for it.
  TestSandbox().Expect(spec);
  RunResult r = TestSandbox().Run(spec);
  const bool warmable = Sandbox::Warmable(spec);
  if (warmable && r.status != RunStatus::kSandboxError) {
    bool took = false;
    for (const auto& [phase, ms] : r.trace.phases_ms) took = took || phase == "take";
    EXPECT_TRUE(took) << "the run was not in a warm container: " << r.trace.Json();
  }
  return r;
}

TempDir::TempDir() {
  char tmpl[] = "/tmp/judge-test-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) std::abort();
  path_ = tmpl;
}

TempDir::~TempDir() { RemoveTree(path_); }

std::string TempDir::Write(const std::string& name, const std::string& content, int mode) const {
  std::string p = path_ + "/" + name;
  std::ofstream(p, std::ios::binary) << content;
  ::chmod(p.c_str(), static_cast<mode_t>(mode));
  return p;
}

std::string ReadFileOrDie(const std::string& path) {
  auto r = ReadFile(path);
  if (!r.ok()) {
    ADD_FAILURE() << r.status().ToString();
    return "";
  }
  return *r;
}

std::vector<int> HostPidsMatching(const std::string& needle) {
  std::vector<int> out;
  DIR* d = ::opendir("/proc");
  if (!d) return out;
  while (struct dirent* e = ::readdir(d)) {
    int pid = std::atoi(e->d_name);
    if (pid <= 0 || pid == ::getpid()) continue;
    auto cmd = ReadFile("/proc/" + std::string(e->d_name) + "/cmdline");
    if (!cmd.ok()) continue;
    for (char& c : *cmd)
      if (c == '\0') c = ' ';
    if (cmd->find(needle) != std::string::npos) out.push_back(pid);
  }
  ::closedir(d);
  return out;
}

}  // namespace judge::testing
