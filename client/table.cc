#include "client/table.h"

#include <google/protobuf/util/message_differencer.h>

#include <algorithm>
#include <vector>

namespace judge {
namespace {

std::string Summary(const v1::JobResult& result, const char* color, const char* reset) {
  std::string line = "verdict " + std::string(color) + v1::Verdict_Name(result.verdict()) + reset +
                     "  max time " + Ms(result.max_cpu_time_ms()) + "  max memory " +
                     Mib(result.max_memory_bytes()) + "  job " + result.job_id();
  if (!result.worker().empty()) line += "  worker " + result.worker();
  return line;
}

}  // namespace

std::string Ms(double ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, ms < 10 ? "%.1f ms" : "%.0f ms", ms);
  return buf;
}

std::string Mib(long long bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MiB", bytes / 1048576.0);
  return buf;
}

void Table::Header() const {
  std::fprintf(out_, "%-24s %-8s %10s %12s  %s\n", "test", "verdict", "time", "memory", "message");
}

void Table::Row(const v1::TestResult& t) const {
  std::string msg = t.checker_message().substr(0, 60);
  std::replace(msg.begin(), msg.end(), '\n', ' ');
  std::fprintf(out_, "%-24s %s%-8s%s %10s %12s  %s\n", t.name().c_str(), Color(t.verdict()),
               v1::Verdict_Name(t.verdict()).c_str(), Reset(), Ms(t.cpu_time_ms()).c_str(),
               Mib(t.memory_peak_bytes()).c_str(), msg.c_str());
  std::fflush(out_);
}

const char* Table::Color(v1::Verdict v) const {
  if (!color_) return "";
  switch (v) {
    case v1::AC:
      return "\033[32m";
    case v1::SKIPPED:
      return "\033[90m";
    case v1::TLE:
    case v1::MLE:
    case v1::OLE:
      return "\033[33m";
    default:
      return "\033[31m";
  }
}

const char* Table::Reset() const { return color_ ? "\033[0m" : ""; }

ProgressTable::ProgressTable(bool live, bool color, FILE* out)
    : table_(color, out), live_(live), out_(out) {}

void ProgressTable::Progress(const v1::TestResult& t) { Put(t.index(), t); }

void ProgressTable::Put(int index, const v1::TestResult& t) {
  auto known = rows_.find(index);
  // A resent WAIT replays the tests done so far: the same row again changes nothing.
  if (known != rows_.end() &&
      google::protobuf::util::MessageDifferencer::Equals(known->second, t)) {
    return;
  }
  rows_[index] = t;
  if (!live_) return;
  if (lines_ == 0) {
    table_.Header();
    lines_ = 1;
  }
  auto line = line_of_.find(index);
  if (line == line_of_.end()) {
    table_.Row(t);
    line_of_[index] = lines_++;
    return;
  }
  // Up to the row's line, clear it, rewrite it (the newline moves one down), and back
  // down to the end of the table.
  const int up = lines_ - line->second;
  std::fprintf(out_, "\033[%dA\r\033[2K", up);
  table_.Row(t);
  if (up > 1) std::fprintf(out_, "\033[%dB", up - 1);
  std::fflush(out_);
}

void ProgressTable::Finish(const v1::JobResult& result) {
  for (int i = 0; i < result.tests_size(); ++i) {
    v1::TestResult t = result.tests(i);
    // The result's tests are in job order; their job_id and index may be left unset.
    t.set_index(i);
    if (t.job_id().empty()) t.set_job_id(result.job_id());
    if (live_) {
      Put(i, t);
    } else {
      if (i == 0) table_.Header();
      table_.Row(t);
    }
  }
  if (result.compile().status() != v1::CompileResult::OK &&
      result.compile().status() != v1::CompileResult::STATUS_UNSPECIFIED) {
    std::fprintf(out_, "compilation: %s\n%s\n",
                 v1::CompileResult::Status_Name(result.compile().status()).c_str(),
                 result.compile().log().c_str());
  }
  std::fprintf(out_, "%s\n",
               Summary(result, table_.Color(result.verdict()), table_.Reset()).c_str());
  if (!result.message().empty()) std::fprintf(out_, "%s\n", result.message().c_str());
  std::fflush(out_);
}

std::string SummaryLine(const v1::JobResult& result) { return Summary(result, "", ""); }

std::string StatusLine(const v1::JobStatus& status) {
  std::string line = v1::JobStatus::State_Name(status.state());
  if (status.state() == v1::JobStatus::RUNNING) {
    line += "  tests done " + std::to_string(status.tests_done());
  } else if (status.state() == v1::JobStatus::DONE) {
    line += "  verdict " + v1::Verdict_Name(status.result().verdict());
  }
  return line;
}

std::string StatsText(const v1::Stats& stats) {
  std::string text;
  auto line = [&](const char* name, long long value) {
    text += std::string(name) + " " + std::to_string(value) + "\n";
  };
  line("queued", stats.queued());
  line("running", stats.running());
  line("workers", stats.workers());
  line("free slots", stats.free_slots());
  line("jobs done", stats.jobs_done());
  // Verdicts in the order of the enum (AC first), names the enum lacks after them.
  std::vector<std::pair<std::string, int64_t>> verdicts(stats.verdicts().begin(),
                                                        stats.verdicts().end());
  auto rank = [](const std::string& name) {
    v1::Verdict v;
    return v1::Verdict_Parse(name, &v) ? static_cast<int>(v) : v1::Verdict_ARRAYSIZE;
  };
  std::sort(verdicts.begin(), verdicts.end(), [&](const auto& a, const auto& b) {
    return std::make_pair(rank(a.first), a.first) < std::make_pair(rank(b.first), b.first);
  });
  text += "verdicts";
  for (const auto& [name, count] : verdicts) text += " " + name + "=" + std::to_string(count);
  text += "\nqueue wait p50 " + Ms(stats.queue_wait_p50_ms()) + " p99 " +
          Ms(stats.queue_wait_p99_ms()) + "\n";
  return text;
}

}  // namespace judge
