#include "worker/compile_cache.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <map>
#include <sstream>
#include <vector>

#include "common/fd.h"
#include "common/file_util.h"

namespace judge {
namespace {

constexpr uint32_t kK[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

inline uint32_t Rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

constexpr const char* kTmpPrefix = "judge-compile-tmp-";
constexpr const char* kManifestHeader = "judge-compile-cache 1";
constexpr long long kMaxManifestBytes = 1 << 20;
constexpr long long kMaxResultBytes = 1 << 20;

bool IsKey(const std::string& name) {
  return name.size() == 64 &&
         std::all_of(name.begin(), name.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) && !std::isupper(static_cast<unsigned char>(c)); });
}

std::string HexEncode(const std::string& s) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out += d[c >> 4];
    out += d[c & 15];
  }
  return out;
}

bool HexDecode(const std::string& s, std::string* out) {
  if (s.size() % 2 != 0) return false;
  out->clear();
  auto val = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  for (size_t i = 0; i < s.size(); i += 2) {
    int a = val(s[i]), b = val(s[i + 1]);
    if (a < 0 || b < 0) return false;
    *out += static_cast<char>(a * 16 + b);
  }
  return true;
}

// Regular files directly in dir (name -> stat), via lstat: links are not followed.
bool ListFiles(const std::string& dir, std::map<std::string, struct stat>* files, bool* other) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) return false;
  *other = false;
  while (struct dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    struct stat st;
    if (::lstat((dir + "/" + name).c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
      *other = true;
      continue;
    }
    (*files)[name] = st;
  }
  ::closedir(d);
  return true;
}


