// Leaves a daemon behind: double fork + setsid; the grandchild keeps stdout and
// stderr open and sleeps for ever. The main program waits until the daemon runs,
// prints "daemon ready" and exits 0 at once.
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
  int p[2];
  if (pipe(p) != 0) return 3;
  pid_t child = fork();
  if (child < 0) return 4;
  if (child == 0) {
    setsid();
    pid_t grandchild = fork();
    if (grandchild < 0) _exit(5);
    if (grandchild == 0) {
      close(p[0]);
      (void)write(p[1], "r", 1);
      close(p[1]);
      for (;;) pause();
    }
    _exit(0);
  }
  close(p[1]);
  int status;
  waitpid(child, &status, 0);
  char c;
  if (read(p[0], &c, 1) != 1) return 6;
  printf("daemon ready\n");
  return 0;
}
