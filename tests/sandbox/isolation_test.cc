// Isolation on the real kernel: what a run must not see, reach, change or keep. Each
// test makes the attempt from inside and, where the host can tell, checks on the host
// that nothing happened there (files, processes, sockets, sysctls, mounts, uids).
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <ifaddrs.h>
#include <linux/keyctl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/file_util.h"
#include "tests/sandbox/test_util.h"

namespace judge {
// Statuses print by name in failure messages.
inline void PrintTo(RunStatus s, std::ostream* os) { *os << RunStatusName(s); }
}  // namespace judge

namespace judge::testing {
namespace {

constexpr uid_t kUidBase = 2000000000u;

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) out.push_back(line);
  return out;
}

// The output of iso_fsops / iso_syscall: "KEY... RESULT" lines keyed by their first
// `key_words` words; the value is the rest ("ok", "ok DETAIL" or an errno name).
std::map<std::string, std::string> Results(const std::string& out, int key_words) {
  std::map<std::string, std::string> m;
  for (const std::string& line : Lines(out)) {
    size_t pos = 0;
    for (int i = 0; i < key_words && pos != std::string::npos; ++i) {
      pos = line.find(' ', pos == 0 ? 0 : pos + 1);
    }
    if (pos == std::string::npos) continue;
    m[line.substr(0, pos)] = line.substr(pos + 1);
  }
  return m;
}

bool IsOk(const std::string& result) { return result == "ok" || result.rfind("ok ", 0) == 0; }

