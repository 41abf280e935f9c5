// Makes privileged or attack-surface system calls, each as harmless as it can be made,
// and prints "NAME ok" or "NAME ERRNAME" per call:  iso_syscall NAME...
// Under the default seccomp policy most of these end the run (SV) at the first one.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/io_uring.h>
#include <linux/keyctl.h>
#include <linux/perf_event.h>
#include <linux/reboot.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static long do_clone(unsigned long flags) {
  long pid = syscall(SYS_clone, flags | SIGCHLD, 0, 0, 0, 0);
  if (pid == 0) _exit(0);
  if (pid > 0) waitpid((pid_t)pid, NULL, 0);
  return pid;
}

static long i386_getpid(void) {
  long ret;
  // int $0x80 enters the 32-bit (i386) system call table; 20 is its getpid.
  __asm__ volatile("int $0x80" : "=a"(ret) : "a"(20L) : "memory");
  return ret;
}

static long call(const char* name) {
  if (!strcmp(name, "mount")) return mount("none", "/tmp", "tmpfs", 0, NULL);
  if (!strcmp(name, "umount2")) return umount2("/proc", MNT_DETACH);
  if (!strcmp(name, "pivot_root")) return syscall(SYS_pivot_root, "/tmp", "/tmp");
  if (!strcmp(name, "chroot")) return chroot("/tmp");
  if (!strcmp(name, "setns")) {
    int fd = open("/proc/self/ns/uts", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    return setns(fd, CLONE_NEWUTS);
  }
  if (!strcmp(name, "unshare_user")) return unshare(CLONE_NEWUSER);
  if (!strcmp(name, "unshare_mnt")) return unshare(CLONE_NEWNS);
  if (!strcmp(name, "unshare_net")) return unshare(CLONE_NEWNET);
  if (!strcmp(name, "clone_newuser")) return do_clone(CLONE_NEWUSER);
  if (!strcmp(name, "clone_newns")) return do_clone(CLONE_NEWNS);
  if (!strcmp(name, "ptrace_attach_init")) return ptrace(PTRACE_ATTACH, 1, NULL, NULL);
  if (!strcmp(name, "ptrace_traceme")) return ptrace(PTRACE_TRACEME, 0, NULL, NULL);
  if (!strcmp(name, "bpf")) {
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.map_type = BPF_MAP_TYPE_ARRAY;
    attr.key_size = 4;
    attr.value_size = 4;
    attr.max_entries = 1;
    return syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof attr);
  }
  if (!strcmp(name, "keyctl")) {
    return syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0);
  }
  if (!strcmp(name, "perf_event_open")) {
    struct perf_event_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.size = sizeof attr;
    attr.type = PERF_TYPE_SOFTWARE;
    attr.config = PERF_COUNT_SW_CPU_CLOCK;
    attr.exclude_kernel = 1;
    return syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0);
  }
  if (!strcmp(name, "userfaultfd")) return syscall(SYS_userfaultfd, O_CLOEXEC);
  if (!strcmp(name, "io_uring_setup")) {
    struct io_uring_params p;
    memset(&p, 0, sizeof p);
    return syscall(SYS_io_uring_setup, 1, &p);
  }
  if (!strcmp(name, "kexec_load")) return syscall(SYS_kexec_load, 0, 0, NULL, 0);
  if (!strcmp(name, "reboot")) {
    return syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2, LINUX_REBOOT_CMD_CAD_OFF,
                   0);
  }
  if (!strcmp(name, "init_module")) return syscall(SYS_init_module, NULL, 0, "");
  if (!strcmp(name, "sethostname")) return sethostname("evil", 4);
  if (!strcmp(name, "fsopen")) return syscall(SYS_fsopen, "tmpfs", 0);
  if (!strcmp(name, "x32")) return syscall(0x40000000 | SYS_getpid);
  if (!strcmp(name, "i386")) {
    long r = i386_getpid();
    if (r < 0 && r > -4096) {
      errno = (int)-r;
      return -1;
    }
    return r;
  }
  errno = ENOSYS;
  fprintf(stderr, "iso_syscall: unknown call %s\n", name);
  return -2;
}

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    errno = 0;
    long r = call(argv[i]);
    if (r == -2) return 2;
    if (r < 0) {
      const char* e = strerrorname_np(errno);
      printf("%s %s\n", argv[i], e ? e : "E?");
    } else {
      printf("%s ok\n", argv[i]);
    }
    fflush(stdout);
  }
  return 0;
}
