// Checker for "any proper divisor", testlib interface without testlib.h:
//   checker INPUT OUTPUT ANSWER
// exit 0 AC, 1 WA, 2 PE (the output is not exactly one integer), 3 the checker's
// own trouble (the judge reports IE). One line on stderr says why.
//
// The answer file holds the judges' smallest divisor, or -1 when n is prime. The
// checker only uses it to know whether n is prime: any proper divisor is accepted.
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>

enum Verdict { kAC = 0, kWA = 1, kPE = 2, kFail = 3 };

static int finish(Verdict verdict, const std::string& message) {
  std::cerr << message << "\n";
  return verdict;
}

// An optional '-' and decimal digits, in the range of a 64-bit integer.
static bool parse(const std::string& token, long long& value) {
  const size_t first_digit = token[0] == '-' ? 1 : 0;
  if (token.size() == first_digit) return false;
  if (token.find_first_not_of("0123456789", first_digit) != std::string::npos) return false;
  errno = 0;
  value = std::strtoll(token.c_str(), nullptr, 10);
  return errno == 0;
}

int main(int argc, char** argv) {
  if (argc != 4) return finish(kFail, "usage: checker INPUT OUTPUT ANSWER");
  std::ifstream input(argv[1]), output(argv[2]), answer(argv[3]);
  long long n, judge;
  if (!(input >> n) || !(answer >> judge))
    return finish(kFail, "cannot read the input or the answer file");

  std::string token, extra;
  long long d;
  if (!(output >> token)) return finish(kPE, "empty output");
  if (!parse(token, d)) return finish(kPE, "expected an integer, found \"" + token + "\"");
  if (output >> extra) return finish(kPE, "extra output after " + token + ": \"" + extra + "\"");

  const std::string n_text = std::to_string(n);
  if (judge == -1) {
    if (d == -1) return finish(kAC, "ok: " + n_text + " is prime");
    return finish(kWA, n_text + " is prime, found " + token);
  }
  if (d == -1)
    return finish(kWA, n_text + " is not prime (" + std::to_string(judge) + " divides it)");
  if (d <= 1 || d >= n || n % d != 0)
    return finish(kWA, token + " is not a divisor d of " + n_text + " with 1 < d < n");
  return finish(kAC, "ok: " + token + " divides " + n_text);
}
