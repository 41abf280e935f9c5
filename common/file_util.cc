#include "common/file_util.h"

#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

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

Status WriteNewFile(const std::string& path, const std::string& data, unsigned mode) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd) return Status::Errno("create " + path);
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd.get(), data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::Errno("write " + path);
    }
    done += static_cast<size_t>(n);
  }
  if (::fchmod(fd.get(), mode) != 0) return Status::Errno("chmod " + path);
  return Status::Ok();
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

}  // namespace judge
