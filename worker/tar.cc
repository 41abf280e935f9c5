#include "worker/tar.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>

#include "common/file_util.h"
#include "protocol/codec.h"

namespace judge {
namespace {

constexpr size_t kBlock = 512;
constexpr size_t kMaxPath = 4096;

std::string Quote(const std::string& s) { return "'" + Printable(s, 200) + "'"; }

// A NUL-terminated (or full) field of a header.
std::string Field(const char* h, size_t offset, size_t len) {
  const char* p = h + offset;
  return std::string(p, strnlen(p, len));
}

// An octal number field, or GNU's base-256 form (first byte's high bit set).
bool Number(const char* h, size_t offset, size_t len, long long* out) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(h + offset);
  long long v = 0;
  if (p[0] & 0x80) {
    if (p[0] & 0x40) return false;  // negative
    v = p[0] & 0x3f;
    for (size_t i = 1; i < len; ++i) {
      if (v > (1ll << 52)) return false;
      v = (v << 8) | p[i];
    }
    *out = v;
    return true;
  }
  size_t i = 0;
  while (i < len && p[i] == ' ') ++i;
  for (; i < len && p[i] >= '0' && p[i] <= '7'; ++i) {
    if (v > (1ll << 55)) return false;
    v = v * 8 + (p[i] - '0');
  }
  for (; i < len; ++i) {
    if (p[i] != ' ' && p[i] != '\0') return false;
  }
  *out = v;
  return true;
}

bool ChecksumOk(const char* h) {
  long long want = 0;
  if (!Number(h, 148, 8, &want)) return false;
  long long sum = 0;
  for (size_t i = 0; i < kBlock; ++i) {
    sum += (i >= 148 && i < 156) ? ' ' : static_cast<unsigned char>(h[i]);
  }
  return sum == want;
}

// "./src/a.c" -> "src/a.c"; "dir/" -> "dir".
std::string Normalize(std::string name) {
  while (name.rfind("./", 0) == 0) name.erase(0, 2);
  while (name.size() > 1 && name.back() == '/') name.pop_back();
  return name;
}

// Pax records: "LEN key=value\n"...
Status ParsePax(std::string_view data, std::map<std::string, std::string>* out) {
  while (!data.empty()) {
    size_t space = data.find(' ');
    if (space == std::string_view::npos || space == 0 || space > 12) {
      return Status::Error("the archive has a damaged pax header");
    }
    size_t len = 0;
    for (char c : data.substr(0, space)) {
      if (c < '0' || c > '9') return Status::Error("the archive has a damaged pax header");
      len = len * 10 + static_cast<size_t>(c - '0');
    }
    if (len <= space + 1 || len > data.size() || data[len - 1] != '\n') {
      return Status::Error("the archive has a damaged pax header");
    }
    std::string_view record = data.substr(space + 1, len - space - 2);
    size_t eq = record.find('=');
    if (eq == std::string_view::npos) return Status::Error("the archive has a damaged pax header");
    (*out)[std::string(record.substr(0, eq))] = std::string(record.substr(eq + 1));
    data.remove_prefix(len);
  }
  return Status::Ok();
}

// Where a symbolic link at `name` pointing to `target` leads, relative to /box; false
// when it leads out.
bool LinkStaysInside(const std::string& name, const std::string& target) {
  std::string t = target;
  std::vector<std::string> parts;
  if (!t.empty() && t[0] == '/') {
    if (t != "/box" && t.rfind("/box/", 0) != 0) return false;
    t = t.substr(4);
  } else {
    size_t pos = 0;
    for (size_t slash; (slash = name.find('/', pos)) != std::string::npos; pos = slash + 1) {
      parts.push_back(name.substr(pos, slash - pos));
    }
  }
  size_t pos = 0;
  while (pos <= t.size()) {
    size_t slash = std::min(t.find('/', pos), t.size());
    std::string part = t.substr(pos, slash - pos);
    if (part == "..") {
      if (parts.empty()) return false;
      parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    pos = slash + 1;
  }
  return true;
}

}  // namespace

Status CheckBoxPath(const std::string& path, const std::string& what) {
  for (unsigned char c : path) {
    if (c < 0x20 || c == 0x7f) return Status::Error(what + " name has a control character");
  }
  if (path.empty()) return Status::Error(what + " has an empty name");
  if (path.size() > kMaxPath) return Status::Error(what + " name is longer than 4096 bytes");
  if (path[0] == '/') {
    return Status::Error(what + " " + Quote(path) +
                         " is an absolute path; name it relative to /box (src/a.c)");
  }
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t slash = std::min(path.find('/', pos), path.size());
    std::string part = path.substr(pos, slash - pos);
    if (part.empty() || part == "." || part == "..") {
      return Status::Error(what + " " + Quote(path) +
                           " has an empty, '.' or '..' part; it must stay inside /box");
    }
    if (part.size() > 255) return Status::Error(what + " " + Quote(path) + " has a part over 255 bytes");
    pos = slash + 1;
  }
  return Status::Ok();
}

