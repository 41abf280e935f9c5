// PE under the exact checker: the right number with a space before it.
#include <cstdio>

int main() {
  long long a, b;
  if (std::scanf("%lld %lld", &a, &b) != 2) return 1;
  std::printf(" %lld\n", a + b);
  return 0;
}
