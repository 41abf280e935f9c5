// Command-line options of the `judge` subcommands: a small parser, and the options that
// describe a job, shared by `judge run` (judged here) and `judge submit` (by the broker).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "protocol/judge.pb.h"
#include "worker/languages.h"

namespace judge {

// Options are "--name VALUE" or "--flag"; anything not starting with '-' is positional.
class OptionParser {
 public:
  // `command` ("judge submit") names where to look for help in error messages.
  explicit OptionParser(std::string command) : command_(std::move(command)) {}

  void Value(std::string name, std::string* out) { options_.push_back({std::move(name), out, {}}); }
  void Flag(std::string name, bool* out) { options_.push_back({std::move(name), {}, out}); }

  // Fills what was registered. Positional arguments go to *positional; without it they
  // are errors. Errors read "unknown option --x (see judge submit --help)".
  Status Parse(const std::vector<std::string>& args,
               std::vector<std::string>* positional = nullptr) const;

  const std::string& command() const { return command_; }

 private:
  struct Option {
    std::string name;
    std::string* value;
    bool* flag;
  };
  std::string command_;
  std::vector<Option> options_;
};

// What a job is made of, as given on the command line.
struct JobOptions {
  std::string source, tests, problem, language, checker, checker_interface, interactor;
  std::string time_limit, memory_limit;
  bool stop_on_failure = false;
};

// --source --tests --problem --language --checker --checker-interface --interactor
// --time-limit --memory-limit --stop-on-failure
void AddJobOptions(OptionParser* parser, JobOptions* options);

// The usage lines of those options, for the commands' help texts.
extern const char kJobOptionsUsage[];

// Reads the files and builds the job (id left empty): the tests of a directory or a
// problem package, the language by the source's file ending when not given, then the
// checker, interactor and limits given, which override the package's.
Result<v1::Job> BuildJob(const JobOptions& options, const LanguageRegistry& languages,
                         const std::string& command);

}  // namespace judge
