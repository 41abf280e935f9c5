// RE: prints the right answer but exits with status 3; a non-zero exit is RE
// whatever the output.
#include <stdio.h>

int main(void) {
  long long a, b;
  if (scanf("%lld %lld", &a, &b) != 2) return 1;
  printf("%lld\n", a + b);
  return 3;
}
