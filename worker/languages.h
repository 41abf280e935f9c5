// Language profiles (profiles/languages/*.textproto, protobuf text format checked
// against judge.v1.LanguageProfile): how to compile and run a submission.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/status.h"
#include "protocol/judge.pb.h"

namespace judge {

// Parses one profile; errors read "file:line:column: reason".
Result<v1::LanguageProfile> ParseLanguageProfile(const std::string& text, const std::string& file);

class LanguageRegistry {
 public:
  // Every built-in profile (compiled in from profiles/languages/).
  static Result<LanguageRegistry> Builtin();
  // Adds or replaces a profile.
  void Add(v1::LanguageProfile profile);

  // The profile of a language whose toolchain is on this machine, or an error that
  // says why not (unknown name, or which toolchain file is missing).
  Result<const v1::LanguageProfile*> Find(const std::string& name) const;
  // The language a file name belongs to, by its ending ("a.cpp" -> cpp17).
  Result<std::string> ForFile(const std::string& file_name) const;
  // Names of the languages whose toolchain is here, and of those whose is not.
  std::vector<std::string> Available() const;
  std::vector<std::string> Missing() const;

 private:
  bool Present(const v1::LanguageProfile& p) const;
  std::map<std::string, v1::LanguageProfile> profiles_;
};

}  // namespace judge
