// Maps anonymous memory 1 MiB at a time and touches every page, for ever.
#include <sys/mman.h>

int main(void) {
  for (;;) {
    char* p = mmap(0, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return 3;
    for (int i = 0; i < (1 << 20); i += 4096) p[i] = 1;
  }
}
