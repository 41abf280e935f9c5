// AC: binary search, at most 30 guesses for 1..10^9. Flushes after each guess
// (std::endl), or the interactor would wait for a guess still in the buffer.
#include <iostream>
#include <string>

int main() {
  long long low = 1, high = 1000000000;
  while (low <= high) {
    long long guess = low + (high - low) / 2;
    std::cout << guess << std::endl;
    std::string reply;
    if (!(std::cin >> reply) || reply == "=") return 0;
    if (reply == "<") high = guess - 1;
    else low = guess + 1;
  }
}
