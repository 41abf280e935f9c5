// PE: a word where the checker expects one integer.
#include <iostream>

int main() {
  long long n;
  std::cin >> n;
  std::cout << "divisible\n";
}
