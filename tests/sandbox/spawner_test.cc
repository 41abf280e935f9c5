// The spawner's wire form of an init's plan (sandbox/spawner.h): every field survives
// the trip, and a malformed buffer is refused rather than followed.
#include "sandbox/spawner.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "sandbox/child.h"

namespace judge::testing {
namespace {

struct PlanFixture {
  std::vector<int> keep = {3, 7, 9};
  std::vector<int> attach = {7, 9};
  std::vector<int> signals = {SIGPIPE, SIGTERM};
  std::vector<MountOp> ops;
  std::vector<RlimitSetting> rlimits = {{RLIMIT_CPU, {3, 4}}, {RLIMIT_NOFILE, {1024, 1024}}};
  std::vector<sock_filter> filter = {
      {0x20, 0, 0, 4}, {0x15, 1, 0, 0xc000003e}, {0x06, 0, 0, 0x7fff0000}};
  struct sock_fprog fprog {};
  std::vector<const char*> exec_paths = {"/usr/bin/prog", "/bin/prog"};
  std::vector<char*> argv = {const_cast<char*>("prog"), const_cast<char*>(""),
                             const_cast<char*>("two words"), nullptr};
  std::vector<char*> envp = {const_cast<char*>("PATH=/usr/bin"), nullptr};
  ChildPlan plan;