std::string Describe(const RunResult& r) {
  return std::string(RunStatusName(r.status)) + " " + r.message + "\nstdout:\n" + r.stdout_data +
         "stderr:\n" + r.stderr_data;
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

std::string ReadOr(const std::string& path, const std::string& fallback) {
  auto r = ReadFile(path);
  return r.ok() ? *r : fallback;
}

std::string NulsToSpaces(std::string s) {
  for (char& c : s)
    if (c == '\0') c = ' ';
  return s;
}

// Lines of the host's mountinfo that a run could have left (the leftovers check's rule).
// An exec job's writable layer (/tmp/judge-exec-XXXXXX) is mounted on the host for the
// job's length by design: an exec test running at the same time may hold one (the
// leftovers check, after every test, still looks for them).
std::string HostJudgeMounts() {
  std::string bad;
  for (const std::string& line : Lines(ReadOr("/proc/self/mountinfo", ""))) {
    if (line.find("/judge-exec-") != std::string::npos) continue;
    if (line.find("judge") != std::string::npos || line.find(" - overlay ") != std::string::npos) {
      bad += line + "\n";
    }
  }
  return bad;
}

// A world-searchable temp dir (the run's uid is "other" to host files).
void OpenUp(const TempDir& dir, mode_t mode = 0755) {
  ASSERT_EQ(::chmod(dir.path().c_str(), mode), 0);
}

// ---------------------------------------------------------------------------------
// Filesystem

// The host's whole mountinfo but for exec jobs' writable layers, which an exec test
// running at the same time may mount and unmount (as above): what a run must leave as it
// was.
std::string HostMounts() {
  std::string out;
  for (const std::string& line : Lines(ReadOr("/proc/self/mountinfo", ""))) {
    if (line.find("/judge-exec-") == std::string::npos) out += line + "\n";
  }
  return out;
}

TEST(SandboxIsolation, WritesToSystemDirsNeverReachTheHost) {
  JUDGE_REQUIRE_SANDBOX();
  const std::string passwd_before = ReadFileOrDie("/etc/passwd");
  struct stat ls_before;
  ASSERT_EQ(::stat("/usr/bin/ls", &ls_before), 0);
  const std::string name = "judge-iso-" + std::to_string(::getpid());
  ASSERT_FALSE(Exists("/usr/" + name));

  RunResult r = RunIt(ProgSpec("iso_fsops", {"create",
                                             "/usr/" + name,
                                             "stat",
                                             "/usr/" + name,
                                             "mkdir",
                                             "/usr/" + name + ".d",
                                             "create",
                                             "/usr/bin/" + name,
                                             "create",
                                             "/etc/" + name,
                                             "append",
                                             "/etc/passwd",
                                             "evil::0:0::/:/bin/sh\n",
                                             "chmod",
                                             "/etc/passwd",
                                             "666",
                                             "chmod",
                                             "/usr/bin/ls",
                                             "4777",
                                             "append",
                                             "/etc/ld.so.cache",
                                             "x",
                                             "append",
                                             "/usr/bin/ls",
                                             "x"}));
  ASSERT_EQ(r.status, RunStatus::kOk) << Describe(r);
  auto res = Results(r.stdout_data, 2);
  ASSERT_EQ(res.size(), 10u) << r.stdout_data;
  // Host-owned files are not the run's: changing them fails inside too.
  EXPECT_FALSE(IsOk(res["chmod /usr/bin/ls"])) << r.stdout_data;
  EXPECT_FALSE(IsOk(res["append /etc/ld.so.cache"])) << r.stdout_data;
  EXPECT_FALSE(IsOk(res["append /usr/bin/ls"])) << r.stdout_data;
  EXPECT_FALSE(IsOk(res["create /usr/bin/" + name])) << r.stdout_data;
  // What succeeded inside landed in the throwaway layer.
  if (IsOk(res["create /usr/" + name])) {
    EXPECT_TRUE(IsOk(res["stat /usr/" + name])) << r.stdout_data;
  }

  // The host is untouched.
  EXPECT_FALSE(Exists("/usr/" + name));
  EXPECT_FALSE(Exists("/usr/" + name + ".d"));
  EXPECT_FALSE(Exists("/usr/bin/" + name));
  EXPECT_FALSE(Exists("/etc/" + name));
  EXPECT_EQ(ReadFileOrDie("/etc/passwd"), passwd_before);
  struct stat ls_after;
  ASSERT_EQ(::stat("/usr/bin/ls", &ls_after), 0);
  EXPECT_EQ(ls_after.st_mode, ls_before.st_mode);
  EXPECT_EQ(ls_after.st_size, ls_before.st_size);
  EXPECT_EQ(HostJudgeMounts(), "");

  // And the layer was thrown away: the next run starts clean.
  RunResult again = RunIt(ProgSpec("iso_fsops", {"stat", "/usr/" + name, "read", "/etc/passwd"}));
  ASSERT_EQ(again.status, RunStatus::kOk) << Describe(again);
  auto res2 = Results(again.stdout_data, 2);
  EXPECT_EQ(res2["stat /usr/" + name], "ENOENT") << again.stdout_data;
  EXPECT_TRUE(IsOk(res2["read /etc/passwd"])) << again.stdout_data;
}

TEST(SandboxIsolation, HostSecretsAreNotVisible) {
  JUDGE_REQUIRE_SANDBOX();
  // A secret in the caller's environment, which the container's init inherits in memory.
  ASSERT_EQ(::setenv("JUDGE_ISO_SECRET", "hunter2-isolation", 1), 0);
  const std::string source_dir = JUDGE_SOURCE_DIR;  // the project checkout
  RunSpec spec = ProgSpec("iso_fsops", {"read", "/etc/shadow",
                                        "ls",   "/root",
                                        "ls",   "/work",
                                        "stat", source_dir + "/CMakeLists.txt",
                                        "read", "/proc/1/environ",
                                        "read", "/proc/1/mem",
                                        "ls",   "/proc/1/fd",
                                        "stat", "/proc/1/root/",
                                        "cat",  "/proc/1/cmdline",
                                        "cat",  "/proc/self/environ",
                                        "ls",   "/etc",
                                        "ls",   "/sys"});
  RunResult r = RunIt(spec);
  ::unsetenv("JUDGE_ISO_SECRET");
  ASSERT_EQ(r.status, RunStatus::kOk) << Describe(r);
  auto res = Results(r.stdout_data, 2);
  ASSERT_EQ(res.size(), 12u) << r.stdout_data;
  EXPECT_FALSE(IsOk(res["read /etc/shadow"])) << r.stdout_data;
  EXPECT_FALSE(IsOk(res["ls /root"])) << r.stdout_data;
  EXPECT_FALSE(IsOk(res["ls /work"])) << r.stdout_data;
  EXPECT_FALSE(IsOk(res["stat " + source_dir + "/CMakeLists.txt"])) << r.stdout_data;
  EXPECT_FALSE(IsOk(res["ls /sys"])) << r.stdout_data;
  // /proc/1 is the container's init: its memory, fds and root are closed to the program.
  EXPECT_EQ(res["read /proc/1/environ"], "EACCES") << r.stdout_data;
  EXPECT_FALSE(IsOk(res["read /proc/1/mem"])) << r.stdout_data;
  EXPECT_FALSE(IsOk(res["ls /proc/1/fd"])) << r.stdout_data;
  EXPECT_FALSE(IsOk(res["stat /proc/1/root/"])) << r.stdout_data;
  // The host's PID 1 is not the container's.
  const std::string host_init = NulsToSpaces(ReadOr("/proc/1/cmdline", ""));
  ASSERT_FALSE(host_init.empty());
  EXPECT_EQ(res["cat /proc/1/cmdline"].find(host_init), std::string::npos) << r.stdout_data;
  // The environment is the spec's, nothing inherited.
  std::string env;
  for (const std::string& e : spec.env) env += e + " ";
  EXPECT_EQ(res["cat /proc/self/environ"], "ok " + env);
  EXPECT_EQ(r.stdout_data.find("hunter2"), std::string::npos);
  // /etc holds only the generated files and the profile's entries.
  EXPECT_EQ(res["ls /etc"].find("shadow"), std::string::npos) << res["ls /etc"];
  EXPECT_EQ(res["ls /etc"].find("sudoers"), std::string::npos) << res["ls /etc"];
  // On the host these exist (so the test means something).
  EXPECT_TRUE(Exists("/etc/shadow") || Exists("/root"));
}

// The init is a copy of the calling process (no execve), so /proc/1/cmdline inside
// (world-readable even for a non-dumpable process) is the caller's own command line:
// for judge-sandbox or a worker, its host paths and options.
TEST(SandboxIsolation, InitShowsNothingOfTheCallersCommandLine) {
  JUDGE_REQUIRE_SANDBOX();
  const std::string self = NulsToSpaces(ReadOr("/proc/self/cmdline", ""));
  const std::string argv0 = self.substr(0, self.find(' '));
  ASSERT_FALSE(argv0.empty());
  RunResult r = RunIt(ProgSpec("iso_fsops", {"cat", "/proc/1/cmdline"}));
  ASSERT_EQ(r.status, RunStatus::kOk) << Describe(r);
  auto res = Results(r.stdout_data, 2);
  EXPECT_EQ(res["cat /proc/1/cmdline"].find(argv0), std::string::npos)
      << "the container's PID 1 shows the host caller's command line: "
      << res["cat /proc/1/cmdline"];
}

TEST(SandboxIsolation, BoundFileOfRootGroupIsUnreadable) {
  JUDGE_REQUIRE_SANDBOX();
  TempDir dir;
  OpenUp(dir);
  dir.Write("secret.txt", "root-and-group-only\n", 0640);
  dir.Write("group.txt", "group-only\n", 0040);
  dir.Write("public.txt", "everyone\n", 0644);
  struct stat st;
  ASSERT_EQ(::stat((dir.path() + "/secret.txt").c_str(), &st), 0);
  ASSERT_EQ(st.st_uid, 0u);
  ASSERT_EQ(st.st_gid, 0u);
  RunSpec spec = ProgSpec("iso_fsops", {"read", "/data/secret.txt", "read", "/data/group.txt",
                                        "cat", "/data/public.txt"});
  spec.binds.push_back({dir.path(), "/data", false});
  RunResult r = RunIt(spec);
  ASSERT_EQ(r.status, RunStatus::kOk) << Describe(r);
  auto res = Results(r.stdout_data, 2);
  EXPECT_EQ(res["read /data/secret.txt"], "EACCES") << r.stdout_data;
  EXPECT_EQ(res["read /data/group.txt"], "EACCES") << r.stdout_data;
  EXPECT_EQ(res["cat /data/public.txt"], "ok everyone|") << r.stdout_data;
}

TEST(SandboxIsolation, DirBindsAreReadOnlyUnlessWritable) {
  JUDGE_REQUIRE_SANDBOX();
  TempDir in, out;
  OpenUp(in);
  OpenUp(out, 0777);
  in.Write("input.txt", "input\n", 0666);
  RunSpec spec =
      ProgSpec("iso_fsops", {"cat", "/data/input.txt", "create", "/data/new.txt", "append",
                             "/data/input.txt", "more", "create", "/out/result.txt"});
  spec.binds.push_back({in.path(), "/data", false});
  spec.binds.push_back({out.path(), "/out", true});
  RunResult r = RunIt(spec);
  ASSERT_EQ(r.status, RunStatus::kOk) << Describe(r);
  auto res = Results(r.stdout_data, 2);
  EXPECT_EQ(res["cat /data/input.txt"], "ok input|") << r.stdout_data;
  EXPECT_EQ(res["create /data/new.txt"], "EROFS") << r.stdout_data;
  EXPECT_EQ(res["append /data/input.txt"], "EROFS") << r.stdout_data;
  EXPECT_EQ(res["create /out/result.txt"], "ok") << r.stdout_data;
  // On the host: the read-only side unchanged, the writable side has the file, owned
  // by the run's unprivileged uid.
  EXPECT_FALSE(Exists(in.path() + "/new.txt"));
  EXPECT_EQ(ReadFileOrDie(in.path() + "/input.txt"), "input\n");
  EXPECT_EQ(ReadOr(out.path() + "/result.txt", "<missing>"), "judge-iso\n");
  struct stat st;
  ASSERT_EQ(::stat((out.path() + "/result.txt").c_str(), &st), 0);
  EXPECT_GE(st.st_uid, kUidBase);
}

// A file the run leaves in a writable bind is owned by the slot's host uid; with the
// setuid or setgid bit it would hand that identity (and with it, signals to later runs
// of the slot) to whoever on the host executes it.
TEST(SandboxIsolation, WritableBindGetsNoSetuidFiles) {
  JUDGE_REQUIRE_SANDBOX();
  TempDir out;
  OpenUp(out, 0777);
  RunSpec spec =
      ProgSpec("iso_fsops", {"create", "/out/suid", "chmod", "/out/suid", "6755", "mkdir",
                             "/out/sgid-dir", "chmod", "/out/sgid-dir", "2777"});
  spec.binds.push_back({out.path(), "/out", true});
  RunResult r = RunIt(spec);
  ASSERT_EQ(r.status, RunStatus::kOk) << Describe(r);
  for (const char* name : {"suid", "sgid-dir"}) {
    struct stat st;
    ASSERT_EQ(::stat((out.path() + "/" + name).c_str(), &st), 0) << name << "\n" << r.stdout_data;
    EXPECT_GE(st.st_uid, kUidBase);
    EXPECT_EQ(st.st_mode & (S_ISUID | S_ISGID), 0u)
        << name << " on the host has mode " << std::oct << (st.st_mode & 07777) << "\n"
        << r.stdout_data;
  }
}

TEST(SandboxIsolation, DirTargetOutsideTheContainerIsRefused) {
  JUDGE_REQUIRE_SANDBOX();
  TempDir dir;
  OpenUp(dir);
  for (const std::string target : {"/data/../etc", "/../data", "data", "/data/./x"}) {
    RunSpec spec = ProgSpec("hello");
    spec.binds.push_back({dir.path(), target, true});
    RunResult r = RunIt(spec);
    EXPECT_EQ(r.status, RunStatus::kSandboxError) << target << ": " << Describe(r);
    EXPECT_NE(r.message.find(target), std::string::npos) << r.message;
    EXPECT_EQ(r.stdout_data, "") << target;
  }
  EXPECT_EQ(HostJudgeMounts(), "");
}

TEST(SandboxIsolation, LayerIsTheRootfsAndStaysUnchanged) {
  JUDGE_REQUIRE_SANDBOX();
  TempDir layer;
  OpenUp(layer);
  layer.Write("layer-marker.txt", "from the layer\n", 0644);
  // The programs are dynamic: give the layer the host's /usr (bound below) and the
  // merged-/usr links.
  for (const char* link : {"bin", "lib", "lib64", "sbin"}) {
    ASSERT_EQ(::symlink((std::string("usr/") + link).c_str(), (layer.path() + "/" + link).c_str()),
              0);
  }
  RunSpec spec =
      ProgSpec("iso_fsops", {"cat", "/layer-marker.txt", "append", "/layer-marker.txt", "changed\n",
                             "cat", "/layer-marker.txt", "create", "/new-in-layer.txt", "ls", "/"});
  spec.layers = {layer.path()};
  spec.binds.push_back({"/usr", "/usr", false});
  RunResult r = RunIt(spec);
  ASSERT_EQ(r.status, RunStatus::kOk) << Describe(r);
  auto lines = Lines(r.stdout_data);
  ASSERT_EQ(lines.size(), 5u) << r.stdout_data;
  EXPECT_EQ(lines[0], "cat /layer-marker.txt ok from the layer|");
  EXPECT_EQ(lines[3], "create /new-in-layer.txt ok");
  // The root is the layer (plus what the engine adds), not the host's directories.
  const std::string root = lines[4];
  EXPECT_NE(root.find("layer-marker.txt"), std::string::npos) << root;
  EXPECT_EQ(root.find("opt"), std::string::npos) << root;
  // Writes inside went to the throwaway upper layer, never into the layer dir.
  EXPECT_EQ(ReadFileOrDie(layer.path() + "/layer-marker.txt"), "from the layer\n");
  EXPECT_FALSE(Exists(layer.path() + "/new-in-layer.txt"));
  std::set<std::string> entries;
  DIR* d = ::opendir(layer.path().c_str());
  ASSERT_NE(d, nullptr);
  while (struct dirent* e = ::readdir(d)) entries.insert(e->d_name);
  ::closedir(d);
  EXPECT_EQ(entries,
            (std::set<std::string>{".", "..", "bin", "lib", "lib64", "sbin", "layer-marker.txt"}));
  EXPECT_EQ(HostJudgeMounts(), "");
}

// ---------------------------------------------------------------------------------
// Processes

TEST(SandboxIsolation, ProcShowsOnlyTheRunsProcesses) {
  JUDGE_REQUIRE_SANDBOX();
  RunResult r = RunIt(ProgSpec("iso_self", {"pids", "3"}));
  ASSERT_EQ(r.status, RunStatus::kOk) << Describe(r);
  auto lines = Lines(r.stdout_data);
  ASSERT_EQ(lines.size(), 3u) << r.stdout_data;
  EXPECT_EQ(lines[0], "self 2 1");  // the program is PID 2, under the init
  std::set<std::string> expected = {"1", "2"};
  std::istringstream kids(lines[1]);
  std::string word;
  kids >> word;
  ASSERT_EQ(word, "children");
  while (kids >> word) expected.insert(word);
  ASSERT_EQ(expected.size(), 5u) << lines[1];
  std::set<std::string> seen;
  std::istringstream proc(lines[2]);
  proc >> word;
  ASSERT_EQ(word, "proc");
  while (proc >> word) seen.insert(word);
  EXPECT_EQ(seen, expected) << r.stdout_data;
}

// Host processes that kill(-1, SIGKILL) inside could reach if the pid namespace
// leaked: one as root and one per likely slot uid (the run's own host uid, which a
// uid check alone would not protect).
class HostChildren {
 public:
  HostChildren() {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) return;
    release_ = p[1];
    std::vector<uid_t> uids = {0};
    for (uid_t slot = 0; slot < 8; ++slot) uids.push_back(kUidBase + slot);
    for (uid_t uid : uids) {
      pid_t pid = ::fork();
      if (pid == 0) {
        ::close(p[1]);
        if (uid != 0 && (::syscall(SYS_setresgid, uid, uid, uid) != 0 ||
                         ::syscall(SYS_setresuid, uid, uid, uid) != 0)) {
          ::_exit(3);
        }
        char c;
        while (::read(p[0], &c, 1) > 0) {
        }
        ::_exit(0);
      }
      if (pid > 0) pids_.push_back(pid);
    }
    ::close(p[0]);
  }
  ~HostChildren() { Release(); }
  size_t count() const { return pids_.size(); }
  // Pids that are no longer running (and how they ended).
  std::string Gone() {
    std::string gone;
    for (pid_t pid : pids_) {
      int st = 0;
      if (::waitpid(pid, &st, WNOHANG) != 0) {
        gone += std::to_string(pid) +
                (WIFSIGNALED(st) ? " killed by " + std::to_string(WTERMSIG(st)) : " exited") + "\n";
        ended_.insert(pid);
      }
    }
    return gone;
  }
  // Lets them exit; returns how many ended other than by a clean exit(0).
  int Release() {
    if (release_ >= 0) ::close(release_);
    release_ = -1;
    int bad = 0;
    for (pid_t pid : pids_) {
      if (ended_.count(pid)) continue;
      int st = 0;
      if (::waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) ++bad;
    }
    pids_.clear();
    return bad;
  }

 private:
  int release_ = -1;
  std::vector<pid_t> pids_;
  std::set<pid_t> ended_;
};

