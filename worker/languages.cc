#include "worker/languages.h"

#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>
#include <unistd.h>

#include "sandbox/profile.h"

namespace judge {
namespace {

class Collector : public google::protobuf::io::ErrorCollector {
 public:
  explicit Collector(std::string file) : file_(std::move(file)) {}
  void AddError(int line, int column, const std::string& message) override {
    if (first_.empty()) {
      first_ = file_ + ":" + std::to_string(line + 1) + ":" + std::to_string(column + 1) + ": " +
               message;
    }
  }
  const std::string& first() const { return first_; }

 private:
  std::string file_;
  std::string first_;
};

}  // namespace

Result<v1::LanguageProfile> ParseLanguageProfile(const std::string& text, const std::string& file) {
  v1::LanguageProfile p;
  Collector errors(file);
  google::protobuf::TextFormat::Parser parser;
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(text, &p)) {
    return Status::Error(errors.first().empty() ? file + ": not a language profile" : errors.first());
  }
  if (p.name().empty()) return Status::Error(file + ": the profile has no name");
  if (p.source_name().empty() || p.source_name().find('/') != std::string::npos) {
    return Status::Error(file + ": source_name must be a plain file name");
  }
  if (p.run().empty()) return Status::Error(file + ": the profile has no run command");
  for (const std::string& t : p.toolchain()) {
    if (t.empty() || t[0] != '/') return Status::Error(file + ": toolchain entries are absolute paths");
  }
  return p;
}

Result<LanguageRegistry> LanguageRegistry::Builtin() {
  LanguageRegistry r;
  for (const std::string& name : BuiltinProfileNames("languages")) {
    ASSIGN_OR_RETURN(ProfileText text, FindProfileText("languages", name));
    ASSIGN_OR_RETURN(v1::LanguageProfile p, ParseLanguageProfile(text.text, text.file));
    if (p.name() != name) {
      return Status::Error(text.file + ": name \"" + p.name() + "\" differs from the file name");
    }
    r.Add(std::move(p));
  }
  return r;
}

void LanguageRegistry::Add(v1::LanguageProfile profile) {
  std::string name = profile.name();
  profiles_[name] = std::move(profile);
}

bool LanguageRegistry::Present(const v1::LanguageProfile& p) const {
  for (const std::string& t : p.toolchain())
    if (::access(t.c_str(), X_OK) != 0) return false;
  return true;
}

Result<const v1::LanguageProfile*> LanguageRegistry::Find(const std::string& name) const {
  auto it = profiles_.find(name);
  if (it == profiles_.end()) {
    std::string known;
    for (const std::string& n : Available()) known += (known.empty() ? "" : ", ") + n;
    return Status::Error("unknown language '" + name + "' (available here: " + known + ")");
  }
  for (const std::string& t : it->second.toolchain()) {
    if (::access(t.c_str(), X_OK) != 0) {
      return Status::Error("language '" + name + "' is not available on this machine: " + t +
                           " is missing (install its toolchain)");
    }
  }
  return &it->second;
}

Result<std::string> LanguageRegistry::ForFile(const std::string& file_name) const {
  for (const auto& [name, p] : profiles_) {
    for (const std::string& ext : p.extensions()) {
      if (file_name.size() > ext.size() &&
          file_name.compare(file_name.size() - ext.size(), ext.size(), ext) == 0) {
        return name;
      }
    }
  }
  return Status::Error("no language for the file name '" + file_name + "' (give --language)");
}

std::vector<std::string> LanguageRegistry::Available() const {
  std::vector<std::string> out;
  for (const auto& [name, p] : profiles_)
    if (Present(p)) out.push_back(name);
  return out;
}

std::vector<std::string> LanguageRegistry::Missing() const {
  std::vector<std::string> out;
  for (const auto& [name, p] : profiles_)
    if (!Present(p)) out.push_back(name);
  return out;
}

}  // namespace judge
