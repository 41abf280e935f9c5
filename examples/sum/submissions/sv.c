// SV: ptrace is forbidden by the default seccomp policy (rule KILL), so the run
// ends at this call with status SV and syscall "ptrace". Unsandboxed it prints the
// right answer.
#include <stdio.h>
#include <sys/ptrace.h>

int main(void) {
  long long a, b;
  if (scanf("%lld %lld", &a, &b) != 2) return 1;
  ptrace(PTRACE_TRACEME, 0, NULL, NULL);
  printf("%lld\n", a + b);
  return 0;
}
