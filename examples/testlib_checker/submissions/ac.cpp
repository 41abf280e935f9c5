// AC: the smallest divisor > 1 (trial division up to sqrt(n) <= 10^6), or -1.
#include <iostream>

int main() {
  long long n;
  std::cin >> n;
  for (long long d = 2; d * d <= n; ++d) {
    if (n % d == 0) {
      std::cout << d << "\n";
      return 0;
    }
  }
  std::cout << -1 << "\n";
}
