// WA: guesses 1, 2, 3, ... and gives up after 40 guesses. It finds the secret 1
// (test 2) but needs more than the 31 guesses allowed for 42 and 10^9.
#include <iostream>
#include <string>

int main() {
  for (int guess = 1; guess <= 40; ++guess) {
    std::cout << guess << std::endl;
    std::string reply;
    if (!(std::cin >> reply) || reply == "=") return 0;
  }
}
