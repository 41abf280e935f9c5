// The built-in output checkers. Custom checker programs run in the sandbox
// (judging.cc); these compare in the worker, on output the sandbox bounded.
#pragma once

#include <string>
#include <string_view>

#include "protocol/judge.pb.h"

namespace judge {

struct CheckResult {
  v1::Verdict verdict = v1::AC;
  std::string message;  // for the checker_message field
};

// EXACT: equal but for white space at line ends and trailing empty lines. Equal tokens
// in other white space are PE.
CheckResult CheckExact(std::string_view output, std::string_view answer);
// TOKENS: the white-space separated tokens are equal.
CheckResult CheckTokens(std::string_view output, std::string_view answer, bool ignore_case = false);
// FLOAT: tokens, where two numbers match if within abs_tol or rel_tol (relative to the
// answer). Other tokens must be equal.
CheckResult CheckFloat(std::string_view output, std::string_view answer, double abs_tol,
                       double rel_tol, bool ignore_case = false);

// Dispatches on checker.kind (EXACT, TOKENS, FLOAT; CUSTOM is not built in).
CheckResult CheckBuiltin(const v1::Checker& checker, std::string_view output,
                         std::string_view answer);

}  // namespace judge
