// The judge-sandbox command line (INTERFACES.md section 1): the built binary run as a
// user would run it. Exit 0 whenever the run happened, with one line of result JSON;
// non-zero with exactly one line on stderr for its own failures.
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "common/file_util.h"
#include "sandbox/cgroup.h"
#include "tests/sandbox/test_util.h"

namespace judge::testing {
namespace {

// On cgroup v2 below the root, judge-sandbox must be alone in a cgroup that may
// delegate controllers, as `systemd-run --scope -p Delegate=yes judge-sandbox ...`
// gives it; a child of this test would otherwise share the test's cgroup. So, once,
// this process moves into a leaf of its own cgroup and enables memory, pids and cpu
// there; each judge-sandbox then starts in a fresh sibling cgroup. Undone at exit.
class Delegation {
 public:
  static Delegation& Get() {
    static Delegation* d = new Delegation();
    return *d;
  }
  // A new cgroup for one judge-sandbox, or "" where none is needed.
  std::string NewChildCgroup() {
    if (own_.empty()) return "";
    std::string dir = own_ + "/cli-run-" + std::to_string(::getpid()) + "-" + std::to_string(++n_);
    Status st = RealCgroupFs().Mkdir(dir);
    EXPECT_TRUE(st.ok()) << st.ToString();
    return st.ok() ? dir : "";
  }
  void RemoveChildCgroup(const std::string& dir) {
    if (dir.empty()) return;
    // A judge-sandbox that crashed leaves its (now empty) supervisor leaf.
    for (const std::string& sub : RealCgroupFs().List(dir)) (void)RealCgroupFs().Rmdir(dir + "/" + sub);
    Status st = RealCgroupFs().Rmdir(dir);
    EXPECT_TRUE(st.ok()) << st.ToString();
  }
  void Restore() {
    if (own_.empty()) return;
    CgroupFs& fs = RealCgroupFs();
    if (!added_.empty()) (void)fs.Write(own_ + "/cgroup.subtree_control", added_);
    if (fs.Write(own_ + "/cgroup.procs", "0").ok()) (void)fs.Rmdir(leaf_);
    own_.clear();
  }

 private:
  Delegation() {
    auto mountinfo = ReadFile("/proc/self/mountinfo");
    auto proc_cgroup = ReadFile("/proc/self/cgroup");
    if (!mountinfo.ok() || !proc_cgroup.ok()) return;
    CgroupLayout l = ParseCgroupLayout(*mountinfo, *proc_cgroup);
    if (l.v2_dir.empty() || l.v2_dir == l.v2_mount) return;  // no v2, or at the root
    auto controllers = ReadFile(l.v2_dir + "/cgroup.controllers");
    if (!controllers.ok() || controllers->find("memory") == std::string::npos ||
        controllers->find("pids") == std::string::npos) {
      return;  // judge-sandbox will use cgroup v1
    }
    CgroupFs& fs = RealCgroupFs();
    std::string leaf = l.v2_dir + "/cli-test-" + std::to_string(::getpid());
    if (!fs.Mkdir(leaf).ok()) return;
    if (!fs.Write(leaf + "/cgroup.procs", "0").ok()) {
      (void)fs.Rmdir(leaf);
      return;
    }
    auto enabled = ReadFile(l.v2_dir + "/cgroup.subtree_control");
    std::vector<std::string> on;
    std::istringstream words(enabled.ok() ? *enabled : "");
    for (std::string w; words >> w;) on.push_back(w);
    std::string want, undo;
    for (const char* c : {"memory", "pids", "cpu"}) {
      if (std::find(on.begin(), on.end(), c) != on.end()) continue;
      want += std::string(want.empty() ? "+" : " +") + c;
      undo += std::string(undo.empty() ? "-" : " -") + c;
    }
    if (!want.empty() && !fs.Write(l.v2_dir + "/cgroup.subtree_control", want).ok()) {
      (void)fs.Write(l.v2_dir + "/cgroup.procs", "0");
      (void)fs.Rmdir(leaf);
      return;  // other processes share the cgroup: judge-sandbox will say so
    }
    own_ = l.v2_dir;
    leaf_ = leaf;
    added_ = undo;
  }

  std::string own_, leaf_, added_;
  int n_ = 0;
};

class RestoreCgroups : public ::testing::Environment {
 public:
  void TearDown() override { Delegation::Get().Restore(); }
};
[[maybe_unused]] ::testing::Environment* const kRestore =
    ::testing::AddGlobalTestEnvironment(new RestoreCgroups);

struct Cli {
  int exit_code = -1;  // -1: did not exit normally
  std::string out, err;
};

struct CliOptions {
  bool as_nobody = false;     // as uid/gid 65534
  std::string env;            // NAME=VALUE added to its environment
  std::string cwd;            // its working directory ("": the test's)
  bool own_mount_ns = false;  // in a mount namespace of its own
  bool no_sys_admin = false;  // root without CAP_SYS_ADMIN
  int umask = -1;             // its umask (-1: the test's)
  bool no_new_privs = false;  // with PR_SET_NO_NEW_PRIVS
  CliOptions& NoSysAdmin() { return no_sys_admin = true, *this; }
  CliOptions& NoNewPrivs() { return no_new_privs = true, *this; }
  CliOptions& Umask(int m) { return umask = m, *this; }
  CliOptions& Nobody() { return as_nobody = true, *this; }
  CliOptions& Env(std::string e) { return env = std::move(e), *this; }
  CliOptions& Cwd(std::string d) { return cwd = std::move(d), *this; }
  CliOptions& OwnMountNs() { return own_mount_ns = true, *this; }
};

// Runs judge-sandbox with args, stdin /dev/null, and collects stdout and stderr.
Cli RunCli(const std::vector<std::string>& args, const CliOptions& o = {}) {
  Cli r;
  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) {
    ADD_FAILURE() << "pipe2";
    return r;
  }
  std::vector<std::string> argv_s = {JUDGE_SANDBOX_BIN};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  const std::string cgroup = Delegation::Get().NewChildCgroup();
  const std::string procs = cgroup.empty() ? "" : cgroup + "/cgroup.procs";
  pid_t pid = ::fork();
  if (pid == 0) {
    if (!procs.empty()) {
      int fd = ::open(procs.c_str(), O_WRONLY | O_CLOEXEC);
      if (fd < 0 || ::write(fd, "0", 1) != 1) ::_exit(126);
      ::close(fd);
    }
    if (o.own_mount_ns && ::unshare(CLONE_NEWNS) != 0) ::_exit(124);
    if (o.umask >= 0) ::umask(static_cast<mode_t>(o.umask));
    if (o.no_new_privs && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) ::_exit(120);
    if (o.no_sys_admin) {
      struct __user_cap_header_struct head = {_LINUX_CAPABILITY_VERSION_3, 0};
      struct __user_cap_data_struct caps[2] = {};
      if (::syscall(SYS_capget, &head, caps) != 0) ::_exit(121);
      caps[0].effective &= ~(1u << CAP_SYS_ADMIN);
      caps[0].permitted &= ~(1u << CAP_SYS_ADMIN);
      caps[0].inheritable &= ~(1u << CAP_SYS_ADMIN);
      if (::prctl(PR_CAPBSET_DROP, CAP_SYS_ADMIN) != 0 || ::syscall(SYS_capset, &head, caps) != 0)
        ::_exit(121);
    }
    if (!o.cwd.empty() && ::chdir(o.cwd.c_str()) != 0) ::_exit(123);
    if (!o.env.empty() && ::putenv(const_cast<char*>(o.env.c_str())) != 0) ::_exit(122);
    if (o.as_nobody &&
        (::setgroups(0, nullptr) != 0 || ::setgid(65534) != 0 || ::setuid(65534) != 0)) {
      ::_exit(125);
    }
    int null = ::open("/dev/null", O_RDONLY);
    ::dup2(null, 0);
    ::dup2(out[1], 1);
    ::dup2(err[1], 2);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(out[1]);
  ::close(err[1]);
  struct pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  std::string* bufs[2] = {&r.out, &r.err};
  int open_fds = 2;
  while (open_fds > 0) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buf[4096];
      ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        bufs[i]->append(buf, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  Delegation::Get().RemoveChildCgroup(cgroup);
  return r;
}

std::string Show(const Cli& c) {
  return "exit " + std::to_string(c.exit_code) + "\nstdout: " + c.out + "\nstderr: " + c.err;
}

// Lines of stderr that are not start-up warnings (which some kernels get).
std::vector<std::string> ErrorLines(const std::string& err) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < err.size()) {
    size_t nl = err.find('\n', start);
    std::string line = err.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
    if (line.rfind("judge-sandbox: warning: ", 0) != 0) out.push_back(line);
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  return out;
}

// A flat JSON object {"key":value,...} with string and number values, keys in order.
// Returns false on anything else.
bool ParseFlatJson(const std::string& text, std::vector<std::pair<std::string, std::string>>* out) {
  size_t i = 0;
  auto str = [&](std::string* s) {
    if (i >= text.size() || text[i] != '"') return false;
    for (++i; i < text.size() && text[i] != '"'; ++i) {
      if (text[i] == '\\') {
        if (++i >= text.size()) return false;
        char e = text[i];
        if (e == 'n') *s += '\n';
        else if (e == 't') *s += '\t';
        else if (e == 'u') {
          if (i + 4 >= text.size()) return false;
          *s += static_cast<char>(std::strtol(text.substr(i + 1, 4).c_str(), nullptr, 16));
          i += 4;
        } else *s += e;
      } else if (static_cast<unsigned char>(text[i]) < 0x20) {
        return false;
      } else {
        *s += text[i];
      }
    }
    if (i >= text.size()) return false;
    ++i;
    return true;
  };
  if (text.empty() || text[i++] != '{') return false;
  if (i < text.size() && text[i] == '}') return i + 1 == text.size();
  for (;;) {
    std::string key, value;
    if (!str(&key) || i >= text.size() || text[i++] != ':') return false;
    if (i < text.size() && text[i] == '"') {
      if (!str(&value)) return false;
    } else {
      size_t b = i;
      while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) ||
                                 text[i] == '-' || text[i] == '.' || text[i] == 'e' ||
                                 text[i] == 'E' || text[i] == '+'))
        ++i;
      if (b == i) return false;
      value = text.substr(b, i - b);
      char* end = nullptr;
      std::strtod(value.c_str(), &end);
      if (*end != '\0') return false;
    }
    out->emplace_back(key, value);
    if (i >= text.size()) return false;
    if (text[i] == ',') {
      ++i;
      continue;
    }
    if (text[i] == '}') return i + 1 == text.size();
    return false;
  }
}

