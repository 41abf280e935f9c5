// Building a judge.v1.Job from files on disk: a tests directory (NAME.in + NAME.ans),
// or a problem package in the ICPC / Kattis format, plus the `judge run` options.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "protocol/judge.pb.h"
#include "worker/languages.h"

namespace judge {

// Tests of a directory: NAME.in with NAME.ans (or NAME.out), each named NAME, with
// `prefix` before the name. A .in without an answer, or a symlink, is an error.
Status AddTestsDir(const std::string& dir, const std::string& prefix, v1::Job* job);

// A problem package (problem.yaml, data/sample, data/secret, output_validators/):
// tests, limits (memory from problem.yaml, time from .timelimit if present), and the
// checker (the default validator's flags, or the custom output validator).
Status LoadProblemPackage(const std::string& dir, const LanguageRegistry& languages,
                          v1::Job* job);

// "exact", "tokens", "float:1e-6" or a checker program's path.
Status ParseChecker(const std::string& spec, const std::string& interface, v1::Checker* out);

// A file as a v1::File named by its base name.
Result<v1::File> LoadFile(const std::string& path, size_t max_bytes);

}  // namespace judge
