// SV: ptrace is forbidden by the default seccomp policy.
#include <sys/ptrace.h>

#include <cstdio>

int main() {
  ptrace(PTRACE_TRACEME, 0, nullptr, nullptr);
  long long a, b;
  if (std::scanf("%lld %lld", &a, &b) != 2) return 1;
  std::printf("%lld\n", a + b);
}
