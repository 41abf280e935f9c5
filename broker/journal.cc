#include "broker/journal.h"

namespace judge {

namespace {

// Resets a prepared statement (and its bindings) however the scope is left.
class Use {
 public:
  explicit Use(sqlite3_stmt* s) : s_(s) {}
  ~Use() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  Use(const Use&) = delete;
  Use& operator=(const Use&) = delete;
  sqlite3_stmt* get() const { return s_; }

 private:
  sqlite3_stmt* s_;
};

// Sizes are bounded by the broker's --max-message-bytes (at most 1 GiB), below SQLite's
// and int's limits; sqlite3_bind_*64 keeps it so for any size.
int BindText(sqlite3_stmt* s, int i, const std::string& v) {
  return sqlite3_bind_text64(s, i, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
}

int BindBlob(sqlite3_stmt* s, int i, const std::string& v) {
  return sqlite3_bind_blob64(s, i, v.data(), v.size(), SQLITE_TRANSIENT);
}

std::string ColumnBlob(sqlite3_stmt* s, int i) {
  const void* p = sqlite3_column_blob(s, i);
  return p ? std::string(static_cast<const char*>(p), sqlite3_column_bytes(s, i)) : std::string();
}

std::string ColumnText(sqlite3_stmt* s, int i) {
  const unsigned char* p = sqlite3_column_text(s, i);
  return p ? std::string(reinterpret_cast<const char*>(p), sqlite3_column_bytes(s, i))
           : std::string();
}

constexpr const char* kSchema = R"(
CREATE TABLE IF NOT EXISTS jobs(
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  priority INTEGER NOT NULL,
  language TEXT NOT NULL,
  state INTEGER NOT NULL,
  submitted_ms INTEGER NOT NULL,
  finished_ms INTEGER,
  job BLOB,
  result BLOB,
  dispatched INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS jobs_ended ON jobs(finished_ms) WHERE state != 1;
)";

}  // namespace

Result<std::unique_ptr<Journal>> Journal::Open(const std::string& path, bool sync_full) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                           nullptr);
  std::unique_ptr<Journal> j(new Journal(db));
  if (rc != SQLITE_OK) return j->Error("cannot open the journal " + path);
  // One broker per journal: EXCLUSIVE keeps a second one out (it fails at once, not
  // after a wait longer than a worker's heartbeat liveness).
  sqlite3_busy_timeout(db, 100);
  Status st = j->Exec("PRAGMA locking_mode=EXCLUSIVE");
  // WAL: a commit appends to one file. Checkpoints keep it from growing past 64 MiB.
  if (st.ok()) {
    sqlite3_stmt* mode = nullptr;
    if (sqlite3_prepare_v2(db, "PRAGMA journal_mode=WAL", -1, &mode, nullptr) != SQLITE_OK ||
        sqlite3_step(mode) != SQLITE_ROW ||
        std::string(reinterpret_cast<const char*>(sqlite3_column_text(mode, 0))) != "wal") {
      st = Status::Error("cannot switch to WAL mode (is another judge-broker using it?)");
    }
    sqlite3_finalize(mode);
  }
  if (st.ok()) st = j->Exec("PRAGMA journal_size_limit=67108864");
  if (st.ok()) st = j->Exec(sync_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
  if (st.ok()) st = j->Exec(kSchema);
  // BEGIN IMMEDIATE takes the exclusive lock now: a second broker fails here, at start.
  if (st.ok()) st = j->Exec("BEGIN IMMEDIATE; COMMIT");
  if (st.ok()) st = j->Prepare();
  if (!st.ok()) return st.Context("journal " + path);
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db, "SELECT COALESCE(MAX(seq), 0) FROM jobs", -1, &s, nullptr) !=
      SQLITE_OK) {
    return j->Error("journal " + path);
  }
  if (sqlite3_step(s) == SQLITE_ROW) j->next_seq_ = sqlite3_column_int64(s, 0) + 1;
  sqlite3_finalize(s);
  return j;
}

Journal::~Journal() {
  if (in_transaction_) Commit();
  for (sqlite3_stmt* s : {add_, finish_, find_, job_bytes_, purge_, dispatched_}) {
    sqlite3_finalize(s);
  }
  sqlite3_close(db_);
}

Status Journal::Error(const std::string& what) const {
  return Status::Error(what + ": " + (db_ ? sqlite3_errmsg(db_) : "out of memory"));
}

Status Journal::Exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    return Status::Error(msg);
  }
  return Status::Ok();
}

