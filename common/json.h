// A minimal JSON writer for one-line result objects.
#pragma once

#include <string>

namespace judge {

std::string JsonEscape(const std::string& s);  // with the quotes
// Milliseconds and the like: at most 3 decimals, no trailing zeros; non-finite as 0.
std::string JsonNumber(double v);

class JsonObject {
 public:
  JsonObject& Str(const char* key, const std::string& v);
  JsonObject& Int(const char* key, long long v);
  // Milliseconds and the like: at most 3 decimals, no trailing zeros.
  JsonObject& Num(const char* key, double v);
  JsonObject& Raw(const char* key, const std::string& json);
  std::string Done() const { return body_ + "}"; }

 private:
  void Key(const char* key);
  std::string body_ = "{";
};

}  // namespace judge
