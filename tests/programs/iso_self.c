// What a process sees of itself and its surroundings inside a container:
//   iso_self pids N     forks N children (blocked on a pipe), then prints
//                       "self PID PPID", "children P...", "proc P..." (the numeric /proc dirs)
//   iso_self fds        "fds 0 1 2 ..." (open fds, without the one listing them)
//   iso_self status     the Cap*, NoNewPrivs and Seccomp lines of /proc/self/status
//   iso_self id         "id UID EUID SUID GID EGID SGID NGROUPS", "uid_map ...", "gid_map ..."
//   iso_self rlimit     "rlimit NAME HARD RESULT" for raising each limit to hard + 1
//   iso_self killall    forks a child, kill(-1, SIGKILL), "killall RC child SIGNAL"
//   iso_self signal-init SIG  kill(1, SIG): "signal-init RC|ERRNAME", then exits 0
//   iso_self key DESC   finds the "user" key DESC from the session keyring and reads it:
//                       "key ok PAYLOAD" or "key ERRNAME"
//   iso_self hold [TAG] prints "ready HOSTUID" and waits for EOF on stdin
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <linux/keyctl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static const char* err(void) {
  const char* e = strerrorname_np(errno);
  return e ? e : "E?";
}

static int cmp_int(const void* a, const void* b) { return *(const int*)a - *(const int*)b; }

static void print_file(const char* label, const char* path) {
  FILE* f = fopen(path, "r");
  if (!f) {
    printf("%s %s\n", label, err());
    return;
  }
  char line[512];
  printf("%s", label);
  while (fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = '\0';
    printf(" [%s]", line);
  }
  printf("\n");
  fclose(f);
}

static int pids(int n) {
  int p[2];
  if (pipe(p) != 0) return 1;
  pid_t kids[16];
  if (n > 16) n = 16;
  for (int i = 0; i < n; ++i) {
    kids[i] = fork();
    if (kids[i] == 0) {
      char c;
      close(p[1]);
      while (read(p[0], &c, 1) > 0) {
      }
      _exit(0);
    }
  }
  printf("self %d %d\n", (int)getpid(), (int)getppid());
  printf("children");
  for (int i = 0; i < n; ++i) printf(" %d", (int)kids[i]);
  printf("\n");
  int seen[4096], count = 0;
  DIR* d = opendir("/proc");
  struct dirent* e;
  while (d && (e = readdir(d)) && count < 4096) {
    int pid = atoi(e->d_name);
    if (pid > 0) seen[count++] = pid;
  }
  if (d) closedir(d);
  qsort(seen, count, sizeof seen[0], cmp_int);
  printf("proc");
  for (int i = 0; i < count; ++i) printf(" %d", seen[i]);
  printf("\n");
  close(p[1]);
  for (int i = 0; i < n; ++i) waitpid(kids[i], NULL, 0);
  return 0;
}

static int fds(void) {
  DIR* d = opendir("/proc/self/fd");
  if (!d) {
    printf("fds %s\n", err());
    return 0;
  }
  int own = dirfd(d), list[1024], count = 0;
  struct dirent* e;
  while ((e = readdir(d)) && count < 1024) {
    if (e->d_name[0] == '.') continue;
    int fd = atoi(e->d_name);
    if (fd != own) list[count++] = fd;
  }
  closedir(d);
  qsort(list, count, sizeof list[0], cmp_int);
  printf("fds");
  for (int i = 0; i < count; ++i) printf(" %d", list[i]);
  printf("\n");
  return 0;
}

static int status(void) {
  FILE* f = fopen("/proc/self/status", "r");
  if (!f) return 1;
  char line[512];
  while (fgets(line, sizeof line, f)) {
    if (!strncmp(line, "Cap", 3) || !strncmp(line, "NoNewPrivs", 10) ||
        !strncmp(line, "Seccomp:", 8)) {
      fputs(line, stdout);
    }
  }
  fclose(f);
  return 0;
}

