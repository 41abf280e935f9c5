// The compile cache (issue #7): a resubmission of an identical source with the same
// language profile, sandbox profile, seccomp policy and compile limits is not compiled
// again. Entries are keyed by SHA-256 over all of these, so a submission cannot put its
// binary under another's key without a SHA-256 collision.
//
// On disk: ROOT (mode 0700) holds one directory per key (64 hex digits, mode 0555):
//   KEY/manifest    "judge-compile-cache 1" then one "SIZE MODE HEXNAME" line per file
//   KEY/result      the CompileResult, serialized
//   KEY/files/NAME  the files the compile step copied out (mode 0444)
// An entry is written in ROOT/judge-compile-tmp-XXXXXX and renamed into place, so no
// reader ever sees half an entry; a concurrent writer of the same key loses the rename
// (EEXIST/ENOTEMPTY) and drops its copy. A hit checks the entry against its manifest
// (a damaged entry is removed and is a miss), copies the files into the job's own
// directory and touches the entry's mtime; after a store the least recently used
// entries go until the cache is within its budget.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"
#include "protocol/judge.pb.h"

namespace judge {

// FIPS 180-4 SHA-256.
class Sha256 {
 public:
  Sha256();
  void Update(std::string_view data);
  std::string HexDigest();  // finishes the hash: call once

 private:
  void Block(const unsigned char* p);
  uint32_t h_[8];
  unsigned char buf_[64];
  size_t used_ = 0;
  uint64_t length_ = 0;  // bytes
};

std::string Sha256Hex(std::string_view data);

// A cache key built from fields; each is length-prefixed, so ("ab","c") != ("a","bc").
class CompileKey {
 public:
  CompileKey();
  CompileKey& Add(std::string_view field);
  CompileKey& Add(long long n) { return Add(std::to_string(n)); }
  std::string Hex() { return sha_.HexDigest(); }

 private:
  Sha256 sha_;
};

class CompileCache {
 public:
  // Creates root (mode 0700) if it is missing; refuses a root that is not a directory
  // of ours. Removes what crashed writers left (temp dirs over an hour old).
  static Result<std::unique_ptr<CompileCache>> Open(const std::string& root, long long max_bytes);

  // On a hit, copies the entry's files into dest_dir (existing, empty), fills *result
  // with the stored CompileResult (times of the original compile) and returns true.
  // A missing or damaged entry returns false (a damaged one is removed); dest_dir is
  // left empty then.
  bool Lookup(const std::string& key, const std::string& dest_dir, v1::CompileResult* result);

  // Stores the regular files of src_dir with result under key. Storing a key that is
  // already there (by this or another writer) succeeds.
  Status Store(const std::string& key, const std::string& src_dir, const v1::CompileResult& result);

  // Removes least recently used entries until the total is within the budget.
  void Evict();

  // The bytes of all entries (files, manifests, results).
  long long TotalBytes() const;

 private:
  CompileCache(std::string root, long long max_bytes) : root_(std::move(root)), max_bytes_(max_bytes) {}
  void Remove(const std::string& key);

  std::string root_;
  long long max_bytes_;
};

}  // namespace judge