Result<std::vector<TarEntry>> ParseTar(std::string_view archive, const TarLimits& limits) {
  if (archive.size() >= 2 && static_cast<unsigned char>(archive[0]) == 0x1f &&
      static_cast<unsigned char>(archive[1]) == 0x8b) {
    return Status::Error("the archive is compressed (gzip); give an uncompressed tar or a directory");
  }
  std::vector<TarEntry> out;
  std::map<std::string, TarEntry::Kind> seen;
  std::map<std::string, std::string> pax;  // for the next entry
  std::string long_name, long_link;       // GNU 'L' and 'K'
  long long total = 0;
  size_t pos = 0;
  while (true) {
    if (pos + kBlock > archive.size()) {
      if (pos == archive.size() && pos > 0) break;  // no end blocks: accepted
      return Status::Error("the archive is truncated or not a tar archive");
    }
    const char* h = archive.data() + pos;
    if (std::all_of(h, h + kBlock, [](char c) { return c == 0; })) break;  // the end
    if (!ChecksumOk(h)) {
      return Status::Error(out.empty() && pos == 0
                               ? "not a tar archive (bad header checksum); give an uncompressed "
                                 "tar or a directory"
                               : "the archive is damaged (bad header checksum at byte " +
                                     std::to_string(pos) + ")");
    }
    long long size = 0, mode = 0;
    if (!Number(h, 124, 12, &size) || !Number(h, 100, 8, &mode)) {
      return Status::Error("the archive is damaged (bad size or mode at byte " + std::to_string(pos) + ")");
    }
    const char type = h[156];
    if (auto it = pax.find("size"); it != pax.end() && type != 'x' && type != 'g') {
      Result<long long> s = ParseInt(it->second);
      if (!s.ok() || *s < 0) return Status::Error("the archive has a damaged pax size");
      size = *s;
    }
    const size_t data_at = pos + kBlock;
    if (size < 0 || static_cast<unsigned long long>(size) > archive.size() - data_at) {
      return Status::Error("the archive is truncated (an entry's data runs past its end)");
    }
    const std::string_view data = archive.substr(data_at, static_cast<size_t>(size));
    pos = data_at + (static_cast<size_t>(size) + kBlock - 1) / kBlock * kBlock;
    if (type == 'x') {
      RETURN_IF_ERROR(ParsePax(data, &pax));
      continue;
    }
    if (type == 'g') continue;  // global pax header: nothing in it matters here
    if (type == 'L' || type == 'K') {
      if (data.size() > kMaxPath + 1) return Status::Error("the archive has a name over 4096 bytes");
      (type == 'L' ? long_name : long_link) = std::string(data.substr(0, strnlen(data.data(), data.size())));
      continue;
    }
    std::string name = Field(h, 0, 100);
    const std::string prefix = Field(h, 345, 155);
    if (Field(h, 257, 5) == "ustar" && !prefix.empty() && h[263] == '0') name = prefix + "/" + name;
    if (!long_name.empty()) name = long_name;
    if (auto it = pax.find("path"); it != pax.end()) name = it->second;
    std::string link = Field(h, 157, 100);
    if (!long_link.empty()) link = long_link;
    if (auto it = pax.find("linkpath"); it != pax.end()) link = it->second;
    pax.clear();
    long_name.clear();
    long_link.clear();

    name = Normalize(name);
    if (name.empty() || name == ".") continue;  // the archive's root
    const std::string what = "archive entry " + Quote(name);
    RETURN_IF_ERROR(CheckBoxPath(name, "archive entry"));
    if (out.size() >= limits.max_entries) {
      return Status::Error("the archive has more than " + std::to_string(limits.max_entries) +
                           " entries");
    }
    TarEntry e;
    e.name = name;
    e.mode = static_cast<unsigned>(mode) & 0777;
    switch (type) {
      case '0':
      case '\0':
      case '7':
        e.kind = TarEntry::kFile;
        e.data = data;
        total += size;
        if (total > limits.max_bytes) {
          return Status::Error("the archive's files hold more than " +
                               std::to_string(limits.max_bytes) + " bytes");
        }
        break;
      case '5':
        e.kind = TarEntry::kDir;
        break;
      case '2':
        e.kind = TarEntry::kSymlink;
        e.link = link;
        if (link.empty() || link.size() > kMaxPath || !LinkStaysInside(name, link)) {
          return Status::Error(what + " is a symbolic link to " + Quote(link) +
                               ", outside /box; links must stay inside the archive");
        }
        break;
      case '1': {
        e.kind = TarEntry::kHardlink;
        e.link = Normalize(link);
        auto it = seen.find(e.link);
        if (!CheckBoxPath(e.link, "link").ok() || it == seen.end() || it->second != TarEntry::kFile) {
          return Status::Error(what + " is a hard link to " + Quote(link) +
                               ", which is not an earlier file of the archive");
        }
        break;
      }
      case '3':
      case '4':
        return Status::Error(what + " is a device; an archive may hold only files, directories "
                             "and links");
      case '6':
        return Status::Error(what + " is a FIFO; an archive may hold only files, directories and "
                             "links");
      default:
        return Status::Error(what + " has the unsupported type '" + std::string(1, type) +
                             "'; an archive may hold only files, directories and links");
    }
    seen[e.name] = e.kind == TarEntry::kHardlink ? TarEntry::kFile : e.kind;
    out.push_back(std::move(e));
  }
  return out;
}

