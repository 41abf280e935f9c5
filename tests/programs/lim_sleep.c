// Sleeps argv[1] seconds (fractions allowed), or for ever with "forever".
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc < 2 || strcmp(argv[1], "forever") == 0) {
    for (;;) pause();
  }
  double s = atof(argv[1]);
  struct timespec ts = {(time_t)s, (long)((s - (time_t)s) * 1e9)};
  while (nanosleep(&ts, &ts) != 0) {
  }
  return 0;
}
