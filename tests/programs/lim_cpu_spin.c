// Spins until this process has used argv[1] seconds of CPU time (default 0.5).
#include <stdlib.h>
#include <time.h>

int main(int argc, char** argv) {
  double target = argc > 1 ? atof(argv[1]) : 0.5;
  struct timespec ts;
  do {
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  } while (ts.tv_sec + ts.tv_nsec / 1e9 < target);
  return 0;
}
