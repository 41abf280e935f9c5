#include "common/file_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/openat2.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>

#include "common/fd.h"

namespace judge {

Result<std::string> ReadFile(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return Status::Errno("open " + path);
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::Errno("read " + path);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

Status WriteFile(const std::string& path, const std::string& data) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) return Status::Errno("open " + path);
  ssize_t n = ::write(fd.get(), data.data(), data.size());
  if (n < 0) return Status::Errno("write '" + data + "' to " + path);
  if (static_cast<size_t>(n) != data.size()) return Status::Error("short write to " + path);
  return Status::Ok();
}

Status WriteAll(int fd, std::string_view data, const std::string& what) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::Errno("write " + what);
    }
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

Status WriteNewFile(const std::string& path, const std::string& data, unsigned mode) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd) return Status::Errno("create " + path);
  RETURN_IF_ERROR(WriteAll(fd.get(), data, path));
  if (::fchmod(fd.get(), mode) != 0) return Status::Errno("chmod " + path);
  return Status::Ok();
}

int OpenBeneath(int dir, const std::string& path, int flags, unsigned mode) {
  struct open_how how {};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC | O_NOFOLLOW);
  how.mode = (flags & O_CREAT) ? mode : 0;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
  return static_cast<int>(::syscall(SYS_openat2, dir, path.c_str(), &how, sizeof how));
}

Result<UniqueFd> SealedMemfd(const char* name, const std::string& data) {
  UniqueFd fd(::memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!fd) return Status::Errno("memfd_create");
  RETURN_IF_ERROR(WriteAll(fd.get(), data, "a memfd"));
  if (::fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0 ||
      ::lseek(fd.get(), 0, SEEK_SET) != 0) {
    return Status::Errno("sealing a memfd");
  }
  return fd;
}

Result<long long> ParseInt(const std::string& text) {
  size_t b = text.find_first_not_of(" \t\n");
  size_t e = text.find_last_not_of(" \t\n");
  if (b == std::string::npos) return Status::Error("empty number");
  std::string t = text.substr(b, e - b + 1);
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(t.c_str(), &end, 10);
  if (errno != 0 || end == t.c_str() || *end != '\0') return Status::Error("not a number: '" + t + "'");
  return v;
}

Result<long long> ParseIntOption(const std::string& option, const std::string& text,
                                 long long min, long long max) {
  Result<long long> v = ParseInt(text);
  if (!v.ok() || *v < min || *v > max) {
    return Status::Error(option + " takes a whole number from " + std::to_string(min) + " to " +
                         std::to_string(max) + ", not '" + text + "'");
  }
  return v;
}

Result<long long> ReadInt(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  auto v = ParseInt(text);
  if (!v.ok()) return Status::Error(path + ": " + v.status().message());
  return v;
}

Result<std::string> ReadRegularFile(const std::string& path, size_t max_bytes, bool truncate) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
  if (!fd) {
    if (errno == ELOOP) return Status::Error(path + " is a symbolic link; give the file itself");
    return Status::Errno("cannot open " + path);
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return Status::Errno("stat " + path);
  if (!S_ISREG(st.st_mode)) return Status::Error(path + " is not a regular file");
  size_t size = static_cast<size_t>(st.st_size);
  if (size > max_bytes) {
    if (!truncate) {
      return Status::Error(path + " has " + std::to_string(size) + " bytes, more than the " +
                           std::to_string(max_bytes) + " allowed");
    }
    size = max_bytes;
  }
  std::string out(size, '\0');
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = ::read(fd.get(), out.data() + done, out.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::Errno("read " + path);
    if (n == 0) break;  // shrank meanwhile
    done += static_cast<size_t>(n);
  }
  out.resize(done);
  return out;
}

void RemoveTree(const std::string& path) {
  ::nftw(
      path.c_str(),
      [](const char* p, const struct stat*, int flag, struct FTW*) {
        // Returning 0 whatever happened: one failure must not leave the rest behind.
        if (flag == FTW_DP) {
          ::rmdir(p);
        } else {
          ::unlink(p);
        }
        return 0;
      },
      32, FTW_DEPTH | FTW_PHYS);
}

Result<std::vector<std::string>> ListDirectory(int dir_fd) {
  DIR* d = ::fdopendir(::fcntl(dir_fd, F_DUPFD_CLOEXEC, 0));
  if (!d) return Status::Errno("cannot read a directory");
  ::rewinddir(d);
  std::vector<std::string> names;
  while (struct dirent* e = ::readdir(d)) {
    const std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

namespace {

// root/name is a directory of ours: owned by us, no group or other permission bits
// (the judge makes them 0700), and still the directory `st` describes.
bool StillOurs(int root, const std::string& name, const struct stat& st) {
  struct stat now;
  return st.st_uid == ::geteuid() && (st.st_mode & 077) == 0 && S_ISDIR(st.st_mode) &&
         ::fstatat(root, name.c_str(), &now, AT_SYMLINK_NOFOLLOW) == 0 && now.st_dev == st.st_dev &&
         now.st_ino == st.st_ino;
}

}  // namespace

void RemoveStaleDirs(const std::string& root, const std::string& prefix, bool unmount) {
  UniqueFd dir(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  struct stat root_st;
  if (!dir || ::fstat(dir.get(), &root_st) != 0) return;
  Result<std::vector<std::string>> names = ListDirectory(dir.get());
  if (!names.ok()) return;
  for (const std::string& name : *names) {
    if (name.rfind(prefix, 0) != 0) continue;
    const std::string path = root + "/" + name;
    UniqueFd fd(::openat(dir.get(), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    struct stat st;
    if (!fd || ::fstat(fd.get(), &st) != 0 || !StillOurs(dir.get(), name, st)) continue;
    // A directory is locked right after it is made: a young one may be about to be. A
    // mount on one is made locked (and only then attached), so its age does not matter.
    const bool mounted = st.st_dev != root_st.st_dev;
    if (!mounted && st.st_mtime > ::time(nullptr) - 60) continue;
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) continue;
    if (mounted) {
      if (!unmount || ::umount2(path.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) != 0) continue;
      // What was under the mount: the directory made before it, ours too.
      fd.reset(::openat(dir.get(), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!fd || ::fstat(fd.get(), &st) != 0 || !StillOurs(dir.get(), name, st)) continue;
    }
    RemoveTree(path);
  }
}

}  // namespace judge
