// argv[1] threads (the main one included) spin for ever.
#include <pthread.h>
#include <stdlib.h>

static volatile unsigned long sink;

static void* Spin(void* arg) {
  (void)arg;
  for (;;) ++sink;
  return NULL;
}

int main(int argc, char** argv) {
  int n = argc > 1 ? atoi(argv[1]) : 8;
  for (int i = 1; i < n; ++i) {
    pthread_t t;
    if (pthread_create(&t, NULL, Spin, NULL) != 0) return 3;
  }
  Spin(NULL);
  return 0;
}
