// Writes argv[1] (a file path) 64 KiB at a time, up to argv[2] MiB (default: for
// ever). On a write error prints "error NAME after N bytes" and exits 0; otherwise
// prints "wrote N bytes cpu M us" (M: this process's CPU time, by its own clock).
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char* Name(int e) {
  switch (e) {
    case ENOSPC:
      return "ENOSPC";
    case ENOMEM:
      return "ENOMEM";
    case EFBIG:
      return "EFBIG";
    case EDQUOT:
      return "EDQUOT";
    default:
      return strerror(e);
  }
}

int main(int argc, char** argv) {
  if (argc < 2) return 100;
  long long max = argc > 2 ? atoll(argv[2]) << 20 : -1;
  int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) {
    printf("open error %s\n", Name(errno));
    return 4;
  }
  static char buf[65536];
  memset(buf, 'z', sizeof buf);
  long long total = 0;
  while (max < 0 || total < max) {
    ssize_t n = write(fd, buf, sizeof buf);
    if (n < 0) {
      printf("error %s after %lld bytes\n", Name(errno), total);
      return 0;
    }
    total += n;
  }
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  printf("wrote %lld bytes cpu %lld us\n", total, ts.tv_sec * 1000000LL + ts.tv_nsec / 1000);
  return 0;
}