TEST(SandboxIsolation, KillAllInsideHarmsNoHostProcess) {
  JUDGE_REQUIRE_SANDBOX();
  HostChildren host;
  ASSERT_EQ(host.count(), 9u);
  ASSERT_EQ(host.Gone(), "");
  for (const SeccompProgram* filter :
       {&DefaultSeccomp(), static_cast<const SeccompProgram*>(nullptr)}) {
    RunSpec spec = ProgSpec("iso_self", {"killall"});
    spec.seccomp = filter;
    RunResult r = RunIt(spec);
    // The run ends, and kill(-1) did work inside: it killed the program's own child.
    ASSERT_EQ(r.status, RunStatus::kOk) << Describe(r);
    EXPECT_EQ(r.stdout_data, "killall 0 child 9\n");
  }
  EXPECT_EQ(host.Gone(), "");
  EXPECT_EQ(host.Release(), 0);
}

// ---------------------------------------------------------------------------------
// Network

class HostListeners {
 public:
  HostListeners() {
    tcp_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    struct sockaddr_in a {};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_ANY);
    socklen_t len = sizeof a;
    if (tcp_ < 0 || ::bind(tcp_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::listen(tcp_, 8) != 0 || ::getsockname(tcp_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      return;
    }
    port_ = ntohs(a.sin_port);
    unix_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    abstract_ = "judge-iso-" + std::to_string(::getpid());
    struct sockaddr_un u {};
    u.sun_family = AF_UNIX;
    std::memcpy(u.sun_path + 1, abstract_.data(), abstract_.size());
    socklen_t ulen = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + abstract_.size());
    if (unix_ < 0 || ::bind(unix_, reinterpret_cast<sockaddr*>(&u), ulen) != 0 ||
        ::listen(unix_, 8) != 0) {
      port_ = 0;
    }
  }
  ~HostListeners() {
    if (tcp_ >= 0) ::close(tcp_);
    if (unix_ >= 0) ::close(unix_);
  }
  bool ok() const { return port_ != 0; }
  int port() const { return port_; }
  const std::string& abstract() const { return abstract_; }
  // Connections that arrived (accepted and closed); both listeners are non-blocking.
  int Accepted() {
    int n = 0;
    for (int fd : {tcp_, unix_}) {
      int c;
      while ((c = ::accept(fd, nullptr, nullptr)) >= 0) {
        ::close(c);
        ++n;
      }
    }
    return n;
  }

