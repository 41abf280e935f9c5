// Creates sleeping threads until pthread_create fails, then prints
// "threads N errno NAME" and exits 0 (which ends every thread).
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void* Sleeper(void* arg) {
  (void)arg;
  for (;;) pause();
  return NULL;
}

int main(void) {
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 64 * 1024);
  int n = 0, err = 0;
  for (; n < 100000; ++n) {
    pthread_t t;
    err = pthread_create(&t, &attr, Sleeper, NULL);
    if (err != 0) break;
  }
  printf("threads %d errno %s\n", n, err == EAGAIN ? "EAGAIN" : strerror(err));
  fflush(stdout);
  return 0;
}
