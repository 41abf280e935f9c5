// The interactor of an interactive Kattis problem, called as
//   interactor INPUT ANSWER FEEDBACK_DIR
// with its stdin reading the submission's stdout and its stdout writing to the
// submission's stdin. Exit 42 accepted, 43 wrong answer; the reason goes to
// FEEDBACK_DIR/judgemessage.txt. INPUT holds the secret number.
#include <csignal>
#include <fstream>
#include <iostream>
#include <string>

static std::string feedback;

static int finish(int code, const std::string& message) {
  std::ofstream(feedback + "/judgemessage.txt") << message << "\n";
  return code;
}

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);  // a submission that exits early is WA, not a crash
  if (argc < 4) return 1;
  feedback = argv[3];
  long long secret;
  if (!(std::ifstream(argv[1]) >> secret)) return 1;
  for (int guesses = 1; guesses <= 31; ++guesses) {
    long long guess;
    if (!(std::cin >> guess)) return finish(43, "no guess, or not a number");
    if (guess == secret) {
      std::cout << "=" << std::endl;
      return finish(42, "found in " + std::to_string(guesses) + " guesses");
    }
    std::cout << (secret < guess ? "<" : ">") << std::endl;
  }
  return finish(43, "more than 31 guesses");
}