const std::vector<std::string> kFields = {
    "status",         "exit_code",     "signal",           "signal_name",
    "syscall",        "cpu_time_ms",   "user_time_ms",     "system_time_ms",
    "wall_time_ms",   "memory_peak_bytes", "output_bytes", "message"};

// The result JSON: exactly one line holding one object with the documented fields in
// the documented order. Returns field -> value ("" map on failure, with a failure).
std::map<std::string, std::string> CheckResultJson(const std::string& text) {
  std::map<std::string, std::string> m;
  EXPECT_FALSE(text.empty());
  if (text.empty()) return m;
  EXPECT_EQ(text.back(), '\n') << text;
  EXPECT_EQ(text.find('\n'), text.size() - 1) << "one line: " << text;
  std::vector<std::pair<std::string, std::string>> kv;
  std::string line = text.substr(0, text.find('\n'));
  EXPECT_TRUE(ParseFlatJson(line, &kv)) << "not a flat JSON object: " << line;
  std::vector<std::string> keys;
  for (const auto& [k, v] : kv) keys.push_back(k);
  EXPECT_EQ(keys, kFields) << line;
  for (const auto& [k, v] : kv) m[k] = v;
  return m;
}

// ---------------------------------------------------------------- own failures

TEST(Cli, Help) {
  Cli c = RunCli({"--help"});
  EXPECT_EQ(c.exit_code, 0) << Show(c);
  EXPECT_HAS(c.out, "judge-sandbox run");
  EXPECT_EQ(c.err, "");
  c = RunCli({"run", "--help"});
  EXPECT_EQ(c.exit_code, 0) << Show(c);
  for (const char* opt : {"--cpu-time", "--memory", "--dir", "--result", "--seccomp"}) EXPECT_HAS(c.out, opt);
  EXPECT_EQ(c.err, "");
  c = RunCli({"run", "--memory", "64M", "-h", "--", "/bin/true"});
  EXPECT_EQ(c.exit_code, 0) << Show(c);
  EXPECT_HAS(c.out, "--cpu-time");
  c = RunCli({"serve", "--help"});
  EXPECT_EQ(c.exit_code, 0) << Show(c);
  for (const char* opt : {"--socket", "--warm", "--parallel", "JUDGE_SANDBOX_SERVER"})
    EXPECT_HAS(c.out, opt);
}

TEST(Cli, NoArgumentsIsUsageOnStderr) {
  Cli c = RunCli({});
  EXPECT_NE(c.exit_code, 0) << Show(c);
  EXPECT_EQ(c.out, "");
  EXPECT_HAS(c.err, "usage: judge-sandbox run");
}

// Each of these fails before anything runs: non-zero, nothing on stdout, one line on
// stderr that starts with the program's name and says what is wrong.
TEST(Cli, OwnFailuresAreOneLineOnStderr) {
  TempDir dir;
  std::string bad_profile =
      dir.Write("bad.textproto", "name: \"bad\"\nlimits {\n  pids: lots\n}\n");
  std::string bad_policy = dir.Write("bad-seccomp.textproto",
                                     "name: \"s\"\nrule { action: KILL syscall: \"no_such_call\" }\n");
  struct Case {
    std::vector<std::string> args;
    std::string says;
  } cases[] = {
      {{"run", "--bogus", "--", "/bin/true"}, "unknown option --bogus"},
      {{"run", "--memory"}, "--memory needs a value"},
      {{"run"}, "no program given"},
      {{"run", "--memory", "64M", "--"}, "no program given"},
      {{"run", "--network", "host", "--", "/bin/true"}, "--network takes none or loopback"},
      {{"run", "--dir", "nocolon", "--", "/bin/true"}, "--dir takes SRC:DST[:rw]"},
      {{"run", "--dir", "/tmp:relative", "--", "/bin/true"}, "--dir destination must be absolute"},
      {{"run", "--memory", "lots", "--", "/bin/true"}, "bad size 'lots'"},
      {{"run", "--cpu-time", "-1", "--", "/bin/true"}, "bad time '-1'"},
      {{"run", "--profile", "nosuch", "--", "/bin/true"}, "unknown sandbox profile 'nosuch'"},
      {{"run", "--profile", "/nonexistent/p.textproto", "--", "/bin/true"},
       "cannot read sandbox profile /nonexistent/p.textproto"},
      {{"run", "--profile", bad_profile, "--", "/bin/true"}, bad_profile + ":3: 'pids' takes an integer"},
      {{"run", "--seccomp", "nosuch", "--", "/bin/true"}, "unknown seccomp profile 'nosuch'"},
      {{"run", "--seccomp", bad_policy, "--", "/bin/true"},
       bad_policy + ":2: unknown system call 'no_such_call'"},
      {{"frobnicate"}, "unknown command 'frobnicate'"},
  };
  for (const auto& c : cases) {
    std::string cmd;
    for (const auto& a : c.args) cmd += " " + a;
    SCOPED_TRACE("judge-sandbox" + cmd);
    Cli r = RunCli(c.args);
    EXPECT_NE(r.exit_code, 0) << Show(r);
    EXPECT_NE(r.exit_code, -1) << "crashed: " << Show(r);
    EXPECT_EQ(r.out, "");
    ASSERT_FALSE(r.err.empty());
    EXPECT_EQ(r.err.back(), '\n');
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "one line: " << r.err;
    EXPECT_EQ(r.err.rfind("judge-sandbox: ", 0), 0u) << r.err;
    EXPECT_HAS(r.err, c.says);
  }
}

