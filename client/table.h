// What the `judge` commands print for people: the per-test table, the summary line of a
// job, a job's status and the broker's statistics. The JSON forms are ToJson of the
// messages (protocol/codec.h); these are the text forms.
#pragma once

#include <cstdio>
#include <map>
#include <string>

#include "protocol/judge.pb.h"

namespace judge {

// "3.0 ms" (one decimal below 10 ms), "1.4 MiB".
std::string Ms(double ms);
std::string Mib(long long bytes);

// One row per test; verdicts coloured on a terminal.
class Table {
 public:
  explicit Table(bool color, FILE* out = stdout) : color_(color), out_(out) {}
  void Header() const;
  void Row(const v1::TestResult& t) const;
  const char* Color(v1::Verdict v) const;
  const char* Reset() const;

 private:
  bool color_;
  FILE* out_;
};

// The tests of one job judged elsewhere. Live (on a terminal), a row is printed per
// PROGRESS as it arrives, and a test seen again with another result is rewritten in
// place: a job re-dispatched after its worker died starts again from test 0, and a
// resent WAIT replays what was already shown. Not live, nothing is printed until Finish:
// a log or a pipe gets the final table once.
class ProgressTable {
 public:
  ProgressTable(bool live, bool color, FILE* out = stdout);
  void Progress(const v1::TestResult& t);  // t.index() is its position in the job
  // The result's tests (the authority: PROGRESS may have been missed), the compiler's
  // log if compilation failed, and the summary line.
  void Finish(const v1::JobResult& result);

 private:
  void Put(int index, const v1::TestResult& t);

  Table table_;
  bool live_;
  FILE* out_;
  std::map<int, v1::TestResult> rows_;
  std::map<int, int> line_of_;  // live: the line a test's row is on, counted from 0
  int lines_ = 0;               // live: rows printed so far, the header included
};

// "verdict AC  max time 3.0 ms  max memory 1.4 MiB  job ID  worker W".
std::string SummaryLine(const v1::JobResult& result);

// "QUEUED", "RUNNING  tests done 3", "DONE  verdict WA", "CANCELLED", "UNKNOWN".
std::string StatusLine(const v1::JobStatus& status);

// One "name value" line per field: "queued 3", ..., "verdicts AC=10 WA=7",
// "queue wait p50 1.2 ms p99 8.0 ms".
std::string StatsText(const v1::Stats& stats);

}  // namespace judge
