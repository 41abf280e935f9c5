// Mallocs argv[1] MiB (default 100) and memsets all of it, then exits 0.
#include <stdlib.h>
#include <string.h>

int main(int argc, char** argv) {
  size_t mib = argc > 1 ? (size_t)atoll(argv[1]) : 100;
  char* p = malloc(mib << 20);
  if (!p) return 3;
  memset(p, 7, mib << 20);
  return p[mib] == 7 ? 0 : 4;
}
