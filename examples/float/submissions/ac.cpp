// AC with --checker float:1e-6 (9 decimals are plenty); WA with the exact checker,
// since "1.414213562" is not the answer file's "1.41421356237".
#include <cmath>
#include <cstdio>

int main() {
  double n;
  if (std::scanf("%lf", &n) != 1) return 1;
  std::printf("%.9f\n", std::sqrt(n));
}
