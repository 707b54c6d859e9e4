// Reader's skipping of values nobody reads (unknown keys): serde_json's ignore_value and its
// helpers, which accept and reject slightly differently from the parsing paths.
#include <optional>
#include <string_view>
#include <vector>

#include "router/api/serde_json_reader.h"

namespace tgi::router::serde {
namespace {

bool IsDigit(uint8_t c) { return c >= '0' && c <= '9'; }

}  // namespace

void Reader::IgnoreStr() {
  while (true) {
    while (index_ < input_.size()) {
      const uint8_t c = static_cast<uint8_t>(input_[index_]);
      if (c == '"' || c == '\\' || c < 0x20) break;
      ++index_;
    }
    if (index_ == input_.size()) Error(Code::kEofWhileParsingString);
    const uint8_t c = static_cast<uint8_t>(input_[index_]);
    if (c == '"') {
      ++index_;
      return;
    }
    if (c != '\\') Error(Code::kControlCharacterWhileParsingString);
    ++index_;
    IgnoreEscape();
  }
}

void Reader::IgnoreEscape() {
  const std::optional<uint8_t> c = NextChar();
  if (!c) Error(Code::kEofWhileParsingString);
  switch (*c) {
    case '"':
    case '\\':
    case '/':
    case 'b':
    case 'f':
    case 'n':
    case 'r':
    case 't':
      return;
    case 'u':
      DecodeHexEscape();
      return;
    default:
      Error(Code::kInvalidEscape);
  }
}

void Reader::IgnoreInteger() {
  const std::optional<uint8_t> c = NextChar();
  const uint8_t first = c.value_or(0);
  if (first == '0') {
    if (IsDigit(PeekOrNull())) PeekError(Code::kInvalidNumber);
  } else if (first >= '1' && first <= '9') {
    while (IsDigit(PeekOrNull())) EatChar();
  } else {
    Error(Code::kInvalidNumber);
  }
  const uint8_t next = PeekOrNull();
  if (next == '.') {
    IgnoreDecimal();
  } else if (next == 'e' || next == 'E') {
    IgnoreExponent();
  }
}

void Reader::IgnoreDecimal() {
  EatChar();
  bool at_least_one_digit = false;
  while (IsDigit(PeekOrNull())) {
    EatChar();
    at_least_one_digit = true;
  }
  if (!at_least_one_digit) PeekError(Code::kInvalidNumber);
  const uint8_t next = PeekOrNull();
  if (next == 'e' || next == 'E') IgnoreExponent();
}

void Reader::IgnoreExponent() {
  EatChar();
  const uint8_t sign = PeekOrNull();
  if (sign == '+' || sign == '-') EatChar();
  const std::optional<uint8_t> first = NextChar();
  if (!first || !IsDigit(*first)) Error(Code::kInvalidNumber);
  while (IsDigit(PeekOrNull())) EatChar();
}

// serde_json's ignore_value: iterative (no recursion limit), with its own error choices.
void Reader::IgnoreValue() {
  std::vector<uint8_t> stack;  // enclosing containers, innermost last
  while (true) {
    const std::optional<uint8_t> peek = ParseWhitespace();
    if (!peek) PeekError(Code::kEofWhileParsingValue);
    bool opened = false;
    switch (*peek) {
      case 'n':
        EatChar();
        ParseIdent("ull");
        break;
      case 't':
        EatChar();
        ParseIdent("rue");
        break;
      case 'f':
        EatChar();
        ParseIdent("alse");
        break;
      case '-':
        EatChar();
        IgnoreInteger();
        break;
      case '"':
        EatChar();
        IgnoreStr();
        break;
      case '[':
      case '{':
        stack.push_back(*peek);
        EatChar();
        opened = true;
        break;
      default:
        if (!IsDigit(*peek)) PeekError(Code::kExpectedSomeValue);
        IgnoreInteger();
    }
    if (!opened && stack.empty()) return;
    // After a value (or just inside a new container): a comma, or closing brackets.
    bool accept_comma = !opened;
    while (true) {
      const std::optional<uint8_t> next = ParseWhitespace();
      const uint8_t frame = stack.back();
      if (!next) {
        PeekError(frame == '[' ? Code::kEofWhileParsingList : Code::kEofWhileParsingObject);
      }
      if (*next == ',' && accept_comma) {
        EatChar();
        break;
      }
      if ((*next == ']' && frame == '[') || (*next == '}' && frame == '{')) {
        EatChar();
        stack.pop_back();
        if (stack.empty()) return;
        accept_comma = true;
        continue;
      }
      if (accept_comma) {
        PeekError(frame == '[' ? Code::kExpectedListCommaOrEnd : Code::kExpectedObjectCommaOrEnd);
      }
      break;
    }
    if (stack.back() == '{') {
      const std::optional<uint8_t> quote = ParseWhitespace();
      if (!quote) PeekError(Code::kEofWhileParsingObject);
      if (*quote != '"') PeekError(Code::kKeyMustBeAString);
      EatChar();
      IgnoreStr();
      const std::optional<uint8_t> colon = ParseWhitespace();
      if (!colon) PeekError(Code::kEofWhileParsingObject);
      if (*colon != ':') PeekError(Code::kExpectedColon);
      EatChar();
    }
  }
}

std::string_view Reader::IgnoreValueRaw() {
  ParseWhitespace();
  const size_t start = index_;
  IgnoreValue();
  return input_.substr(start, index_ - start);
}

}  // namespace tgi::router::serde
