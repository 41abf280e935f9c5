// WA: prints a-b instead of a+b (wrong on test 1 already).
#include <iostream>

int main() {
  long long a, b;
  std::cin >> a >> b;
  std::cout << a - b << "\n";
}