  PlanFixture() {
    ops.push_back({MountOp::kMount, false, "judge", "/tmp", "tmpfs", MS_NOSUID, "size=1", 0});
    ops.push_back({MountOp::kMkdir, false, nullptr, "/tmp/root", nullptr, 0, nullptr, 0755});
    ops.push_back({MountOp::kOpen, true, "/some/dir", nullptr, nullptr, 0, "r", 12});
    fprog.len = static_cast<unsigned short>(filter.size());
    fprog.filter = filter.data();
    plan.sync_fd = 3;
    plan.keep_fds = keep.data();
    plan.n_keep_fds = static_cast<int>(keep.size());
    plan.attach_fds = attach.data();
    plan.n_attach_fds = static_cast<int>(attach.size());
    plan.mounts = ops.data();
    plan.n_mounts = static_cast<int>(ops.size());
    plan.hostname = "judge";
    plan.loopback = true;
    plan.cwd = "/box";
    plan.rlimits = rlimits.data();
    plan.n_rlimits = static_cast<int>(rlimits.size());
    plan.cap_last_cap = 40;
    plan.reset_signals = signals.data();
    plan.n_reset_signals = static_cast<int>(signals.size());
    plan.arg_area = reinterpret_cast<char*>(0x1234);  // the spawner's own, never sent
    plan.arg_area_len = 99;
    plan.seccomp = &fprog;
    plan.seccomp_listener = true;
    plan.seccomp_before_go = true;
    plan.normal_policy_when_built = true;
    plan.spawn_stack_top = reinterpret_cast<void*>(0x5678);
    plan.exec_paths = exec_paths.data();
    plan.n_exec_paths = static_cast<int>(exec_paths.size());
    plan.argv = argv.data();
    plan.envp = envp.data();
  }
};

// An aligned copy, as the spawner receives it.
struct Received {
  explicit Received(const std::string& flat) : words((flat.size() + 7) / 8 + 1) {
    std::memcpy(words.data(), flat.data(), flat.size());
    size = flat.size();
  }
  char* data() { return reinterpret_cast<char*>(words.data()); }
  std::vector<uint64_t> words;
  size_t size;
};

std::string Str(const char* s) { return s ? s : "(null)"; }

TEST(SpawnerPlan, EveryFieldSurvivesTheTrip) {
  PlanFixture f;
  Received got(FlattenPlan(f.plan));
  ChildPlan* p = RelocatePlan(got.data(), got.size);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->sync_fd, 3);
  ASSERT_EQ(p->n_keep_fds, 3);
  EXPECT_EQ(std::vector<int>(p->keep_fds, p->keep_fds + 3), f.keep);
  ASSERT_EQ(p->n_attach_fds, 2);
  EXPECT_EQ(std::vector<int>(p->attach_fds, p->attach_fds + 2), f.attach);
  ASSERT_EQ(p->n_reset_signals, 2);
  EXPECT_EQ(std::vector<int>(p->reset_signals, p->reset_signals + 2), f.signals);
  ASSERT_EQ(p->n_mounts, 3);
  for (int i = 0; i < 3; ++i) {
    const MountOp &a = p->mounts[i], &b = f.ops[i];
    EXPECT_EQ(a.kind, b.kind);
    EXPECT_EQ(a.optional, b.optional);
    EXPECT_EQ(Str(a.source), Str(b.source));
    EXPECT_EQ(Str(a.target), Str(b.target));
    EXPECT_EQ(Str(a.fstype), Str(b.fstype));
    EXPECT_EQ(Str(a.data), Str(b.data));
    EXPECT_EQ(a.flags, b.flags);
    EXPECT_EQ(a.mode, b.mode);
  }
  EXPECT_EQ(Str(p->hostname), "judge");
  EXPECT_TRUE(p->loopback);
  EXPECT_EQ(Str(p->cwd), "/box");
  ASSERT_EQ(p->n_rlimits, 2);
  EXPECT_EQ(p->rlimits[0].resource, RLIMIT_CPU);
  EXPECT_EQ(p->rlimits[0].value.rlim_cur, 3u);
  EXPECT_EQ(p->rlimits[1].value.rlim_max, 1024u);
  EXPECT_EQ(p->cap_last_cap, 40);
  ASSERT_NE(p->seccomp, nullptr);
  ASSERT_EQ(p->seccomp->len, 3);
  EXPECT_EQ(std::memcmp(p->seccomp->filter, f.filter.data(), 3 * sizeof(sock_filter)), 0);
  EXPECT_TRUE(p->seccomp_listener);
  EXPECT_TRUE(p->seccomp_before_go);
  EXPECT_TRUE(p->normal_policy_when_built);
  ASSERT_EQ(p->n_exec_paths, 2);
  EXPECT_EQ(Str(p->exec_paths[0]), "/usr/bin/prog");
  EXPECT_EQ(Str(p->exec_paths[1]), "/bin/prog");
  EXPECT_EQ(Str(p->argv[0]), "prog");
  EXPECT_EQ(Str(p->argv[1]), "");
  EXPECT_EQ(Str(p->argv[2]), "two words");
  EXPECT_EQ(p->argv[3], nullptr);
  EXPECT_EQ(Str(p->envp[0]), "PATH=/usr/bin");
  EXPECT_EQ(p->envp[1], nullptr);
  // The spawner's own, filled in there.
  EXPECT_EQ(p->arg_area, nullptr);
  EXPECT_EQ(p->arg_area_len, 0u);
  EXPECT_EQ(p->spawn_stack_top, nullptr);
  // Every pointer lands inside the buffer.
  const char* lo = got.data();
  const char* hi = lo + got.size;
  for (const void* q :
       {static_cast<const void*>(p->keep_fds), static_cast<const void*>(p->mounts),
        static_cast<const void*>(p->mounts[0].target), static_cast<const void*>(p->argv[2]),
        static_cast<const void*>(p->seccomp->filter)}) {
    EXPECT_TRUE(q >= lo && q < hi);
  }
}

// Appended after a header (as a request to the spawner is), the offsets are from the
// plan's start.
TEST(SpawnerPlan, AppendedAfterAHeaderItRelocatesFromItsStart) {
  PlanFixture f;
  std::string message(16, 'h');
  FlattenPlan(f.plan, &message);
  Received got(message.substr(16));
  ChildPlan* p = RelocatePlan(got.data(), got.size);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(Str(p->argv[2]), "two words");
  EXPECT_EQ(Str(p->mounts[0].fstype), "tmpfs");
  EXPECT_EQ(message.substr(0, 16), std::string(16, 'h'));
}

TEST(SpawnerPlan, AnEmptyPlanHasNoPointersButItsArguments) {
  ChildPlan plan;
  char* argv[] = {const_cast<char*>("x"), nullptr};
  char* envp[] = {nullptr};
  plan.argv = argv;
  plan.envp = envp;
  plan.cwd = nullptr;
  Received got(FlattenPlan(plan));
  ChildPlan* p = RelocatePlan(got.data(), got.size);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->keep_fds, nullptr);
  EXPECT_EQ(p->mounts, nullptr);
  EXPECT_EQ(p->seccomp, nullptr);
  EXPECT_EQ(p->hostname, nullptr);
  EXPECT_EQ(Str(p->cwd), "/");
  EXPECT_EQ(Str(p->argv[0]), "x");
  EXPECT_EQ(p->envp[0], nullptr);
}