 private:
  int tcp_ = -1, unix_ = -1, port_ = 0;
  std::string abstract_;
};

// The host's own IPv4 addresses (loopback first).
std::vector<std::string> HostAddresses() {
  std::vector<std::string> out = {"127.0.0.1"};
  struct ifaddrs* ifs = nullptr;
  if (::getifaddrs(&ifs) != 0) return out;
  for (struct ifaddrs* i = ifs; i; i = i->ifa_next) {
    if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET) continue;
    char buf[INET_ADDRSTRLEN];
    auto* in = reinterpret_cast<sockaddr_in*>(i->ifa_addr);
    if (::inet_ntop(AF_INET, &in->sin_addr, buf, sizeof buf) && std::string(buf) != "127.0.0.1") {
      out.push_back(buf);
    }
  }
  ::freeifaddrs(ifs);
  return out;
}

class NetworkIsolation : public ::testing::TestWithParam<bool> {};

TEST_P(NetworkIsolation, HostListenersGetNoConnection) {
  JUDGE_REQUIRE_SANDBOX();
  const bool loopback = GetParam();
  HostListeners host;
  ASSERT_TRUE(host.ok());
  // The host side works: a connection from here arrives.
  {
    int c = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a {};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(host.port()));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    struct pollfd pfd = {c, POLLOUT, 0};
    ::poll(&pfd, 1, 1000);
    ::close(c);
    int accepted = 0;
    for (int i = 0; i < 100 && accepted == 0; ++i) {
      accepted = host.Accepted();
      if (accepted == 0) std::this_thread::yield();
    }
    ASSERT_EQ(accepted, 1);
  }
  std::string cmd;
  const auto addrs = HostAddresses();
  for (const std::string& ip : addrs) {
    cmd += "/progs/iso_net tcp " + ip + " " + std::to_string(host.port()) + "; ";
  }
  cmd += "/progs/iso_net abstract " + host.abstract() +
         "; /progs/iso_net selftcp; /progs/iso_net ifaces";
  RunSpec spec = ShellSpec(cmd);
  spec.loopback = loopback;
  RunResult r = RunIt(spec);
  ASSERT_EQ(r.status, RunStatus::kOk) << Describe(r);
  auto res = Results(r.stdout_data, 2);
  for (const std::string& ip : addrs) {
    std::string key = "tcp " + ip + ":" + std::to_string(host.port());
    ASSERT_TRUE(res.count(key)) << r.stdout_data;
    EXPECT_FALSE(IsOk(res[key])) << key << ": " << r.stdout_data;
  }
  ASSERT_TRUE(res.count("abstract " + host.abstract())) << r.stdout_data;
  EXPECT_FALSE(IsOk(res["abstract " + host.abstract()])) << r.stdout_data;
  EXPECT_EQ(host.Accepted(), 0);
  // Inside: only lo, down without loopback; with it, the run reaches its own listener.
  auto lines = Lines(r.stdout_data);
  std::vector<std::string> ifaces;
  for (const std::string& l : lines)
    if (l.rfind("iface ", 0) == 0) ifaces.push_back(l);
  EXPECT_EQ(ifaces, std::vector<std::string>{loopback ? "iface lo up" : "iface lo down"})
      << r.stdout_data;
  const std::string self = Results(r.stdout_data, 1)["selftcp"];
  if (loopback) {
    EXPECT_EQ(self, "ok") << r.stdout_data;
  } else {
    EXPECT_FALSE(self.empty() || IsOk(self)) << r.stdout_data;
  }
}

