#include "common/builtin_profiles.h"

#include <algorithm>

#include "common/file_util.h"

namespace judge {

// Generated at build time from profiles/ (see common/CMakeLists.txt).
struct EmbeddedProfile {
  const char* path;  // "sandbox/default.textproto"
  const char* text;
};
extern const EmbeddedProfile kEmbeddedProfiles[];
extern const int kEmbeddedProfileCount;

bool IsProfileFile(const std::string& name_or_file) {
  return name_or_file.find('/') != std::string::npos || name_or_file.find('.') != std::string::npos;
}

Result<ProfileText> FindProfileText(const std::string& kind, const std::string& name_or_file) {
  if (IsProfileFile(name_or_file)) {
    auto text = ReadFile(name_or_file);
    if (!text.ok()) {
      return Status::Error("cannot read " + kind + " profile " + name_or_file,
                           text.status().err());
    }
    return ProfileText{name_or_file, *text};
  }
  std::string path = kind + "/" + name_or_file + ".textproto";
  for (int i = 0; i < kEmbeddedProfileCount; ++i) {
    if (path == kEmbeddedProfiles[i].path) {
      return ProfileText{"profiles/" + path, kEmbeddedProfiles[i].text};
    }
  }
  std::string known;
  for (const std::string& n : BuiltinProfileNames(kind)) known += (known.empty() ? "" : ", ") + n;
  return Status::Error("unknown " + kind + " profile '" + name_or_file + "' (built in: " + known +
                       "; or give a file path)");
}

std::vector<std::string> BuiltinProfileNames(const std::string& kind) {
  std::vector<std::string> out;
  std::string prefix = kind + "/";
  for (int i = 0; i < kEmbeddedProfileCount; ++i) {
    std::string p = kEmbeddedProfiles[i].path;
    if (p.compare(0, prefix.size(), prefix) != 0) continue;
    p = p.substr(prefix.size());
    out.push_back(p.substr(0, p.find('.')));
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace judge
