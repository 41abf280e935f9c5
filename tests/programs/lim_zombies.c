// Forks argv[1] (default 50) children that exit at once and are never waited for,
// sleeps 0.2 s, prints "forked N" and exits 0.
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char** argv) {
  int want = argc > 1 ? atoi(argv[1]) : 50;
  int n = 0;
  for (int i = 0; i < want; ++i) {
    pid_t p = fork();
    if (p == 0) _exit(0);
    if (p > 0) ++n;
  }
  struct timespec ts = {0, 200 * 1000 * 1000};
  nanosleep(&ts, NULL);
  printf("forked %d\n", n);
  return 0;
}
