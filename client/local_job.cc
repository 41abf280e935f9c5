#include "client/local_job.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <map>
#include <sstream>

#include "common/fd.h"
#include "common/file_util.h"

namespace judge {
namespace {

constexpr size_t kMaxTestBytes = 256u << 20;
constexpr size_t kMaxSmallFile = 1u << 20;

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  size_t e = s.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

// The subset of YAML problem.yaml files use: "key: value" and one level of nesting
// ("limits:\n  memory: 256"), comments, quotes. Nested keys come back as "limits.memory".
std::map<std::string, std::string> ParseSimpleYaml(const std::string& text) {
  std::map<std::string, std::string> out;
  std::istringstream in(text);
  std::string line, parent;
  while (std::getline(in, line)) {
    size_t hash = line.find(" #");
    if (!line.empty() && line[0] == '#') continue;
    if (hash != std::string::npos) line.resize(hash);
    if (Trim(line).empty()) continue;
    const bool nested = line[0] == ' ' || line[0] == '\t';
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string key = Trim(line.substr(0, colon));
    std::string value = Trim(line.substr(colon + 1));
    if (value.size() >= 2 && (value[0] == '"' || value[0] == '\'') && value.back() == value[0]) {
      value = value.substr(1, value.size() - 2);
    }
    if (!nested) {
      parent = value.empty() ? key : "";
      out[key] = value;
    } else if (!parent.empty()) {
      out[parent + "." + key] = value;
    }
  }
  return out;
}

bool EndsWith(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

Result<std::vector<std::string>> ListDir(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) return Status::Errno("cannot read the directory " + dir);
  std::vector<std::string> names;
  while (struct dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  ::closedir(d);
  return names;
}

// A package comes from anyone: a symbolic link where it should hold a directory of its
// own would take the reads below it anywhere on the judge's machine. (Files are read
// with O_NOFOLLOW; directories are listed through their path, so they need this.)
Status RefuseLink(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
    return Status::Error(path + " is a symbolic link; a problem package holds its own files");
  }
  return Status::Ok();
}

// The one program in output_validators/: a source file, or a directory holding one.
Result<v1::File> OutputValidator(const std::string& dir, const LanguageRegistry& languages) {
  std::string vdir = dir + "/output_validators";
  RETURN_IF_ERROR(RefuseLink(vdir));
  ASSIGN_OR_RETURN(std::vector<std::string> validators, ListDir(vdir));
  if (validators.size() != 1) {
    return Status::Error(vdir + " must hold exactly one validator, found " +
                         std::to_string(validators.size()));
  }
  std::string vpath = vdir + "/" + validators[0];
  struct stat st;
  if (::lstat(vpath.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    ASSIGN_OR_RETURN(std::vector<std::string> files, ListDir(vpath));
    std::string source;
    for (const std::string& f : files) {
      if (languages.ForFile(f).ok()) source = vpath + "/" + f;
    }
    if (source.empty()) return Status::Error(vpath + " holds no source file of a known language");
    vpath = source;
  }
  return LoadFile(vpath, kMaxSmallFile);
}

// The tests of a data directory and of its test-group subdirectories (named
// "prefix" + "group-" + name), in any order (the judge sorts them). A missing directory
// has no tests; anything unreadable is an error.
Status AddPackageTests(const std::string& dir, const std::string& prefix, v1::Job* job) {
  struct stat st;
  if (::lstat(dir.c_str(), &st) != 0) return Status::Ok();
  if (S_ISLNK(st.st_mode)) return RefuseLink(dir);
  if (!S_ISDIR(st.st_mode)) return Status::Error(dir + " is not a directory");
  ASSIGN_OR_RETURN(std::vector<std::string> names, ListDir(dir));
  bool has_tests = false;
  for (const std::string& n : names) {
    if (EndsWith(n, ".in")) has_tests = true;
    const std::string path = dir + "/" + n;
    if (::lstat(path.c_str(), &st) != 0) continue;
    // A linked test group would otherwise be skipped without a word.
    struct stat target;
    if (S_ISLNK(st.st_mode) && ::stat(path.c_str(), &target) == 0 && S_ISDIR(target.st_mode)) {
      return RefuseLink(path);
    }
    if (S_ISDIR(st.st_mode)) RETURN_IF_ERROR(AddPackageTests(path, prefix + n + "-", job));
  }
  return has_tests ? AddTestsDir(dir, prefix, job) : Status::Ok();
}

}  // namespace

Result<v1::File> LoadFile(const std::string& path, size_t max_bytes) {
  v1::File f;
  f.set_name(path.substr(path.rfind('/') + 1));
  ASSIGN_OR_RETURN(*f.mutable_content(), ReadRegularFile(path, max_bytes));
  return f;
}

Status AddTestsDir(const std::string& dir, const std::string& prefix, v1::Job* job) {
  ASSIGN_OR_RETURN(std::vector<std::string> names, ListDir(dir));
  int added = 0;
  for (const std::string& n : names) {
    if (!EndsWith(n, ".in")) continue;
    std::string base = n.substr(0, n.size() - 3);
    std::string answer = dir + "/" + base + ".ans";
    if (::access(answer.c_str(), F_OK) != 0) answer = dir + "/" + base + ".out";
    if (::access(answer.c_str(), F_OK) != 0) {
      return Status::Error("test " + dir + "/" + n + " has no " + base + ".ans (or .out)");
    }
    // Read both before adding: a failed read must not leave an empty test behind.
    ASSIGN_OR_RETURN(std::string input, ReadRegularFile(dir + "/" + n, kMaxTestBytes));
    ASSIGN_OR_RETURN(std::string expected, ReadRegularFile(answer, kMaxTestBytes));
    v1::Test* t = job->add_tests();
    t->set_name(prefix + base);
    *t->mutable_input() = std::move(input);
    *t->mutable_answer() = std::move(expected);
    ++added;
  }
  if (added == 0) return Status::Error("no tests (NAME.in + NAME.ans) in " + dir);
  return Status::Ok();
}

Status ParseChecker(const std::string& spec, const std::string& interface, v1::Checker* out) {
  out->Clear();
  if (spec.empty() || spec == "exact") {
    out->set_kind(v1::Checker::EXACT);
  } else if (spec == "tokens") {
    out->set_kind(v1::Checker::TOKENS);
  } else if (spec.rfind("float", 0) == 0 && (spec.size() == 5 || spec[5] == ':')) {
    out->set_kind(v1::Checker::FLOAT);
    double eps = 1e-6;
    if (spec.size() > 6) {
      char* end = nullptr;
      eps = std::strtod(spec.c_str() + 6, &end);
      if (*end != '\0' || !(eps >= 0)) {
        return Status::Error("bad --checker " + spec + " (use float:EPS, e.g. float:1e-6)");
      }
    }
    out->set_abs_tol(eps);
    out->set_rel_tol(eps);
  } else {
    out->set_kind(v1::Checker::CUSTOM);
    ASSIGN_OR_RETURN(*out->mutable_program(), LoadFile(spec, kMaxSmallFile));
  }
  if (interface == "kattis") {
    out->set_interface(v1::Checker::KATTIS);
  } else if (interface.empty() || interface == "testlib") {
    out->set_interface(v1::Checker::TESTLIB);
  } else {
    return Status::Error("--checker-interface takes testlib or kattis");
  }
  return Status::Ok();
}

Status LoadProblemPackage(const std::string& dir, const LanguageRegistry& languages,
                          v1::Job* job) {
  ASSIGN_OR_RETURN(std::string yaml_text, ReadRegularFile(dir + "/problem.yaml", kMaxSmallFile));
  std::map<std::string, std::string> yaml = ParseSimpleYaml(yaml_text);
  if (yaml.count("limits.memory")) {
    long long mib = std::atoll(yaml["limits.memory"].c_str());
    if (mib <= 0 || mib > (1ll << 30)) {
      return Status::Error(dir + "/problem.yaml: limits.memory must be MiB, from 1");
    }
    job->mutable_limits()->set_memory_bytes(mib << 20);
  }
  // Problemtools' convention: the time limit in seconds in .timelimit.
  auto timelimit = ReadRegularFile(dir + "/.timelimit", 64);
  if (timelimit.ok()) {
    double s = std::atof(timelimit->c_str());
    if (s > 0) job->mutable_limits()->set_cpu_time_s(s);
  }
  RETURN_IF_ERROR(RefuseLink(dir + "/data"));
  for (const char* part : {"sample", "secret"}) {
    RETURN_IF_ERROR(AddPackageTests(dir + "/data/" + part, std::string(part) + "-", job));
  }
  if (job->tests().empty()) return Status::Error("no tests in " + dir + "/data/{sample,secret}");

  const std::string validation = yaml.count("validation") ? yaml["validation"] : "default";
  v1::Checker* c = job->mutable_checker();
  if (validation.rfind("custom", 0) == 0) {
    ASSIGN_OR_RETURN(v1::File validator, OutputValidator(dir, languages));
    if (validation.find("interactive") != std::string::npos) {
      // The output validator is the interactor, joined to the submission by pipes.
      *job->mutable_interactor() = std::move(validator);
      job->set_interactor_interface(v1::Checker::KATTIS);
      return Status::Ok();
    }
    c->set_kind(v1::Checker::CUSTOM);
    c->set_interface(v1::Checker::KATTIS);
    *c->mutable_program() = std::move(validator);
    return Status::Ok();
  }
  // The default output validator: tokens, case-insensitive unless case_sensitive,
  // white space exact with space_change_sensitive, numbers with float tolerances.
  std::istringstream flags(yaml.count("validator_flags") ? yaml["validator_flags"] : "");
  c->set_kind(v1::Checker::TOKENS);
  c->set_ignore_case(true);
  for (std::string f; flags >> f;) {
    if (f == "case_sensitive") {
      c->set_ignore_case(false);
    } else if (f == "space_change_sensitive") {
      c->set_kind(v1::Checker::EXACT);
    } else if (f == "float_tolerance" || f == "float_absolute_tolerance" ||
               f == "float_relative_tolerance") {
      std::string v;
      flags >> v;
      double eps = std::atof(v.c_str());
      c->set_kind(v1::Checker::FLOAT);
      if (f != "float_relative_tolerance") c->set_abs_tol(eps);
      if (f != "float_absolute_tolerance") c->set_rel_tol(eps);
    } else {
      return Status::Error(dir + "/problem.yaml: unknown validator flag '" + f + "'");
    }
  }
  return Status::Ok();
}

}  // namespace judge
