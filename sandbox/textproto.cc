#include "sandbox/textproto.h"

#include <cctype>
#include <cstdlib>

namespace judge {
namespace {

class Parser {
 public:
  Parser(const std::string& text, const std::string& file) : s_(text), file_(file) {}

  Result<TextNode> Parse() {
    TextNode root;
    root.is_message = true;
    root.line = 1;
    RETURN_IF_ERROR(Fields(&root, /*nested=*/false));
    return root;
  }

 private:
  Status Err(const std::string& reason) {
    return Status::Error(file_ + ":" + std::to_string(line_) + ": " + reason);
  }

  void Skip() {
    while (pos_ < s_.size()) {
      char c = s_[pos_];
      if (c == '\n') {
        ++line_;
        ++pos_;
      } else if (std::isspace(static_cast<unsigned char>(c)) || c == ',' || c == ';') {
        ++pos_;
      } else if (c == '#') {
        while (pos_ < s_.size() && s_[pos_] != '\n') ++pos_;
      } else {
        break;
      }
    }
  }

  bool IdentChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

  std::string Ident() {
    size_t b = pos_;
    while (pos_ < s_.size() && IdentChar(s_[pos_])) ++pos_;
    return s_.substr(b, pos_ - b);
  }

  Status Fields(TextNode* parent, bool nested) {
    for (;;) {
      Skip();
      if (pos_ >= s_.size()) {
        if (nested) return Err("missing '}' at end of file");
        return Status::Ok();
      }
      if (s_[pos_] == '}') {
        if (!nested) return Err("unexpected '}'");
        ++pos_;
        return Status::Ok();
      }
      if (!IdentChar(s_[pos_])) return Err(std::string("expected a field name, found '") + s_[pos_] + "'");
      TextNode node;
      node.line = line_;
      node.name = Ident();
      Skip();
      bool colon = false;
      if (pos_ < s_.size() && s_[pos_] == ':') {
        colon = true;
        ++pos_;
        Skip();
      }
      if (pos_ < s_.size() && s_[pos_] == '{') {
        ++pos_;
        node.is_message = true;
        // Each level is a frame of this recursion: a file of nothing but "a{" would
        // otherwise overflow the stack. Profiles nest two levels.
        if (depth_ >= kMaxDepth) {
          return Err("messages nested deeper than " + std::to_string(kMaxDepth));
        }
        ++depth_;
        RETURN_IF_ERROR(Fields(&node, true));
        --depth_;
        parent->children.push_back(std::move(node));
        continue;
      }
      if (!colon) return Err("expected ':' or '{' after '" + node.name + "'");
      if (pos_ < s_.size() && s_[pos_] == '[') {
        ++pos_;
        for (;;) {
          Skip();
          if (pos_ < s_.size() && s_[pos_] == ']') {
            ++pos_;
            break;
          }
          TextNode item;
          item.name = node.name;
          item.line = line_;
          RETURN_IF_ERROR(Scalar(&item));
          parent->children.push_back(std::move(item));
        }
        continue;
      }
      RETURN_IF_ERROR(Scalar(&node));
      parent->children.push_back(std::move(node));
    }
  }

  Status Scalar(TextNode* node) {
    if (pos_ >= s_.size()) return Err("expected a value for '" + node->name + "'");
    char c = s_[pos_];
    if (c == '"' || c == '\'') {
      char quote = c;
      ++pos_;
      std::string v;
      while (pos_ < s_.size() && s_[pos_] != quote) {
        char d = s_[pos_++];
        if (d == '\n') return Err("newline inside a string");
        if (d == '\\' && pos_ < s_.size()) {
          char e = s_[pos_++];
          switch (e) {
            case 'n': v += '\n'; break;
            case 't': v += '\t'; break;
            case '\\': v += '\\'; break;
            case '"': v += '"'; break;
            case '\'': v += '\''; break;
            default: return Err(std::string("unknown escape \\") + e);
          }
        } else {
          v += d;
        }
      }
      if (pos_ >= s_.size()) return Err("unterminated string");
      ++pos_;
      node->value = v;
      node->quoted = true;
      return Status::Ok();
    }
    size_t b = pos_;
    while (pos_ < s_.size() && (IdentChar(s_[pos_]) || s_[pos_] == '.' || s_[pos_] == '-' ||
                                s_[pos_] == '+')) {
      ++pos_;
    }
    if (b == pos_) return Err(std::string("unexpected '") + c + "' in value of '" + node->name + "'");
    node->value = s_.substr(b, pos_ - b);
    return Status::Ok();
  }

  static constexpr int kMaxDepth = 32;

  const std::string& s_;
  const std::string& file_;
  size_t pos_ = 0;
  int line_ = 1;
  int depth_ = 0;
};

}  // namespace

Result<TextNode> ParseTextProto(const std::string& text, const std::string& file) {
  return Parser(text, file).Parse();
}

Status TextError(const std::string& file, const TextNode& node, const std::string& reason) {
  return Status::Error(file + ":" + std::to_string(node.line) + ": " + reason);
}

Result<std::string> TextString(const std::string& file, const TextNode& node) {
  if (node.is_message || !node.quoted) {
    return TextError(file, node, "'" + node.name + "' takes a quoted string");
  }
  return node.value;
}

Result<long long> TextInt(const std::string& file, const TextNode& node) {
  if (node.is_message || node.quoted || node.value.empty()) {
    return TextError(file, node, "'" + node.name + "' takes an integer");
  }
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(node.value.c_str(), &end, 0);
  if (errno != 0 || *end != '\0') {
    return TextError(file, node, "'" + node.name + "' takes an integer, not '" + node.value + "'");
  }
  return v;
}

Result<double> TextDouble(const std::string& file, const TextNode& node) {
  if (node.is_message || node.quoted || node.value.empty()) {
    return TextError(file, node, "'" + node.name + "' takes a number");
  }
  char* end = nullptr;
  double v = std::strtod(node.value.c_str(), &end);
  if (*end != '\0') {
    return TextError(file, node, "'" + node.name + "' takes a number, not '" + node.value + "'");
  }
  return v;
}

Result<bool> TextBool(const std::string& file, const TextNode& node) {
  if (!node.is_message && !node.quoted && (node.value == "true" || node.value == "false")) {
    return node.value == "true";
  }
  return TextError(file, node, "'" + node.name + "' takes true or false");
}

Result<std::string> TextEnum(const std::string& file, const TextNode& node,
                             const std::vector<std::string>& allowed) {
  if (!node.is_message && !node.quoted) {
    for (const auto& a : allowed)
      if (a == node.value) return node.value;
  }
  std::string list;
  for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
  return TextError(file, node, "'" + node.name + "' takes one of " + list);
}

}  // namespace judge