void TarWriter::Header(const std::string& name, char type, unsigned mode, size_t size,
                       const std::string& link) {
  if (name.size() > 100 || link.size() > 100) {
    std::string records;
    auto record = [&](const std::string& key, const std::string& value) {
      // The length counts its own digits.
      const size_t body = key.size() + value.size() + 3;  // ' ', '=', '\n'
      size_t len = body + std::to_string(body).size();
      if (std::to_string(len).size() != std::to_string(body).size()) ++len;
      records += std::to_string(len) + " " + key + "=" + value + "\n";
    };
    if (name.size() > 100) record("path", name);
    if (link.size() > 100) record("linkpath", link);
    Header("pax", 'x', 0644, records.size(), "");
    out_ += records;
    out_.resize((out_.size() + kBlock - 1) / kBlock * kBlock, '\0');
  }
  char h[kBlock] = {};
  std::memcpy(h, name.data(), std::min<size_t>(name.size(), 100));
  std::snprintf(h + 100, 8, "%07o", mode & 07777);
  std::snprintf(h + 108, 8, "%07o", 0);
  std::snprintf(h + 116, 8, "%07o", 0);
  std::snprintf(h + 124, 12, "%011llo", static_cast<unsigned long long>(size));
  std::snprintf(h + 136, 12, "%011o", 0);
  h[156] = type;
  std::memcpy(h + 157, link.data(), std::min<size_t>(link.size(), 100));
  std::memcpy(h + 257, "ustar", 6);
  std::memcpy(h + 263, "00", 2);
  std::memset(h + 148, ' ', 8);
  unsigned sum = 0;
  for (char c : h) sum += static_cast<unsigned char>(c);
  std::snprintf(h + 148, 8, "%06o", sum);
  out_.append(h, kBlock);
}

