// The broker's journal: every accepted job and every result in an SQLite file (WAL), so
// that a broker killed at any moment and restarted loses nothing and runs nothing twice.
// Writes are grouped: the broker opens one transaction per batch of messages and
// commits it before sending the replies that depend on it (group commit).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/status.h"

namespace judge {

// The journal's view of a job: how it is stored, not the whole Job.
struct JournalJob {
  std::string id;
  int64_t seq = 0;  // submission order
  int32_t priority = 0;
  std::string language;
  int64_t submitted_ms = 0;  // wall clock, ms since the epoch
  bool dispatched = false;   // handed to a worker at least once (maybe still running)
};

enum class JournalState { kQueued = 1, kDone = 3, kCancelled = 4 };  // as JobStatus.State

struct JournalEntry {
  JournalState state = JournalState::kQueued;
  std::string result;  // protobuf JobResult when kDone
};

class Journal {
 public:
  // sync_full: fsync the WAL at every commit (survives power loss); otherwise only the
  // process may die (kill -9) without losing a commit.
  static Result<std::unique_ptr<Journal>> Open(const std::string& path, bool sync_full);
  ~Journal();
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  // Writes join the open transaction, starting one if none is open; Commit ends it.
  Status Commit();

  // A new job, queued; `job` is its protobuf bytes. seq must be NextSeq().
  Status Add(const JournalJob& meta, const std::string& job);
  int64_t NextSeq() { return next_seq_++; }
  // The job ended: done with a result (protobuf JobResult), or cancelled. Its Job bytes
  // are dropped; the result is kept until Purge.
  Status Finish(const std::string& id, JournalState state, const std::string& result,
                int64_t finished_ms);

  // What the journal holds for an id, if anything.
  Result<std::optional<JournalEntry>> Find(const std::string& id);
  // The protobuf bytes of a queued job.
  Result<std::string> JobBytes(const std::string& id);
  // The job was handed to a worker: after a restart, its worker may still be judging it.
  Status MarkDispatched(const std::string& id);
  // Every queued job in submission order (at start-up).
  Status ForEachQueued(const std::function<void(const JournalJob&)>& fn);
  // Removes ended jobs that ended before `before_ms`; returns how many.
  Result<int64_t> Purge(int64_t before_ms);

 private:
  explicit Journal(sqlite3* db) : db_(db) {}
  Status Exec(const char* sql);
  Status Prepare();
  Status EnsureTransaction();
  Status Error(const std::string& what) const;

  sqlite3* db_;
  bool in_transaction_ = false;
  int64_t next_seq_ = 1;
  sqlite3_stmt* add_ = nullptr;
  sqlite3_stmt* finish_ = nullptr;
  sqlite3_stmt* find_ = nullptr;
  sqlite3_stmt* job_bytes_ = nullptr;
  sqlite3_stmt* purge_ = nullptr;
  sqlite3_stmt* dispatched_ = nullptr;
};

}  // namespace judge
