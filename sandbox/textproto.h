// A reader for the subset of protobuf text format that profiles use:
//   name: "value"   number: 12   enum_or_bool: IDENT   list: ["a", "b"]   msg { ... }
// Values and structure only; each loader validates fields against its schema and
// reports errors as "file:line: reason".
#pragma once

#include <string>
#include <vector>

#include "common/status.h"

namespace judge {

struct TextNode {
  std::string name;
  int line = 0;
  bool is_message = false;
  bool quoted = false;     // scalar was a string literal
  std::string value;       // scalar text (unescaped for strings)
  std::vector<TextNode> children;
};

// Parses text into the children of a root message. `file` names errors.
Result<TextNode> ParseTextProto(const std::string& text, const std::string& file);

// Helpers for loaders: errors that cite the file and the node's line.
Status TextError(const std::string& file, const TextNode& node, const std::string& reason);
Result<std::string> TextString(const std::string& file, const TextNode& node);
Result<long long> TextInt(const std::string& file, const TextNode& node);
Result<double> TextDouble(const std::string& file, const TextNode& node);
Result<bool> TextBool(const std::string& file, const TextNode& node);
// An enum identifier, which must be one of `allowed`.
Result<std::string> TextEnum(const std::string& file, const TextNode& node,
                             const std::vector<std::string>& allowed);

}  // namespace judge
