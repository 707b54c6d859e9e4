#include "router/api/serde_json_reader.h"

#include "common/utf8.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "router/api/rust_format.h"

namespace tgi::router::serde {
namespace {

std::string_view CodeText(Code code) {
  switch (code) {
    case Code::kEofWhileParsingList:
      return "EOF while parsing a list";
    case Code::kEofWhileParsingObject:
      return "EOF while parsing an object";
    case Code::kEofWhileParsingString:
      return "EOF while parsing a string";
    case Code::kEofWhileParsingValue:
      return "EOF while parsing a value";
    case Code::kExpectedColon:
      return "expected `:`";
    case Code::kExpectedListCommaOrEnd:
      return "expected `,` or `]`";
    case Code::kExpectedObjectCommaOrEnd:
      return "expected `,` or `}`";
    case Code::kExpectedSomeIdent:
      return "expected ident";
    case Code::kExpectedSomeValue:
      return "expected value";
    case Code::kInvalidEscape:
      return "invalid escape";
    case Code::kInvalidNumber:
      return "invalid number";
    case Code::kNumberOutOfRange:
      return "number out of range";
    case Code::kInvalidUnicodeCodePoint:
      return "invalid unicode code point";
    case Code::kControlCharacterWhileParsingString:
      return "control character (\\u0000-\\u001F) found while parsing a string";
    case Code::kKeyMustBeAString:
      return "key must be a string";
    case Code::kLoneLeadingSurrogateInHexEscape:
      return "lone leading surrogate in hex escape";
    case Code::kTrailingComma:
      return "trailing comma";
    case Code::kTrailingCharacters:
      return "trailing characters";
    case Code::kUnexpectedEndOfHexEscape:
      return "unexpected end of hex escape";
    case Code::kRecursionLimitExceeded:
      return "recursion limit exceeded";
  }
  return "";
}

bool IsEof(Code code) {
  return code == Code::kEofWhileParsingList || code == Code::kEofWhileParsingObject ||
         code == Code::kEofWhileParsingString || code == Code::kEofWhileParsingValue;
}

bool IsDigit(uint8_t c) { return c >= '0' && c <= '9'; }

int HexValue(uint8_t c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

DeError DeError::Data(std::string message) {
  DeError error;
  error.category = ErrorCategory::kData;
  error.message = std::move(message);
  return error;
}

std::string DeError::Display() const {
  std::string out;
  if (has_path && !path.empty()) out = path + ": ";
  out += message;
  if (line != 0) {
    out += " at line " + std::to_string(line) + " column " + std::to_string(column);
  }
  return out;
}

std::string UnexpectedNumber(const Number& number) {
  switch (number.kind) {
    case Number::Kind::kU64:
      return "integer `" + std::to_string(number.u) + "`";
    case Number::Kind::kI64:
      return "integer `" + std::to_string(number.i) + "`";
    case Number::Kind::kF64:
      return "floating point `" + rust_format::F64WithDecimalPoint(number.f) + "`";
  }
  return "";
}

Reader::Position Reader::PositionOf(size_t index) const {
  Position position{1, 0};
  for (size_t i = 0; i < index && i < input_.size(); ++i) {
    if (input_[i] == '\n') {
      ++position.line;
      position.column = 0;
    } else {
      ++position.column;
    }
  }
  return position;
}

void Reader::ErrorAt(Code code, size_t index) const {
  DeError error;
  error.category = IsEof(code) ? ErrorCategory::kEof : ErrorCategory::kSyntax;
  error.message = std::string(CodeText(code));
  const Position position = PositionOf(index);
  error.line = position.line;
  error.column = position.column;
  throw error;
}

void Reader::Error(Code code) const { ErrorAt(code, index_); }

void Reader::PeekError(Code code) const { ErrorAt(code, std::min(index_ + 1, input_.size())); }

void Reader::FixPosition(DeError& error) const {
  if (error.line != 0) return;
  const Position position = PositionOf(index_);
  error.line = position.line;
  error.column = position.column;
}

std::optional<uint8_t> Reader::ParseWhitespace() {
  while (index_ < input_.size()) {
    const uint8_t c = static_cast<uint8_t>(input_[index_]);
    if (c != ' ' && c != '\n' && c != '\t' && c != '\r') return c;
    ++index_;
  }
  return std::nullopt;
}

std::optional<uint8_t> Reader::Peek() const {
  if (index_ < input_.size()) return static_cast<uint8_t>(input_[index_]);
  return std::nullopt;
}

uint8_t Reader::PeekOrNull() const { return Peek().value_or(0); }

std::optional<uint8_t> Reader::NextChar() {
  std::optional<uint8_t> c = Peek();
  if (c) ++index_;
  return c;
}

std::string Reader::ParseStr() {
  std::string out;
  while (true) {
    const size_t start = index_;
    while (index_ < input_.size()) {
      const uint8_t c = static_cast<uint8_t>(input_[index_]);
      if (c == '"' || c == '\\' || c < 0x20) break;
      ++index_;
    }
    out.append(input_.substr(start, index_ - start));
    if (index_ == input_.size()) Error(Code::kEofWhileParsingString);
    const uint8_t c = static_cast<uint8_t>(input_[index_]);
    ++index_;
    if (c == '"') {
      if (!rust_format::IsValidUtf8(out)) Error(Code::kInvalidUnicodeCodePoint);
      return out;
    }
    if (c == '\\') {
      ParseEscape(out);
    } else {
      Error(Code::kControlCharacterWhileParsingString);
    }
  }
}

uint16_t Reader::DecodeHexEscape() {
  if (index_ + 4 > input_.size()) {
    index_ = input_.size();
    Error(Code::kEofWhileParsingString);
  }
  uint16_t n = 0;
  for (int i = 0; i < 4; ++i) {
    const int value = HexValue(static_cast<uint8_t>(input_[index_]));
    ++index_;
    if (value < 0) Error(Code::kInvalidEscape);
    n = static_cast<uint16_t>((n << 4) + value);
  }
  return n;
}

void Reader::ParseEscape(std::string& out) {
  const std::optional<uint8_t> c = NextChar();
  if (!c) Error(Code::kEofWhileParsingString);
  switch (*c) {
    case '"':
      out.push_back('"');
      return;
    case '\\':
      out.push_back('\\');
      return;
    case '/':
      out.push_back('/');
      return;
    case 'b':
      out.push_back('\b');
      return;
    case 'f':
      out.push_back('\f');
      return;
    case 'n':
      out.push_back('\n');
      return;
    case 'r':
      out.push_back('\r');
      return;
    case 't':
      out.push_back('\t');
      return;
    case 'u':
      break;
    default:
      Error(Code::kInvalidEscape);
  }
  const uint16_t n1 = DecodeHexEscape();
  if (n1 >= 0xDC00 && n1 <= 0xDFFF) Error(Code::kLoneLeadingSurrogateInHexEscape);
  if (n1 < 0xD800 || n1 > 0xDBFF) {
    common::AppendUtf8(n1, out);
    return;
  }
  for (const uint8_t expected : {uint8_t{'\\'}, uint8_t{'u'}}) {
    const std::optional<uint8_t> next = Peek();
    if (!next) Error(Code::kEofWhileParsingString);
    EatChar();
    if (*next != expected) Error(Code::kUnexpectedEndOfHexEscape);
  }
  const uint16_t n2 = DecodeHexEscape();
  if (n2 < 0xDC00 || n2 > 0xDFFF) Error(Code::kLoneLeadingSurrogateInHexEscape);
  common::AppendUtf8((((n1 - 0xD800u) << 10) | (n2 - 0xDC00u)) + 0x10000u, out);
}

void Reader::ParseIdent(std::string_view rest) {
  for (const char expected : rest) {
    const std::optional<uint8_t> c = NextChar();
    if (!c) Error(Code::kEofWhileParsingValue);
    if (*c != static_cast<uint8_t>(expected)) Error(Code::kExpectedSomeIdent);
  }
}

Number Reader::ParseInteger(bool positive) {
  const size_t start = positive ? index_ : index_ - 1;
  const std::optional<uint8_t> first = NextChar();
  if (!first) Error(Code::kEofWhileParsingValue);
  if (*first == '0') {
    if (IsDigit(PeekOrNull())) PeekError(Code::kInvalidNumber);
    return ParseNumber(positive, 0, start);
  }
  if (!IsDigit(*first)) Error(Code::kInvalidNumber);
  uint64_t significand = *first - '0';
  while (true) {
    const uint8_t c = PeekOrNull();
    if (!IsDigit(c)) return ParseNumber(positive, significand, start);
    const uint64_t digit = c - '0';
    if (significand > (std::numeric_limits<uint64_t>::max() - digit) / 10) {
      Number number;
      number.kind = Number::Kind::kF64;
      number.f = ParseLongInteger(start);
      return number;
    }
    EatChar();
    significand = significand * 10 + digit;
  }
}

Number Reader::ParseNumber(bool positive, uint64_t significand, size_t start) {
  Number number;
  const uint8_t c = PeekOrNull();
  if (c == '.') {
    number.kind = Number::Kind::kF64;
    number.f = ParseDecimal(start);
  } else if (c == 'e' || c == 'E') {
    number.kind = Number::Kind::kF64;
    number.f = ParseExponent(start);
  } else if (positive) {
    number.kind = Number::Kind::kU64;
    number.u = significand;
  } else {
    // Rust: (significand as i64).wrapping_neg(); a float on underflow and for -0.
    const int64_t negated = static_cast<int64_t>(0 - significand);
    if (negated >= 0) {
      number.kind = Number::Kind::kF64;
      number.f = -static_cast<double>(significand);
    } else {
      number.kind = Number::Kind::kI64;
      number.i = negated;
    }
  }
  return number;
}

double Reader::ParseLongInteger(size_t start) {
  while (IsDigit(PeekOrNull())) EatChar();
  const uint8_t c = PeekOrNull();
  if (c == '.') return ParseDecimal(start);
  if (c == 'e' || c == 'E') return ParseExponent(start);
  return FinishFloat(start);
}

double Reader::ParseDecimal(size_t start) {
  EatChar();
  bool at_least_one_digit = false;
  while (IsDigit(PeekOrNull())) {
    EatChar();
    at_least_one_digit = true;
  }
  if (!at_least_one_digit) {
    PeekError(Peek() ? Code::kInvalidNumber : Code::kEofWhileParsingValue);
  }
  const uint8_t c = PeekOrNull();
  if (c == 'e' || c == 'E') return ParseExponent(start);
  return FinishFloat(start);
}

double Reader::ParseExponent(size_t start) {
  EatChar();
  const uint8_t sign = PeekOrNull();
  if (sign == '+' || sign == '-') EatChar();
  const std::optional<uint8_t> first = NextChar();
  if (!first) Error(Code::kEofWhileParsingValue);
  if (!IsDigit(*first)) Error(Code::kInvalidNumber);
  while (IsDigit(PeekOrNull())) EatChar();
  return FinishFloat(start);
}

double Reader::FinishFloat(size_t start) {
  const std::string_view text = input_.substr(start, index_ - start);
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec == std::errc::result_out_of_range) {
    // Overflow is an error; underflow is 0 (strtod tells them apart; the text is plain ASCII).
    value = std::strtod(std::string(text).c_str(), nullptr);
  }
  if (std::isinf(value)) Error(Code::kNumberOutOfRange);
  return value;
}

void Reader::PeekInvalidType(std::string_view expected) {
  std::string unexpected;
  switch (PeekOrNull()) {
    case 'n':
      EatChar();
      ParseIdent("ull");
      unexpected = "null";
      break;
    case 't':
      EatChar();
      ParseIdent("rue");
      unexpected = "boolean `true`";
      break;
    case 'f':
      EatChar();
      ParseIdent("alse");
      unexpected = "boolean `false`";
      break;
    case '-':
      EatChar();
      unexpected = UnexpectedNumber(ParseInteger(false));
      break;
    case '"':
      EatChar();
      unexpected = "string " + rust_format::StrDebug(ParseStr());
      break;
    case '[':
      unexpected = "sequence";
      break;
    case '{':
      unexpected = "map";
      break;
    default:
      if (!IsDigit(PeekOrNull())) PeekError(Code::kExpectedSomeValue);
      unexpected = UnexpectedNumber(ParseInteger(true));
  }
  DeError error =
      DeError::Data("invalid type: " + unexpected + ", expected " + std::string(expected));
  FixPosition(error);
  throw error;
}

boost::json::value Reader::ParseAny() {
  const std::optional<uint8_t> peek = ParseWhitespace();
  if (!peek) PeekError(Code::kEofWhileParsingValue);
  switch (*peek) {
    case 'n':
      EatChar();
      ParseIdent("ull");
      return nullptr;
    case 't':
      EatChar();
      ParseIdent("rue");
      return true;
    case 'f':
      EatChar();
      ParseIdent("alse");
      return false;
    case '"':
      EatChar();
      return boost::json::value(ParseStr());
    case '[': {
      EnterNested();
      EatChar();
      boost::json::array array;
      bool first = true;
      while (NextElement(first)) {
        array.push_back(InIndex(array.size(), [&] { return ParseAny(); }));
      }
      LeaveNested();
      EndSeq();
      return array;
    }
    case '{': {
      EnterNested();
      EatChar();
      boost::json::object object;
      bool first = true;
      while (std::optional<std::string> key = NextKey(first)) {
        ParseObjectColon();
        object[*key] = InKey(*key, [&] { return ParseAny(); });
      }
      LeaveNested();
      EndMap();
      return object;
    }
    default: {
      Number number;
      if (*peek == '-') {
        EatChar();
        number = ParseInteger(false);
      } else if (IsDigit(*peek)) {
        number = ParseInteger(true);
      } else {
        PeekError(Code::kExpectedSomeValue);
      }
      switch (number.kind) {
        case Number::Kind::kU64:
          return number.u;
        case Number::Kind::kI64:
          return number.i;
        case Number::Kind::kF64:
          return number.f;
      }
      return nullptr;
    }
  }
}

void Reader::EnterNested() {
  --remaining_depth_;
  if (remaining_depth_ == 0) PeekError(Code::kRecursionLimitExceeded);
}

std::optional<std::string> Reader::NextKey(bool& first) {
  std::optional<uint8_t> peek = ParseWhitespace();
  if (!peek) PeekError(Code::kEofWhileParsingObject);
  if (*peek == '}') return std::nullopt;
  if (*peek == ',' && !first) {
    EatChar();
    peek = ParseWhitespace();
  } else if (first) {
    first = false;
  } else {
    PeekError(Code::kExpectedObjectCommaOrEnd);
  }
  if (!peek) PeekError(Code::kEofWhileParsingValue);
  if (*peek == '"') {
    EatChar();
    return ParseStr();
  }
  PeekError(*peek == '}' ? Code::kTrailingComma : Code::kKeyMustBeAString);
}

void Reader::ParseObjectColon() {
  const std::optional<uint8_t> peek = ParseWhitespace();
  if (!peek) PeekError(Code::kEofWhileParsingObject);
  if (*peek != ':') PeekError(Code::kExpectedColon);
  EatChar();
}

bool Reader::NextElement(bool& first) {
  std::optional<uint8_t> peek = ParseWhitespace();
  if (!peek) PeekError(Code::kEofWhileParsingList);
  if (*peek == ']') return false;
  if (*peek == ',' && !first) {
    EatChar();
    peek = ParseWhitespace();
  } else if (first) {
    first = false;
  } else {
    PeekError(Code::kExpectedListCommaOrEnd);
  }
  if (!peek) PeekError(Code::kEofWhileParsingValue);
  if (*peek == ']') PeekError(Code::kTrailingComma);
  return true;
}

void Reader::EndMap() {
  const std::optional<uint8_t> peek = ParseWhitespace();
  if (!peek) PeekError(Code::kEofWhileParsingObject);
  if (*peek == '}') {
    EatChar();
    return;
  }
  PeekError(*peek == ',' ? Code::kTrailingComma : Code::kTrailingCharacters);
}

void Reader::EndSeq() {
  const std::optional<uint8_t> peek = ParseWhitespace();
  if (!peek) PeekError(Code::kEofWhileParsingList);
  if (*peek == ']') {
    EatChar();
    return;
  }
  if (*peek == ',') {
    EatChar();
    const std::optional<uint8_t> next = ParseWhitespace();
    PeekError(next == uint8_t{']'} ? Code::kTrailingComma : Code::kTrailingCharacters);
  }
  PeekError(Code::kTrailingCharacters);
}

std::string Reader::PathText() const {
  std::string out;
  for (size_t i = 0; i < path_.size(); ++i) {
    if (path_[i].index) {
      out += "[" + path_[i].text + "]";
    } else {
      if (i > 0) out += '.';
      out += path_[i].text;
    }
  }
  return out;
}

}  // namespace tgi::router::serde
