// The files of profiles/ (language, sandbox and seccomp profiles), compiled into every
// binary so that a built-in name works from any directory. The broker uses the names
// only; the sandbox and the worker parse the texts.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"

namespace judge {

struct ProfileText {
  std::string file;  // for error messages
  std::string text;
};

// kind is "sandbox", "seccomp" or "languages". A name without '/' or '.' is a built-in
// profile, anything else a file path.
Result<ProfileText> FindProfileText(const std::string& kind, const std::string& name_or_file);
// True when FindProfileText takes `name_or_file` as a file path.
bool IsProfileFile(const std::string& name_or_file);
// Built-in names of a kind, sorted.
std::vector<std::string> BuiltinProfileNames(const std::string& kind);

}  // namespace judge
