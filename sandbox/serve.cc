#include "sandbox/serve.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
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
#include "sandbox/child.h"

namespace judge {

const char kServeUsage[] =
    "usage: judge-sandbox serve [--socket PATH] [--warm N] [--parallel N]\n"
    "Runs `judge-sandbox run` commands in one engine that makes their containers before they\n"
    "come: a command hands its run to the server whose socket JUDGE_SANDBOX_SERVER names, and\n"
    "prints and returns what it would have (same options, result JSON and exit code; relative\n"
    "paths are the command's). Serves until SIGTERM or SIGINT.\n"
    "  --socket PATH   where to listen (default /run/judge-sandbox.sock; mode 0600)\n"
    "  --warm N        containers made ahead, of the shapes of recent runs (default: 2 per CPU)\n"
    "  --parallel N    runs served at once; more commands wait for one to end (default: 4\n"
    "                  per CPU)\n"
    "Only commands of the server's own uid are served, and only from its mount namespace and\n"
    "root directory; any other command, and one that finds no server, runs its container\n"
    "itself after a warning.\n";

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

// Does process `pid` see the files this one sees: the same mount namespace and root?
bool SameFilesAs(pid_t pid) {
  const std::string proc = "/proc/" + std::to_string(pid);
  struct stat theirs, ours;
  auto same = [&](const std::string& p, const char* q) {
    return ::stat(p.c_str(), &theirs) == 0 && ::stat(q, &ours) == 0 &&
           theirs.st_dev == ours.st_dev && theirs.st_ino == ours.st_ino;
  };
  return same(proc + "/ns/mnt", "/proc/self/ns/mnt") && same(proc + "/root/", "/");
}

// Listens on `path`, replacing a socket that no server answers on (one left by a server
// that was killed), never a live server's nor any other file.
Result<UniqueFd> Listen(const std::string& path, struct stat* bound) {
  ASSIGN_OR_RETURN(sockaddr_un addr, SocketAddress(path));
  struct stat st;
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return Status::Error(path +
                           " exists and is not a socket (remove it or give another --socket)");
    }
    UniqueFd probe(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
    if (probe && ::connect(probe.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
      return Status::Error("a server is already serving on " + path + " (give another --socket)");
    }
    if (errno != ECONNREFUSED)
      return Status::Errno("cannot tell whether a server serves on " + path);
    if (::unlink(path.c_str()) != 0 && errno != ENOENT)
      return Status::Errno("cannot remove the stale " + path);
  }
  UniqueFd fd(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  if (!fd) return Status::Errno("socket");
  // Mode 0600 from the start: no moment in which another user could connect.
  const mode_t old = ::umask(0177);
  const int rc = ::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::umask(old);
  if (rc != 0) return Status::Errno("cannot listen on " + path);
  if (::listen(fd.get(), 128) != 0 || ::stat(path.c_str(), bound) != 0) {
    Status st = Status::Errno("cannot listen on " + path);
    ::unlink(path.c_str());
    return st;
  }
  return fd;
}

// Threads that each take a connection (accept), serve its run and take the next: no
// thread is made per run, and a command beyond their number waits in the backlog.
class Server {
 public:
  Server(Sandbox& engine, int listener, int threads) : engine_(engine), listener_(listener) {
    for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Loop(); });
  }
  ~Server() { Stop(); }

  // Takes no more commands, cancels the runs being served and waits for them.
  void Stop() {
    if (stopping_.exchange(true)) return;
    ::shutdown(listener_, SHUT_RDWR);  // wakes the threads blocked in accept
    for (std::thread& t : threads_) t.join();
  }

  long served() const { return served_.load(); }

