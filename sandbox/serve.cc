#include "sandbox/serve.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "common/builtin_profiles.h"
#include "common/fd.h"
#include "common/file_util.h"
#include "sandbox/child.h"

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77  // Linux 6.5
#endif

namespace judge {

const char kServeUsage[] =
    "usage: judge-sandbox serve [--socket PATH] [--warm N] [--parallel N]\n"
    "Runs `judge-sandbox run` commands in one engine that makes their containers before they\n"
    "come: a command hands its run to the server whose socket JUDGE_SANDBOX_SERVER names, and\n"
    "prints and returns what it would have (the same result JSON, messages and exit code; the\n"
    "command opens its --stdin/--stdout/--stderr files and writes its --result itself).\n"
    "Serves until SIGTERM, SIGINT or SIGHUP (a second one ends it at once).\n"
    "  --socket PATH   where to listen (default /run/judge-sandbox.sock; mode 0600, in a\n"
    "                  directory only root may write; PATH.lock is kept beside it)\n"
    "  --warm N        containers made ahead, of the shapes of recent runs (default: 2 per CPU)\n"
    "  --parallel N    runs served at once; more commands wait for one to end (default: 4\n"
    "                  per CPU)\n"
    "Only commands with the server's rights are served: its uid and groups, user and mount\n"
    "namespaces, root directory, capabilities, seccomp mode and security label. Any other\n"
    "command, and one that finds no server, runs its container itself after a warning.\n";

namespace {

constexpr int kRequestTimeoutMs = 5000;

std::string Line(const std::string& message) { return "judge-sandbox: " + message + "\n"; }

Result<sockaddr_un> SocketAddress(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof addr.sun_path) {
    return Status::Error("socket path '" + path + "' is empty or longer than " +
                         std::to_string(sizeof addr.sun_path - 1) + " bytes");
  }
  std::memcpy(addr.sun_path, path.data(), path.size());
  return addr;
}

// A field of /proc/PID/status ("CapEff", ...), "" if absent.
std::string StatusField(const std::string& status, const std::string& name) {
  const std::string key = name + ":";
  for (size_t start = 0; start < status.size();) {
    size_t end = status.find('\n', start);
    if (end == std::string::npos) end = status.size();
    const std::string_view line(status.data() + start, end - start);
    if (line.starts_with(key)) {
      std::string_view v = line.substr(key.size());
      while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
      return std::string(v);
    }
    start = end + 1;
  }
  return "";
}

bool SameFile(const std::string& a, const std::string& b) {
  struct stat x, y;
  return ::stat(a.c_str(), &x) == 0 && ::stat(b.c_str(), &y) == 0 && x.st_dev == y.st_dev &&
         x.st_ino == y.st_ino;
}

// Does the peer have at least the server's rights, so that the server does nothing for
// it that it could not do itself? The same uid (SO_PEERCRED), user and mount namespaces
// and root directory (so its paths name the same files), effective capabilities that
// include the server's, the same seccomp mode and security label. "" or why not.
std::string PeerRefusal(int conn) {
  struct ucred cred {};
  socklen_t len = sizeof cred;
  if (::getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return "no peer credentials";
  if (cred.uid != ::geteuid()) {
    return "it serves uid " + std::to_string(::geteuid()) + " only, not " +
           std::to_string(cred.uid);
  }
  // The peer as a pidfd where the kernel gives one (6.5): its pid cannot have been
  // reused while the files below were read if it is still alive after.
  int pidfd = -1;
  len = sizeof pidfd;
  UniqueFd peer(::getsockopt(conn, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) == 0 ? pidfd : -1);
  const std::string proc = "/proc/" + std::to_string(cred.pid);
  for (const auto& [file, what] :
       {std::pair{"/ns/user", "user namespace"}, std::pair{"/ns/mnt", "mount namespace"},
        std::pair{"/root/", "root directory"}}) {
    if (!SameFile(proc + file, std::string("/proc/self") + file)) {
      return std::string("the command's ") + what + " is not the server's";
    }
  }
  auto theirs = ReadFile(proc + "/status");
  auto ours = ReadFile("/proc/self/status");
  if (!theirs.ok() || !ours.ok()) return "cannot read the command's status";
  for (const char* caps : {"CapEff", "CapPrm", "CapBnd"}) {
    const unsigned long long t = std::strtoull(StatusField(*theirs, caps).c_str(), nullptr, 16);
    const unsigned long long o = std::strtoull(StatusField(*ours, caps).c_str(), nullptr, 16);
    if ((t & o) != o) return "the command lacks capabilities the server has";
  }
  // At least the server's groups; no_new_privs only if the server has it too; the same
  // seccomp mode and number of filters (their content is not shown).
  auto words = [](const std::string& text) {
    std::vector<std::string> out;
    for (size_t i = 0; i < text.size();) {
      const size_t end = std::min(text.find_first_of(" \t", i), text.size());
      if (end > i) out.push_back(text.substr(i, end - i));
      i = end + 1;
    }
    return out;
  };
  const std::vector<std::string> their_groups = words(StatusField(*theirs, "Groups"));
  for (const std::string& g : words(StatusField(*ours, "Groups"))) {
    if (std::find(their_groups.begin(), their_groups.end(), g) == their_groups.end()) {
      return "the command lacks group " + g + " that the server has";
    }
  }
  if (StatusField(*theirs, "NoNewPrivs") == "1" && StatusField(*ours, "NoNewPrivs") != "1") {
    return "the command has no_new_privs and the server has not";
  }
  for (const char* field : {"Seccomp", "Seccomp_filters"}) {
    if (StatusField(*theirs, field) != StatusField(*ours, field)) {
      return std::string("the command's ") + field + " is not the server's";
    }
  }
  auto their_label = ReadFile(proc + "/attr/current");
  auto our_label = ReadFile("/proc/self/attr/current");
  if (their_label.ok() != our_label.ok() || (our_label.ok() && *their_label != *our_label)) {
    return "the command's security label is not the server's";
  }
  if (peer && ::syscall(SYS_pidfd_send_signal, peer.get(), 0, nullptr, 0) != 0)
    return "the command is gone";
  return "";
}

// A profile or policy name for the server: a file path made absolute and canonical
// (the server reads it, with its own working directory), a built-in name as it is.
Result<std::string> ForServer(const std::string& name_or_file, const char* what) {
  if (!IsProfileFile(name_or_file)) {
    return name_or_file;
  }
  char resolved[PATH_MAX];
  struct stat st;
  if (!::realpath(name_or_file.c_str(), resolved) || ::stat(resolved, &st) != 0 ||
      !S_ISREG(st.st_mode)) {
    return Status::Error(std::string(what) + " " + name_or_file + " is not a regular file");
  }
  return std::string(resolved);
}

// A profile or policy the server is asked to read: a built-in name, or an absolute path
// (as the command resolved it) to a regular file of at most 1 MiB outside /proc and
// /dev, so that no peer has the server read its own fds, a device or a FIFO.
Status CheckReadableForPeer(const std::string& name_or_file) {
  if (!IsProfileFile(name_or_file)) {
    return Status::Ok();
  }
  if (name_or_file[0] != '/') return Status::Error(name_or_file + " is not an absolute path");
  if (name_or_file.rfind("/proc/", 0) == 0 || name_or_file.rfind("/dev/", 0) == 0) {
    return Status::Error(name_or_file + " is under /proc or /dev");
  }
  UniqueFd fd(::open(name_or_file.c_str(), O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC));
  struct stat st;
  if (!fd || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > (1 << 20)) {
    return Status::Error(name_or_file + " is not a regular file of at most 1 MiB");
  }
  return Status::Ok();
}

// A --dir or --layer source for the server: not under /proc, where the server's or its
// init's own files would be named (the command sends them resolved).
bool SourceUnderProc(const std::string& option, const std::string& value) {
  const std::string source = option == "--dir" ? value.substr(0, value.find(':')) : value;
  return source == "/proc" || source.rfind("/proc/", 0) == 0;
}

// Listens on `path`, holding `path`.lock for the server's life: one server per socket,
// and a socket left by one that was killed is replaced by the next.
Result<UniqueFd> Listen(const std::string& path, UniqueFd* lock, struct stat* bound) {
  ASSIGN_OR_RETURN(sockaddr_un addr, SocketAddress(path));
  const std::string lock_path = path + ".lock";
  lock->reset(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!*lock) return Status::Errno("cannot open " + lock_path);
  if (::flock(lock->get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK)
      return Status::Error("a server is already serving on " + path + " (give another --socket)");
    return Status::Errno("cannot lock " + lock_path);
  }
  struct stat st;
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return Status::Error(path +
                           " exists and is not a socket (remove it or give another --socket)");
    }
    if (::unlink(path.c_str()) != 0 && errno != ENOENT)
      return Status::Errno("cannot remove the stale " + path);
  }
  UniqueFd fd(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return Status::Errno("socket");
  // Mode 0600 from the start: no moment in which another user could connect.
  const mode_t old = ::umask(0177);
  const int rc = ::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::umask(old);
  if (rc != 0) return Status::Errno("cannot listen on " + path);
  if (::listen(fd.get(), 128) != 0 || ::stat(path.c_str(), bound) != 0) {
    Status failed = Status::Errno("cannot listen on " + path);
    ::unlink(path.c_str());
    return failed;
  }
  return fd;
}

// Threads that each take a connection, serve its run and take the next: no thread is
// made per run, and a command beyond their number waits in the backlog.
class Server {
 public:
  Server(Sandbox& engine, int listener, UniqueFd wake, int threads)
      : engine_(engine), listener_(listener), wake_(std::move(wake)) {
    for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Loop(); });
  }
  ~Server() {
    Stop();
    Join();
  }

  // Takes no more commands and cancels the runs being served (they end within 0.1 s).
  void Stop() {
    stopping_ = true;
    const uint64_t one = 1;
    (void)!::write(wake_.get(), &one, sizeof one);
  }
  bool Done() const { return ended_.load() == threads_.size(); }
  // After Stop: waits for the threads, then refuses the commands still in the backlog,
  // which then run their containers themselves.
  void Join() {
    for (std::thread& t : threads_) {
      if (t.joinable()) t.join();
    }
    for (;;) {
      UniqueFd conn(::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC));
      if (!conn) break;
      Refuse(conn.get(), "the server is stopping");
    }
  }

  long served() const { return served_.load(); }

 private:
  void Loop() {
    while (!stopping_) {
      struct pollfd p[2] = {{listener_, POLLIN, 0}, {wake_.get(), POLLIN, 0}};
      if (::poll(p, 2, -1) < 0 || p[1].revents || !p[0].revents) continue;
      UniqueFd conn(::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC));
      if (!conn) {
        if (errno == EMFILE || errno == ENFILE || errno == ENOMEM || errno == ENOBUFS) {
          ::poll(nullptr, 0, 10);  // out of fds or memory: not a busy loop
        }
        continue;  // another thread took it (EAGAIN)
      }
      Handle(conn.get());
    }
    ++ended_;
  }

  static void Reply(int conn, const ServeReply& r) {
    const std::string m = EncodeServeReply(r);
    (void)SendWithFds(conn, m.data(), m.size(), nullptr, 0);
  }
  // A refusal goes after the request is read (when one came): a reply with the request
  // unread could be lost (the command's send fails, or its socket is reset when this
  // end closes). The command then runs its container itself.
  static void Refuse(int conn, const std::string& why) {
    char drop[64];
    (void)::recv(conn, drop, sizeof drop, MSG_DONTWAIT | MSG_TRUNC);
    Reply(conn, {true, {0, "", why}});
  }

  void Handle(int conn) {
    auto bad = [conn](const std::string& why) {
      Reply(conn, {false, {2, "", Line("bad request from the command: " + why)}});
    };
    // The request follows the connection at once; a silent peer is dropped.
    for (int waited = 0;; waited += 100) {
      if (stopping_) return Refuse(conn, "the server is stopping");
      if (waited >= kRequestTimeoutMs) return;
      struct pollfd p = {conn, POLLIN, 0};
      const int rc = ::poll(&p, 1, 100);
      if (rc > 0) break;
      if (rc < 0 && errno != EINTR) return;
    }
    // Its size first (MSG_TRUNC gives a message's whole length, and no fd is taken).
    const ssize_t size = ::recv(conn, nullptr, 0, MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT);
    if (size <= 0) return;  // it hung up
    std::string buf(static_cast<size_t>(std::min<ssize_t>(size, kMaxServeRequest + 1)), '\0');
    int fds[3] = {-1, -1, -1};
    int n_fds = 0;
    const long n = RecvWithFds(conn, buf.data(), buf.size(), fds, 3, &n_fds);
    UniqueFd held[3] = {UniqueFd(fds[0]), UniqueFd(fds[1]), UniqueFd(fds[2])};
    if (n == 0) return;
    if (const std::string why = PeerRefusal(conn); !why.empty()) return Refuse(conn, why);
    if (n < 0) {
      return bad(errno == EMSGSIZE ? "over 256 KiB, or more than 3 fds" : std::strerror(errno));
    }
    auto request = DecodeServeRequest(std::string_view(buf.data(), static_cast<size_t>(n)));
    if (!request.ok()) return bad(request.status().ToString());
    if (std::popcount(request->streams) != n_fds)
      return bad("its fds are not the streams it names");
    // Every file the server reads is named by an absolute path (the command's working
    // directory is not the server's); the command writes its --result itself.
    auto split = SplitRunArgs(request->args);
    if (!split.ok()) return Reply(conn, {false, {2, "", Line(split.status().ToString())}});
    for (const auto& [option, value] : split->options) {
      if (option == "--profile" || option == "--seccomp") {
        if (Status st = CheckReadableForPeer(value); !st.ok())
          return bad(option + " " + st.ToString());
      }
      if ((option == "--dir" || option == "--layer") && SourceUnderProc(option, value)) {
        return bad(option + " " + value + " is under /proc");
      }
    }
    auto opts = ParseRunOptions(request->args);
    if (!opts.ok()) return Reply(conn, {false, {2, "", Line(opts.status().ToString())}});
    if (!opts->result_path.empty()) return bad("--result is the command's to write");
    // The policy a profile names is read as the one the command names.
    if (Status st = CheckReadableForPeer(opts->seccomp); !st.ok() && opts->seccomp != "none") {
      return bad("the seccomp policy " + st.ToString());
    }
    Stream* streams[3] = {&opts->spec.stdin_stream, &opts->spec.stdout_stream,
                          &opts->spec.stderr_stream};
    for (int i = 0, next = 0; i < 3; ++i) {
      const bool given = (request->streams >> i) & 1;
      if (given != (streams[i]->kind == Stream::kFile))
        return bad("its fds are not the streams it names");
      if (!given) continue;
      const int fd = held[next++].get();
      // The run's output is written through this process: only files and devices, which
      // take it without waiting for a reader (a pipe or FIFO could hold a thread here).
      struct stat st;
      if (i > 0 && (::fstat(fd, &st) != 0 || !(S_ISREG(st.st_mode) || S_ISCHR(st.st_mode)))) {
        return Refuse(conn, std::string(i == 1 ? "--stdout" : "--stderr") +
                                " is not a regular file or a device: the command writes it itself");
      }
      streams[i]->fd = fd;
    }
    std::shared_ptr<const SeccompProgram> program;
    if (opts->seccomp != "none") {
      auto compiled = Program(opts->seccomp);
      if (!compiled.ok()) return Reply(conn, {false, {2, "", Line(compiled.status().ToString())}});
      program = std::move(compiled).value();
    }
    // A command that is gone (killed, ^C) or a server that stops ends the run.
    opts->spec.cancelled = [this, conn] {
      struct pollfd p = {conn, 0, 0};
      return stopping_.load() || (::poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLERR)) != 0);
    };
    const CommandOutput o = RunParsed(engine_, *opts, program.get());
    ++served_;
    Reply(conn, {false, o});
  }

  // The compiled filter of a policy, compiled once per policy text.
  Result<std::shared_ptr<const SeccompProgram>> Program(const std::string& name) {
    ASSIGN_OR_RETURN(ProfileText text, FindProfileText("seccomp", name));
    {
      std::lock_guard<std::mutex> lock(programs_mu_);
      auto it = programs_.find(text.text);
      if (it != programs_.end()) return it->second;
    }
    ASSIGN_OR_RETURN(SeccompPolicy policy, ParseSeccompPolicy(text.text, text.file));
    ASSIGN_OR_RETURN(SeccompProgram compiled, CompileSeccomp(policy, engine_.seccomp_notify()));
    auto shared = std::make_shared<const SeccompProgram>(std::move(compiled));
    std::lock_guard<std::mutex> lock(programs_mu_);
    if (programs_.size() >= 64) programs_.clear();
    programs_.emplace(std::move(text.text), shared);
    return shared;
  }

  Sandbox& engine_;
  const int listener_;
  UniqueFd wake_;  // an eventfd, readable once stopping
  std::atomic<bool> stopping_{false};
  std::atomic<size_t> ended_{0};
  std::atomic<long> served_{0};
  std::vector<std::thread> threads_;
  std::mutex programs_mu_;
  std::map<std::string, std::shared_ptr<const SeccompProgram>> programs_;
};

}  // namespace

