// WA even with --checker float:1e-6: one decimal is not enough (1.4 on test 1).
#include <cmath>
#include <cstdio>

int main() {
  double n;
  if (std::scanf("%lf", &n) != 1) return 1;
  std::printf("%.1f\n", std::sqrt(n));
}
