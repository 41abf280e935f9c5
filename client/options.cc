#include "client/options.h"

#include "client/local_job.h"
#include "sandbox/options.h"

namespace judge {

const char kJobOptionsUsage[] =
    "  --source FILE           the submission\n"
    "  --language NAME         c, cpp17, cpp20, python3, java, ... (default: by file ending)\n"
    "  --tests DIR             NAME.in + NAME.ans (or .out) pairs, judged in natural order\n"
    "  --problem DIR           a problem package in the ICPC / Kattis format\n"
    "  --time-limit SEC        CPU time per test\n"
    "  --memory-limit BYTES    memory per test, suffixes K M G\n"
    "  --checker exact|tokens|float:EPS|FILE    (default exact)\n"
    "  --checker-interface testlib|kattis       how a checker FILE is called (default testlib)\n"
    "  --interactor FILE       an interactor: `interactor INPUT ANSWER`, exit 0 AC, 1 WA\n"
    "  --stop-on-failure       skip the tests after the first failure\n";

Status OptionParser::Parse(const std::vector<std::string>& args,
                           std::vector<std::string>* positional) const {
  const std::string help = " (see " + command_ + " --help)";
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a.empty() || a[0] != '-') {
      if (!positional) return Status::Error("unexpected argument '" + a + "'" + help);
      positional->push_back(a);
      continue;
    }
    const Option* found = nullptr;
    for (const Option& o : options_) {
      if (o.name == a) found = &o;
    }
    if (!found) return Status::Error("unknown option " + a + help);
    if (found->flag) {
      *found->flag = true;
    } else if (i + 1 >= args.size() || args[i + 1].empty()) {
      return Status::Error(a + " needs a value");
    } else {
      *found->value = args[++i];
    }
  }
  return Status::Ok();
}

void AddJobOptions(OptionParser* parser, JobOptions* o) {
  parser->Value("--source", &o->source);
  parser->Value("--tests", &o->tests);
  parser->Value("--problem", &o->problem);
  parser->Value("--language", &o->language);
  parser->Value("--checker", &o->checker);
  parser->Value("--checker-interface", &o->checker_interface);
  parser->Value("--interactor", &o->interactor);
  parser->Value("--time-limit", &o->time_limit);
  parser->Value("--memory-limit", &o->memory_limit);
  parser->Flag("--stop-on-failure", &o->stop_on_failure);
}

Result<v1::Job> BuildJob(const JobOptions& o, const LanguageRegistry& languages,
                         const std::string& command) {
  if (o.source.empty()) {
    return Status::Error("--source FILE is required (see " + command + " --help)");
  }
  if (o.tests.empty() == o.problem.empty()) {
    return Status::Error("give either --tests DIR or --problem DIR");
  }
  v1::Job job;
  ASSIGN_OR_RETURN(*job.add_sources(), LoadFile(o.source, 1 << 20));
  if (o.language.empty()) {
    ASSIGN_OR_RETURN(std::string by_name, languages.ForFile(job.sources(0).name()));
    job.set_language(by_name);
  } else {
    job.set_language(o.language);
  }
  RETURN_IF_ERROR(o.problem.empty() ? AddTestsDir(o.tests, "", &job)
                                    : LoadProblemPackage(o.problem, languages, &job));
  if (!o.checker.empty() || !o.checker_interface.empty()) {
    RETURN_IF_ERROR(ParseChecker(o.checker, o.checker_interface, job.mutable_checker()));
  }
  if (!o.interactor.empty()) {
    ASSIGN_OR_RETURN(*job.mutable_interactor(), LoadFile(o.interactor, 1 << 20));
  }
  if (!o.time_limit.empty()) {
    Result<double> s = ParseSeconds(o.time_limit);
    if (!s.ok()) return Status::Error("--time-limit: " + s.status().ToString());
    job.mutable_limits()->set_cpu_time_s(*s);
  }
  if (!o.memory_limit.empty()) {
    Result<long long> b = ParseBytes(o.memory_limit);
    if (!b.ok()) return Status::Error("--memory-limit: " + b.status().ToString());
    job.mutable_limits()->set_memory_bytes(*b);
  }
  job.set_stop_on_failure(o.stop_on_failure);
  return job;
}

}  // namespace judge
