// AddTestsDir and LoadProblemPackage on hostile trees. Each input is a tree of entries,
// written under a fresh ROOT/tree-XXXXXX, where ROOT is the process's
// $TMPDIR/judge-fuzz-XXXXXX (TMPDIR defaults to /tmp). Next to the trees, ROOT/outside is
// a tests directory and a problem package whose every file holds kMarker, made once per
// process (making it per input halved the executions per second on ext4). Neither loader
// may ever put into the job a byte string that is not the content of a file of the tree:
// nothing from `outside`, /etc/shadow or wherever a link points. Every tree is removed
// after its input, the root when the process exits.
//
// Input: at most kMaxEntries entries, each in one of two forms.
//   - Free: KIND PATH \0 PAYLOAD \0 (the last one's terminators optional). KIND 'f' is a
//     regular file (PAYLOAD its content), 'd' a directory, 'l' a symbolic link (PAYLOAD
//     its target; a leading '@' stands for "ROOT/", so "@outside/1.in" is absolute), 'p'
//     a FIFO; other kinds are skipped. PATH is relative to the tree, '/'-separated.
//   - Compact: 'F' NAME CONTENT, 'D' NAME, 'L' NAME TARGET or 'P' NAME, each of NAME,
//     CONTENT, TARGET one byte indexing kNames, kContents, kLinkTargets (modulo their
//     size). The loaders look for few names: in this form one changed byte makes a
//     package, or sends a link out of the tree, where the free form needs the fuzzer
//     to spell "output_validators".
// Missing parent directories are made. An entry that would leave the tree ("." or ".."
// components, a parent that is a link) or that the file system refuses (a name too
// long, an existing name) is skipped.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "client/local_job.h"
#include "common/fd.h"
#include "common/file_util.h"
#include "fuzz/fuzz_util.h"