static int id(void) {
  uid_t r, e, s;
  gid_t gr, ge, gs;
  getresuid(&r, &e, &s);
  getresgid(&gr, &ge, &gs);
  printf("id %u %u %u %u %u %u %d\n", r, e, s, gr, ge, gs, getgroups(0, NULL));
  print_file("uid_map", "/proc/self/uid_map");
  print_file("gid_map", "/proc/self/gid_map");
  print_file("cgroup", "/proc/self/cgroup");
  return 0;
}

static int rlimit(void) {
  static const struct {
    int res;
    const char* name;
  } kLimits[] = {{RLIMIT_NOFILE, "NOFILE"}, {RLIMIT_CPU, "CPU"},        {RLIMIT_FSIZE, "FSIZE"},
                 {RLIMIT_STACK, "STACK"},   {RLIMIT_CORE, "CORE"},      {RLIMIT_NPROC, "NPROC"},
                 {RLIMIT_AS, "AS"},         {RLIMIT_MEMLOCK, "MEMLOCK"}};
  for (size_t i = 0; i < sizeof kLimits / sizeof kLimits[0]; ++i) {
    struct rlimit rl;
    getrlimit(kLimits[i].res, &rl);
    if (rl.rlim_max == RLIM_INFINITY) {
      printf("rlimit %s inf -\n", kLimits[i].name);
      continue;
    }
    struct rlimit up = {rl.rlim_max + 1, rl.rlim_max + 1};
    int rc = setrlimit(kLimits[i].res, &up);
    printf("rlimit %s %llu %s\n", kLimits[i].name, (unsigned long long)rl.rlim_max,
           rc == 0 ? "ok" : err());
  }
  return 0;
}

static int killall(void) {
  pid_t kid = fork();
  if (kid == 0) {
    for (;;) pause();
  }
  int rc = kill(-1, SIGKILL);
  const char* e = rc == 0 ? "0" : err();
  int st = 0;
  waitpid(kid, &st, 0);
  printf("killall %s child %d\n", e, WIFSIGNALED(st) ? WTERMSIG(st) : -1);
  return 0;
}

static int key(const char* desc) {
  long id = syscall(SYS_keyctl, KEYCTL_SEARCH, KEY_SPEC_SESSION_KEYRING, "user", desc, 0);
  char buf[256] = {0};
  long n = id < 0 ? -1 : syscall(SYS_keyctl, KEYCTL_READ, id, buf, sizeof buf - 1);
  if (n < 0) {
    printf("key %s\n", err());
  } else {
    printf("key ok %.*s\n", (int)(n < (long)sizeof buf ? n : (long)sizeof buf - 1), buf);
  }
  return 0;
}

static int hold(void) {
  // "ready HOSTUID": the host uid that uid 0 inside maps to.
  unsigned inside = 1, outside = 0, count = 0;
  FILE* f = fopen("/proc/self/uid_map", "r");
  if (f) {
    if (fscanf(f, "%u %u %u", &inside, &outside, &count) != 3) outside = 0;
    fclose(f);
  }
  printf("ready %u\n", inside == 0 ? outside : 0);
  fflush(stdout);
  char buf[64];
  while (read(0, buf, sizeof buf) > 0) {
  }
  return 0;
}

int main(int argc, char** argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc >= 2 && !strcmp(argv[1], "pids")) return pids(argc >= 3 ? atoi(argv[2]) : 0);
  if (argc >= 2 && !strcmp(argv[1], "fds")) return fds();
  if (argc >= 2 && !strcmp(argv[1], "status")) return status();
  if (argc >= 2 && !strcmp(argv[1], "id")) return id();
  if (argc >= 2 && !strcmp(argv[1], "rlimit")) return rlimit();
  if (argc >= 2 && !strcmp(argv[1], "killall")) return killall();
  if (argc >= 2 && !strcmp(argv[1], "hold")) return hold();
  if (argc >= 3 && !strcmp(argv[1], "key")) return key(argv[2]);
  if (argc >= 3 && !strcmp(argv[1], "signal-init")) {
    int rc = kill(1, atoi(argv[2]));
    printf("signal-init %s\n", rc == 0 ? "0" : err());
    return 0;
  }
  fprintf(stderr,
          "usage: iso_self pids N | fds | status | id | rlimit | killall | signal-init SIG | key "
          "DESC | hold\n");
  return 2;
}