void TarWriter::AddFile(const std::string& name, std::string_view data, unsigned mode) {
  Header(name, '0', mode, data.size(), "");
  out_.append(data);
  out_.resize((out_.size() + kBlock - 1) / kBlock * kBlock, '\0');
}

void TarWriter::AddDir(const std::string& name, unsigned mode) { Header(name, '5', mode, 0, ""); }

void TarWriter::AddSymlink(const std::string& name, const std::string& target) {
  Header(name, '2', 0777, 0, target);
}

std::string TarWriter::Finish() {
  out_.append(2 * kBlock, '\0');
  return std::move(out_);
}

Result<std::string> TarDirectory(const std::string& dir, long long max_bytes) {
  TarWriter tar;
  long long total = 0;
  // Depth first, each directory's entries in name order.
  std::vector<std::string> todo = {""};
  while (!todo.empty()) {
    const std::string rel = todo.back();
    todo.pop_back();
    const std::string path = rel.empty() ? dir : dir + "/" + rel;
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) return Status::Errno("cannot read the directory " + path);
    ASSIGN_OR_RETURN(std::vector<std::string> names, ListDirectory(fd.get()));
    std::vector<std::string> subdirs;
    for (const std::string& n : names) {
      const std::string name = rel.empty() ? n : rel + "/" + n;
      const std::string full = dir + "/" + name;
      struct stat st;
      if (::lstat(full.c_str(), &st) != 0) return Status::Errno("stat " + full);
      if (S_ISDIR(st.st_mode)) {
        tar.AddDir(name, st.st_mode & 0777);
        subdirs.push_back(name);
      } else if (S_ISREG(st.st_mode)) {
        total += st.st_size;
        if (total > max_bytes) {
          return Status::Error(dir + " holds more than " + std::to_string(max_bytes) +
                               " bytes of files");
        }
        ASSIGN_OR_RETURN(std::string data, ReadRegularFile(full, static_cast<size_t>(max_bytes)));
        tar.AddFile(name, data, st.st_mode & 0777);
      } else if (S_ISLNK(st.st_mode)) {
        char target[kMaxPath + 1];
        ssize_t n = ::readlink(full.c_str(), target, sizeof target - 1);
        if (n < 0) return Status::Errno("readlink " + full);
        tar.AddSymlink(name, std::string(target, static_cast<size_t>(n)));
      } else {
        return Status::Error(full + " is not a file, directory or symbolic link");
      }
    }
    todo.insert(todo.end(), subdirs.rbegin(), subdirs.rend());
  }
  return tar.Finish();
}

Status CheckUnpackedLinks(int box, const std::vector<TarEntry>& entries) {
  for (const TarEntry& e : entries) {
    if (e.kind != TarEntry::kSymlink) continue;
    // An absolute target names /box/...: resolved from the box itself.
    std::string path = e.name;
    if (e.link[0] == '/') path = e.link.size() > 5 ? e.link.substr(5) : ".";
    struct open_how how {};
    how.flags = O_PATH | O_CLOEXEC;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
    const int fd = static_cast<int>(::syscall(SYS_openat2, box, path.c_str(), &how, sizeof how));
    if (fd >= 0) {
      ::close(fd);
    } else if (errno == EXDEV) {
      return Status::Error("archive entry " + Quote(e.name) + " is a symbolic link to " +
                           Quote(e.link) + " that leads out of /box through the archive's other "
                           "links (or through an absolute one); links must stay inside the archive");
    }
  }
  return Status::Ok();
}

Result<UniqueFd> TreeWriter::Parent(const std::string& path, std::string* base) {
  UniqueFd cur(::fcntl(dir_, F_DUPFD_CLOEXEC, 0));
  if (!cur) return Status::Errno("dup");
  size_t pos = 0;
  for (size_t slash; (slash = path.find('/', pos)) != std::string::npos; pos = slash + 1) {
    const std::string part = path.substr(pos, slash - pos);
    if (::mkdirat(cur.get(), part.c_str(), 0755) == 0) {
      RETURN_IF_ERROR(Own(cur.get(), part, path.substr(0, slash)));
    } else if (errno != EEXIST) {
      return Status::Errno("cannot make the directory " + path.substr(0, slash));
    }
    UniqueFd next(OpenBeneath(cur.get(), part, O_RDONLY | O_DIRECTORY));
    if (!next) {
      return Status::Errno("cannot open the directory " + path.substr(0, slash) +
                           " (a link or a file is in the way)");
    }
    cur = std::move(next);
  }
  *base = path.substr(pos);
  return cur;
}