 private:
  void Loop() {
    // This thread's working directory becomes each command's in turn; the others keep theirs.
    const bool own_cwd = ::unshare(CLONE_FS) == 0;
    std::string buf(kMaxServeRequest + 1, '\0');  // made once: a request is read into it
    while (!stopping_) {
      UniqueFd conn(::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC));
      if (!conn) {
        if (errno == EMFILE || errno == ENFILE || errno == ENOMEM || errno == ENOBUFS) {
          struct pollfd none = {-1, 0, 0};
          ::poll(&none, 1, 10);  // out of fds or memory: not a busy loop
        }
        continue;
      }
      if (!own_cwd) {
        const std::string m =
            EncodeServeReply({true, {0, "", "the server cannot change its working directory"}});
        (void)SendWithFds(conn.get(), m.data(), m.size(), nullptr, 0);
        continue;
      }
      Handle(conn.get(), buf);
    }
  }

  void Handle(int conn, std::string& buf) {
    auto reply = [conn](bool refused, const CommandOutput& o) {
      const std::string m = EncodeServeReply({refused, o});
      (void)SendWithFds(conn, m.data(), m.size(), nullptr, 0);
    };
    auto refuse = [&](const std::string& why) { reply(true, {0, "", why}); };
    auto bad = [&](const std::string& why) {
      reply(false, {2, "", Line("bad request from the command: " + why)});
    };
    // The request follows the connection at once; a silent peer is dropped.
    for (int waited = 0;; waited += 100) {
      if (stopping_ || waited >= kRequestTimeoutMs) return;
      struct pollfd p = {conn, POLLIN, 0};
      const int rc = ::poll(&p, 1, 100);
      if (rc > 0) break;
      if (rc < 0 && errno != EINTR) return;
    }
    int fds[2] = {-1, -1};
    int n_fds = 0;
    const long n = RecvWithFds(conn, buf.data(), buf.size(), fds, 2, &n_fds);
    UniqueFd cwd(n_fds > 0 ? fds[0] : -1);
    UniqueFd extra(n_fds > 1 ? fds[1] : -1);
    if (n == 0) return;  // it hung up
    // Refused only once read: a reply before the request is read could be lost (the
    // command's send would fail, or its socket be reset when this end closes).
    struct ucred cred {};
    socklen_t len = sizeof cred;
    if (::getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
      return refuse("no peer credentials");
    if (cred.uid != ::geteuid()) {
      return refuse("it serves uid " + std::to_string(::geteuid()) + " only, not " +
                    std::to_string(cred.uid));
    }
    if (!SameFilesAs(cred.pid))
      return refuse("the command's mount namespace or root directory is not the server's");

    if (n < 0) return bad(errno == EMSGSIZE ? "over 256 KiB" : std::strerror(errno));
    auto args = DecodeServeRequest(std::string_view(buf.data(), static_cast<size_t>(n)));
    if (!args.ok()) return bad(args.status().ToString());
    if (!cwd || n_fds != 1) return bad("it must come with exactly one fd, its working directory");
    if (::fchdir(cwd.get()) != 0)
      return bad(std::string("its working directory: ") + std::strerror(errno));

    auto opts = ParseRunOptions(*args);
    if (!opts.ok()) return reply(false, {2, "", Line(opts.status().ToString())});
    std::shared_ptr<const SeccompProgram> program;
    if (opts->seccomp != "none") {
      auto compiled = Program(opts->seccomp);
      if (!compiled.ok()) return reply(false, {2, "", Line(compiled.status().ToString())});
      program = std::move(compiled).value();
    }
    // A command that is gone (killed, ^C) or a server that stops ends the run.
    opts->spec.cancelled = [this, conn] {
      struct pollfd p = {conn, 0, 0};
      return stopping_.load() || (::poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLERR)) != 0);
    };
    const CommandOutput o = RunParsed(engine_, *opts, program.get());
    ++served_;
    reply(false, o);
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
  std::atomic<bool> stopping_{false};
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
  const std::string json = RunResultJson(result) + "\n";
  if (!opts.result_path.empty()) {
    UniqueFd fd(::open(opts.result_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!fd || ::write(fd.get(), json.data(), json.size()) != static_cast<ssize_t>(json.size())) {
      o.err += Line("cannot write --result " + opts.result_path + ": " + std::strerror(errno));
      o.exit_code = 1;
      return o;
    }
  } else {
    o.out = json;
  }
  if (result.status == RunStatus::kSandboxError) {
    o.err += Line(result.message);
    o.exit_code = 1;
  }
  return o;
}

std::optional<CommandOutput> RunThroughServer(const std::string& socket_path,
                                              const std::vector<std::string>& args) {
  auto here = [&](const std::string& why) -> std::optional<CommandOutput> {
    std::fprintf(stderr,
                 "judge-sandbox: warning: not run by the server at %s (%s): running it here\n",
                 socket_path.c_str(), why.c_str());
    return std::nullopt;
  };
  const std::string request = EncodeServeRequest(args);
  if (request.size() > kMaxServeRequest) return here("its arguments are over 256 KiB");
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
  if (request.size() > 64 * 1024) {
    const int size = static_cast<int>(2 * kMaxServeRequest);
    if (::setsockopt(sock.get(), SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size) != 0) {
      (void)::setsockopt(sock.get(), SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    }
  }
  UniqueFd cwd(::open(".", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!cwd) return here(std::string("its working directory: ") + std::strerror(errno));
  const int fds[1] = {cwd.get()};
  if (SendWithFds(sock.get(), request.data(), request.size(), fds, 1) !=
      static_cast<long>(request.size())) {
    return here(std::string("sending the request: ") + std::strerror(errno));
  }
  // From here the run may have started: whatever happens, it does not run again here.
  // Its size first (MSG_TRUNC gives a message's whole length), then the message.
  ssize_t n;
  do {
    n = ::recv(sock.get(), nullptr, 0, MSG_PEEK | MSG_TRUNC);
  } while (n < 0 && errno == EINTR);
  std::string message(static_cast<size_t>(std::clamp<ssize_t>(n, 0, kMaxServeReply)), '\0');
  if (n > 0) {
    do {
      n = ::recv(sock.get(), message.data(), message.size(), 0);
    } while (n < 0 && errno == EINTR);
  }
  if (n <= 0) {
    return CommandOutput{
        1, "", Line("the server at " + socket_path + " ended before the run's result came")};
  }
  message.resize(static_cast<size_t>(n));
  auto reply = DecodeServeReply(message);
  if (!reply.ok())
    return CommandOutput{1, "",
                         Line("the server at " + socket_path + ": " + reply.status().ToString())};
  if (reply->refused) return here(reply->output.err);
  return std::move(reply->output);
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
  struct stat bound {};
  auto listener = Listen(path, &bound);
  if (!listener.ok()) return die(1, listener.status().ToString());
  std::fprintf(stderr, "judge-sandbox: serving on %s (%d runs at once, %d warm containers)\n",
               path.c_str(), threads, warm);

  Server server(**sandbox, listener->get(), threads);
  for (;;) {
    struct signalfd_siginfo info;
    const ssize_t n = ::read(signals.get(), &info, sizeof info);
    if (n == sizeof info) break;
    if (n < 0 && errno != EINTR) {
      std::fputs(Line(std::string("signalfd: ") + std::strerror(errno)).c_str(), stderr);
      break;
    }
  }
  // No new command gets in; the socket goes if it is still the one bound.
  server.Stop();
  struct stat st;
  if (::lstat(path.c_str(), &st) == 0 && st.st_dev == bound.st_dev && st.st_ino == bound.st_ino) {
    ::unlink(path.c_str());
  }
  const long served = server.served();
  std::fprintf(stderr, "judge-sandbox: served %ld runs\n", served);
  return 0;
}

}  // namespace judge
