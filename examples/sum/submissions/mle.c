// MLE: allocates 1 GiB and touches every page (through a volatile pointer, so the
// compiler cannot leave the writes out).
#include <stdio.h>
#include <stdlib.h>

int main(void) {
  size_t size = (size_t)1 << 30;
  volatile char* p = malloc(size);
  if (p == NULL) return 1;
  for (size_t i = 0; i < size; i += 4096) p[i] = 1;
  printf("%d\n", p[size - 4096]);
  return 0;
}
