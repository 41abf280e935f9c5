// ParseTar (worker/tar.h) on hostile archives: an exec job's archive comes from anyone
// who may submit, and the worker (root) unpacks what ParseTar accepts. For every archive
// it accepts, the promises of tar.h must hold: at most max_entries entries and
// max_bytes of content, every name a path below /box, every symbolic link's target
// staying below /box from where the link is, every hard link naming an earlier file,
// only permission bits in modes, file contents inside the archive. Then the entries,
// written again by TarWriter and read back, must come out the same.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "fuzz/fuzz_util.h"
#include "worker/tar.h"

namespace judge::fuzz {
namespace {

// Whether `target`, read from the directory of the link `name`, stays below /box.
bool StaysInside(const std::string& name, const std::string& target) {
  if (target.empty() || target[0] == '/') return false;
  std::vector<std::string> parts;
  size_t b = 0;
  for (size_t e; (e = name.find('/', b)) != std::string::npos; b = e + 1) parts.push_back(name.substr(b, e - b));
  b = 0;
  while (b <= target.size()) {
    size_t e = target.find('/', b);
    if (e == std::string::npos) e = target.size();
    const std::string part = target.substr(b, e - b);
    if (part == "..") {
      if (parts.empty()) return false;
      parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    b = e + 1;
  }
  return true;
}

void Check(const std::vector<TarEntry>& entries, std::string_view archive, const TarLimits& limits) {
  if (entries.size() > limits.max_entries) Fail("more entries than max_entries");
  long long bytes = 0;
  std::map<std::string, TarEntry::Kind> earlier;
  for (const TarEntry& e : entries) {
    if (!CheckBoxPath(e.name, "entry").ok()) Fail("accepted a name CheckBoxPath refuses: " + e.name);
    if (e.mode & ~07777u) Fail("a mode with more than permission bits: " + e.name);
    switch (e.kind) {
      case TarEntry::kFile:
        bytes += static_cast<long long>(e.data.size());
        if (!e.data.empty() && (e.data.data() < archive.data() ||
                                e.data.data() + e.data.size() > archive.data() + archive.size())) {
          Fail("file content outside the archive: " + e.name);
        }
        break;
      case TarEntry::kSymlink:
        if (!StaysInside(e.name, e.link)) Fail("a link leading out of /box: " + e.name + " -> " + e.link);
        break;
      case TarEntry::kHardlink: {
        auto it = earlier.find(e.link);
        if (it == earlier.end() || it->second != TarEntry::kFile) {
          Fail("a hard link to something else than an earlier file: " + e.name + " -> " + e.link);
        }
        break;
      }
      case TarEntry::kDir:
        break;
    }
    earlier[e.name] = e.kind;
  }
  if (bytes > limits.max_bytes) Fail("more content than max_bytes");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view archive(reinterpret_cast<const char*>(data), size);
  TarLimits limits;
  limits.max_entries = 64;
  limits.max_bytes = 1 << 20;
  Result<std::vector<TarEntry>> entries = ParseTar(archive, limits);
  if (!entries.ok()) {
    if (entries.status().message().empty()) Fail("a refusal without a reason");
    return 0;
  }
  Check(*entries, archive, limits);

  // Written again (hard links have no writer: skip those archives) and read back.
  TarWriter w;
  for (const TarEntry& e : *entries) {
    if (e.kind == TarEntry::kHardlink) return 0;
    if (e.kind == TarEntry::kFile) w.AddFile(e.name, e.data, e.mode);
    if (e.kind == TarEntry::kDir) w.AddDir(e.name, e.mode);
    if (e.kind == TarEntry::kSymlink) w.AddSymlink(e.name, e.link);
  }
  const std::string again = w.Finish();
  Result<std::vector<TarEntry>> back = ParseTar(again, limits);
  if (!back.ok()) Fail("TarWriter's archive is refused: " + back.status().ToString());
  if (back->size() != entries->size()) Fail("a different number of entries after writing again");
  for (size_t i = 0; i < back->size(); ++i) {
    const TarEntry& a = (*entries)[i];
    const TarEntry& b = (*back)[i];
    if (a.kind != b.kind || a.name != b.name || a.link != b.link || a.data != b.data) {
      Fail("entry " + std::to_string(i) + " differs after writing again: " + a.name + " / " + b.name);
    }
  }
  return 0;
}

}  // namespace judge::fuzz