CommandOutput RunParsed(Sandbox& engine, RunOptions& opts, const SeccompProgram* program) {
  CommandOutput o;
  opts.spec.seccomp = program;
  const RunResult result = engine.Run(opts.spec);
  if (opts.trace) o.err += result.trace.Json() + "\n";
  o.out = RunResultJson(result) + "\n";
  if (!WriteResult(opts.result_path, &o)) return o;
  if (result.status == RunStatus::kSandboxError) {
    o.err += Line(result.message);
    o.exit_code = 1;
  }
  return o;
}

bool WriteResult(const std::string& path, CommandOutput* o) {
  if (path.empty()) return true;
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd ||
      ::write(fd.get(), o->out.data(), o->out.size()) != static_cast<ssize_t>(o->out.size())) {
    o->err += Line("cannot write --result " + path + ": " + std::strerror(errno));
    o->exit_code = 1;
    o->out.clear();
    return false;
  }
  o->out.clear();
  return true;
}

std::optional<CommandOutput> RunThroughServer(const std::string& socket_path,
                                              const std::vector<std::string>& args,
                                              RunOptions& opts, std::vector<UniqueFd>* opened) {
  auto here = [&](const std::string& why) -> std::optional<CommandOutput> {
    std::fprintf(stderr,
                 "judge-sandbox: warning: not run by the server at %s (%s): running it here\n",
                 socket_path.c_str(), why.c_str());
    return std::nullopt;
  };
  // The options as the server gets them: every one as --name=value, the profile and the
  // policy (whichever gave it) as absolute paths or built-in names, no --result.
  auto split = SplitRunArgs(args);
  if (!split.ok()) return std::nullopt;  // the run here says what is wrong
  ServeRequest request;
  for (const auto& [name, value] : split->options) {
    if (name == "--result" || name == "--seccomp") continue;
    if (name == "--trace") {
      request.args.push_back(name);
      continue;
    }
    std::string v = value;
    if (name == "--profile") {
      auto resolved = ForServer(value, "--profile");
      if (!resolved.ok()) return here(resolved.status().ToString());
      v = *resolved;
    } else if (name == "--dir" || name == "--layer") {
      // Host sources as this command sees them (/proc/self/... is its own).
      const size_t colon = name == "--dir" ? value.find(':') : std::string::npos;
      char resolved[PATH_MAX];
      if (!::realpath(value.substr(0, colon).c_str(), resolved))
        return std::nullopt;  // reported here
      v = resolved + (colon == std::string::npos ? "" : value.substr(colon));
    }
    request.args.push_back(name + "=" + v);
  }
  // A policy file is read here first, so that a bad one fails before any stream file is
  // touched, as it does here.
  if (opts.seccomp != "none") {
    if (!LoadSeccompPolicy(opts.seccomp).ok()) return std::nullopt;
  }
  auto seccomp = ForServer(opts.seccomp, "the seccomp policy");
  if (!seccomp.ok()) return here(seccomp.status().ToString());
  request.args.push_back("--seccomp=" + *seccomp);
  request.args.push_back("--");
  request.args.insert(request.args.end(), split->program.begin(), split->program.end());

  // The standard-stream files are opened here, as the command would open them (its
  // working directory, its umask, a FIFO waiting for its writer), before the server is
  // asked; they stay open for the run here should there be no server or should it
  // refuse. One that cannot be opened: the run here says why.
  Stream* streams[3] = {&opts.spec.stdin_stream, &opts.spec.stdout_stream,
                        &opts.spec.stderr_stream};
  int fds[3];
  int n_fds = 0;
  for (int i = 0; i < 3; ++i) {
    Stream& s = *streams[i];
    if (s.kind != Stream::kFile) continue;
    if (s.fd < 0) {
      UniqueFd f(OpenStreamFile(s.path, /*output=*/i > 0));
      if (!f) return std::nullopt;
      s.fd = f.get();
      opened->push_back(std::move(f));
    }
    request.streams |= 1u << i;
    fds[n_fds++] = s.fd;
  }

  auto addr = SocketAddress(socket_path);
  if (!addr.ok()) return here(addr.status().ToString());
  UniqueFd sock(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  if (!sock) return here(std::string("socket: ") + std::strerror(errno));
  if (::connect(sock.get(), reinterpret_cast<sockaddr*>(&*addr), sizeof *addr) != 0) {
    return here(std::string(std::strerror(errno)) + "; start `judge-sandbox serve --socket " +
                socket_path + "` or unset " + kServerEnv);
  }
  // Only a server of root's or of this user's is trusted with the run and its result.
  struct ucred cred {};
  socklen_t len = sizeof cred;
  if (::getsockopt(sock.get(), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 ||
      (cred.uid != 0 && cred.uid != ::geteuid())) {
    return here("it runs as uid " + std::to_string(cred.uid));
  }
  const std::string sent = EncodeServeRequest(request);
  if (sent.size() > kMaxServeRequest) return here("its arguments are over 256 KiB");
  if (sent.size() > 64 * 1024) {
    const int size = static_cast<int>(2 * kMaxServeRequest);
    if (::setsockopt(sock.get(), SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size) != 0) {
      (void)::setsockopt(sock.get(), SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    }
  }
  if (SendWithFds(sock.get(), sent.data(), sent.size(), fds, n_fds) !=
      static_cast<long>(sent.size())) {
    return here(std::string("sending the request: ") + std::strerror(errno));
  }
  // From here the run may have started: whatever happens, it does not run again here.
  // Its size first (MSG_TRUNC gives a message's whole length), then the message.
  ssize_t n;
  do {
    n = ::recv(sock.get(), nullptr, 0, MSG_PEEK | MSG_TRUNC);
  } while (n < 0 && errno == EINTR);
  std::string reply(static_cast<size_t>(std::clamp<ssize_t>(n, 0, kMaxServeReply)), '\0');
  if (n > 0) {
    do {
      n = ::recv(sock.get(), reply.data(), reply.size(), 0);
    } while (n < 0 && errno == EINTR);
  }
  if (n <= 0) {
    return CommandOutput{
        1, "", Line("the server at " + socket_path + " ended before the run's result came")};
  }
  reply.resize(static_cast<size_t>(n));
  auto decoded = DecodeServeReply(reply);
  if (!decoded.ok()) {
    return CommandOutput{1, "",
                         Line("the server at " + socket_path + ": " + decoded.status().ToString())};
  }
  if (decoded->refused) return here(decoded->output.err);
  CommandOutput o = std::move(decoded->output);
  if (!o.out.empty()) WriteResult(opts.result_path, &o);  // the command's --result, written here
  return o;
}

int Serve(const std::vector<std::string>& args) {
  auto die = [](int code, const std::string& message) {
    std::fputs(Line(message).c_str(), stderr);
    return code;
  };
  std::string path = kDefaultServerSocket;
  const int cpus = std::max(1, static_cast<int>(::sysconf(_SC_NPROCESSORS_ONLN)));
  int warm = 2 * cpus, threads = 4 * cpus;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string a = args[i], v;
    if (const size_t eq = a.find('='); a.rfind("--", 0) == 0 && eq != std::string::npos) {
      v = a.substr(eq + 1);
      a.resize(eq);
    } else if (a == "--socket" || a == "--warm" || a == "--parallel") {
      if (i + 1 >= args.size())
        return die(2, a + " needs a value (see judge-sandbox serve --help)");
      v = args[++i];
    }
    if (a == "--socket") {
      path = v;
    } else if (a == "--warm" || a == "--parallel") {
      char* end = nullptr;
      const long n = std::strtol(v.c_str(), &end, 10);
      const long least = a == "--warm" ? 0 : 1;
      if (v.empty() || *end != '\0' || n < least || n > 1024) {
        return die(2, "bad " + a + " '" + v + "' (" + std::to_string(least) + " to 1024)");
      }
      (a == "--warm" ? warm : threads) = static_cast<int>(n);
    } else {
      return die(2, "unknown option " + a + " (see judge-sandbox serve --help)");
    }
  }

  // The stop signals are blocked before any thread is made (the engine's too) and taken
  // from a signalfd by this one.
  sigset_t stop;
  sigemptyset(&stop);
  for (int s : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&stop, s);
  ::pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  UniqueFd signals(::signalfd(-1, &stop, SFD_CLOEXEC));
  if (!signals) return die(1, std::string("signalfd: ") + std::strerror(errno));

  SandboxOptions options;
  options.warm = warm;
  auto sandbox = Sandbox::Create(options);
  if (!sandbox.ok()) return die(1, sandbox.status().ToString());
  for (const std::string& w : (*sandbox)->warnings())
    std::fputs(Line("warning: " + w).c_str(), stderr);
  UniqueFd lock;
  struct stat bound {};
  auto listener = Listen(path, &lock, &bound);
  if (!listener.ok()) return die(1, listener.status().ToString());
  std::fprintf(stderr, "judge-sandbox: serving on %s (%d runs at once, %d warm containers)\n",
               path.c_str(), threads, warm);

  UniqueFd wake(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake) return die(1, std::string("eventfd: ") + std::strerror(errno));
  Server server(**sandbox, listener->get(), std::move(wake), threads);
  // Until a stop signal; then until the runs being served are cancelled and answered,
  // unless a second signal comes.
  auto next_signal = [&](int timeout_ms) {
    struct pollfd p = {signals.get(), POLLIN, 0};
    struct signalfd_siginfo info;
    return ::poll(&p, 1, timeout_ms) > 0 &&
           ::read(signals.get(), &info, sizeof info) == sizeof info;
  };
  while (!next_signal(-1)) {
  }
  server.Stop();
  // No new command finds the socket (the socket goes if it is still the one bound);
  // those already waiting are told to run themselves once the runs being served end.
  struct stat st;
  if (::lstat(path.c_str(), &st) == 0 && st.st_dev == bound.st_dev && st.st_ino == bound.st_ino) {
    ::unlink(path.c_str());
  }
  while (!server.Done()) {
    if (next_signal(100)) {
      std::fputs(Line("a second stop signal: ending without waiting for the runs").c_str(), stderr);
      std::fflush(stderr);
      ::_exit(1);
    }
  }
  server.Join();
  std::fprintf(stderr, "judge-sandbox: served %ld runs\n", server.served());
  return 0;
}

}  // namespace judge
