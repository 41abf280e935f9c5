#include "common/json.h"

#include <cmath>
#include <cstdio>

namespace judge {

std::string JsonEscape(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

void JsonObject::Key(const char* key) {
  if (body_.size() > 1) body_ += ",";
  body_ += "\"";
  body_ += key;
  body_ += "\":";
}

JsonObject& JsonObject::Str(const char* key, const std::string& v) {
  Key(key);
  body_ += JsonEscape(v);
  return *this;
}

JsonObject& JsonObject::Int(const char* key, long long v) {
  Key(key);
  body_ += std::to_string(v);
  return *this;
}

std::string JsonNumber(double v) {
  if (!std::isfinite(v)) v = 0;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  std::string s = buf;
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s;
}

JsonObject& JsonObject::Num(const char* key, double v) {
  Key(key);
  body_ += JsonNumber(v);
  return *this;
}

JsonObject& JsonObject::Raw(const char* key, const std::string& json) {
  Key(key);
  body_ += json;
  return *this;
}

}  // namespace judge