INSTANTIATE_TEST_SUITE_P(Network, NetworkIsolation, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Loopback" : "None"; });

TEST(SandboxIsolation, HostnameIsTheRunsOwn) {
  JUDGE_REQUIRE_SANDBOX();
  char before[256] = {};
  ASSERT_EQ(::gethostname(before, sizeof before - 1), 0);
  RunResult r = RunIt(ProgSpec("iso_net", {"hostname"}));
  ASSERT_EQ(r.status, RunStatus::kOk) << Describe(r);
  EXPECT_EQ(r.stdout_data, "hostname judge\n");
  RunSpec other = ProgSpec("iso_net", {"hostname"});
  other.hostname = "box-" + std::to_string(::getpid() % 1000);
  RunResult r2 = RunIt(other);
  ASSERT_EQ(r2.status, RunStatus::kOk) << Describe(r2);
  EXPECT_EQ(r2.stdout_data, "hostname " + other.hostname + "\n");
  // Setting it inside fails, and the host's never changes.
  RunSpec set = ProgSpec("iso_syscall", {"sethostname"});
  set.seccomp = nullptr;
  RunResult r3 = RunIt(set);
  ASSERT_EQ(r3.status, RunStatus::kOk) << Describe(r3);
  EXPECT_EQ(r3.stdout_data, "sethostname EPERM\n");
  char after[256] = {};
  ASSERT_EQ(::gethostname(after, sizeof after - 1), 0);
  EXPECT_STREQ(after, before);
}

// ---------------------------------------------------------------------------------
// System calls

struct Forbidden {
  const char* call;     // iso_syscall's name for it
  const char* syscall;  // RunResult.syscall
};

void PrintTo(const Forbidden& f, std::ostream* os) { *os << f.call << " -> " << f.syscall; }

class ForbiddenCall : public ::testing::TestWithParam<Forbidden> {};

TEST_P(ForbiddenCall, IsASecurityViolationNamingTheCall) {
  JUDGE_REQUIRE_SANDBOX();
  const std::string mounts_before = HostMounts();
  RunResult r = RunIt(ProgSpec("iso_syscall", {GetParam().call}));
  EXPECT_EQ(r.status, RunStatus::kSecurityViolation) << Describe(r);
  EXPECT_EQ(r.end, RunEnd::kSyscall);
  EXPECT_EQ(r.syscall, GetParam().syscall) << Describe(r);
  EXPECT_NE(r.message.find(GetParam().syscall), std::string::npos) << r.message;
  EXPECT_EQ(r.stdout_data, "") << "the call returned inside";
  EXPECT_EQ(HostMounts(), mounts_before);
}

INSTANTIATE_TEST_SUITE_P(
    Namespaces, ForbiddenCall,
    ::testing::Values(Forbidden{"mount", "mount"}, Forbidden{"umount2", "umount2"},
                      Forbidden{"pivot_root", "pivot_root"}, Forbidden{"chroot", "chroot"},
                      Forbidden{"setns", "setns"}, Forbidden{"unshare_user", "unshare"},
                      Forbidden{"unshare_mnt", "unshare"}, Forbidden{"clone_newuser", "clone"},
                      Forbidden{"clone_newns", "clone"}, Forbidden{"fsopen", "fsopen"}),
    [](const auto& info) { return std::string(info.param.call); });

INSTANTIATE_TEST_SUITE_P(KernelSurface, ForbiddenCall,
                         ::testing::Values(Forbidden{"ptrace_traceme", "ptrace"},
                                           Forbidden{"ptrace_attach_init", "ptrace"},
                                           Forbidden{"bpf", "bpf"}, Forbidden{"keyctl", "keyctl"},
                                           Forbidden{"perf_event_open", "perf_event_open"},
                                           Forbidden{"userfaultfd", "userfaultfd"},
                                           Forbidden{"io_uring_setup", "io_uring_setup"},
                                           Forbidden{"kexec_load", "kexec_load"},
                                           Forbidden{"reboot", "reboot"},
                                           Forbidden{"init_module", "init_module"}),
                         [](const auto& info) { return std::string(info.param.call); });

INSTANTIATE_TEST_SUITE_P(ForeignAbi, ForbiddenCall,
                         ::testing::Values(Forbidden{"x32", "x32:getpid"},
                                           Forbidden{"i386", "i386:getpid"}),
                         [](const auto& info) { return std::string(info.param.call); });

// Parses /proc/self/status lines printed by iso_self status.
std::map<std::string, std::string> StatusFields(const std::string& out) {
  std::map<std::string, std::string> m;
  for (const std::string& line : Lines(out)) {
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    size_t v = line.find_first_not_of(" \t", colon + 1);
    m[line.substr(0, colon)] = v == std::string::npos ? "" : line.substr(v);
  }
  return m;
}

TEST(SandboxIsolation, NoCapabilitiesAndNoNewPrivileges) {
  JUDGE_REQUIRE_SANDBOX();
  for (const SeccompProgram* filter :
       {&DefaultSeccomp(), static_cast<const SeccompProgram*>(nullptr)}) {
    RunSpec spec = ProgSpec("iso_self", {"status"});
    spec.seccomp = filter;
    RunResult r = RunIt(spec);
    ASSERT_EQ(r.status, RunStatus::kOk) << Describe(r);
    auto f = StatusFields(r.stdout_data);
    for (const char* cap : {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"}) {
      EXPECT_EQ(f[cap], "0000000000000000") << cap << "\n" << r.stdout_data;
    }
    EXPECT_EQ(f["NoNewPrivs"], "1");
    EXPECT_EQ(f["Seccomp"], filter ? "2" : "0");
  }
}

// Without a seccomp filter the same calls still fail: they need capabilities the run
// does not have. (bpf, perf_event_open, io_uring and keyctl are reachable without
// privileges by design; only the filter keeps them out, see above.)
TEST(SandboxIsolation, WithoutSeccompPrivilegedCallsFail) {
  JUDGE_REQUIRE_SANDBOX();
  const std::vector<std::string> calls = {
      "mount",       "umount2",     "pivot_root",  "chroot",     "setns",
      "unshare_mnt", "unshare_net", "clone_newns", "fsopen",     "ptrace_attach_init",
      "reboot",      "sethostname", "kexec_load",  "init_module"};
  const std::string mounts_before = HostMounts();
  RunSpec spec = ProgSpec("iso_syscall", calls);
  spec.seccomp = nullptr;
  RunResult r = RunIt(spec);
  ASSERT_EQ(r.status, RunStatus::kOk) << Describe(r);
  auto res = Results(r.stdout_data, 1);
  ASSERT_EQ(res.size(), calls.size()) << r.stdout_data;
  for (const std::string& c : calls) {
    // ENOSYS: this kernel has no kexec or modules at all.
    const bool absent = (c == "kexec_load" || c == "init_module") && res[c] == "ENOSYS";
    EXPECT_TRUE(res[c] == "EPERM" || absent) << c << ": " << res[c];
  }
  EXPECT_EQ(HostMounts(), mounts_before);
}

// Without a filter, a nested user namespace would hand the program every capability
// over new mount and network namespaces of its own: kernel attack surface (netfilter,
// mounts of many filesystem types) that the seccomp policy otherwise removes.
TEST(SandboxIsolation, WithoutSeccompNoNestedUserNamespace) {
  JUDGE_REQUIRE_SANDBOX();
  for (const char* call : {"unshare_user", "clone_newuser"}) {
    RunSpec spec = ProgSpec("iso_syscall", {call});
    spec.seccomp = nullptr;
    RunResult r = RunIt(spec);
    ASSERT_EQ(r.status, RunStatus::kOk) << Describe(r);
    auto res = Results(r.stdout_data, 1);
    ASSERT_EQ(res.size(), 1u) << r.stdout_data;
    EXPECT_FALSE(IsOk(res[call])) << call << " succeeded without a seccomp filter";
  }
}

TEST(SandboxIsolation, OnlyStandardFdsAreInherited) {
  JUDGE_REQUIRE_SANDBOX();
  // Leaks waiting to happen: fds of the caller without close-on-exec.
  int dir = ::open("/", O_RDONLY | O_DIRECTORY);  // a host directory: a way out via fchdir
  int p[2];
  ASSERT_GE(dir, 0);
  ASSERT_EQ(::pipe(p), 0);
  for (const SeccompProgram* filter :
       {&DefaultSeccomp(), static_cast<const SeccompProgram*>(nullptr)}) {
    RunSpec spec = ProgSpec("iso_self", {"fds"});
    spec.seccomp = filter;
    RunResult r = RunIt(spec);
    EXPECT_EQ(r.status, RunStatus::kOk) << Describe(r);
    EXPECT_EQ(r.stdout_data, "fds 0 1 2\n");
  }
  ::close(p[0]);
  ::close(p[1]);
  ::close(dir);
}

// A caller's fd given as a standard stream (Stream::Fd) becomes 0, 1 or 2; it must not
// also stay open under its own number.
TEST(SandboxIsolation, StreamFdIsNotInheritedUnderItsOwnNumber) {
  JUDGE_REQUIRE_SANDBOX();
  int p[2];
  ASSERT_EQ(::pipe(p), 0);  // no close-on-exec, as a caller might well do
  const int high = ::dup2(p[1], 200);
  ASSERT_EQ(high, 200);
  ::close(p[1]);
  RunSpec spec = ProgSpec("iso_self", {"fds"});
  spec.stdout_stream = Stream::Fd(high);
  RunResult r = RunIt(spec);
  EXPECT_EQ(r.status, RunStatus::kOk) << Describe(r);
  ::close(high);
  char buf[256] = {};
  ssize_t n = ::read(p[0], buf, sizeof buf - 1);
  ::close(p[0]);
  EXPECT_EQ(std::string(buf, n > 0 ? static_cast<size_t>(n) : 0), "fds 0 1 2\n");
}

// The container's init is a copy of the caller (no execve), so it starts with the
// caller's signal dispositions. They must not change what a run does: a caller that
// ignores SIGCHLD (as daemons do to avoid zombies) must still get the program's status.
TEST(SandboxIsolation, CallerIgnoringSigchldDoesNotChangeTheVerdict) {
  JUDGE_REQUIRE_SANDBOX();
  struct sigaction ign {
  }, old{};
  ign.sa_handler = SIG_IGN;
  ASSERT_EQ(::sigaction(SIGCHLD, &ign, &old), 0);
  RunResult r = RunIt(ProgSpec("hello"));
  ::sigaction(SIGCHLD, &old, nullptr);
  EXPECT_EQ(r.status, RunStatus::kOk) << Describe(r);
  EXPECT_EQ(r.stdout_data, "hello, world\n");
}

// ... nor may the program run the caller's signal handlers in the init (which holds the
// caller's fds 0-2 and the sync socket) by signalling PID 1.
void ExitFromHandler(int) { ::_exit(77); }

TEST(SandboxIsolation, ProgramCannotRunTheCallersSignalHandlersInTheInit) {
  JUDGE_REQUIRE_SANDBOX();
  struct sigaction handler {
  }, old{};
  handler.sa_handler = ExitFromHandler;
  ASSERT_EQ(::sigaction(SIGUSR1, &handler, &old), 0);
  RunResult r = RunIt(ProgSpec("iso_self", {"signal-init", std::to_string(SIGUSR1)}));
  ::sigaction(SIGUSR1, &old, nullptr);
  EXPECT_EQ(r.status, RunStatus::kOk) << Describe(r);
  EXPECT_EQ(r.stdout_data.rfind("signal-init ", 0), 0u) << r.stdout_data;
}

// The init inherits the caller's session keyring, and possessing a keyring grants its
// possessor rights whatever the uid: a program could read the caller's keys.
TEST(SandboxIsolation, CallersSessionKeyringIsNotReachable) {
  JUDGE_REQUIRE_SANDBOX();
  // A session keyring of this test process alone, holding a secret.
  ASSERT_GE(::syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, nullptr), 0) << std::strerror(errno);
  const std::string desc = "judge-iso-" + std::to_string(::getpid());
  const std::string secret = "key-secret-" + std::to_string(::getpid() * 7919L);
  long id = ::syscall(SYS_add_key, "user", desc.c_str(), secret.data(), secret.size(),
                      KEY_SPEC_SESSION_KEYRING);
  ASSERT_GE(id, 0) << std::strerror(errno);
  char check[128] = {};
  ASSERT_EQ(::syscall(SYS_keyctl, KEYCTL_READ, id, check, sizeof check - 1),
            static_cast<long>(secret.size()));

  RunResult with_filter = RunIt(ProgSpec("iso_self", {"key", desc}));
  EXPECT_EQ(with_filter.status, RunStatus::kSecurityViolation) << Describe(with_filter);
  EXPECT_EQ(with_filter.syscall, "keyctl");

  RunSpec spec = ProgSpec("iso_self", {"key", desc});
  spec.seccomp = nullptr;
  RunResult r = RunIt(spec);
  ::syscall(SYS_keyctl, KEYCTL_REVOKE, id);
  EXPECT_EQ(r.status, RunStatus::kOk) << Describe(r);
  EXPECT_EQ(r.stdout_data.find(secret), std::string::npos) << "the program read the caller's key";
  EXPECT_EQ(r.stdout_data.rfind("key ok", 0), std::string::npos) << r.stdout_data;
}

TEST(SandboxIsolation, RlimitsCannotBeRaised) {
  JUDGE_REQUIRE_SANDBOX();
  RunSpec spec = ProgSpec("iso_self", {"rlimit"});
  RunResult r = RunIt(spec);
  ASSERT_EQ(r.status, RunStatus::kOk) << Describe(r);
  int checked = 0;
  for (const std::string& line : Lines(r.stdout_data)) {
    std::istringstream in(line);
    std::string word, name, hard, result;
    in >> word >> name >> hard >> result;
    ASSERT_EQ(word, "rlimit") << line;
    if (hard == "inf") continue;
    EXPECT_EQ(result, "EPERM") << line;
    ++checked;
  }
  EXPECT_GE(checked, 5) << r.stdout_data;
  // The limits the engine set are the ones in force.
  EXPECT_NE(r.stdout_data.find("rlimit NOFILE 1024 EPERM"), std::string::npos) << r.stdout_data;
  EXPECT_NE(
      r.stdout_data.find("rlimit FSIZE " + std::to_string(spec.limits.output_bytes) + " EPERM"),
      std::string::npos)
      << r.stdout_data;
}

TEST(SandboxIsolation, ProcSysIsNotWritable) {
  JUDGE_REQUIRE_SANDBOX();
  const std::vector<std::string> knobs = {
      "/proc/sys/kernel/hostname", "/proc/sys/net/ipv4/ping_group_range",
      "/proc/sys/kernel/core_pattern", "/proc/sys/user/max_user_namespaces",
      "/proc/sys/vm/drop_caches"};
  std::map<std::string, std::string> before;
  for (const std::string& k : knobs) before[k] = ReadOr(k, "<unreadable>");
  std::vector<std::string> args;
  for (const std::string& k : knobs) {
    args.insert(args.end(),
                {"write", k, k.find("ping") != std::string::npos ? "0 2147483647" : "1"});
  }
  for (const SeccompProgram* filter :
       {&DefaultSeccomp(), static_cast<const SeccompProgram*>(nullptr)}) {
    RunSpec spec = ProgSpec("iso_fsops", args);
    spec.seccomp = filter;
    RunResult r = RunIt(spec);
    ASSERT_EQ(r.status, RunStatus::kOk) << Describe(r);
    auto res = Results(r.stdout_data, 2);
    for (const std::string& k : knobs) {
      EXPECT_FALSE(IsOk(res["write " + k])) << k << ": " << r.stdout_data;
    }
  }
  for (const std::string& k : knobs) EXPECT_EQ(ReadOr(k, "<unreadable>"), before[k]) << k;
}

TEST(SandboxIsolation, CgroupsCannotBeJoinedOrSeen) {
  JUDGE_REQUIRE_SANDBOX();
  const std::string own_cgroup = ReadFileOrDie("/proc/self/cgroup");
  RunResult r =
      RunIt(ProgSpec("iso_fsops", {"ls", "/sys/fs/cgroup", "append", "/sys/fs/cgroup/cgroup.procs",
                                   "2", "append", "/sys/fs/cgroup/memory/tasks", "2", "append",
                                   "/sys/fs/cgroup/unified/cgroup.procs", "2", "append",
                                   "/proc/self/cgroup", "2", "cat", "/proc/self/cgroup"}));
  ASSERT_EQ(r.status, RunStatus::kOk) << Describe(r);
  auto res = Results(r.stdout_data, 2);
  ASSERT_EQ(res.size(), 6u) << r.stdout_data;
  for (const auto& [op, result] : res) {
    if (op == "cat /proc/self/cgroup") continue;
    EXPECT_FALSE(IsOk(result)) << op << ": " << result;
  }
  // The cgroup namespace is rooted at the run's cgroup: every hierarchy shows "/".
  const std::string cg = res["cat /proc/self/cgroup"];
  ASSERT_EQ(cg.rfind("ok ", 0), 0u) << cg;
  std::istringstream lines(cg.substr(3));
  std::string line;
  int n = 0;
  while (std::getline(lines, line, '|')) {
    if (line.empty()) continue;
    EXPECT_EQ(line.substr(line.rfind(':')), ":/") << cg;
    ++n;
  }
  EXPECT_GT(n, 0);
  // Mounting a cgroup hierarchy is refused (without a filter too).
  RunSpec mount = ProgSpec("iso_syscall", {"mount"});
  mount.seccomp = nullptr;
  RunResult m = RunIt(mount);
  ASSERT_EQ(m.status, RunStatus::kOk) << Describe(m);
  EXPECT_EQ(m.stdout_data, "mount EPERM\n");
  EXPECT_EQ(ReadFileOrDie("/proc/self/cgroup"), own_cgroup);
}

// ---------------------------------------------------------------------------------
// Identity

TEST(SandboxIsolation, RootInsideIsAnUnprivilegedUidOutside) {
  JUDGE_REQUIRE_SANDBOX();
  RunResult r = RunIt(ProgSpec("iso_self", {"id"}));
  ASSERT_EQ(r.status, RunStatus::kOk) << Describe(r);
  auto lines = Lines(r.stdout_data);
  ASSERT_GE(lines.size(), 3u) << r.stdout_data;
  EXPECT_EQ(lines[0], "id 0 0 0 0 0 0 0");  // uid, gid 0, no supplementary groups
  for (int i : {1, 2}) {
    std::istringstream in(lines[i].substr(lines[i].find('[') + 1));
    unsigned long long inside = 1, outside = 0, count = 0;
    in >> inside >> outside >> count;
    EXPECT_EQ(inside, 0u) << lines[i];
    EXPECT_GE(outside, kUidBase) << lines[i];
    EXPECT_EQ(count, 1u) << lines[i];
  }
}

// Reads one line from fd within timeout_ms ("" on timeout or EOF).
std::string ReadLine(int fd, int timeout_ms) {
  std::string line;
  char c;
  while (true) {
    struct pollfd pfd = {fd, POLLIN, 0};
    if (::poll(&pfd, 1, timeout_ms) <= 0) return "";
    if (::read(fd, &c, 1) != 1) return "";
    if (c == '\n') return line;
    line += c;
  }
}

struct HostProcess {
  int pid = 0;
  uid_t uid = 0;
  int ppid = 0;
  std::string cmdline;
  std::string cgroup;
};

std::vector<HostProcess> HostProcessesFromUid(uid_t min_uid) {
  std::vector<HostProcess> out;
  DIR* d = ::opendir("/proc");
  if (!d) return out;
  while (struct dirent* e = ::readdir(d)) {
    int pid = std::atoi(e->d_name);
    if (pid <= 0) continue;
    std::string dir = "/proc/" + std::string(e->d_name);
    struct stat st;
    if (::stat(dir.c_str(), &st) != 0 || st.st_uid < min_uid) continue;
    HostProcess p;
    p.pid = pid;
    p.uid = st.st_uid;
    p.cmdline = NulsToSpaces(ReadOr(dir + "/cmdline", ""));
    p.cgroup = ReadOr(dir + "/cgroup", "");
    for (const std::string& line : Lines(ReadOr(dir + "/status", ""))) {
      if (line.rfind("PPid:", 0) == 0) p.ppid = std::atoi(line.c_str() + 5);
    }
    out.push_back(p);
  }
  ::closedir(d);
  return out;
}

TEST(SandboxIsolation, ConcurrentRunsNeverShareAHostUidOrCgroup) {
  JUDGE_REQUIRE_SANDBOX();
  struct Run {
    std::string tag;
    int in[2] = {-1, -1}, out[2] = {-1, -1};
    RunSpec spec;
    RunResult result;
    std::string ready;
  };
  Run runs[2];
  runs[0].tag = "tag-a";
  runs[1].tag = "tag-b";
  for (Run& run : runs) {
    ASSERT_EQ(::pipe2(run.in, O_CLOEXEC), 0);
    ASSERT_EQ(::pipe2(run.out, O_CLOEXEC), 0);
    run.spec = ProgSpec("iso_self", {"hold", run.tag});
    run.spec.stdin_stream = Stream::Fd(run.in[0]);
    run.spec.stdout_stream = Stream::Fd(run.out[1]);
    run.spec.limits.wall_time_s = 20;
  }
  std::vector<std::thread> threads;
  for (Run& run : runs) threads.emplace_back([&run] { run.result = RunIt(run.spec); });
  // Both programs are running once each has said so.
  for (Run& run : runs) run.ready = ReadLine(run.out[0], 15000);
  std::vector<HostProcess> procs = HostProcessesFromUid(kUidBase);
  for (Run& run : runs) ::close(run.in[1]);  // EOF: the programs exit
  for (std::thread& t : threads) t.join();
  for (Run& run : runs) {
    ::close(run.in[0]);
    ::close(run.out[0]);
    ::close(run.out[1]);
    EXPECT_EQ(run.result.status, RunStatus::kOk) << Describe(run.result);
  }
  ASSERT_EQ(runs[0].ready.rfind("ready ", 0), 0u) << runs[0].ready;
  ASSERT_EQ(runs[1].ready.rfind("ready ", 0), 0u) << runs[1].ready;

  HostProcess found[2];
  for (int i = 0; i < 2; ++i) {
    for (const HostProcess& p : procs) {
      if (p.cmdline.find("iso_self hold " + runs[i].tag) != std::string::npos) found[i] = p;
    }
    ASSERT_NE(found[i].pid, 0) << runs[i].tag << " not seen on the host";
    // The uid the host sees is the one the run's uid map names, and unprivileged.
    EXPECT_EQ(std::to_string(found[i].uid), runs[i].ready.substr(6));
    EXPECT_GE(found[i].uid, kUidBase);
    // Its init (the parent) runs as the same unprivileged uid.
    bool init_seen = false;
    for (const HostProcess& p : procs) {
      if (p.pid == found[i].ppid) {
        init_seen = true;
        EXPECT_EQ(p.uid, found[i].uid);
      }
    }
    EXPECT_TRUE(init_seen) << "init of " << runs[i].tag << " (pid " << found[i].ppid
                           << ") not running as a run uid";
    EXPECT_NE(found[i].cgroup.find("judge-run-"), std::string::npos) << found[i].cgroup;
  }
  EXPECT_NE(found[0].uid, found[1].uid);
  EXPECT_NE(found[0].cgroup, found[1].cgroup);
}

// Connects to 127.0.0.1:port or an abstract unix socket from the host; true if it worked.
bool HostConnects(int port, const std::string& abstract) {
  int s;
  int rc;
  if (port > 0) {
    s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a {};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    rc = ::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
  } else {
    s = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un u {};
    u.sun_family = AF_UNIX;
    std::memcpy(u.sun_path + 1, abstract.data(), abstract.size());
    rc = ::connect(s, reinterpret_cast<sockaddr*>(&u),
                   static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + abstract.size()));
  }
  ::close(s);
  return rc == 0;
}

