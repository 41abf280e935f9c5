#include "tests/protocol/fixtures.h"

#include <gtest/gtest.h>

namespace judge::testing {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
namespace v1 = judge::v1;

namespace {

v1::File MakeFile(const std::string& name, const std::string& content) {
  v1::File f;
  f.set_name(name);
  f.set_content(content);
  f.set_mode(0755);
  return f;
}

v1::Limits FullLimits(int scale) {
  v1::Limits l;
  l.set_cpu_time_s(1.5 * scale);
  l.set_wall_time_s(3.25 * scale);
  l.set_memory_bytes(int64_t{256} << 20 << scale);
  l.set_pids(16 * scale);
  l.set_output_bytes((int64_t{1} << 40) * scale);  // past 32 bits
  return l;
}

v1::Checker FullChecker() {
  v1::Checker c;
  c.set_kind(v1::Checker::CUSTOM);
  c.set_abs_tol(1e-6);
  c.set_rel_tol(1e-9);
  *c.mutable_program() = MakeFile("check.cpp", "int main() {}\n");
  c.set_language("cpp17");
  c.set_interface(v1::Checker::KATTIS);
  c.set_ignore_case(true);
  return c;
}

v1::ExecStep FullExecStep() {
  v1::ExecStep s;
  s.add_argv("make");
  s.add_argv("test");
  s.add_env("CC=gcc");
  s.set_stdin(kBinary);
  *s.mutable_limits() = FullLimits(1);
  s.set_continue_on_failure(true);
  return s;
}

v1::ExecLimits FullExecLimits() {
  v1::ExecLimits l;
  l.set_wall_time_s(600.5);
  l.set_writable_bytes(int64_t{1} << 33);
  l.set_log_bytes(65536);
  l.set_artifact_bytes(16 << 20);
  l.set_artifact_files(100);
  return l;
}

v1::ExecJob FullExecJob() {
  v1::ExecJob j;
  *j.add_files() = MakeFile("src/a.c", "int main() {}\n");
  j.set_archive(kBinary);
  *j.add_steps() = FullExecStep();
  j.add_layers("debian-12");
  j.set_network("loopback");
  j.add_artifacts("build/**/*.xml");
  *j.mutable_step_limits() = FullLimits(2);
  *j.mutable_limits() = FullExecLimits();
  return j;
}

v1::ExecOutput FullExecOutput() {
  v1::ExecOutput o;
  o.set_stream(v1::ExecOutput::STDERR);
  o.set_data(kBinary);
  return o;
}

v1::ExecStepResult FullExecStepResult() {
  v1::ExecStepResult s;
  s.add_argv("/bin/sh");
  s.add_argv("-c");
  s.add_argv("make test");
  s.set_status("RE");
  s.set_exit_code(-2);
  s.set_signal(9);
  s.set_cpu_time_ms(12.5);
  s.set_wall_time_ms(20.25);
  s.set_memory_peak_bytes(int64_t{3} << 30);
  s.set_stdout("built\n");
  s.set_stderr("make: *** Error 2 \xc3\xa9");
  s.set_truncated(true);
  s.set_stdout_bytes(int64_t{1} << 35);
  s.set_stderr_bytes(42);
  s.set_message("exit code 2");
  return s;
}

v1::Artifact FullArtifact() {
  v1::Artifact a;
  a.set_name("build/report.xml");
  a.set_size(8);
  a.set_content(kBinary);
  a.set_mode(0644);
  return a;
}

v1::ExecResult FullExecResult() {
  v1::ExecResult r;
  r.set_status("RE");
  *r.add_steps() = FullExecStepResult();
  *r.add_artifacts() = FullArtifact();
  r.set_message("none");
  r.set_exit_code(2);
  return r;
}

v1::TestResult FullTestResult(int i) {
  v1::TestResult t;
  t.set_name("0" + std::to_string(i + 1));
  t.set_verdict(i == 0 ? v1::AC : v1::RE);
  t.set_cpu_time_ms(3.0 + i);
  t.set_wall_time_ms(4.25 + i);
  t.set_memory_peak_bytes(1441792 + i);
  t.set_exit_code(-1 - i);  // negative: a sign bug would show
  t.set_signal(11);
  t.set_checker_message("ok \"quoted\" \xc3\xa9");
  t.set_job_id("job-42");
  t.set_index(i + 1);
  *t.mutable_output() = FullExecOutput();
  *t.mutable_step() = FullExecStepResult();
  return t;
}

v1::CompileResult FullCompileResult() {
  v1::CompileResult c;
  c.set_status(v1::CompileResult::OK);
  c.set_log("main.cpp:1: warning\n");
  c.set_cpu_time_ms(812.5);
  c.set_wall_time_ms(900.125);
  c.set_memory_peak_bytes(int64_t{3} << 30);
  return c;
}

v1::LanguageProfile FullLanguageProfile() {
  v1::LanguageProfile p;
  p.set_name("cpp17");
  p.set_description("C++17 (g++ -O2)");
  p.set_source_name("main.cpp");
  for (const char* a : {"/usr/bin/g++", "-O2", "-o", "{binary}", "{source}"}) p.add_compile(a);
  p.add_run("./{binary}");
  *p.mutable_compile_limits() = FullLimits(2);
  *p.mutable_run_limits() = FullLimits(1);
  p.add_toolchain("/usr/bin/g++");
  p.add_env("LANG=C.UTF-8");
  p.set_sandbox("default");
  p.set_compile_seccomp("compile");
  p.set_run_seccomp("run");
  p.add_extensions(".cpp");
  p.add_extensions(".cc");
  p.set_run_memory_overhead_bytes(int64_t{64} << 20);
  p.set_run_pids_overhead(32);
  return p;
}

v1::Stats FullStats() {
  v1::Stats s;
  s.set_queued(5);
  s.set_running(2);
  s.set_workers(3);
  s.set_free_slots(1);
  s.set_jobs_done(int64_t{1} << 33);
  (*s.mutable_verdicts())["AC"] = 100;
  (*s.mutable_verdicts())["WA"] = 7;
  (*s.mutable_verdicts())["TLE"] = -1;
  s.set_queue_wait_p50_ms(1.5);
  s.set_queue_wait_p99_ms(250.75);
  s.set_max_message_bytes(64 << 20);
  return s;
}

template <class T, class... Args>
std::unique_ptr<Message> Own(Args&&... args) {
  return std::make_unique<T>(std::forward<Args>(args)...);
}

}  // namespace

v1::Job FullJob() {
  v1::Job j;
  j.set_id("job-42");
  j.set_language("cpp17");
  *j.add_sources() = MakeFile("main.cpp", "#include <cstdio>\nint main() {}\n");
  *j.add_sources() = MakeFile("data.bin", kBinary);
  for (int i = 0; i < 2; ++i) {
    v1::Test* t = j.add_tests();
    t->set_name(std::to_string(i + 1));
    t->set_input(i == 0 ? "1 2\n" : kBinary);
    t->set_answer(i == 0 ? "3\n" : std::string(300, 'x'));  // a bin 16
  }
  *j.mutable_limits() = FullLimits(1);
  *j.mutable_checker() = FullChecker();
  *j.mutable_interactor() = MakeFile("interactor.py", "print(1)\n");
  j.set_stop_on_failure(true);
  j.set_priority(-7);
  j.set_interactor_language("python3");
  j.set_interactor_interface(v1::Checker::KATTIS);
  *j.mutable_exec() = FullExecJob();
  return j;
}

v1::JobResult FullJobResult() {
  v1::JobResult r;
  r.set_job_id("job-42");
  r.set_verdict(v1::RE);
  *r.mutable_compile() = FullCompileResult();
  *r.add_tests() = FullTestResult(0);
  *r.add_tests() = FullTestResult(1);
  r.set_max_cpu_time_ms(4.0);
  r.set_max_memory_bytes(1441793);
  r.set_worker("host/1");
  r.set_message("none");
  *r.mutable_exec() = FullExecResult();
  return r;
}

std::vector<std::unique_ptr<Message>> OneOfEachMessage() {
  std::vector<std::unique_ptr<Message>> all;
  all.push_back(Own<v1::File>(MakeFile("a.txt", kBinary)));
  all.push_back(Own<v1::Test>(FullJob().tests(1)));
  all.push_back(Own<v1::Limits>(FullLimits(1)));
  all.push_back(Own<v1::Checker>(FullChecker()));
  all.push_back(Own<v1::Job>(FullJob()));
  all.push_back(Own<v1::CompileResult>(FullCompileResult()));
  all.push_back(Own<v1::TestResult>(FullTestResult(1)));
  all.push_back(Own<v1::JobResult>(FullJobResult()));
  all.push_back(Own<v1::LanguageProfile>(FullLanguageProfile()));
  all.push_back(Own<v1::ExecStep>(FullExecStep()));
  all.push_back(Own<v1::ExecLimits>(FullExecLimits()));
  all.push_back(Own<v1::ExecJob>(FullExecJob()));
  all.push_back(Own<v1::ExecOutput>(FullExecOutput()));
  all.push_back(Own<v1::ExecStepResult>(FullExecStepResult()));
  all.push_back(Own<v1::Artifact>(FullArtifact()));
  all.push_back(Own<v1::ExecResult>(FullExecResult()));
  v1::JobRef ref;
  ref.set_job_id("job-42");
  all.push_back(Own<v1::JobRef>(ref));
  v1::JobStatus status;
  status.set_job_id("job-42");
  status.set_state(v1::JobStatus::DONE);
  status.set_tests_done(2);
  *status.mutable_result() = FullJobResult();
  all.push_back(Own<v1::JobStatus>(status));
  all.push_back(Own<v1::Stats>(FullStats()));
  v1::Error error;
  error.set_code(v1::Error::QUEUE_FULL);
  error.set_message("the queue is full: retry later");
  all.push_back(Own<v1::Error>(error));
  v1::WorkerReady ready;
  ready.set_free_slots(2);
  ready.set_name("host/123");
  ready.set_slots(4);
  ready.add_languages("cpp17");
  ready.add_languages("python3");
  ready.add_running("job-7");
  ready.set_draining(true);
  all.push_back(Own<v1::WorkerReady>(ready));
  all.push_back(Own<v1::Empty>(v1::Empty()));
  v1::SandboxResult run;
  run.set_status("SV");
  run.set_exit_code(3);
  run.set_signal(9);
  run.set_signal_name("SIGKILL");
  run.set_syscall("ptrace");
  run.set_cpu_time_ms(1.5);
  run.set_user_time_ms(1.25);
  run.set_system_time_ms(0.25);
  run.set_wall_time_ms(3.125);
  run.set_memory_peak_bytes(1441792);
  run.set_output_bytes(12);
  run.set_message("forbidden system call ptrace");
  all.push_back(Own<v1::SandboxResult>(run));
  return all;
}

void ExpectEveryFieldSet(const Message& m, const std::string& path) {
  const auto* d = m.GetDescriptor();
  const auto* r = m.GetReflection();
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    const std::string name = path + (path.empty() ? "" : ".") + f->name();
    if (f->is_repeated()) {
      EXPECT_GT(r->FieldSize(m, f), 0) << d->full_name() << ": " << name << " is empty";
      if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE && !f->is_map()) {
        for (int k = 0; k < r->FieldSize(m, f); ++k) {
          ExpectEveryFieldSet(r->GetRepeatedMessage(m, f, k), name + "[" + std::to_string(k) + "]");
        }
      }
      continue;
    }
    // For a proto3 scalar HasField means "not the default".
    EXPECT_TRUE(r->HasField(m, f)) << d->full_name() << ": " << name << " is not set";
    if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE && r->HasField(m, f)) {
      ExpectEveryFieldSet(r->GetMessage(m, f), name);
    }
  }
}

}  // namespace judge::testing
