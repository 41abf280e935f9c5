// Ends badly on purpose: "exit N" exits with code N, "segv" dereferences a null
// pointer, "abort" calls abort().
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char** argv) {
  if (argc < 2) return 100;
  if (strcmp(argv[1], "exit") == 0) return argc > 2 ? atoi(argv[2]) : 1;
  if (strcmp(argv[1], "segv") == 0) {
    // A null pointer the compiler cannot see as such (argc is 2 here).
    volatile int* p = (volatile int*)(uintptr_t)(argc - 2);
    *p = 42;
    return 101;
  }
  if (strcmp(argv[1], "abort") == 0) abort();
  return 102;
}