// ---------------------------------------------------------------- runs

TEST(Cli, EchoPrintsOneLineOfJson) {
  JUDGE_REQUIRE_SANDBOX();
  Cli c = RunCli({"run", "--", "/bin/echo", "hi"});
  ASSERT_EQ(c.exit_code, 0) << Show(c);
  EXPECT_TRUE(ErrorLines(c.err).empty()) << c.err;
  auto m = CheckResultJson(c.out);
  EXPECT_EQ(m["status"], "OK");
  EXPECT_EQ(m["exit_code"], "0");
  EXPECT_EQ(m["signal"], "0");
  EXPECT_EQ(m["signal_name"], "");
  EXPECT_EQ(m["syscall"], "");
  EXPECT_EQ(m["output_bytes"], "3") << "\"hi\\n\" is counted though discarded";
  EXPECT_EQ(m["message"], "");
  EXPECT_GT(std::atof(m["wall_time_ms"].c_str()), 0);
  EXPECT_GT(std::atoll(m["memory_peak_bytes"].c_str()), 0);
  EXPECT_GE(std::atof(m["cpu_time_ms"].c_str()), std::atof(m["user_time_ms"].c_str()));
}

TEST(Cli, NonZeroExitIsRuntimeErrorButTheCommandSucceeds) {
  JUDGE_REQUIRE_SANDBOX();
  Cli c = RunCli({"run", "--", "sh", "-c", "exit 3"});
  ASSERT_EQ(c.exit_code, 0) << Show(c);
  auto m = CheckResultJson(c.out);
  EXPECT_EQ(m["status"], "RE");
  EXPECT_EQ(m["exit_code"], "3");
}

TEST(Cli, SignalIsRuntimeErrorWithTheSignalName) {
  JUDGE_REQUIRE_SANDBOX();
  Cli c = RunCli({"run", "--", "/bin/sh", "-c", "kill -SEGV $$"});
  ASSERT_EQ(c.exit_code, 0) << Show(c);
  auto m = CheckResultJson(c.out);
  EXPECT_EQ(m["status"], "RE");
  EXPECT_EQ(m["signal"], "11");
  EXPECT_EQ(m["signal_name"], "SIGSEGV");
}

TEST(Cli, ResultFileGetsTheJsonAndStdoutStaysEmpty) {
  JUDGE_REQUIRE_SANDBOX();
  TempDir dir;
  std::string result = dir.path() + "/result.json";
  Cli c = RunCli({"run", "--result", result, "--", "/bin/echo", "hi"});
  ASSERT_EQ(c.exit_code, 0) << Show(c);
  EXPECT_EQ(c.out, "");
  auto m = CheckResultJson(ReadFileOrDie(result));
  EXPECT_EQ(m["status"], "OK");
  EXPECT_EQ(m["output_bytes"], "3");
}

TEST(Cli, UnwritableResultFileIsAnError) {
  JUDGE_REQUIRE_SANDBOX();
  Cli c = RunCli({"run", "--result", "/nonexistent/dir/result.json", "--", "/bin/true"});
  EXPECT_NE(c.exit_code, 0) << Show(c);
  EXPECT_EQ(c.out, "");
  auto lines = ErrorLines(c.err);
  ASSERT_EQ(lines.size(), 1u) << c.err;
  EXPECT_HAS(lines[0], "judge-sandbox: cannot write --result /nonexistent/dir/result.json");
}

TEST(Cli, StdoutAndStdinFiles) {
  JUDGE_REQUIRE_SANDBOX();
  TempDir dir;
  std::string out = dir.path() + "/out.txt";
  Cli c = RunCli({"run", "--stdout", out, "--", "/bin/echo", "hi"});
  ASSERT_EQ(c.exit_code, 0) << Show(c);
  EXPECT_EQ(ReadFileOrDie(out), "hi\n");
  EXPECT_EQ(CheckResultJson(c.out)["status"], "OK");

  std::string in = dir.Write("in.txt", "line 1\nline 2\n");
  std::string copy = dir.path() + "/copy.txt";
  std::string err = dir.path() + "/err.txt";
  c = RunCli({"run", "--stdin", in, "--stdout", copy, "--stderr", err, "--", "/bin/sh", "-c",
              "cat; echo oops >&2"});
  ASSERT_EQ(c.exit_code, 0) << Show(c);
  auto m = CheckResultJson(c.out);
  EXPECT_EQ(m["status"], "OK");
  EXPECT_EQ(m["output_bytes"], "19");
  EXPECT_EQ(ReadFileOrDie(copy), "line 1\nline 2\n");
  EXPECT_EQ(ReadFileOrDie(err), "oops\n");
}

TEST(Cli, OptionsReachTheRun) {
  JUDGE_REQUIRE_SANDBOX();
  TempDir dir;
  // The run's uid is not root on the host: the bind source is opened with its rights,
  // so the path must be searchable and the directory writable for it.
  ASSERT_EQ(::chmod(dir.path().c_str(), 0755), 0);
  std::string shared = dir.path() + "/shared";
  ASSERT_EQ(::mkdir(shared.c_str(), 0777), 0);
  ASSERT_EQ(::chmod(shared.c_str(), 0777), 0);
  Cli c = RunCli({"run", "--env", "GREETING=hello there", "--dir", shared + ":/data:rw", "--chdir",
                  "/data", "--seccomp", "none", "--", "/bin/sh", "-c",
                  "echo \"$GREETING\" \"$(pwd)\" > note"});
  ASSERT_EQ(c.exit_code, 0) << Show(c);
  EXPECT_EQ(CheckResultJson(c.out)["status"], "OK") << c.out;
  EXPECT_EQ(ReadFileOrDie(shared + "/note"), "hello there /data\n");
}

TEST(Cli, MissingProgramFailsWithAClearLine) {
  JUDGE_REQUIRE_SANDBOX();
  Cli c = RunCli({"run", "--", "/nonexistent/prog"});
  EXPECT_NE(c.exit_code, 0) << Show(c);
  EXPECT_NE(c.exit_code, -1) << Show(c);
  auto lines = ErrorLines(c.err);
  ASSERT_EQ(lines.size(), 1u) << c.err;
  EXPECT_EQ(lines[0].rfind("judge-sandbox: ", 0), 0u) << lines[0];
  EXPECT_HAS(lines[0], "/nonexistent/prog");
  if (!c.out.empty()) {
    EXPECT_EQ(CheckResultJson(c.out)["status"], "SE");
  }
}

TEST(Cli, WithoutRootItSaysSoInOneLine) {
  JUDGE_REQUIRE_SANDBOX();
  Cli c = RunCli({"run", "--", "/bin/true"}, CliOptions().Nobody());
  EXPECT_NE(c.exit_code, 0) << Show(c);
  EXPECT_EQ(c.out, "") << Show(c);
  std::vector<std::string> lines = ErrorLines(c.err);
  ASSERT_EQ(lines.size(), 1u) << Show(c);
  EXPECT_HAS(lines[0], "judge-sandbox: ");
  EXPECT_HAS(lines[0], "root");
}