namespace judge::fuzz {
namespace {

constexpr std::string_view kMarker = "JUDGE-FUZZ-OUTSIDE";
constexpr int kMaxEntries = 64;
constexpr size_t kMaxPath = 1024;  // RemoveTree walks full paths, which PATH_MAX bounds

constexpr const char* kNames[] = {"problem.yaml",
                                  ".timelimit",
                                  "data",
                                  "data/sample",
                                  "data/secret",
                                  "data/secret/g",
                                  "data/sample/1.in",
                                  "data/sample/1.ans",
                                  "data/secret/1.in",
                                  "data/secret/1.ans",
                                  "data/secret/1.out",
                                  "data/secret/g/1.in",
                                  "data/secret/g/1.ans",
                                  "output_validators",
                                  "output_validators/v",
                                  "output_validators/v.py",
                                  "output_validators/v/validator.py",
                                  "1.in",
                                  "1.ans",
                                  "1.out",
                                  "2.in",
                                  "sample",
                                  "sample/1.in",
                                  "sample/1.ans"};
constexpr const char* kContents[] = {"1\n",
                                     "2\n",
                                     "",
                                     "name: p\n",
                                     "validation: custom\n",
                                     "validation: custom interactive\n",
                                     "limits:\n  memory: 64\n",
                                     "validator_flags: float_tolerance 1e-6 case_sensitive\n",
                                     "1.5\n",
                                     "import sys\n"};
constexpr const char* kLinkTargets[] = {".",
                                        "..",
                                        "@outside",
                                        "@outside/sample",
                                        "@outside/validator",
                                        "@outside/1.in",
                                        "/etc/shadow",
                                        "/etc",
                                        "/",
                                        "../outside",
                                        "sample",
                                        "1.in",
                                        "../1.in",
                                        "../../outside"};

template <size_t N>
const char* Pick(const char* const (&table)[N], uint8_t index) {
  return table[index % N];
}

// A new directory named after `templ` (ending in XXXXXX), removed with everything in it on
// destruction.
class TempDir {
 public:
  explicit TempDir(std::string templ) {
    if (::mkdtemp(templ.data()) == nullptr) Fail("mkdtemp " + templ + ": " + std::strerror(errno));
    path_ = templ;
  }
  ~TempDir() { RemoveTree(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Whether the file was made: an existing name is left alone.
bool WriteAt(int dir, const std::string& name, std::string_view content) {
  UniqueFd fd(
      ::openat(dir, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
  if (!fd) return false;
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd.get(), content.data() + done, content.size() - done);
    if (n <= 0) Fail("write: " + std::string(std::strerror(errno)));
    done += static_cast<size_t>(n);
  }
  return true;
}

// `outside`: whatever a link out of the tree could lead a loader to.
void MakeOutside(const std::string& root) {
  const std::string out = root + "/outside";
  for (const char* d : {"", "/sample", "/secret", "/data", "/data/sample", "/data/secret",
                        "/output_validators", "/validator"}) {
    if (::mkdir((out + d).c_str(), 0755) != 0) Fail("mkdir " + out + d);
  }
  UniqueFd dir(::open(out.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC));
  for (const char* f :
       {"marker", "1.in", "1.ans", "problem.yaml", "sample/1.in", "sample/1.ans", "secret/1.in",
        "secret/1.ans", "data/sample/1.in", "data/sample/1.ans", "data/secret/1.in",
        "data/secret/1.ans", "output_validators/validator.py", "validator/validator.py"}) {
    // openat takes a relative path with slashes: these are directories made above.
    if (!WriteAt(dir.get(), f, std::string(kMarker) + " " + f))
      Fail("writing outside/" + std::string(f));
  }
}

// Makes one entry under `tree` (an fd), recording the content of the files it writes.
void MakeEntry(int tree, const std::string& root, char kind, std::string_view path,
               std::string_view payload, std::set<std::string>* contents) {
  if (path.size() > kMaxPath) return;
  std::vector<std::string> names;
  for (size_t b = 0; b <= path.size();) {
    size_t e = path.find('/', b);
    if (e == std::string_view::npos) e = path.size();
    if (e > b) names.emplace_back(path.substr(b, e - b));
    b = e + 1;
  }
  if (names.empty()) return;
  for (const std::string& n : names) {
    if (n == "." || n == "..") return;
  }
  UniqueFd dir(::dup(tree));
  for (size_t i = 0; i + 1 < names.size(); ++i) {
    ::mkdirat(dir.get(), names[i].c_str(), 0755);  // may exist already
    // O_NOFOLLOW: a parent that is a link could lead out of the tree.
    UniqueFd sub(
        ::openat(dir.get(), names[i].c_str(), O_DIRECTORY | O_NOFOLLOW | O_RDONLY | O_CLOEXEC));
    if (!sub) return;
    dir = std::move(sub);
  }
  const std::string& name = names.back();
  switch (kind) {
    case 'f':
      if (WriteAt(dir.get(), name, payload)) contents->insert(std::string(payload));
      break;
    case 'd':
      ::mkdirat(dir.get(), name.c_str(), 0755);
      break;
    case 'l': {
      std::string target(payload);
      if (!target.empty() && target[0] == '@') target = root + "/" + target.substr(1);
      ::symlinkat(target.c_str(), dir.get(), name.c_str());
      break;
    }
    case 'p':
      ::mkfifoat(dir.get(), name.c_str(), 0644);
      break;
    default:
      break;
  }
}

void CheckFromTree(std::string_view what, const std::string& data,
                   const std::set<std::string>& contents) {
  if (contents.count(data)) return;
  if (data.find(kMarker) != std::string::npos) {
    Fail(std::string(what) + " holds content from outside the tree: '" + data + "'");
  }
  Fail(std::string(what) + " holds " + std::to_string(data.size()) +
       " bytes that no file of the tree holds (read through a link?)");
}

void CheckJob(std::string_view loader, const v1::Job& job, const std::set<std::string>& contents) {
  const std::string l(loader);
  for (const v1::Test& t : job.tests()) {
    CheckFromTree(l + ": test " + t.name() + " input", t.input(), contents);
    CheckFromTree(l + ": test " + t.name() + " answer", t.answer(), contents);
  }
  if (job.checker().has_program()) {
    CheckFromTree(l + ": the checker", job.checker().program().content(), contents);
  }
  if (job.has_interactor())
    CheckFromTree(l + ": the interactor", job.interactor().content(), contents);
}

// Made once, used by every input; the root is removed by its destructor at exit.
const LanguageRegistry* languages = nullptr;
std::unique_ptr<TempDir> root;

}  // namespace
}  // namespace judge::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  using namespace judge::fuzz;
  auto registry = judge::LanguageRegistry::Builtin();
  if (!registry.ok()) Fail("built-in languages: " + registry.status().ToString());
  languages = new judge::LanguageRegistry(std::move(*registry));
  const char* tmp = std::getenv("TMPDIR");
  root = std::make_unique<TempDir>(std::string(tmp && *tmp ? tmp : "/tmp") + "/judge-fuzz-XXXXXX");
  MakeOutside(root->path());
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace judge;
  using namespace judge::fuzz;
  std::string tree_path;
  {
    TempDir tree(root->path() + "/tree-XXXXXX");
    tree_path = tree.path();
    std::set<std::string> contents;
    {
      UniqueFd tree_fd(::open(tree.path().c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC));
      Input in(data, size);
      for (int i = 0; i < kMaxEntries && !in.empty(); ++i) {
        char kind = static_cast<char>(in.Byte());
        std::string_view path, payload;
        if (kind == 'F' || kind == 'D' || kind == 'L' || kind == 'P') {
          kind = static_cast<char>(kind - 'A' + 'a');
          path = Pick(kNames, in.Byte());
          if (kind == 'f') payload = Pick(kContents, in.Byte());
          if (kind == 'l') payload = Pick(kLinkTargets, in.Byte());
        } else {
          path = in.Until('\0');
          payload = in.Until('\0');
        }
        MakeEntry(tree_fd.get(), root->path(), kind, path, payload, &contents);
      }
    }
    // Failed loads count too: what a loader left in the job before failing must obey.
    v1::Job tests_job;
    (void)AddTestsDir(tree.path(), "", &tests_job);
    CheckJob("AddTestsDir", tests_job, contents);
    v1::Job package_job;
    (void)LoadProblemPackage(tree.path(), *languages, &package_job);
    CheckJob("LoadProblemPackage", package_job, contents);
  }
  struct stat st;
  if (::lstat(tree_path.c_str(), &st) == 0 || errno != ENOENT) Fail(tree_path + " left behind");
  return 0;
}
