// Busy-waits argv[1] milliseconds of wall-clock time (default 20), then prints how
// long main() really ran by CLOCK_MONOTONIC, in microseconds: "ran N us". The
// clock is the host's (there is no time namespace), so the run's wall time, which
// starts at execve and ends at exit, can be no shorter.
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static long long NowUs(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

int main(int argc, char** argv) {
  long long want_us = (argc > 1 ? atoll(argv[1]) : 20) * 1000;
  long long start = NowUs(), now;
  do {
    now = NowUs();
  } while (now - start < want_us);
  printf("ran %lld us\n", now - start);
  fflush(stdout);
  return 0;
}
