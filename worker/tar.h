// Files of exec jobs on the host's side: the paths a job may name below /box, tar
// archives (ustar, pax extended headers, GNU long names; no compression) read into
// checked entries and written from a directory, and a writer that puts files below a
// directory without ever following a link found there.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "common/fd.h"
#include "common/file_util.h"  // OpenBeneath
#include "common/status.h"

namespace judge {

// A path below /box as an exec job names it ("src/a.c"): relative, no empty, "." or ".."
// parts, no control characters, at most 4096 bytes and 255 per part. `what` starts the
// error ("file", "archive entry").
Status CheckBoxPath(const std::string& path, const std::string& what);

struct TarEntry {
  enum Kind { kFile, kDir, kSymlink, kHardlink };
  Kind kind = kFile;
  std::string name;       // passes CheckBoxPath
  std::string link;       // kSymlink: the target (stays inside /box); kHardlink: an
                          // earlier regular file entry's name
  unsigned mode = 0644;   // permission bits only
  std::string_view data;  // kFile: the content, pointing into the archive
};

struct TarLimits {
  size_t max_entries = 10000;
  long long max_bytes = 256ll << 20;  // all files' contents together
};

// Reads a whole archive. Refused, with a sentence that names the entry: absolute names
// or ".." parts, symbolic links leading out of /box, hard links to anything but an
// earlier file of the archive, devices, FIFOs and other special entries, more entries
// or bytes than the limits, a damaged or compressed archive.
Result<std::vector<TarEntry>> ParseTar(std::string_view archive, const TarLimits& limits);

// Builds an archive (ustar; a pax header where a name does not fit).
class TarWriter {
 public:
  void AddFile(const std::string& name, std::string_view data, unsigned mode);
  void AddDir(const std::string& name, unsigned mode);
  void AddSymlink(const std::string& name, const std::string& target);
  // The archive, with its two closing zero blocks.
  std::string Finish();

 private:
  void Header(const std::string& name, char type, unsigned mode, size_t size,
              const std::string& link);
  std::string out_;
};

// An archive of everything below `dir` (regular files, directories, symbolic links as
// links); entries are named relative to it, in name order. Other kinds of files, and
// more than max_bytes of content, are errors.
Result<std::string> TarDirectory(const std::string& dir, long long max_bytes);

// Checks the symbolic links of an archive once unpacked below `box` (TreeWriter::Write):
// each must resolve, through the links really there, below `box` (openat2 with
// RESOLVE_BENEATH): ParseTar's check is textual, and links through links (d/up -> ..,
// d/x -> up/../..) can lead out. A dangling link is fine; a link whose resolution
// leaves `box`, or passes through an absolute link, is refused naming the entry.
Status CheckUnpackedLinks(int box, const std::vector<TarEntry>& entries);

// Creates files below a directory without following any link already in it (parents
// are made as needed, 0755). What it makes is owned by uid/gid unless uid is -1.
class TreeWriter {
 public:
  TreeWriter(int dir_fd, uid_t uid, gid_t gid) : dir_(dir_fd), uid_(uid), gid_(gid) {}
  // A new file; with `replace`, an existing regular file of that name is overwritten.
  Status File(const std::string& path, std::string_view data, unsigned mode, bool replace = false);
  Status Dir(const std::string& path, unsigned mode);
  Status Symlink(const std::string& path, const std::string& target);
  Status Hardlink(const std::string& path, const std::string& existing);
  Status Write(const TarEntry& entry);

 private:
  // The parent directory of `path`, opened (made if missing); *base is the last part.
  Result<UniqueFd> Parent(const std::string& path, std::string* base);
  Status Own(int dir, const std::string& name, const std::string& path);
  int dir_;
  uid_t uid_;
  gid_t gid_;
};

}  // namespace judge