Status TreeWriter::Own(int dir, const std::string& name, const std::string& path) {
  if (uid_ == static_cast<uid_t>(-1)) return Status::Ok();
  if (::fchownat(dir, name.c_str(), uid_, gid_, AT_SYMLINK_NOFOLLOW) != 0) {
    return Status::Errno("chown " + path);
  }
  return Status::Ok();
}

Status TreeWriter::File(const std::string& path, std::string_view data, unsigned mode,
                        bool replace) {
  std::string base;
  ASSIGN_OR_RETURN(UniqueFd parent, Parent(path, &base));
  UniqueFd fd(OpenBeneath(parent.get(), base, O_WRONLY | O_CREAT | (replace ? O_TRUNC : O_EXCL), 0600));
  if (!fd) {
    return Status::Errno("cannot create " + path + (errno == ELOOP ? " (a link is in the way)" : ""));
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return Status::Error("cannot create " + path + ": something else than a file is there");
  }
  RETURN_IF_ERROR(WriteAll(fd.get(), data, path));
  if (uid_ != static_cast<uid_t>(-1) && ::fchown(fd.get(), uid_, gid_) != 0) {
    return Status::Errno("chown " + path);
  }
  if (::fchmod(fd.get(), mode & 0777) != 0) return Status::Errno("chmod " + path);
  return Status::Ok();
}

Status TreeWriter::Dir(const std::string& path, unsigned mode) {
  std::string base;
  ASSIGN_OR_RETURN(UniqueFd parent, Parent(path, &base));
  if (::mkdirat(parent.get(), base.c_str(), 0700) != 0 && errno != EEXIST) {
    return Status::Errno("cannot make the directory " + path);
  }
  UniqueFd fd(OpenBeneath(parent.get(), base, O_RDONLY | O_DIRECTORY));
  if (!fd) return Status::Errno("cannot open the directory " + path);
  if (uid_ != static_cast<uid_t>(-1) && ::fchown(fd.get(), uid_, gid_) != 0) {
    return Status::Errno("chown " + path);
  }
  // The owner keeps write access: later entries go into it.
  if (::fchmod(fd.get(), (mode & 0777) | 0700) != 0) return Status::Errno("chmod " + path);
  return Status::Ok();
}

Status TreeWriter::Symlink(const std::string& path, const std::string& target) {
  std::string base;
  ASSIGN_OR_RETURN(UniqueFd parent, Parent(path, &base));
  if (::symlinkat(target.c_str(), parent.get(), base.c_str()) != 0) {
    return Status::Errno("cannot make the symbolic link " + path);
  }
  return Own(parent.get(), base, path);
}

Status TreeWriter::Hardlink(const std::string& path, const std::string& existing) {
  std::string base, existing_base;
  ASSIGN_OR_RETURN(UniqueFd parent, Parent(path, &base));
  ASSIGN_OR_RETURN(UniqueFd existing_parent, Parent(existing, &existing_base));
  // No AT_SYMLINK_FOLLOW: a link is linked as itself, never followed.
  if (::linkat(existing_parent.get(), existing_base.c_str(), parent.get(), base.c_str(), 0) != 0) {
    return Status::Errno("cannot link " + path + " to " + existing);
  }
  return Status::Ok();
}

Status TreeWriter::Write(const TarEntry& e) {
  switch (e.kind) {
    case TarEntry::kFile: return File(e.name, e.data, e.mode);
    case TarEntry::kDir: return Dir(e.name, e.mode);
    case TarEntry::kSymlink: return Symlink(e.name, e.link);
    case TarEntry::kHardlink: return Hardlink(e.name, e.link);
  }
  return Status::Error("unknown entry kind");
}

}  // namespace judge
