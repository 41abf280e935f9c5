// The spawner: a small process that clones the containers' inits for a long-lived
// engine (a Sandbox with warm containers), so that the engine's own address space is
// never copied for a container.
//
// Cloning an init from the engine copies the engine's page tables and write-protects
// every page it has; the engine then takes a copy-on-write fault (and, threaded, a TLB
// shoot-down on the other CPUs) for each page it writes while the init lives. That
// grows with the engine's memory: a worker holding a job's tests pays it on every test
// (`judge-sandbox bench --heap MB` shows it). The spawner is this program run again
// (/proc/self/exe, as "judge-spawner") before it is asked for anything: its address
// space is the program's code and a few pages. It clones each init with CLONE_PARENT,
// so the init is the engine's child all the same (reaped, signalled and waited for as
// before), and its memory holds nothing of the engine's (no job, no key).
//
// A request is the init's ChildPlan, flattened (pointers as offsets into one buffer),
// with the fds the init keeps (SCM_RIGHTS), the cgroup to be born in and the network
// namespace to join; the answer is the init's pid and pidfd. The spawner makes only
// system calls, as the init does. If it cannot be started or stops answering, the
// engine clones its inits itself, as without one.
#pragma once

#include <sched.h>
#include <sys/types.h>

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/fd.h"
#include "sandbox/child.h"

namespace judge {

class Spawner {
 public:
  // Starts one, on `cpus` at the normal policy (the inits inherit both); nullptr with
  // the reason in *why if it cannot.
  static std::unique_ptr<Spawner> Start(const cpu_set_t& cpus, std::string* why);
  ~Spawner();  // ends it (the inits it made are the engine's to end first)

  // Clones an init that runs RunChild(plan) in new namespaces (`flags`, CLONE_PIDFD
  // added), born in the cgroup `cgroup_fd` (CLONE_INTO_CGROUP) unless -1, in the
  // network namespace `netns_fd` unless -1. Returns its pid and sets *pidfd, or -1
  // with errno: the clone's own (*joining_failed if it was joining netns_fd that
  // failed), one that Refused() names, or EIO: the request went out but no proper
  // answer came back, so an init may exist that holds the plan's fds; the run must
  // fail rather than clone another, and the spawner is ended (usable() turns false).
  long Clone(const ChildPlan& plan, uint64_t flags, int cgroup_fd, int netns_fd, int* pidfd,
             bool* joining_failed);
  // Whether Clone's errno says that the spawner did not take the request: gone (EPIPE;
  // usable() is false from then on) or a request it does not take (E2BIG: too big for
  // its socket; EBADMSG). The caller clones the init itself then.
  static bool Refused(int err);
  bool usable() const;

 private:
  Spawner() = default;
  void GoneLocked(const char* why);  // with mu_ held: ends it and says so on stderr

  mutable std::mutex mu_;  // one request at a time
  UniqueFd sock_;
  pid_t pid_ = -1;
  bool gone_ = false;
  // The spawner's parent, and so (CLONE_PARENT) every init's: a thread that lives as
  // long as this object, since a parent thread's exit kills the inits
  // (PR_SET_PDEATHSIG). It waits for stopping_ and then reaps the spawner.
  std::thread keeper_;
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
};

// Flattens a plan into one relocatable buffer (exposed for the unit test).
std::string FlattenPlan(const ChildPlan& plan);
// The same, appended to *out (offsets from where it starts).
void FlattenPlan(const ChildPlan& plan, std::string* out);
// Turns a flattened plan back into pointers into `buf` (in place); nullptr if the
// buffer is malformed.
ChildPlan* RelocatePlan(char* buf, size_t len);

}  // namespace judge
