// Jinja2's lexer for chat templates: splits the source into text and tag tokens, applying
// trim_blocks, lstrip_blocks and the {%- -%} {{- -}} {#- -#} whitespace controls exactly as
// Jinja2 does, drops comments, and tokenizes the expressions inside tags. No parsing here.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace tgi::router::chat {

enum class TokenKind {
  kText,           // template data, already whitespace-controlled
  kVariableBegin,  // {{
  kVariableEnd,    // }}
  kBlockBegin,     // {%
  kBlockEnd,       // %}
  kName,
  kString,  // value holds the unescaped text
  kInteger,
  kFloat,
  kOperator,  // value holds the operator: + - * / // % ** ~ == != < > <= >= = . : | , ( ) [ ] { }
  kEnd,
};

struct Token {
  TokenKind kind;
  std::string value;
  int line = 1;
};

// The whole template as tokens, ending with kEnd. Errors: an unterminated tag, comment or string,
// or a character that starts no token, with its line.
absl::StatusOr<std::vector<Token>> Tokenize(std::string_view source);

}  // namespace tgi::router::chat