Status Journal::Prepare() {
  struct {
    sqlite3_stmt** out;
    const char* sql;
  } stmts[] = {
      {&add_,
       "INSERT INTO jobs(seq, id, priority, language, state, submitted_ms, job) "
       "VALUES(?, ?, ?, ?, 1, ?, ?)"},
      {&finish_,
       "UPDATE jobs SET state = ?, result = ?, finished_ms = ?, job = NULL "
       "WHERE id = ? AND state = 1"},
      {&find_, "SELECT state, result FROM jobs WHERE id = ?"},
      {&job_bytes_, "SELECT job FROM jobs WHERE id = ? AND state = 1"},
      {&purge_, "DELETE FROM jobs WHERE state != 1 AND finished_ms < ?"},
      {&dispatched_, "UPDATE jobs SET dispatched = 1 WHERE id = ? AND dispatched = 0"},
  };
  for (auto& s : stmts) {
    if (sqlite3_prepare_v3(db_, s.sql, -1, SQLITE_PREPARE_PERSISTENT, s.out, nullptr) !=
        SQLITE_OK) {
      return Error(std::string("preparing ") + s.sql);
    }
  }
  return Status::Ok();
}

Status Journal::EnsureTransaction() {
  if (in_transaction_) return Status::Ok();
  RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  in_transaction_ = true;
  return Status::Ok();
}

Status Journal::Commit() {
  if (!in_transaction_) return Status::Ok();
  Status st = Exec("COMMIT");
  if (!st.ok()) {
    Exec("ROLLBACK");
    in_transaction_ = false;
    return st.Context("committing the journal");
  }
  in_transaction_ = false;
  return Status::Ok();
}

Status Journal::Add(const JournalJob& meta, const std::string& job) {
  RETURN_IF_ERROR(EnsureTransaction());
  Use u(add_);
  sqlite3_bind_int64(add_, 1, meta.seq);
  BindText(add_, 2, meta.id);
  sqlite3_bind_int(add_, 3, meta.priority);
  BindText(add_, 4, meta.language);
  sqlite3_bind_int64(add_, 5, meta.submitted_ms);
  if (BindBlob(add_, 6, job) != SQLITE_OK || sqlite3_step(add_) != SQLITE_DONE) {
    return Error("journaling job " + meta.id);
  }
  return Status::Ok();
}

Status Journal::Finish(const std::string& id, JournalState state, const std::string& result,
                       int64_t finished_ms) {
  RETURN_IF_ERROR(EnsureTransaction());
  Use u(finish_);
  sqlite3_bind_int(finish_, 1, static_cast<int>(state));
  if (state == JournalState::kDone && BindBlob(finish_, 2, result) != SQLITE_OK) {
    return Error("journaling the result of " + id);
  }
  sqlite3_bind_int64(finish_, 3, finished_ms);
  BindText(finish_, 4, id);
  if (sqlite3_step(finish_) != SQLITE_DONE) return Error("journaling the end of job " + id);
  return Status::Ok();
}

Result<std::optional<JournalEntry>> Journal::Find(const std::string& id) {
  Use u(find_);
  BindText(find_, 1, id);
  int rc = sqlite3_step(find_);
  if (rc == SQLITE_DONE) return std::optional<JournalEntry>();
  if (rc != SQLITE_ROW) return Error("looking up job " + id);
  JournalEntry e;
  e.state = static_cast<JournalState>(sqlite3_column_int(find_, 0));
  e.result = ColumnBlob(find_, 1);
  return std::optional<JournalEntry>(std::move(e));
}

Result<std::string> Journal::JobBytes(const std::string& id) {
  Use u(job_bytes_);
  BindText(job_bytes_, 1, id);
  int rc = sqlite3_step(job_bytes_);
  if (rc == SQLITE_DONE) return Status::Error("job " + id + " is not queued in the journal");
  if (rc != SQLITE_ROW) return Error("reading job " + id);
  return ColumnBlob(job_bytes_, 0);
}

Status Journal::MarkDispatched(const std::string& id) {
  RETURN_IF_ERROR(EnsureTransaction());
  Use u(dispatched_);
  BindText(dispatched_, 1, id);
  if (sqlite3_step(dispatched_) != SQLITE_DONE) return Error("journaling the dispatch of " + id);
  return Status::Ok();
}

Status Journal::ForEachQueued(const std::function<void(const JournalJob&)>& fn) {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db_,
                         "SELECT seq, id, priority, language, submitted_ms, dispatched FROM jobs "
                         "WHERE state = 1 ORDER BY seq",
                         -1, &s, nullptr) != SQLITE_OK) {
    return Error("reading the queue");
  }
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    JournalJob j;
    j.seq = sqlite3_column_int64(s, 0);
    j.id = ColumnText(s, 1);
    j.priority = sqlite3_column_int(s, 2);
    j.language = ColumnText(s, 3);
    j.submitted_ms = sqlite3_column_int64(s, 4);
    j.dispatched = sqlite3_column_int(s, 5) != 0;
    fn(j);
  }
  sqlite3_finalize(s);
  if (rc != SQLITE_DONE) return Error("reading the queue");
  return Status::Ok();
}

Result<int64_t> Journal::Purge(int64_t before_ms) {
  RETURN_IF_ERROR(EnsureTransaction());
  Use u(purge_);
  sqlite3_bind_int64(purge_, 1, before_ms);
  if (sqlite3_step(purge_) != SQLITE_DONE) return Error("purging old results");
  return static_cast<int64_t>(sqlite3_changes(db_));
}

}  // namespace judge
