// PE under the exact checker: the right number, but on a line of its own after an
// empty line (the tokens are right, the white space is not).
#include <stdio.h>

int main(void) {
  long long a, b;
  if (scanf("%lld %lld", &a, &b) != 2) return 1;
  printf("\n%lld\n", a + b);
  return 0;
}
