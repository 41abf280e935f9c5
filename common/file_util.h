// Small file helpers for control files (cgroupfs, procfs) and config files.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/fd.h"
#include "common/status.h"

namespace judge {

// Reads a whole (small) file.
Result<std::string> ReadFile(const std::string& path);
// Writes data to an existing file with one write(2), as control files expect.
Status WriteFile(const std::string& path, const std::string& data);
// Creates `path` (never an existing file, never through a symbolic link) with `data`
// and then `mode` (set after writing, so a read-only mode works).
Status WriteNewFile(const std::string& path, const std::string& data, unsigned mode);
// Writes all of `data` to fd (retrying short writes and EINTR); `what` names the file
// in the error.
Status WriteAll(int fd, std::string_view data, const std::string& what);
// openat2 that never leaves `dir`'s mount: no "..", no symbolic or magic links, no
// crossing into another mount (one the program in a container could have arranged).
// O_CLOEXEC and O_NOFOLLOW are added; `mode` is for O_CREAT. Returns the fd or -1.
int OpenBeneath(int dir, const std::string& path, int flags, unsigned mode = 0);
// An anonymous in-memory file holding `data`, sealed so that nobody can change it (a
// run's standard input without a file on disk); its offset is at the start.
Result<UniqueFd> SealedMemfd(const char* name, const std::string& data);
// Parses a decimal integer, ignoring surrounding white space.
Result<long long> ParseInt(const std::string& text);
// The value of a command-line option that takes a whole number in [min, max]; the error
// names the option and the range.
Result<long long> ParseIntOption(const std::string& option, const std::string& text,
                                 long long min, long long max);
// Reads a file holding one integer.
Result<long long> ReadInt(const std::string& path);
// Reads a regular file that someone else may have planted: never through a symbolic
// link, never a FIFO or device, at most max_bytes (more is an error, or with truncate
// the first max_bytes).
Result<std::string> ReadRegularFile(const std::string& path, size_t max_bytes,
                                    bool truncate = false);
// Removes a directory tree without following links; carries on past errors.
void RemoveTree(const std::string& path);
// The names in an open directory but "." and "..", sorted; `dir_fd` stays open.
Result<std::vector<std::string>> ListDirectory(int dir_fd);
// Removes what a crashed job left: the directories root/PREFIX* of ours (owned by this
// user, no group or other permission bits) that no process holds flock()ed and that are
// over a minute old (their maker locks them right after making them). With `unmount`, a
// mount on one (made locked before it is attached: any age) is detached first; without,
// a mounted one is left. Never follows a link (root may be a world-writable /tmp).
void RemoveStaleDirs(const std::string& root, const std::string& prefix, bool unmount = false);

}  // namespace judge
