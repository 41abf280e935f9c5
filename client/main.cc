// judge: the command-line client. `judge run` judges here, without a broker; `judge
// submit | wait | status | stats` talk to judge-broker (INTERFACES.md section 2).
#include <unistd.h>

#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "client/exec_command.h"
#include "client/options.h"
#include "client/remote.h"
#include "protocol/wire.h"
#include "client/table.h"
#include "common/file_util.h"
#include "protocol/codec.h"
#include "protocol/curve.h"
#include "sandbox/options.h"
#include "sandbox/sandbox.h"
#include "worker/judging.h"
#include "worker/languages.h"

namespace judge {
namespace {

const char kUsage[] =
    "usage: judge COMMAND [OPTIONS]      (judge COMMAND --help for its options)\n"
    "  judge run --source FILE (--tests DIR | --problem DIR)      judge here, no broker\n"
    "  judge submit --source FILE (--tests DIR | --problem DIR)   judge by judge-broker\n"
    "  judge exec [OPTIONS] -- STEP [--step STEP]...   CI steps in a container (here, or\n"
    "                           through judge-broker with --broker)\n"
    "  judge wait JOB_ID        the result of a submitted job, its tests as they are judged\n"
    "  judge status JOB_ID      where a job is: QUEUED, RUNNING, DONE, CANCELLED, UNKNOWN\n"
    "  judge cancel JOB_ID      stop a queued or running job\n"
    "  judge stats              the broker's queue, workers and verdicts\n"
    "  judge keygen NAME        a CURVE key pair for a broker, worker or client\n";

const char kRunUsage[] = "usage: judge run --source FILE (--tests DIR | --problem DIR) [OPTIONS]\n";
const char kRunOptions[] =
    "  --json                  print the result as one JSON object\n"
    "  --languages             list the languages and whether their toolchain is here\n"
    "exit status: 0 judged (whatever the verdict, but IE), 1 IE or no sandbox, 2 usage\n";

const char kSubmitUsage[] =
    "usage: judge submit --source FILE (--tests DIR | --problem DIR) [OPTIONS]\n";
const char kSubmitOptions[] =
    "  --id ID                 idempotency key: resubmitting it never judges twice\n"
    "                          (default: a random 128-bit id)\n"
    "  --priority N            higher runs first (default 0)\n"
    "  --no-wait               print the job id once accepted, and exit\n";
const char kWaitUsage[] = "usage: judge wait JOB_ID [OPTIONS]\n";
const char kWaitOptions[] =
    "  --timeout SEC           give up waiting after SEC seconds (default: never)\n"
    "  --json                  print the result as one JSON object\n";
const char kServiceOptions[] =
    "  --broker ENDPOINT       judge-broker's client endpoint (default: $JUDGE_BROKER,\n"
    "                          else tcp://127.0.0.1:5555)\n"
    "  --encoding pb|mp        protobuf or MessagePack on the wire (default pb)\n"
    "  --key FILE              this client's secret key, for a broker with CURVE keys\n"
    "                          (default: $JUDGE_KEY; judge keygen makes one)\n"
    "  --broker-key FILE|KEY   the broker's public key (default: $JUDGE_BROKER_KEY)\n";
const char kWaitExit[] =
    "exit status: 0 verdict AC, 1 another verdict, 2 usage error or the broker refused\n"
    "  (its message on stderr), 3 the job was cancelled, 4 --timeout passed (the job goes\n"
    "  on: judge wait JOB_ID)\n";
const char kStatusUsage[] =
    "usage: judge status JOB_ID [--broker ENDPOINT] [--encoding pb|mp] [--json]\n"
    "  prints QUEUED, RUNNING  tests done N, DONE  verdict V, CANCELLED or UNKNOWN\n"
    "exit status: 0 answered, 2 usage error or no answer from the broker in 5 s\n";
const char kCancelUsage[] =
    "usage: judge cancel JOB_ID [--broker ENDPOINT] [--encoding pb|mp] [--json]\n"
    "  stops a queued or running job; prints CANCELLED, or DONE  verdict V if too late\n"
    "exit status: 0 answered, 2 usage error, unknown job or no answer from the broker in 5 s\n";
const char kStatsUsage[] =
    "usage: judge stats [--broker ENDPOINT] [--encoding pb|mp] [--json]\n"
    "exit status: 0 answered, 2 usage error or no answer from the broker in 5 s\n";

int Die(int code, const std::string& message) {
  std::fprintf(stderr, "judge: %s\n", message.c_str());
  return code;
}

int Help(std::initializer_list<const char*> parts) {
  for (const char* p : parts) std::fputs(p, stdout);
  return 0;
}

int Run(const std::vector<std::string>& args) {
  JobOptions job_options;
  bool json = false, list = false, help = false;
  OptionParser parser("judge run");
  AddJobOptions(&parser, &job_options);
  parser.Flag("--json", &json);
  parser.Flag("--languages", &list);
  parser.Flag("--help", &help);
  parser.Flag("-h", &help);
  if (Status st = parser.Parse(args); !st.ok()) return Die(2, st.ToString());
  if (help) return Help({kRunUsage, kJobOptionsUsage, kRunOptions});

  auto languages = LanguageRegistry::Builtin();
  if (!languages.ok()) return Die(1, languages.status().ToString());
  if (list) {
    for (const std::string& n : languages->Available()) std::printf("%-10s available\n", n.c_str());
    for (const std::string& n : languages->Missing()) {
      std::printf("%-10s toolchain missing\n", n.c_str());
    }
    return 0;
  }
  Result<v1::Job> job = BuildJob(job_options, *languages, parser.command());
  if (!job.ok()) return Die(2, job.status().ToString());
  job->set_id("local");

  // Warm containers: each test's container made while the one before runs.
  SandboxOptions sandbox_options;
  sandbox_options.warm = 2;
  auto sandbox = Sandbox::Create(sandbox_options);
  if (!sandbox.ok()) return Die(1, sandbox.status().ToString());
  Judger judger(**sandbox, *languages);
  if (Status st = judger.Validate(*job); !st.ok()) return Die(2, st.ToString());

  Table table(!json && ::isatty(1));
  if (!json) table.Header();
  v1::JobResult result = judger.Judge(*job, [&](const v1::TestResult& t) {
    if (!json) table.Row(t);
  });
  if (json) {
    std::printf("%s\n", ToJson(result).c_str());
  } else {
    if (result.compile().status() != v1::CompileResult::OK) {
      std::printf("compilation: %s\n%s\n",
                  v1::CompileResult::Status_Name(result.compile().status()).c_str(),
                  result.compile().log().c_str());
    }
    std::printf("verdict: %s%s%s  (max %s, %s)\n", table.Color(result.verdict()),
                v1::Verdict_Name(result.verdict()).c_str(), table.Reset(),
                Ms(result.max_cpu_time_ms()).c_str(), Mib(result.max_memory_bytes()).c_str());
    if (!result.message().empty()) std::printf("%s\n", result.message().c_str());
  }
  return result.verdict() == v1::IE ? 1 : 0;
}

// What every service command takes: where the broker is and how to print.
struct ServiceFlags {
  RemoteOptions remote;
  bool json = false;
  bool help = false;
};

void AddServiceOptions(OptionParser* parser, ServiceFlags* flags) {
  flags->remote = RemoteOptionsFromEnvironment();
  parser->Value("--broker", &flags->remote.broker);
  parser->Value("--encoding", &flags->remote.encoding);
  parser->Value("--key", &flags->remote.key_file);
  parser->Value("--broker-key", &flags->remote.broker_key);
  parser->Flag("--json", &flags->json);
  parser->Flag("--help", &flags->help);
  parser->Flag("-h", &flags->help);
}

// Waits for the job and prints it: the table (live on a terminal) and the summary, or
// one JSON object. The exit status is the usage text's.
int WatchJob(RemoteClient& client, const std::string& job_id, bool watching,
             RemoteClock::time_point deadline, const std::string& timeout, bool json) {
  const bool tty = ::isatty(1);
  ProgressTable table(!json && tty, !json && tty);
  Result<WaitOutcome> outcome = client.Wait(job_id, watching, deadline, [&](const auto& t) {
    if (!json) table.Progress(t);
  });
  if (!outcome.ok()) return Die(2, outcome.status().ToString());
  switch (outcome->state) {
    case WaitOutcome::kDone:
      if (json) {
        std::printf("%s\n", ToJson(outcome->result).c_str());
      } else {
        table.Finish(outcome->result);
      }
      return outcome->result.verdict() == v1::AC ? 0 : 1;
    case WaitOutcome::kCancelled:
      std::printf("%s\n", json ? ToJson(outcome->status).c_str() : "cancelled");
      return 3;
    case WaitOutcome::kTimedOut:
      break;
  }
  return Die(4, "no result for job " + job_id + " within --timeout " + timeout +
                    " s (it goes on: judge wait " + job_id + ")");
}

int Submit(const std::vector<std::string>& args) {
  JobOptions job_options;
  ServiceFlags flags;
  std::string id, priority, timeout;
  bool no_wait = false;
  OptionParser parser("judge submit");
  AddJobOptions(&parser, &job_options);
  AddServiceOptions(&parser, &flags);
  parser.Value("--id", &id);
  parser.Value("--priority", &priority);
  parser.Value("--timeout", &timeout);
  parser.Flag("--no-wait", &no_wait);
  if (Status st = parser.Parse(args); !st.ok()) return Die(2, st.ToString());
  if (flags.help) {
    return Help(
        {kSubmitUsage, kJobOptionsUsage, kSubmitOptions, kWaitOptions, kServiceOptions, kWaitExit});
  }

  auto languages = LanguageRegistry::Builtin();
  if (!languages.ok()) return Die(2, languages.status().ToString());
  Result<v1::Job> job = BuildJob(job_options, *languages, parser.command());
  if (!job.ok()) return Die(2, job.status().ToString());
  job->set_id(id.empty() ? RandomJobId() : id);
  if (!priority.empty()) {
    Result<long long> p = ParseInt(priority);
    if (!p.ok() || *p < INT_MIN || *p > INT_MAX) {
      return Die(2, "bad --priority '" + priority + "' (a whole number)");
    }
    job->set_priority(static_cast<int>(*p));
  }
  // From now: reading the files is not waiting.
  auto deadline = Deadline(timeout);
  if (!deadline.ok()) return Die(2, deadline.status().ToString());

  auto client = RemoteClient::Connect(flags.remote);
  if (!client.ok()) return Die(2, client.status().ToString());
  Result<std::string> job_id = (*client)->Submit(*job, *deadline);
  if (!job_id.ok()) return Die(2, job_id.status().ToString());
  if (job_id->empty()) {
    return Die(4, flags.remote.broker + " did not accept job " + job->id() + " within --timeout " +
                      timeout + " s");
  }
  if (no_wait) {
    v1::JobRef ref;
    ref.set_job_id(*job_id);
    std::printf("%s\n", flags.json ? ToJson(ref).c_str() : job_id->c_str());
    return 0;
  }
  return WatchJob(**client, *job_id, true, *deadline, timeout, flags.json);
}

// The one JOB_ID of wait and status.
Result<std::string> JobIdArgument(const std::vector<std::string>& positional,
                                  const std::string& command) {
  if (positional.size() != 1) {
    return Status::Error(command + " takes one JOB_ID (see " + command + " --help)");
  }
  return positional[0];
}

int Wait(const std::vector<std::string>& args) {
  ServiceFlags flags;
  std::string timeout;
  OptionParser parser("judge wait");
  AddServiceOptions(&parser, &flags);
  parser.Value("--timeout", &timeout);
  std::vector<std::string> positional;
  if (Status st = parser.Parse(args, &positional); !st.ok()) return Die(2, st.ToString());
  if (flags.help) return Help({kWaitUsage, kWaitOptions, kServiceOptions, kWaitExit});
  Result<std::string> job_id = JobIdArgument(positional, parser.command());
  if (!job_id.ok()) return Die(2, job_id.status().ToString());
  auto deadline = Deadline(timeout);
  if (!deadline.ok()) return Die(2, deadline.status().ToString());
  auto client = RemoteClient::Connect(flags.remote);
  if (!client.ok()) return Die(2, client.status().ToString());
  return WatchJob(**client, *job_id, false, *deadline, timeout, flags.json);
}

// `judge status` and `judge cancel`: one JobRef out, one JobStatus back.
int StatusCommand(const std::vector<std::string>& args, bool cancel) {
  ServiceFlags flags;
  OptionParser parser(cancel ? "judge cancel" : "judge status");
  AddServiceOptions(&parser, &flags);
  std::vector<std::string> positional;
  if (Status st = parser.Parse(args, &positional); !st.ok()) return Die(2, st.ToString());
  if (flags.help) return Help({cancel ? kCancelUsage : kStatusUsage});
  Result<std::string> job_id = JobIdArgument(positional, parser.command());
  if (!job_id.ok()) return Die(2, job_id.status().ToString());
  auto client = RemoteClient::Connect(flags.remote);
  if (!client.ok()) return Die(2, client.status().ToString());
  Result<v1::JobStatus> status =
      cancel ? (*client)->Cancel(*job_id) : (*client)->QueryStatus(*job_id);
  if (!status.ok()) return Die(2, status.status().ToString());
  std::printf("%s\n", flags.json ? ToJson(*status).c_str() : StatusLine(*status).c_str());
  return 0;
}

const char kKeygenUsage[] =
    "usage: judge keygen NAME [--dir DIR]\n"
    "  writes DIR/NAME.key (the secret key, mode 0600) and DIR/NAME.pub (its public key,\n"
    "  for the broker's --client-keys or --worker-keys directory); DIR defaults to .\n";

int Keygen(const std::vector<std::string>& args) {
  std::string dir = ".";
  bool help = false;
  OptionParser parser("judge keygen");
  parser.Value("--dir", &dir);
  parser.Flag("--help", &help);
  std::vector<std::string> positional;
  if (Status st = parser.Parse(args, &positional); !st.ok()) return Die(2, st.ToString());
  if (help) return Help({kKeygenUsage});
  if (positional.size() != 1) return Die(2, "judge keygen takes one NAME (see --help)");
  Result<CurveKeyPair> pair = WriteKeyPair(dir, positional[0]);
  if (!pair.ok()) return Die(2, pair.status().ToString());
  std::printf("%s/%s.key  secret key (keep it private)\n%s/%s.pub  public key %s\n", dir.c_str(),
              positional[0].c_str(), dir.c_str(), positional[0].c_str(), pair->public_key.c_str());
  return 0;
}

int StatsCommand(const std::vector<std::string>& args) {
  ServiceFlags flags;
  OptionParser parser("judge stats");
  AddServiceOptions(&parser, &flags);
  if (Status st = parser.Parse(args); !st.ok()) return Die(2, st.ToString());
  if (flags.help) return Help({kStatsUsage});
  auto client = RemoteClient::Connect(flags.remote);
  if (!client.ok()) return Die(2, client.status().ToString());
  Result<v1::Stats> stats = (*client)->QueryStats();
  if (!stats.ok()) return Die(2, stats.status().ToString());
  if (flags.json) {
    std::printf("%s\n", ToJson(*stats).c_str());
  } else {
    std::fputs(StatsText(*stats).c_str(), stdout);
  }
  return 0;
}

}  // namespace
}  // namespace judge

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "-h" || args[0] == "--help") {
    std::fputs(judge::kUsage, args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  const std::string command = args[0];
  args.erase(args.begin());
  if (command == "run") return judge::Run(args);
  if (command == "submit") return judge::Submit(args);
  if (command == "exec") return judge::ExecMain(args);
  if (command == "wait") return judge::Wait(args);
  if (command == "status") return judge::StatusCommand(args, false);
  if (command == "cancel") return judge::StatusCommand(args, true);
  if (command == "stats") return judge::StatsCommand(args);
  if (command == "keygen") return judge::Keygen(args);
  return judge::Die(2,
                    "unknown command '" + command +
                        "' (judge run, submit, exec, wait, status, cancel, stats, keygen)");
}