// Pids of host processes that run as a sandbox uid and whose command line has token.
std::vector<int> RunPids(const std::string& token) {
  std::vector<int> out;
  for (int pid : HostPidsMatching(token)) {
    struct stat st;
    if (::stat(("/proc/" + std::to_string(pid)).c_str(), &st) == 0 && st.st_uid >= 2000000000u) {
      out.push_back(pid);
    }
  }
  return out;
}

// Polls cond every millisecond until it holds or `seconds` pass.
template <typename F>
bool WaitFor(F cond, double seconds) {
  for (int i = 0; i < seconds * 1000; ++i) {
    if (cond()) return true;
    ::usleep(1000);
  }
  return cond();
}

// kill -9 of judge-sandbox mid-run: the container dies with it (its init has
// PDEATHSIG), and the run's cgroup, which nobody could remove, is removed by the next
// judge-sandbox that starts (its slot is no longer locked).
TEST(Cli, CrashLeavesNothingThatTheNextStartDoesNotRemove) {
  JUDGE_REQUIRE_SANDBOX();
  const std::string token = "crash-token-" + std::to_string(::getpid());
  const std::string cgroup = Delegation::Get().NewChildCgroup();
  // The orphaned container init is reparented to this process, which can then wait
  // for it to be completely gone.
  ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
  // Hold the lowest free slot, so that the crashed run has a higher one and the next
  // start takes this one: the crashed run's cgroup must then go by the start-up sweep,
  // not by its slot being reused.
  int lock = ::open("/run/judge-sandbox.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  ASSERT_GE(lock, 0);
  for (int slot = 0; slot < 4096; ++slot) {
    struct flock fl {};
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    fl.l_start = slot;
    fl.l_len = 1;
    if (::fcntl(lock, F_OFD_SETLK, &fl) == 0) break;
  }
  pid_t cli = ::fork();
  if (cli == 0) {
    if (!cgroup.empty()) {
      int fd = ::open((cgroup + "/cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC);
      if (fd < 0 || ::write(fd, "0", 1) != 1) ::_exit(126);
    }
    int null = ::open("/dev/null", O_RDWR);
    ::dup2(null, 0);
    ::dup2(null, 1);
    ::dup2(null, 2);
    ::execl(JUDGE_SANDBOX_BIN, JUDGE_SANDBOX_BIN, "run", "--cpu-time", "60", "--", "/bin/sh", "-c",
            ("sleep 1000; : " + token).c_str(), nullptr);
    ::_exit(127);
  }
  ASSERT_GT(cli, 0);
  // Whatever fails below, judge-sandbox (and with it the run) does not outlive the test.
  struct KillCli {
    pid_t pid;
    ~KillCli() {
      if (pid > 0 && ::kill(pid, SIGKILL) == 0) ::waitpid(pid, nullptr, 0);
    }
  } kill_cli{cli};
  // The program: the shell (for a moment the container's init, before it blanks its
  // copy of judge-sandbox's command line, matches the token too).
  auto program = [&] {
    for (int pid : RunPids(token)) {
      auto cmdline = ReadFile("/proc/" + std::to_string(pid) + "/cmdline");
      if (cmdline.ok() && cmdline->rfind("/bin/sh", 0) == 0) return pid;
    }
    return 0;
  };
  ASSERT_TRUE(WaitFor([&] { return program() > 0; }, 20)) << "the run never started";
  // The run's cgroup (v1: memory hierarchy path from /proc/PID/cgroup).
  const int victim = program();
  int init = 0;  // the container's init: the parent of the program
  std::istringstream status_lines(ReadFileOrDie("/proc/" + std::to_string(victim) + "/status"));
  for (std::string line; std::getline(status_lines, line);) {
    if (line.rfind("PPid:", 0) == 0) init = std::atoi(line.c_str() + 5);
  }
  ASSERT_GT(init, 0);
  std::string run_cgroup;
  std::istringstream lines(ReadFileOrDie("/proc/" + std::to_string(victim) + "/cgroup"));
  for (std::string line; std::getline(lines, line);) {
    if (line.find(":memory:") != std::string::npos) run_cgroup = "/sys/fs/cgroup/memory" + line.substr(line.find(":memory:") + 8);
  }

  ASSERT_EQ(::kill(cli, SIGKILL), 0);
  int status;
  ASSERT_EQ(::waitpid(cli, &status, 0), cli);
  kill_cli.pid = -1;  // reaped: its pid may be anyone's now
  // The init is this process's child now; when it is reaped, its pid namespace is empty.
  EXPECT_EQ(::waitpid(init, &status, 0), init) << "the container's init outlived judge-sandbox";
  EXPECT_TRUE(RunPids(token).empty()) << "the container outlived judge-sandbox";
  ::prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);

  if (!run_cgroup.empty()) {  // cgroup v1: the next start removes the stale cgroup
    struct stat before;
    const bool existed = ::stat(run_cgroup.c_str(), &before) == 0;
    ::close(lock);
    lock = -1;
    Cli next = RunCli({"run", "--", "/bin/true"});
    EXPECT_EQ(next.exit_code, 0) << Show(next);
    // Gone, or made anew by a concurrent run that took the same slot. (Such a run may
    // hold the slot's lock, which makes the sweep leave the cgroup to it, before it has
    // replaced the cgroup: hence the wait.)
    EXPECT_TRUE(WaitFor(
        [&] {
          struct stat after;
          return !existed || ::stat(run_cgroup.c_str(), &after) != 0 ||
                 after.st_ino != before.st_ino;
        },
        10))
        << run_cgroup << " survived the next start";
  }
  if (lock >= 0) ::close(lock);
  Delegation::Get().RemoveChildCgroup(cgroup);
}

// ---------------------------------------------------------------- judge-sandbox serve

bool PathExists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

// A SOCK_SEQPACKET socket connected to (or, with `bind`, bound at) a unix socket path;
// -1 on failure.
int UnixSocket(const std::string& path, bool bind = false) {
  int s = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  struct sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), std::min(path.size(), sizeof addr.sun_path - 1));
  auto* a = reinterpret_cast<sockaddr*>(&addr);
  if (s >= 0 && (bind ? ::bind(s, a, sizeof addr) : ::connect(s, a, sizeof addr)) != 0) {
    ::close(s);
    return -1;
  }
  return s;
}

// Is there a process whose command line (arguments NUL-separated) is `cmdline`?
bool ProcessRuns(const std::string& cmdline) {
  DIR* proc = ::opendir("/proc");
  if (!proc) return false;
  bool found = false;
  while (struct dirent* e = ::readdir(proc)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    auto text = ReadFile(std::string("/proc/") + e->d_name + "/cmdline");
    if (text.ok() && *text == cmdline) found = true;
  }
  ::closedir(proc);
  return found;
}

// Is `/bin/sleep SECONDS` running (a run's program, seen from the host)?
bool Sleeping(const std::string& seconds) {
  return ProcessRuns(std::string("/bin/sleep\0", 11) + seconds + std::string("\0", 1));
}

