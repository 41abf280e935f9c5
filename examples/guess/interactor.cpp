// Interactor for "guess the number", called as
//   interactor INPUT ANSWER
// with its stdin reading the solution's stdout and its stdout writing to the
// solution's stdin. INPUT holds the secret number; ANSWER is not used.
// Protocol: the solution writes a guess g (1 <= g <= 10^9) on a line; the interactor
// answers "<" (the secret is smaller than g), ">" (larger) or "=" (found: the
// solution must then exit). At most 31 guesses.
// exit 0 AC, 1 WA, 3 the interactor's own trouble (IE). One line on stderr says why.
#include <csignal>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <string>

enum Verdict { kAC = 0, kWA = 1, kFail = 3 };

static int finish(Verdict verdict, const std::string& message) {
  std::cerr << message << "\n";
  return verdict;
}

int main(int argc, char** argv) {
  // A solution that exits early must not kill the interactor with SIGPIPE: the
  // next read then sees the end of file and the verdict is WA.
  std::signal(SIGPIPE, SIG_IGN);
  if (argc < 2) return finish(kFail, "usage: interactor INPUT ANSWER");
  long long secret;
  if (!(std::ifstream(argv[1]) >> secret)) return finish(kFail, "cannot read the secret");

  const int max_guesses = 31;
  for (int guesses = 1;; ++guesses) {
    std::string token;
    if (!(std::cin >> token)) return finish(kWA, "the solution stopped before finding the number");
    long long guess;
    try {
      size_t used = 0;
      guess = std::stoll(token, &used);
      if (used != token.size()) throw std::invalid_argument(token);
    } catch (const std::exception&) {
      return finish(kWA, "guess " + std::to_string(guesses) + " is not a number: " + token);
    }
    if (guess < 1 || guess > 1000000000)
      return finish(kWA, "guess " + token + " is outside 1..10^9");
    if (guesses > max_guesses)
      return finish(kWA, "more than " + std::to_string(max_guesses) + " guesses");
    if (guess == secret) {
      std::cout << "=" << std::endl;
      return finish(kAC, "found " + token + " in " + std::to_string(guesses) + " guesses");
    }
    std::cout << (secret < guess ? "<" : ">") << std::endl;  // endl flushes
  }
}
