// judge: the command-line client. `judge run` judges locally, without a broker.
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "client/local_job.h"
#include "protocol/codec.h"
#include "sandbox/options.h"
#include "sandbox/sandbox.h"
#include "worker/judging.h"
#include "worker/languages.h"

namespace judge {
namespace {

const char kUsage[] =
    "usage: judge run --source FILE (--tests DIR | --problem DIR) [OPTIONS]\n"
    "  --language NAME         c, cpp17, cpp20, python3, java, ... (default: by file ending)\n"
    "  --tests DIR             NAME.in + NAME.ans (or .out) pairs, judged in natural order\n"
    "  --problem DIR           a problem package in the ICPC / Kattis format\n"
    "  --time-limit SEC        CPU time per test\n"
    "  --memory-limit BYTES    memory per test, suffixes K M G\n"
    "  --checker exact|tokens|float:EPS|FILE    (default exact)\n"
    "  --checker-interface testlib|kattis       how a checker FILE is called (default testlib)\n"
    "  --interactor FILE       an interactor: `interactor INPUT ANSWER`, exit 0 AC, 1 WA\n"
    "  --stop-on-failure       skip the tests after the first failure\n"
    "  --json                  print the result as one JSON object\n"
    "  --languages             list the languages and whether their toolchain is here\n";

int Die(int code, const std::string& message) {
  std::fprintf(stderr, "judge: %s\n", message.c_str());
  return code;
}

std::string Ms(double ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, ms < 10 ? "%.1f ms" : "%.0f ms", ms);
  return buf;
}

std::string Mib(long long bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MiB", bytes / 1048576.0);
  return buf;
}

class Table {
 public:
  explicit Table(bool color) : color_(color) {}
  void Header() const { std::printf("%-24s %-8s %10s %12s  %s\n", "test", "verdict", "time", "memory", "message"); }
  void Row(const v1::TestResult& t) const {
    std::string msg = t.checker_message().substr(0, 60);
    for (char& c : msg)
      if (c == '\n') c = ' ';
    std::printf("%-24s %s%-8s%s %10s %12s  %s\n", t.name().c_str(), Color(t.verdict()),
                v1::Verdict_Name(t.verdict()).c_str(), Reset(), Ms(t.cpu_time_ms()).c_str(),
                Mib(t.memory_peak_bytes()).c_str(), msg.c_str());
    std::fflush(stdout);
  }
  const char* Color(v1::Verdict v) const {
    if (!color_) return "";
    switch (v) {
      case v1::AC: return "\033[32m";
      case v1::SKIPPED: return "\033[90m";
      case v1::TLE: case v1::MLE: case v1::OLE: return "\033[33m";
      default: return "\033[31m";
    }
  }
  const char* Reset() const { return color_ ? "\033[0m" : ""; }

 private:
  bool color_;
};

int Run(const std::vector<std::string>& args) {
  std::string source, tests, problem, language, checker, checker_interface, interactor;
  std::string time_limit, memory_limit;
  bool json = false, stop = false, list = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](std::string* out) {
      if (i + 1 >= args.size()) return false;
      *out = args[++i];
      return true;
    };
    bool ok = true;
    if (a == "--source") ok = value(&source);
    else if (a == "--tests") ok = value(&tests);
    else if (a == "--problem") ok = value(&problem);
    else if (a == "--language") ok = value(&language);
    else if (a == "--checker") ok = value(&checker);
    else if (a == "--checker-interface") ok = value(&checker_interface);
    else if (a == "--interactor") ok = value(&interactor);
    else if (a == "--time-limit") ok = value(&time_limit);
    else if (a == "--memory-limit") ok = value(&memory_limit);
    else if (a == "--json") json = true;
    else if (a == "--stop-on-failure") stop = true;
    else if (a == "--languages") list = true;
    else if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    } else {
      return Die(2, "unknown option " + a + " (see judge run --help)");
    }
    if (!ok) return Die(2, a + " needs a value");
  }

  auto languages = LanguageRegistry::Builtin();
  if (!languages.ok()) return Die(1, languages.status().ToString());
  if (list) {
    for (const std::string& n : languages->Available()) std::printf("%-10s available\n", n.c_str());
    for (const std::string& n : languages->Missing()) std::printf("%-10s toolchain missing\n", n.c_str());
    return 0;
  }
  if (source.empty()) return Die(2, "--source FILE is required (see judge run --help)");
  if (tests.empty() == problem.empty()) return Die(2, "give either --tests DIR or --problem DIR");

  v1::Job job;
  job.set_id("local");
  auto src = LoadFile(source, 1 << 20);
  if (!src.ok()) return Die(2, src.status().ToString());
  *job.add_sources() = *src;
  if (language.empty()) {
    auto by_name = languages->ForFile(src->name());
    if (!by_name.ok()) return Die(2, by_name.status().ToString());
    language = *by_name;
  }
  job.set_language(language);
  Status st = problem.empty() ? AddTestsDir(tests, "", &job)
                              : LoadProblemPackage(problem, *languages, &job);
  if (!st.ok()) return Die(2, st.ToString());
  if (!checker.empty() || !checker_interface.empty()) {
    st = ParseChecker(checker, checker_interface, job.mutable_checker());
    if (!st.ok()) return Die(2, st.ToString());
  }
  if (!interactor.empty()) {
    auto f = LoadFile(interactor, 1 << 20);
    if (!f.ok()) return Die(2, f.status().ToString());
    *job.mutable_interactor() = *f;
  }
  if (!time_limit.empty()) {
    auto s = ParseSeconds(time_limit);
    if (!s.ok()) return Die(2, "--time-limit: " + s.status().ToString());
    job.mutable_limits()->set_cpu_time_s(*s);
  }
  if (!memory_limit.empty()) {
    auto b = ParseBytes(memory_limit);
    if (!b.ok()) return Die(2, "--memory-limit: " + b.status().ToString());
    job.mutable_limits()->set_memory_bytes(*b);
  }
  job.set_stop_on_failure(stop);

  auto sandbox = Sandbox::Create();
  if (!sandbox.ok()) return Die(1, sandbox.status().ToString());
  Judger judger(**sandbox, *languages);
  st = judger.Validate(job);
  if (!st.ok()) return Die(2, st.ToString());

  Table table(!json && ::isatty(1));
  if (!json) table.Header();
  v1::JobResult result = judger.Judge(job, [&](const v1::TestResult& t) {
    if (!json) table.Row(t);
  });
  if (json) {
    std::printf("%s\n", ToJson(result).c_str());
  } else {
    if (result.compile().status() != v1::CompileResult::OK) {
      std::printf("compilation: %s\n%s\n", v1::CompileResult::Status_Name(result.compile().status()).c_str(),
                  result.compile().log().c_str());
    }
    std::printf("verdict: %s%s%s  (max %s, %s)\n", table.Color(result.verdict()),
                v1::Verdict_Name(result.verdict()).c_str(), table.Reset(),
                Ms(result.max_cpu_time_ms()).c_str(), Mib(result.max_memory_bytes()).c_str());
    if (!result.message().empty()) std::printf("%s\n", result.message().c_str());
  }
  return result.verdict() == v1::IE ? 1 : 0;
}

}  // namespace
}  // namespace judge

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "-h" || args[0] == "--help") {
    std::fputs(judge::kUsage, args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  if (args[0] != "run") {
    return judge::Die(2, "unknown command '" + args[0] + "' (judge run; the service commands come "
                         "with the broker)");
  }
  args.erase(args.begin());
  return judge::Run(args);
}