// `judge-sandbox serve` on a socket in a temp dir, up (its "serving on" line read)
// once constructed; Stop() ends it with SIGTERM and returns what it said.
class Served {
 public:
  explicit Served(const std::string& socket, const std::vector<std::string>& extra = {})
      : socket_(socket), cgroup_(Delegation::Get().NewChildCgroup()) {
    int err[2];
    if (::pipe2(err, O_CLOEXEC) != 0) {
      ADD_FAILURE() << "pipe2";
      return;
    }
    std::vector<std::string> argv_s = {JUDGE_SANDBOX_BIN, "serve", "--socket",   socket,
                                       "--warm",          "2",     "--parallel", "4"};
    argv_s.insert(argv_s.end(), extra.begin(), extra.end());
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    const std::string procs = cgroup_.empty() ? "" : cgroup_ + "/cgroup.procs";
    pid_ = ::fork();
    if (pid_ == 0) {
      if (!procs.empty()) {
        int fd = ::open(procs.c_str(), O_WRONLY | O_CLOEXEC);
        if (fd < 0 || ::write(fd, "0", 1) != 1) ::_exit(126);
      }
      int null = ::open("/dev/null", O_RDWR);
      ::dup2(null, 0);
      ::dup2(null, 1);
      ::dup2(err[1], 2);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(err[1]);
    err_ = err[0];
    // Up when it says so; an early exit (EOF) is a server that did not start.
    while (said_.find("judge-sandbox: serving on ") == std::string::npos && ReadSome(30000)) {
    }
  }
  ~Served() { Stop(); }

  bool up() const { return said_.find("judge-sandbox: serving on ") != std::string::npos; }
  std::string env() const { return std::string("JUDGE_SANDBOX_SERVER=") + socket_; }

  // SIGTERM, then everything it said; its exit code in *code.
  std::string Stop(int* code = nullptr) {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      while (ReadSome(30000)) {
      }
      int status = 0;
      while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
      }
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      pid_ = -1;
      Delegation::Get().RemoveChildCgroup(cgroup_);
    }
    if (err_ >= 0) {
      ::close(err_);
      err_ = -1;
    }
    if (code) *code = exit_code_;
    return said_;
  }

 private:
  // Reads what is there within `ms`; false at EOF or timeout.
  bool ReadSome(int ms) {
    struct pollfd p = {err_, POLLIN, 0};
    if (err_ < 0 || ::poll(&p, 1, ms) <= 0) return false;
    char buf[4096];
    const ssize_t n = ::read(err_, buf, sizeof buf);
    if (n <= 0) return false;
    said_.append(buf, static_cast<size_t>(n));
    return true;
  }

  std::string socket_, cgroup_, said_;
  pid_t pid_ = -1;
  int err_ = -1;
  int exit_code_ = -1;
};