// Copies a regular file (never through a link) of exactly `size` bytes.
Status CopyFile(const std::string& from, const std::string& to, mode_t mode, long long size) {
  UniqueFd in(::open(from.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
  struct stat st;
  if (!in || ::fstat(in.get(), &st) != 0) return Status::Errno("open " + from);
  if (!S_ISREG(st.st_mode) || st.st_size != size) return Status::Error(from + " changed");
  UniqueFd out(::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!out) return Status::Errno("create " + to);
  char buf[65536];
  long long left = size;
  while (left > 0) {
    ssize_t n = ::read(in.get(), buf, static_cast<size_t>(std::min<long long>(left, sizeof buf)));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Status::Error(from + " is shorter than its size");
    RETURN_IF_ERROR(WriteAll(out.get(), std::string_view(buf, static_cast<size_t>(n)), to));
    left -= n;
  }
  if (::fchmod(out.get(), mode) != 0) return Status::Errno("chmod " + to);
  return Status::Ok();
}

struct ManifestEntry {
  long long size;
  mode_t mode;
};

bool ParseManifest(const std::string& text, std::map<std::string, ManifestEntry>* out) {
  std::istringstream in(text);
  std::string line;
  if (!std::getline(in, line) || line != kManifestHeader) return false;
  while (std::getline(in, line)) {
    std::istringstream l(line);
    long long size = -1;
    unsigned mode = 0;
    std::string hex, name, extra;
    if (!(l >> size >> std::oct >> mode >> hex) || (l >> extra) || size < 0 ||
        (mode != 0755 && mode != 0644) || !HexDecode(hex, &name) || name.empty() ||
        name.find('/') != std::string::npos || name == "." || name == "..") {
      return false;
    }
    if (!out->emplace(name, ManifestEntry{size, static_cast<mode_t>(mode)}).second) return false;
  }
  return true;
}

// Empties dir (a job's program directory: plain files only).
void EmptyDir(const std::string& dir) {
  std::map<std::string, struct stat> files;
  bool other;
  if (!ListFiles(dir, &files, &other)) return;
  for (const auto& [name, st] : files) ::unlink((dir + "/" + name).c_str());
}

}  // namespace

Sha256::Sha256()
    : h_{0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19} {}

void Sha256::Block(const unsigned char* p) {
  uint32_t w[64];
  for (int i = 0; i < 16; ++i) {
    w[i] = (uint32_t{p[4 * i]} << 24) | (uint32_t{p[4 * i + 1]} << 16) |
           (uint32_t{p[4 * i + 2]} << 8) | uint32_t{p[4 * i + 3]};
  }
  for (int i = 16; i < 64; ++i) {
    uint32_t s0 = Rotr(w[i - 15], 7) ^ Rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
    uint32_t s1 = Rotr(w[i - 2], 17) ^ Rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  uint32_t a = h_[0], b = h_[1], c = h_[2], d = h_[3], e = h_[4], f = h_[5], g = h_[6], h = h_[7];
  for (int i = 0; i < 64; ++i) {
    uint32_t t1 = h + (Rotr(e, 6) ^ Rotr(e, 11) ^ Rotr(e, 25)) + ((e & f) ^ (~e & g)) + kK[i] + w[i];
    uint32_t t2 = (Rotr(a, 2) ^ Rotr(a, 13) ^ Rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
    h = g;
    g = f;
    f = e;
    e = d + t1;
    d = c;
    c = b;
    b = a;
    a = t1 + t2;
  }
  h_[0] += a; h_[1] += b; h_[2] += c; h_[3] += d;
  h_[4] += e; h_[5] += f; h_[6] += g; h_[7] += h;
}

void Sha256::Update(std::string_view data) {
  length_ += data.size();
  for (unsigned char c : data) {
    buf_[used_++] = c;
    if (used_ == 64) {
      Block(buf_);
      used_ = 0;
    }
  }
}

std::string Sha256::HexDigest() {
  const uint64_t bits = length_ * 8;
  unsigned char pad = 0x80;
  Update(std::string_view(reinterpret_cast<const char*>(&pad), 1));
  const unsigned char zero = 0;
  while (used_ != 56) Update(std::string_view(reinterpret_cast<const char*>(&zero), 1));
  unsigned char len[8];
  for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>(bits >> (56 - 8 * i));
  Update(std::string_view(reinterpret_cast<const char*>(len), 8));
  std::string digest;  // big-endian words
  for (uint32_t v : h_) {
    for (int s = 24; s >= 0; s -= 8) digest += static_cast<char>(v >> s);
  }
  return HexEncode(digest);
}

std::string Sha256Hex(std::string_view data) {
  Sha256 s;
  s.Update(data);
  return s.HexDigest();
}

CompileKey::CompileKey() { Add("judge-compile-key 1"); }

CompileKey& CompileKey::Add(std::string_view field) {
  unsigned char len[8];
  for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>(uint64_t{field.size()} >> (8 * i));
  sha_.Update(std::string_view(reinterpret_cast<const char*>(len), 8));
  sha_.Update(field);
  return *this;
}

Result<std::unique_ptr<CompileCache>> CompileCache::Open(const std::string& root, long long max_bytes) {
  if (root.empty() || root[0] != '/') return Status::Error("the compile cache needs an absolute path");
  if (::mkdir(root.c_str(), 0700) != 0 && errno != EEXIST) return Status::Errno("mkdir " + root);
  struct stat st;
  if (::lstat(root.c_str(), &st) != 0) return Status::Errno("stat " + root);
  if (!S_ISDIR(st.st_mode)) return Status::Error(root + " is not a directory");
  if (st.st_uid != ::geteuid()) return Status::Error(root + " is not owned by this user");
  if ((st.st_mode & 07777) != 0700 && ::chmod(root.c_str(), 0700) != 0) {
    return Status::Errno("chmod " + root);
  }
  // What crashed writers (and evictions) left: temp dirs nobody has touched for an hour.
  if (DIR* d = ::opendir(root.c_str())) {
    std::vector<std::string> stale;
    while (struct dirent* e = ::readdir(d)) {
      std::string name = e->d_name;
      struct stat s;
      if (name.rfind(kTmpPrefix, 0) == 0 && ::lstat((root + "/" + name).c_str(), &s) == 0 &&
          s.st_mtime < ::time(nullptr) - 3600) {
        stale.push_back(name);
      }
    }
    ::closedir(d);
    for (const std::string& name : stale) RemoveTree(root + "/" + name);
  }
  return std::unique_ptr<CompileCache>(new CompileCache(root, max_bytes));
}

void CompileCache::Remove(const std::string& key) {
  // Renamed away first: a concurrent remover gets ENOENT, and no reader sees the entry
  // half deleted under its name for longer than the rename.
  std::string tmp = root_ + "/" + kTmpPrefix + "XXXXXX";
  if (::mkdtemp(tmp.data()) == nullptr) return;
  ::rename((root_ + "/" + key).c_str(), (tmp + "/entry").c_str());
  RemoveTree(tmp);
}

bool CompileCache::Lookup(const std::string& key, const std::string& dest_dir,
                          v1::CompileResult* result) {
  if (!IsKey(key)) return false;
  const std::string entry = root_ + "/" + key;
  struct stat st;
  if (::lstat(entry.c_str(), &st) != 0) return false;  // a miss
  auto damaged = [&] {
    EmptyDir(dest_dir);
    Remove(key);
    return false;
  };
  if (!S_ISDIR(st.st_mode)) return damaged();
  auto manifest_text = ReadRegularFile(entry + "/manifest", kMaxManifestBytes);
  auto result_text = ReadRegularFile(entry + "/result", kMaxResultBytes);
  std::map<std::string, ManifestEntry> manifest;
  v1::CompileResult stored;
  if (!manifest_text.ok() || !result_text.ok() || !ParseManifest(*manifest_text, &manifest) ||
      !stored.ParseFromString(*result_text) || stored.status() != v1::CompileResult::OK) {
    return damaged();
  }
  std::map<std::string, struct stat> files;
  bool other = false;
  if (!ListFiles(entry + "/files", &files, &other) || other || files.size() != manifest.size()) {
    return damaged();
  }
  for (const auto& [name, m] : manifest) {
    auto it = files.find(name);
    if (it == files.end() || it->second.st_size != m.size) return damaged();
  }
  for (const auto& [name, m] : manifest) {
    if (!CopyFile(entry + "/files/" + name, dest_dir + "/" + name, m.mode, m.size).ok()) {
      return damaged();
    }
  }
  ::utimensat(AT_FDCWD, entry.c_str(), nullptr, AT_SYMLINK_NOFOLLOW);  // recently used
  *result = stored;
  return true;
}

Status CompileCache::Store(const std::string& key, const std::string& src_dir,
                           const v1::CompileResult& result) {
  if (!IsKey(key)) return Status::Error("bad compile cache key");
  struct stat st;
  const std::string entry = root_ + "/" + key;
  if (::lstat(entry.c_str(), &st) == 0) return Status::Ok();  // stored already
  std::string tmp = root_ + "/" + kTmpPrefix + "XXXXXX";
  if (::mkdtemp(tmp.data()) == nullptr) return Status::Errno("mkdtemp in " + root_);
  Status status = [&]() -> Status {
    if (::mkdir((tmp + "/files").c_str(), 0700) != 0) return Status::Errno("mkdir " + tmp + "/files");
    std::map<std::string, struct stat> files;
    bool other = false;
    if (!ListFiles(src_dir, &files, &other)) return Status::Errno("list " + src_dir);
    if (other) return Status::Error(src_dir + " holds more than regular files");
    std::string manifest = std::string(kManifestHeader) + "\n";
    for (const auto& [name, fst] : files) {
      const mode_t mode = (fst.st_mode & 0111) ? 0755 : 0644;
      RETURN_IF_ERROR(CopyFile(src_dir + "/" + name, tmp + "/files/" + name, 0444, fst.st_size));
      char line[64];
      std::snprintf(line, sizeof line, "%lld %o ", static_cast<long long>(fst.st_size), mode);
      manifest += line + HexEncode(name) + "\n";
    }
    std::string serialized;
    if (!result.SerializeToString(&serialized)) return Status::Error("cannot serialize the result");
    RETURN_IF_ERROR(WriteNewFile(tmp + "/result", serialized, 0444));
    RETURN_IF_ERROR(WriteNewFile(tmp + "/manifest", manifest, 0444));
    if (::chmod((tmp + "/files").c_str(), 0555) != 0 || ::chmod(tmp.c_str(), 0555) != 0) {
      return Status::Errno("chmod " + tmp);
    }
    if (::rename(tmp.c_str(), entry.c_str()) != 0) {
      // Another writer stored the same key first: its entry is as good as ours.
      if (errno == EEXIST || errno == ENOTEMPTY) return Status::Ok();
      return Status::Errno("rename " + tmp + " to " + entry);
    }
    tmp.clear();
    return Status::Ok();
  }();
  if (!tmp.empty()) RemoveTree(tmp);
  if (status.ok()) Evict();
  return status;
}

long long CompileCache::TotalBytes() const {
  long long total = 0;
  DIR* d = ::opendir(root_.c_str());
  if (!d) return 0;
  std::vector<std::string> keys;
  while (struct dirent* e = ::readdir(d)) {
    if (IsKey(e->d_name)) keys.push_back(e->d_name);
  }
  ::closedir(d);
  for (const std::string& key : keys) {
    const std::string entry = root_ + "/" + key;
    for (const std::string& sub : {entry, entry + "/files"}) {
      std::map<std::string, struct stat> files;
      bool other;
      ListFiles(sub, &files, &other);
      for (const auto& [name, st] : files) total += st.st_size;
    }
  }
  return total;
}

void CompileCache::Evict() {
  struct Entry {
    std::string key;
    struct timespec mtime;
    long long bytes = 0;
  };
  std::vector<Entry> entries;
  DIR* d = ::opendir(root_.c_str());
  if (!d) return;
  while (struct dirent* e = ::readdir(d)) {
    if (IsKey(e->d_name)) entries.push_back({e->d_name, {}, 0});
  }
  ::closedir(d);
  long long total = 0;
  for (Entry& e : entries) {
    const std::string path = root_ + "/" + e.key;
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) continue;
    e.mtime = st.st_mtim;
    for (const std::string& sub : {path, path + "/files"}) {
      std::map<std::string, struct stat> files;
      bool other;
      ListFiles(sub, &files, &other);
      for (const auto& [name, fst] : files) e.bytes += fst.st_size;
    }
    total += e.bytes;
  }
  if (total <= max_bytes_) return;
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.mtime.tv_sec != b.mtime.tv_sec ? a.mtime.tv_sec < b.mtime.tv_sec
                                            : a.mtime.tv_nsec < b.mtime.tv_nsec;
  });
  for (const Entry& e : entries) {
    if (total <= max_bytes_) break;
    Remove(e.key);
    total -= e.bytes;
  }
}

}  // namespace judge
