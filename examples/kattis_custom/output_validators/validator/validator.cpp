// Output validator for "any permutation", Kattis interface:
//   validator INPUT ANSWER FEEDBACK_DIR < OUTPUT
// exit 42 AC, 43 WA; anything else is the validator's own failure (IE). The reason
// goes to FEEDBACK_DIR/judgemessage.txt. The answer file (1..n sorted) is not needed.
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

static std::string feedback_dir;

static int judge(int exit_code, const std::string& message) {
  std::ofstream(feedback_dir + "/judgemessage.txt") << message << "\n";
  return exit_code;
}

static int accept(const std::string& message) { return judge(42, message); }
static int reject(const std::string& message) { return judge(43, message); }

int main(int argc, char** argv) {
  if (argc < 4) {
    std::cerr << "usage: validator INPUT ANSWER FEEDBACK_DIR < OUTPUT\n";
    return 1;
  }
  feedback_dir = argv[3];
  long long n;
  if (!(std::ifstream(argv[1]) >> n)) return judge(1, "cannot read n from the input");

  std::vector<bool> seen(n + 1, false);
  std::string token;
  for (long long i = 1; i <= n; ++i) {
    if (!(std::cin >> token))
      return reject("only " + std::to_string(i - 1) + " numbers, expected " + std::to_string(n));
    if (token.size() > 7 || token.find_first_not_of("0123456789") != std::string::npos)
      return reject("number " + std::to_string(i) + " is not a number in 1..n: " + token);
    long long x = std::stoll(token);
    if (x < 1 || x > n) return reject("number " + std::to_string(i) + " is outside 1..n: " + token);
    if (seen[x]) return reject(token + " appears twice");
    seen[x] = true;
  }
  if (std::cin >> token) return reject("more than " + std::to_string(n) + " numbers: " + token);
  return accept("a permutation of 1.." + std::to_string(n));
}
