// TLE (wall time): waits for a reply before its first guess, while the interactor
// waits for that guess. Neither uses CPU time; the wall-time limit ends the run.
#include <iostream>
#include <string>

int main() {
  std::string reply;
  std::cin >> reply;
  std::cout << 500000000 << std::endl;
}
