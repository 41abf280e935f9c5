#include "worker/checkers.h"

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <vector>

namespace judge {
namespace {

bool Space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

std::vector<std::string_view> Tokens(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && Space(s[i])) ++i;
    size_t b = i;
    while (i < s.size() && !Space(s[i])) ++i;
    if (i > b) out.push_back(s.substr(b, i - b));
  }
  return out;
}

// Lines without trailing white space, without trailing empty lines.
std::vector<std::string_view> Lines(std::string_view s) {
  std::vector<std::string_view> out;
  size_t b = 0;
  while (b <= s.size()) {
    size_t e = s.find('\n', b);
    if (e == std::string_view::npos) e = s.size();
    std::string_view line = s.substr(b, e - b);
    while (!line.empty() && Space(line.back())) line.remove_suffix(1);
    out.push_back(line);
    b = e + 1;
  }
  while (!out.empty() && out.back().empty()) out.pop_back();
  return out;
}

std::string Clip(std::string_view s) {
  std::string out(s.substr(0, 40));
  if (s.size() > 40) out += "...";
  return out;
}

bool ParseNumber(std::string_view token, double* v) {
  std::string t(token);
  char* end = nullptr;
  *v = std::strtod(t.c_str(), &end);
  return end != t.c_str() && *end == '\0' && !std::isnan(*v);
}

bool EqualIgnoringCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

CheckResult CompareTokens(std::string_view output, std::string_view answer, bool numeric,
                          double abs_tol, double rel_tol, bool ignore_case = false) {
  std::vector<std::string_view> out = Tokens(output), ans = Tokens(answer);
  for (size_t i = 0; i < std::min(out.size(), ans.size()); ++i) {
    if (out[i] == ans[i] || (ignore_case && EqualIgnoringCase(out[i], ans[i]))) continue;
    double a, b;
    if (numeric && ParseNumber(out[i], &a) && ParseNumber(ans[i], &b)) {
      double diff = std::fabs(a - b);
      if (diff <= abs_tol || diff <= rel_tol * std::fabs(b)) continue;
    }
    return {v1::WA, "token " + std::to_string(i + 1) + ": expected '" + Clip(ans[i]) +
                        "', found '" + Clip(out[i]) + "'"};
  }
  if (out.size() != ans.size()) {
    return {v1::WA, "expected " + std::to_string(ans.size()) + " tokens, found " +
                        std::to_string(out.size())};
  }
  return {v1::AC, ""};
}

}  // namespace

CheckResult CheckExact(std::string_view output, std::string_view answer) {
  std::vector<std::string_view> out = Lines(output), ans = Lines(answer);
  if (out == ans) return {v1::AC, ""};
  CheckResult tokens = CompareTokens(output, answer, false, 0, 0);
  if (tokens.verdict == v1::AC) return {v1::PE, "the tokens are right, the white space is not"};
  return tokens;
}

CheckResult CheckTokens(std::string_view output, std::string_view answer, bool ignore_case) {
  return CompareTokens(output, answer, false, 0, 0, ignore_case);
}

CheckResult CheckFloat(std::string_view output, std::string_view answer, double abs_tol,
                       double rel_tol, bool ignore_case) {
  return CompareTokens(output, answer, true, abs_tol, rel_tol, ignore_case);
}

CheckResult CheckBuiltin(const v1::Checker& checker, std::string_view output,
                         std::string_view answer) {
  switch (checker.kind()) {
    case v1::Checker::TOKENS:
      return CheckTokens(output, answer, checker.ignore_case());
    case v1::Checker::FLOAT:
      return CheckFloat(output, answer, checker.abs_tol(), checker.rel_tol(), checker.ignore_case());
    default:
      return CheckExact(output, answer);
  }
}

}  // namespace judge