// The served command prints and returns what the command would, its relative paths are
// its own working directory's, and the server ran it (its count at the end).
TEST(Served, RunsTheCommandAsTheCommandWouldWithItsRelativePaths) {
  JUDGE_REQUIRE_SANDBOX();
  TempDir dir;
  Served server(dir.path() + "/judge.sock");
  ASSERT_TRUE(server.up()) << server.Stop();
  const CliOptions served = CliOptions().Env(server.env()).Cwd(dir.path());

  Cli c = RunCli({"run", "--", "/bin/sh", "-c", "exit 3"}, served);
  EXPECT_EQ(c.exit_code, 0) << Show(c);
  EXPECT_EQ(c.err, "");
  auto m = CheckResultJson(c.out);
  EXPECT_EQ(m["status"], "RE");
  EXPECT_EQ(m["exit_code"], "3");

  dir.Write("in.txt", "served input\n");
  c = RunCli({"run", "--stdin", "in.txt", "--stdout", "out.txt", "--result", "result.json",
              "--trace", "--", "/bin/cat"},
             served);
  EXPECT_EQ(c.exit_code, 0) << Show(c);
  EXPECT_EQ(c.out, "");
  EXPECT_HAS(c.err, "{\"trace_ms\":{");
  EXPECT_EQ(ReadFileOrDie(dir.path() + "/out.txt"), "served input\n");
  EXPECT_EQ(CheckResultJson(ReadFileOrDie(dir.path() + "/result.json"))["status"], "OK");
  // Paths that name the command's own fds are the command's (it opens its files).
  c = RunCli(
      {"run", "--result", "/proc/self/fd/1", "--stdin", "/proc/self/fd/0", "--", "/bin/true"},
      served);
  EXPECT_EQ(c.exit_code, 0) << Show(c);
  EXPECT_EQ(CheckResultJson(c.out)["status"], "OK");
  // A FIFO waits for its writer in the command, as it would without a server.
  ASSERT_EQ(::mkfifo((dir.path() + "/fifo").c_str(), 0600), 0);
  std::thread writer([&] {
    int fd = ::open((dir.path() + "/fifo").c_str(), O_WRONLY | O_CLOEXEC);
    EXPECT_GE(fd, 0);
    EXPECT_EQ(::write(fd, "through a fifo\n", 15), 15);
    ::close(fd);
  });
  c = RunCli({"run", "--stdin", "fifo", "--stdout", "out.txt", "--", "/bin/cat"}, served);
  writer.join();
  EXPECT_EQ(c.exit_code, 0) << Show(c);
  EXPECT_EQ(ReadFileOrDie(dir.path() + "/out.txt"), "through a fifo\n");
  // A FIFO as --stdout would hold a serving thread while nobody reads: the command
  // writes it itself.
  ASSERT_EQ(::mkfifo((dir.path() + "/out-fifo").c_str(), 0600), 0);
  std::string through_fifo;
  std::thread reader([&] { through_fifo = ReadFileOrDie(dir.path() + "/out-fifo"); });
  c = RunCli({"run", "--stdout", "out-fifo", "--", "/bin/echo", "to a fifo"}, served);
  reader.join();
  EXPECT_EQ(c.exit_code, 0) << Show(c);
  EXPECT_HAS(c.err, "(--stdout is not a regular file or a device: the command writes it itself)");
  EXPECT_EQ(through_fifo, "to a fifo\n");
  // A bad policy fails before any stream file is touched, with the command's own message.
  dir.Write("keep.txt", "kept\n");
  const std::string bad_policy = dir.Write("bad.textproto", "default_action: NOT_AN_ACTION\n");
  c = RunCli({"run", "--seccomp", "bad.textproto", "--stdout", "keep.txt", "--", "/bin/true"},
             served);
  Cli alone = RunCli({"run", "--seccomp", bad_policy, "--stdout", "keep.txt", "--", "/bin/true"},
                     CliOptions().Cwd(dir.path()));
  EXPECT_EQ(c.exit_code, 2) << Show(c);
  EXPECT_EQ(alone.exit_code, 2) << Show(alone);
  EXPECT_EQ(ErrorLines(c.err).size(), 1u) << c.err;
  EXPECT_EQ(ReadFileOrDie(dir.path() + "/keep.txt"), "kept\n");
  // Files it creates get its umask, as without a server.
  c = RunCli({"run", "--stdout", "private.txt", "--", "/bin/echo", "x"},
             CliOptions(served).Umask(077));
  EXPECT_EQ(c.exit_code, 0) << Show(c);
  struct stat st;
  ASSERT_EQ(::stat((dir.path() + "/private.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  // Its own failures are the command's: exit 2 and one line, the same as without a server.
  c = RunCli({"run", "--memory", "lots", "--", "/bin/true"}, served);
  Cli here = RunCli({"run", "--memory", "lots", "--", "/bin/true"});
  EXPECT_EQ(c.exit_code, 2) << Show(c);
  EXPECT_EQ(c.err, here.err);
  EXPECT_EQ(c.out, "");

  int code = -1;
  const std::string said = server.Stop(&code);
  EXPECT_EQ(code, 0) << said;
  EXPECT_HAS(said, "judge-sandbox: served 5 runs\n");
  EXPECT_FALSE(PathExists(dir.path() + "/judge.sock")) << "the socket stays after the server";
}

// Without a server, or from another mount namespace, the command runs its container
// itself, after a warning that says why.
TEST(Served, WithoutTheServerOrFromAnotherMountNamespaceTheCommandRunsItself) {
  JUDGE_REQUIRE_SANDBOX();
  TempDir dir;
  Cli c = RunCli({"run", "--", "/bin/true"},
                 CliOptions().Env("JUDGE_SANDBOX_SERVER=" + dir.path() + "/none.sock"));
  EXPECT_EQ(c.exit_code, 0) << Show(c);
  EXPECT_EQ(CheckResultJson(c.out)["status"], "OK");
  EXPECT_HAS(c.err,
             "judge-sandbox: warning: not run by the server at " + dir.path() + "/none.sock (");
  EXPECT_HAS(c.err, "running it here\n");

  // The directory lets anyone in: only the socket's mode keeps another user out.
  ASSERT_EQ(::chmod(dir.path().c_str(), 0755), 0);
  Served server(dir.path() + "/judge.sock");
  ASSERT_TRUE(server.up()) << server.Stop();
  c = RunCli({"run", "--", "/bin/true"}, CliOptions().Env(server.env()).OwnMountNs());
  EXPECT_EQ(c.exit_code, 0) << Show(c);
  EXPECT_EQ(CheckResultJson(c.out)["status"], "OK");
  EXPECT_HAS(c.err, "(the command's mount namespace is not the server's): running it here");
  // Root without the server's capabilities is not served (it would get them through it).
  c = RunCli({"run", "--", "/bin/true"}, CliOptions().Env(server.env()).NoSysAdmin());
  EXPECT_HAS(c.err, "(the command lacks capabilities the server has): running it here");
  c = RunCli({"run", "--", "/bin/true"}, CliOptions().Env(server.env()).NoNewPrivs());
  EXPECT_HAS(c.err, "(the command has no_new_privs and the server has not): running it here");
  // Another user cannot reach the socket (0600); the command says so and fails on its own.
  c = RunCli({"run", "--", "/bin/true"}, CliOptions().Nobody().Env(server.env()));
  EXPECT_EQ(c.exit_code, 1) << Show(c);
  EXPECT_HAS(c.err, "Permission denied");
  EXPECT_HAS(server.Stop(), "served 0 runs");
}

// A command killed mid-run (^C) ends its run in the server at once; the server goes on.
TEST(Served, ACommandThatGoesEndsItsRun) {
  JUDGE_REQUIRE_SANDBOX();
  TempDir dir;
  Served server(dir.path() + "/judge.sock");
  ASSERT_TRUE(server.up()) << server.Stop();
  const std::string seconds = "40.0" + std::to_string(::getpid() % 1000);
  auto sleeping = [&] { return Sleeping(seconds); };
  std::string env = server.env();
  pid_t pid = ::fork();
  if (pid == 0) {
    ::putenv(env.data());
    int null = ::open("/dev/null", O_RDWR);
    for (int fd = 0; fd < 3; ++fd) ::dup2(null, fd);
    ::execl(JUDGE_SANDBOX_BIN, JUDGE_SANDBOX_BIN, "run", "--wall-time", "60", "--cpu-time", "60",
            "--", "/bin/sleep", seconds.c_str(), nullptr);
    ::_exit(127);
  }
  auto end_command = [pid] {
    ::kill(pid, SIGKILL);
    int status;
    return ::waitpid(pid, &status, 0) == pid;
  };
  if (!WaitFor(sleeping, 30)) {
    end_command();
    FAIL() << "the served run did not start";
  }
  EXPECT_TRUE(end_command());
  EXPECT_TRUE(WaitFor([&] { return !sleeping(); }, 10)) << "the run outlived its command";
  Cli c = RunCli({"run", "--", "/bin/true"}, CliOptions().Env(server.env()));
  EXPECT_EQ(c.exit_code, 0) << Show(c);
  EXPECT_EQ(c.err, "");
  EXPECT_HAS(server.Stop(), "served 2 runs");
}

// Malformed requests get a one-line error (exit 2); the server goes on serving.
TEST(Served, BadRequestsGetAnErrorAndTheServerGoesOn) {
  JUDGE_REQUIRE_SANDBOX();
  TempDir dir;
  const std::string path = dir.path() + "/judge.sock";
  Served server(path);
  ASSERT_TRUE(server.up()) << server.Stop();
  // One request (with one fd, an open file, if `with_fd`), the reply's exit code and text.
  TempDir files;
  const std::string out_path = files.Write("out.txt", "");
  auto ask = [&](const std::string& request, bool with_fd, std::string* text) {
    const int sock = UnixSocket(path);
    if (sock < 0) return -100;
    int fd = ::open(out_path.c_str(), O_WRONLY | O_CLOEXEC);
    struct iovec iov = {const_cast<char*>(request.data()), request.size()};
    union {
      char buf[CMSG_SPACE(sizeof(int))];
      struct cmsghdr align;
    } control = {};
    struct msghdr msg = {};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    if (with_fd) {
      msg.msg_control = control.buf;
      msg.msg_controllen = sizeof control.buf;
      struct cmsghdr* cm = CMSG_FIRSTHDR(&msg);
      cm->cmsg_level = SOL_SOCKET;
      cm->cmsg_type = SCM_RIGHTS;
      cm->cmsg_len = CMSG_LEN(sizeof(int));
      std::memcpy(CMSG_DATA(cm), &fd, sizeof fd);
    }
    EXPECT_EQ(::sendmsg(sock, &msg, 0), static_cast<ssize_t>(request.size()));
    char reply[4096];
    const ssize_t n = ::recv(sock, reply, sizeof reply, 0);
    ::close(fd);
    ::close(sock);
    if (n < 24 || std::memcmp(reply, "JSBRES1", 8) != 0) return -101;
    int32_t refused, code;
    std::memcpy(&refused, reply + 8, 4);
    std::memcpy(&code, reply + 12, 4);
    *text = std::string(reply + 24, static_cast<size_t>(n) - 24);
    return refused ? -102 : code;
  };
  const std::string none("JSBRUN1\0\0\0\0\0", 12), stdout_fd("JSBRUN1\0\2\0\0\0", 12);
  const std::string run_true("--\0/bin/true\0", 13);
  std::string text;
  EXPECT_EQ(ask("hello", false, &text), 2);
  EXPECT_EQ(text,
            "judge-sandbox: bad request from the command: not a judge-sandbox run request of this "
            "version\n");
  EXPECT_EQ(ask(none + run_true, true, &text), 2);  // an fd it does not name
  EXPECT_HAS(text, "its fds are not the streams it names");
  EXPECT_EQ(ask(stdout_fd + run_true, true, &text), 2);  // no --stdout for the fd
  EXPECT_HAS(text, "its fds are not the streams it names");
  EXPECT_EQ(ask(none + std::string("--stdout=x\0", 11) + run_true, false, &text),
            2);  // the path, no fd
  EXPECT_HAS(text, "its fds are not the streams it names");
  EXPECT_EQ(ask(none + std::string("--\0/bin/true", 12), false, &text), 2);
  EXPECT_HAS(text, "does not end");
  EXPECT_EQ(ask(none + std::string("--bogus\0", 8), false, &text), 2);
  EXPECT_EQ(text, "judge-sandbox: unknown option --bogus (see judge-sandbox run --help)\n");
  // The server writes no --result and reads no file by a relative path.
  EXPECT_EQ(ask(none + std::string("--result=r.json\0", 16) + run_true, false, &text), 2);
  EXPECT_HAS(text, "--result is the command's to write");
  EXPECT_EQ(ask(none + std::string("--profile=my.textproto\0", 23) + run_true, false, &text), 2);
  EXPECT_HAS(text, "--profile my.textproto is not an absolute path");
  EXPECT_EQ(ask(none + std::string("--profile\0my.textproto\0", 23) + run_true, false, &text), 2);
  EXPECT_HAS(text, "--profile my.textproto is not an absolute path");
  // Nor its own fds, devices or FIFOs, nor the server's files through /proc.
  EXPECT_EQ(ask(none + std::string("--profile=/dev/stdin\0", 21) + run_true, false, &text), 2);
  EXPECT_HAS(text, "is under /proc or /dev");
  EXPECT_EQ(ask(none + std::string("--seccomp=/proc/self/environ\0", 29) + run_true, false, &text),
            2);
  EXPECT_HAS(text, "is under /proc or /dev");
  EXPECT_EQ(ask(none + std::string("--dir=/proc/self/cwd:/x\0", 24) + run_true, false, &text), 2);
  EXPECT_HAS(text, "--dir /proc/self/cwd:/x is under /proc");
  // A well-formed request: --stdout as the fd.
  EXPECT_EQ(
      ask(stdout_fd + std::string("--stdout=out.txt\0--\0/bin/echo\0served\0", 37), true, &text), 0)
      << text;
  EXPECT_EQ(ReadFileOrDie(out_path), "served\n");
  // A peer that connects and says nothing, and one that hangs up at once.
  const int silent = UnixSocket(path);
  EXPECT_GE(silent, 0);
  const int gone = UnixSocket(path);
  EXPECT_GE(gone, 0);
  ::close(gone);
  Cli c = RunCli({"run", "--", "/bin/true"}, CliOptions().Env(server.env()));
  EXPECT_EQ(c.exit_code, 0) << Show(c);
  EXPECT_EQ(CheckResultJson(c.out)["status"], "OK");
  ::close(silent);
  EXPECT_HAS(server.Stop(), "served 2 runs");
}

// A socket nobody listens on (a server that was killed) is replaced; a live server's
// socket and any other file are not.
TEST(Served, AStaleSocketIsReplacedALiveOneIsNot) {
  JUDGE_REQUIRE_SANDBOX();
  TempDir dir;
  const std::string path = dir.path() + "/judge.sock";
  const int stale = UnixSocket(path, /*bind=*/true);
  ASSERT_GE(stale, 0);
  ::close(stale);
  Served server(path);
  ASSERT_TRUE(server.up()) << server.Stop();
  int code = -1;
  Served second(path);
  EXPECT_FALSE(second.up());
  EXPECT_HAS(second.Stop(&code), "judge-sandbox: a server is already serving on " + path);
  EXPECT_EQ(code, 1);
  dir.Write("file", "");
  Served on_a_file(dir.path() + "/file");
  EXPECT_HAS(on_a_file.Stop(&code), "exists and is not a socket");
  EXPECT_EQ(code, 1);
  Cli c = RunCli({"run", "--", "/bin/true"}, CliOptions().Env(server.env()));
  EXPECT_EQ(c.exit_code, 0) << Show(c);
  EXPECT_EQ(c.err, "");
  EXPECT_HAS(server.Stop(&code), "served 1 runs");
  EXPECT_EQ(code, 0);
}

// A command trusts only a server of root's (or of its own uid's): a socket another
// user listens on gets no run and no file of the command's.
TEST(Served, ASocketOfAnotherUserIsNotTrusted) {
  JUDGE_REQUIRE_SANDBOX();
  TempDir dir;
  ASSERT_EQ(::chmod(dir.path().c_str(), 0777), 0);
  const std::string path = dir.path() + "/other.sock";
  int up[2], done[2];
  ASSERT_EQ(::pipe2(up, O_CLOEXEC), 0);
  ASSERT_EQ(::pipe2(done, O_CLOEXEC), 0);
  const pid_t pid = ::fork();
  if (pid == 0) {  // listens as nobody (connections wait in its backlog), until told
    ::close(done[1]);
    if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(1);
    const int s = UnixSocket(path, /*bind=*/true);
    if (s < 0 || ::listen(s, 4) != 0 || ::chmod(path.c_str(), 0777) != 0) ::_exit(1);
    (void)!::write(up[1], "x", 1);
    char c;
    (void)!::read(done[0], &c, 1);
    ::_exit(0);
  }
  ::close(up[1]);
  ::close(done[0]);
  char c;
  const bool listening = ::read(up[0], &c, 1) == 1;
  dir.Write("in.txt", "secret\n");
  Cli cli;
  if (listening) {
    cli = RunCli({"run", "--stdin", "in.txt", "--", "/bin/cat"},
                 CliOptions().Env("JUDGE_SANDBOX_SERVER=" + path).Cwd(dir.path()));
  }
  ::close(done[1]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ::close(up[0]);
  ASSERT_TRUE(listening) << "the other user's listener did not start";
  EXPECT_EQ(cli.exit_code, 0) << Show(cli);
  EXPECT_EQ(CheckResultJson(cli.out)["status"], "OK");
  EXPECT_HAS(cli.err, "(it runs as uid 65534): running it here");
}

// A server told to stop ends the runs it serves (SE, "cancelled") and answers them;
// two commands at once from different directories each get their own files.
TEST(Served, ConcurrentCommandsAndAStopWhileTheyRun) {
  JUDGE_REQUIRE_SANDBOX();
  TempDir dir, a, b;
  Served server(dir.path() + "/judge.sock");
  ASSERT_TRUE(server.up()) << server.Stop();
  Cli in_a, in_b;
  std::thread ta([&] {
    in_a = RunCli({"run", "--stdout", "out.txt", "--", "/bin/echo", "from a"},
                  CliOptions().Env(server.env()).Cwd(a.path()));
  });
  std::thread tb([&] {
    in_b = RunCli({"run", "--stdout", "out.txt", "--", "/bin/echo", "from b"},
                  CliOptions().Env(server.env()).Cwd(b.path()));
  });
  ta.join();
  tb.join();
  EXPECT_EQ(in_a.exit_code, 0) << Show(in_a);
  EXPECT_EQ(in_b.exit_code, 0) << Show(in_b);
  EXPECT_EQ(ReadFileOrDie(a.path() + "/out.txt"), "from a\n");
  EXPECT_EQ(ReadFileOrDie(b.path() + "/out.txt"), "from b\n");

  const std::string seconds = "41.0" + std::to_string(::getpid() % 1000);
  auto sleeping = [&] { return Sleeping(seconds); };
  Cli long_run;
  std::thread t([&] {
    long_run = RunCli({"run", "--wall-time", "60", "--cpu-time", "60", "--", "/bin/sleep", seconds},
                      CliOptions().Env(server.env()));
  });
  const bool started = WaitFor(sleeping, 30);
  int code = -1;
  const std::string said = server.Stop(&code);
  t.join();
  ASSERT_TRUE(started) << said;
  EXPECT_EQ(code, 0) << said;
  EXPECT_HAS(said, "served 3 runs");
  EXPECT_EQ(long_run.exit_code, 1) << Show(long_run);
  auto m = CheckResultJson(long_run.out);
  EXPECT_EQ(m["status"], "SE");
  EXPECT_EQ(m["message"], "cancelled");
  EXPECT_FALSE(sleeping());
}

// Occurrences of `part` in `text`.
int Count(const std::string& text, const std::string& part) {
  int n = 0;
  for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

TEST(CliBench, ComparesTheEngineWithTheFloorAndWritesJson) {
  JUDGE_REQUIRE_SANDBOX();
  TempDir dir;
  const std::string json = dir.path() + "/bench.json";
  Cli c = RunCli({"bench", "--runs", "4", "--parallel", "2", "--runtimes",
                  "fork-exec,ns-floor,judge,judge-cold,judge-cli,judge-served", "--json", json});
  ASSERT_EQ(c.exit_code, 0) << Show(c);
  for (const char* row : {"fork-exec    seq", "ns-floor     seq", "judge        seq",
                          "judge-cold   seq", "judge-cli    seq", "judge-served seq",
                          "judge        x2", "ns-floor     x2", "judge-served x2"}) {
    EXPECT_HAS(c.out, row);
  }
  EXPECT_HAS(c.out, " x floor x ns-floor\n");
  // Made on demand, a container goes through every phase; a warm one is taken ready.
  EXPECT_HAS(c.out, "judge-cold (in-process), median per phase (ms): {\"slot\":");
  EXPECT_HAS(c.out, "judge (in-process), median per phase (ms): {");
  EXPECT_HAS(c.out, "\"take\":");
  const std::string j = ReadFileOrDie(json);
  // Six runtimes, sequential and parallel, every run counted and none failed.
  EXPECT_EQ(Count(j, "\"runtime\":"), 12) << j;
  EXPECT_EQ(Count(j, "\"runs\":4,\"failures\":0"), 12) << j;
  EXPECT_EQ(Count(j, "\"mode\":\"parallel\",\"streams\":2"), 6) << j;
  EXPECT_EQ(Count(j, "\"median_vs_ns_floor\":"), 12) << j;
  EXPECT_HAS(j, "\"command\":[\"/bin/true\"]");
  EXPECT_HAS(j, "\"trace_median_ms\":{\"judge\":{");
  EXPECT_HAS(j, "\"judge-cold\":{\"slot\":");
  // Each floor's rows against themselves (another runtime's ratio may round to 1 too).
  size_t rows = 0;
  for (size_t at = j.find("{\"runtime\":"); at != std::string::npos;
       at = j.find("{\"runtime\":", at + 1)) {
    const std::string row = j.substr(at, j.find('}', at) - at + 1);
    if (row.find("\"runtime\":\"fork-exec\"") != std::string::npos) {
      EXPECT_HAS(row, "\"median_vs_floor\":1,");
      ++rows;
    }
    if (row.find("\"runtime\":\"ns-floor\"") != std::string::npos) {
      EXPECT_HAS(row, "\"median_vs_ns_floor\":1}");
      ++rows;
    }
  }
  EXPECT_EQ(rows, 4u) << j;
}

// The namespace floor is a container, not a fork: the program is PID 1 of its own pid
// namespace, root of its own user namespace, in a root of its own (no /etc), with its
// own /proc, network (loopback only) and a read-only /usr. Each check fails the run,
// and a failed runtime is skipped with a note.
TEST(CliBench, TheNamespaceFloorRunsTheProgramIsolated) {
  JUDGE_REQUIRE_SANDBOX();
  char host_net[64] = {};
  ASSERT_GT(::readlink("/proc/self/ns/net", host_net, sizeof host_net - 1), 0);
  const std::string checks =
      "[ $$ = 1 ] && [ \"$(id -u)\" = 0 ] && [ ! -e /etc/passwd ] && [ -e /proc/self/stat ] && "
      "[ \"$(grep -c : /proc/net/dev)\" = 1 ] && ! touch /usr/judge-floor-test 2>/dev/null && "
      "[ \"$(stat -c %a /tmp)\" = 1777 ] && ! for n in 3 4 5 6 7 8 9; do [ -e /proc/$$/fd/$n ] && "
      "break; done && "
      "[ \"$(readlink /proc/self/ns/net)\" != \"" +
      std::string(host_net) + "\" ]";
  Cli c = RunCli({"bench", "--runs", "3", "--parallel", "2", "--runtimes", "ns-floor", "--",
                  "/bin/sh", "-c", checks});
  ASSERT_EQ(c.exit_code, 0) << Show(c);
  EXPECT_HAS(c.out, "ns-floor     seq");
  EXPECT_HAS(c.out, "ns-floor     x2");
  EXPECT_EQ(Count(c.out, "note:"), 0) << c.out;
  // The same checks fail on the host (the floor's rows above are not vacuous).
  Cli host = RunCli({"bench", "--runs", "1", "--parallel", "0", "--runtimes", "fork-exec", "--",
                     "/bin/sh", "-c", checks});
  EXPECT_HAS(host.out, "note: fork-exec: /bin/sh exited with 1, skipped");
  Cli missing = RunCli(
      {"bench", "--runs", "1", "--parallel", "0", "--runtimes", "ns-floor", "--", "/judge/none"});
  EXPECT_HAS(missing.out, "note: ns-floor: execve: No such file or directory, skipped");
}

TEST(CliBench, ARuntimeThatCannotRunIsSkippedWithTheReason) {
  JUDGE_REQUIRE_SANDBOX();
  Cli c = RunCli({"bench", "--runs", "2", "--parallel", "0", "--runtimes", "fork-exec,judge", "--",
                  "/nonexistent/program"});
  ASSERT_EQ(c.exit_code, 0) << Show(c);
  EXPECT_HAS(c.out, "note: fork-exec: /nonexistent/program exited with 127, skipped");
  EXPECT_HAS(c.out, "note: judge: cannot execute '/nonexistent/program'");
  EXPECT_EQ(Count(c.out, " seq "), 0) << c.out;
}

// A benchmark that was killed leaves its work directory (OCI bundles, plot data); the
// next one removes it: the directory carries its benchmark's pid.
TEST(CliBench, AKilledBenchmarksDirectoryGoesWithTheNext) {
  JUDGE_REQUIRE_SANDBOX();
  pid_t gone = ::fork();
  ASSERT_GE(gone, 0);
  if (gone == 0) ::_exit(0);
  ASSERT_EQ(::waitpid(gone, nullptr, 0), gone);  // a pid no process has now
  const std::string left = "/tmp/judge-bench-" + std::to_string(gone) + "-test";
  ASSERT_EQ(::mkdir(left.c_str(), 0700), 0);
  ASSERT_EQ(::mkdir((left + "/runc").c_str(), 0700), 0);
  const std::string live = "/tmp/judge-bench-" + std::to_string(::getpid()) + "-test";
  ASSERT_EQ(::mkdir(live.c_str(), 0700), 0);  // this process's: still running
  Cli c = RunCli({"bench", "--runs", "2", "--parallel", "0", "--runtimes", "fork-exec"});
  EXPECT_EQ(c.exit_code, 0) << Show(c);
  struct stat st;
  EXPECT_NE(::stat(left.c_str(), &st), 0) << left << " is still there";
  EXPECT_EQ(::stat(live.c_str(), &st), 0) << "a running benchmark's directory went";
  ::rmdir(live.c_str());
}

TEST(CliBench, BadOptionsAreOneLineAndExitTwo) {
  struct Case {
    std::vector<std::string> args;
    std::string says;
  } cases[] = {
      {{"bench", "--runs", "0"}, "--runs"},
      {{"bench", "--runtimes", "fork-exec,docker"}, "unknown runtime 'docker'"},
      {{"bench", "--frobnicate", "1"}, "unknown option --frobnicate"},
      {{"bench", "--"}, "no program after --"},
      {{"bench", "--", "no-such-program-judge"}, "program 'no-such-program-judge' not found"},
  };
  for (const Case& k : cases) {
    Cli c = RunCli(k.args);
    EXPECT_EQ(c.exit_code, 2) << Show(c);
    EXPECT_EQ(Count(c.err, "\n"), 1) << Show(c);
    EXPECT_HAS(c.err, k.says);
  }
  Cli help = RunCli({"bench", "--help"});
  EXPECT_EQ(help.exit_code, 0) << Show(help);
  for (const char* opt : {"--runs", "--parallel", "--runtimes", "--json", "--plot", "apt-get install"}) {
    EXPECT_HAS(help.out, opt);
  }
}

}  // namespace
}  // namespace judge::testing