// A port free on the host's loopback just now.
int FreePort() {
  int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in a {};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  int port = 0;
  if (::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
    port = ntohs(a.sin_port);
  }
  ::close(s);
  return port;
}

// No two runs share /tmp, /dev/shm, SysV IPC, abstract unix sockets or loopback.
TEST(SandboxIsolation, ConcurrentRunsCannotReachEachOther) {
  JUDGE_REQUIRE_SANDBOX();
  const int n = 100000 + ::getpid() % 100000;  // names and SysV key
  const int port = FreePort();
  ASSERT_GT(port, 0);
  ASSERT_LT(::shmget(static_cast<key_t>(n), 0, 0), 0) << "key in use on the host";
  const std::string args = std::to_string(n) + " " + std::to_string(port);
  const std::string all_ok = "tmp ok\ndevshm ok\nsysv ok\nabstract ok\ntcp ok\n";

  // The probes work where the things exist: both sides in one run.
  RunSpec same = ShellSpec(
      "mkfifo /tmp/hold && (/progs/iso_net share " + args +
      " </tmp/hold >/tmp/out &) && "
      "exec 3>/tmp/hold && until grep -q ready /tmp/out; do :; done && /progs/iso_net reach " +
      args);
  same.loopback = true;
  RunResult control = RunIt(same);
  ASSERT_EQ(control.status, RunStatus::kOk) << Describe(control);
  ASSERT_EQ(control.stdout_data, all_ok);

  // Run A makes them and holds; run B, at the same time, finds none.
  int in[2], out[2];
  ASSERT_EQ(::pipe2(in, O_CLOEXEC), 0);
  ASSERT_EQ(::pipe2(out, O_CLOEXEC), 0);
  RunSpec a = ProgSpec("iso_net", {"share", std::to_string(n), std::to_string(port)});
  a.loopback = true;
  a.stdin_stream = Stream::Fd(in[0]);
  a.stdout_stream = Stream::Fd(out[1]);
  a.limits.wall_time_s = 20;
  RunResult ra;
  std::thread ta([&] { ra = RunIt(a); });
  std::string shared;
  for (std::string line; (line = ReadLine(out[0], 15000)) != "ready" && !line.empty();) {
    shared += line + "\n";
  }
  RunSpec b = ProgSpec("iso_net", {"reach", std::to_string(n), std::to_string(port)});
  b.loopback = true;
  RunResult rb = RunIt(b);
  // The host sees none of them either.
  struct stat st;
  const bool host_tmp = ::stat(("/tmp/iso-" + std::to_string(n)).c_str(), &st) == 0;
  const bool host_shm = ::stat(("/dev/shm/iso-" + std::to_string(n)).c_str(), &st) == 0;
  const bool host_sysv = ::shmget(static_cast<key_t>(n), 0, 0) >= 0;
  const bool host_abstract = HostConnects(0, "iso-" + std::to_string(n));
  const bool host_tcp = HostConnects(port, "");
  ::close(in[1]);
  ta.join();
  ::close(in[0]);
  ::close(out[0]);
  ::close(out[1]);

  EXPECT_EQ(shared, all_ok);
  EXPECT_EQ(ra.status, RunStatus::kOk) << Describe(ra);
  ASSERT_EQ(rb.status, RunStatus::kOk) << Describe(rb);
  auto res = Results(rb.stdout_data, 1);
  ASSERT_EQ(res.size(), 5u) << rb.stdout_data;
  for (const auto& [what, result] : res)
    EXPECT_FALSE(IsOk(result)) << what << " reached from run B";
  EXPECT_FALSE(host_tmp);
  EXPECT_FALSE(host_shm);
  EXPECT_FALSE(host_sysv);
  EXPECT_FALSE(host_abstract);
  EXPECT_FALSE(host_tcp);
}

// ---------------------------------------------------------------------------------
// Teardown

TEST(SandboxIsolation, NothingOfARunRemainsMounted) {
  JUDGE_REQUIRE_SANDBOX();
  ASSERT_EQ(HostJudgeMounts(), "");
  TempDir dir;
  OpenUp(dir, 0777);
  RunSpec spec = ProgSpec("iso_fsops", {"create", "/out/x", "create", "/tmp/x", "mkdir", "/box/d"});
  spec.binds.push_back({dir.path(), "/out", true});
  RunResult r = RunIt(spec);
  ASSERT_EQ(r.status, RunStatus::kOk) << Describe(r);
  EXPECT_EQ(r.stdout_data, "create /out/x ok\ncreate /tmp/x ok\nmkdir /box/d ok\n");
  EXPECT_EQ(HostJudgeMounts(), "");
  // (No process of it either: the leftovers check covers that once no run is going.)
}

}  // namespace
}  // namespace judge::testing