TEST(SpawnerPlan, AMalformedBufferIsRefused) {
  PlanFixture f;
  const std::string flat = FlattenPlan(f.plan);
  // Cut short: the arrays and strings at the end are past it.
  for (size_t len : {size_t{0}, sizeof(ChildPlan) - 1, sizeof(ChildPlan), flat.size() - 1}) {
    Received got(flat.substr(0, len));
    EXPECT_EQ(RelocatePlan(got.data(), got.size), nullptr) << "length " << len;
  }
  // An offset out of the buffer.
  {
    Received got(flat);
    ChildPlan* p = reinterpret_cast<ChildPlan*>(got.data());
    p->mounts = reinterpret_cast<const MountOp*>(uintptr_t{1} << 40);
    EXPECT_EQ(RelocatePlan(got.data(), got.size), nullptr);
  }
  // An array given a count but no place (null), or a misaligned one.
  {
    Received got(flat);
    reinterpret_cast<ChildPlan*>(got.data())->rlimits = nullptr;
    EXPECT_EQ(RelocatePlan(got.data(), got.size), nullptr);
  }
  {
    Received got(flat);
    ChildPlan* p = reinterpret_cast<ChildPlan*>(got.data());
    p->keep_fds = reinterpret_cast<const int*>(reinterpret_cast<uintptr_t>(p->keep_fds) + 1);
    EXPECT_EQ(RelocatePlan(got.data(), got.size), nullptr);
  }
  // An argument list whose offset would wrap around.
  {
    Received got(flat);
    reinterpret_cast<ChildPlan*>(got.data())->argv = reinterpret_cast<char* const*>(~uintptr_t{7});
    EXPECT_EQ(RelocatePlan(got.data(), got.size), nullptr);
  }
}

// More fds to keep than one message to the spawner carries: refused, though every one
// is in the buffer.
TEST(SpawnerPlan, MoreFdsToKeepThanTheSpawnerTakesAreRefused) {
  PlanFixture f;
  std::vector<int> many(kMaxSendFds - 1);
  for (size_t i = 0; i < many.size(); ++i) many[i] = static_cast<int>(3 + i);
  f.plan.keep_fds = many.data();
  f.plan.n_keep_fds = static_cast<int>(many.size());
  Received got(FlattenPlan(f.plan));
  EXPECT_EQ(RelocatePlan(got.data(), got.size), nullptr);
  many.pop_back();  // as many as it takes
  f.plan.n_keep_fds = static_cast<int>(many.size());
  Received fits(FlattenPlan(f.plan));
  EXPECT_NE(RelocatePlan(fits.data(), fits.size), nullptr);
}

// MoveFds, which puts an init's kept fds and the program's streams on their numbers:
// a rotation (every target is another's source), targets far above the sources, and
// fds already in place, each with the close-on-exec flag asked for.
TEST(MoveFds, PutsEachFdOnItsNumberWhateverTheyShare) {
  auto inode = [](int fd) {
    struct stat st {};
    return ::fstat(fd, &st) == 0 ? st.st_ino : 0;
  };
  int p[2], q[2];
  ASSERT_EQ(::pipe(p), 0);
  ASSERT_EQ(::pipe(q), 0);
  const int a = ::open("/dev/null", O_RDONLY), b = p[0], c = q[0];
  ::close(p[1]);
  ::close(q[1]);
  const ino_t ia = inode(a), ib = inode(b), ic = inode(c);
  ASSERT_NE(ib, ic);
  // The fds open now but for a, b, c (the test runner's own): nothing else is left.
  auto others = [&](std::initializer_list<int> mine) {
    std::vector<int> open;
    for (int fd = 0; fd < 1024; ++fd) {
      if (::fcntl(fd, F_GETFD) >= 0 && std::find(mine.begin(), mine.end(), fd) == mine.end())
        open.push_back(fd);
    }
    return open;
  };
  const std::vector<int> before = others({a, b, c});

  const int rotate_from[3] = {a, b, c}, rotate_to[3] = {b, c, a};
  ASSERT_TRUE(MoveFds(rotate_from, rotate_to, 3, /*cloexec=*/false));
  EXPECT_EQ(inode(b), ia);
  EXPECT_EQ(inode(c), ib);
  EXPECT_EQ(inode(a), ic);
  for (int fd : {a, b, c}) EXPECT_EQ(::fcntl(fd, F_GETFD), 0) << fd;

  const int far_from[3] = {a, b, c}, far_to[3] = {200, 201, 202};
  ASSERT_TRUE(MoveFds(far_from, far_to, 3, /*cloexec=*/true));
  EXPECT_EQ(inode(200), ic);
  EXPECT_EQ(inode(201), ia);
  EXPECT_EQ(inode(202), ib);
  for (int fd : {200, 201, 202}) EXPECT_EQ(::fcntl(fd, F_GETFD), FD_CLOEXEC) << fd;
  for (int fd : {a, b, c}) EXPECT_LT(::fcntl(fd, F_GETFD), 0) << fd << " is still open";

  ASSERT_TRUE(MoveFds(far_to, far_to, 3, /*cloexec=*/false));  // in place: only the flag
  for (int fd : {200, 201, 202}) EXPECT_EQ(::fcntl(fd, F_GETFD), 0) << fd;
  EXPECT_EQ(inode(201), ia);
  EXPECT_EQ(others({200, 201, 202}), before) << "a duplicate left open";
  for (int fd : far_to) ::close(fd);

  const int bad[1] = {-1}, where[1] = {5};
  EXPECT_FALSE(MoveFds(bad, where, 1, true));
}

}  // namespace
}  // namespace judge::testing
