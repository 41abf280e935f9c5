// judge-broker: options, signals, then Broker::Run.
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "broker/broker.h"
#include "common/file_util.h"

namespace judge {
namespace {

const char kUsage[] =
    "usage: judge-broker [OPTIONS]\n"
    "  --clients ENDPOINT       where clients connect (default tcp://127.0.0.1:5555)\n"
    "  --workers ENDPOINT       where workers connect (default tcp://127.0.0.1:5556)\n"
    "  --db FILE                the SQLite journal (default judge.db)\n"
    "  --max-queue N            queued jobs before SUBMIT is refused (default 10000)\n"
    "  --max-message-bytes N    largest message accepted (default 67108864)\n"
    "  --heartbeat-ms MS        heartbeat interval; a worker silent for 3 is dead (default 1000)\n"
    "  --keep-results SEC       how long results stay answerable (default 604800)\n"
    "  --sync full|normal       full: fsync each commit (default); normal: survive a\n"
    "                           killed broker, not a power cut, at a lower cost\n"
    "  --key FILE               the broker's secret key (judge keygen): CURVE encryption\n"
    "                           and authentication on both sockets\n"
    "  --client-keys DIR        public keys (*.pub) of the clients allowed in\n"
    "  --worker-keys DIR        public keys (*.pub) of the workers allowed in\n"
    "  --insecure               without --key, listen on other than loopback anyway\n"
    "Stops on SIGTERM or SIGINT; SIGHUP reloads the key directories. Without --key it\n"
    "listens only on loopback, ipc:// and inproc:// unless --insecure. A port '*' picks a\n"
    "free one; the line\n"
    "'judge-broker: listening: clients ENDPOINT workers ENDPOINT' says which.\n";

int Usage(const std::string& why) {
  std::fprintf(stderr, "judge-broker: %s\n%s", why.c_str(), kUsage);
  return 2;
}

int Main(int argc, char** argv) {
  BrokerOptions o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (a == "--insecure") {
      o.insecure = true;
      continue;
    }
    if (i + 1 >= argc) return Usage("unknown option or missing value: " + a);
    std::string v = argv[++i];
    auto number = [&](long long min, long long max) { return ParseIntOption(a, v, min, max); };
    Result<long long> n = 0;
    if (a == "--clients") {
      o.clients = v;
    } else if (a == "--workers") {
      o.workers = v;
    } else if (a == "--db") {
      o.db = v;
    } else if (a == "--key") {
      o.key_file = v;
    } else if (a == "--client-keys") {
      o.client_keys_dir = v;
    } else if (a == "--worker-keys") {
      o.worker_keys_dir = v;
    } else if (a == "--sync") {
      if (v != "full" && v != "normal") return Usage("--sync is full or normal, not '" + v + "'");
      o.sync_full = v == "full";
    } else if (a == "--max-queue") {
      if (!(n = number(1, 100000000)).ok()) return Usage(n.status().message());
      o.max_queue = *n;
    } else if (a == "--max-message-bytes") {
      if (!(n = number(1024, 1ll << 30)).ok()) return Usage(n.status().message());
      o.max_message_bytes = *n;
    } else if (a == "--heartbeat-ms") {
      if (!(n = number(10, 3600000)).ok()) return Usage(n.status().message());
      o.heartbeat_ms = static_cast<int>(*n);
    } else if (a == "--keep-results") {
      if (!(n = number(1, 100ll * 365 * 86400)).ok()) return Usage(n.status().message());
      o.keep_results_s = *n;
    } else {
      return Usage("unknown option " + a);
    }
  }

  // Blocked before ZeroMQ starts its threads, so that they inherit the mask and the
  // signals reach only the signalfd.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigprocmask(SIG_BLOCK, &set, nullptr);
  sigset_t hup;
  sigemptyset(&hup);
  sigaddset(&hup, SIGHUP);
  sigprocmask(SIG_BLOCK, &hup, nullptr);
  int sfd = signalfd(-1, &set, SFD_CLOEXEC);
  int hfd = signalfd(-1, &hup, SFD_CLOEXEC);
  if (sfd < 0 || hfd < 0) {
    std::fprintf(stderr, "judge-broker: signalfd: %s\n", std::strerror(errno));
    return 1;
  }
  Result<std::unique_ptr<Broker>> broker = Broker::Create(o);
  if (!broker.ok()) {
    std::fprintf(stderr, "judge-broker: %s\n", broker.status().ToString().c_str());
    return 1;
  }
  std::fprintf(stderr, "judge-broker: listening: clients %s workers %s\n",
               (*broker)->client_endpoint().c_str(), (*broker)->worker_endpoint().c_str());
  std::fprintf(stderr, "judge-broker: journal %s, %zu job(s) queued\n", o.db.c_str(),
               (*broker)->queued());
  if (!(*broker)->authenticating()) {
    std::fprintf(stderr,
                 "judge-broker: no --key: clients and workers are not authenticated%s\n",
                 o.insecure ? " (--insecure)" : "; listening on local endpoints only");
  }
  Status st = (*broker)->Run(sfd, hfd);
  close(sfd);
  close(hfd);
  if (!st.ok()) {
    std::fprintf(stderr, "judge-broker: %s\n", st.ToString().c_str());
    return 1;
  }
  std::fprintf(stderr, "judge-broker: stopped\n");
  return 0;
}

}  // namespace
}  // namespace judge

int main(int argc, char** argv) { return judge::Main(argc, argv); }
