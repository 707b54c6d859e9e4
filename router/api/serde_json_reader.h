// A pull reader over a request body that fails where and as serde_json's slice Deserializer does
// behind axum 0.6 + serde_path_to_error (TGI's body reading): same message, line/column, category
// (syntax/EOF -> 400, data -> 422) and path prefix. Only the JSON grammar and serde_json's
// container protocol live here (typed reads: serde_typed.h). DeError is thrown inside the parser
// only and must be caught by whoever started the parse; nothing outside throws it.
#pragma once

#include <boost/json/value.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace tgi::router::serde {

// serde_json::error::Category (Io cannot happen on a buffered body).
enum class ErrorCategory { kSyntax, kEof, kData };

// serde_json's ErrorCode values that the grammar produces (the Message code is DeError::Data).
enum class Code {
  kEofWhileParsingList,
  kEofWhileParsingObject,
  kEofWhileParsingString,
  kEofWhileParsingValue,
  kExpectedColon,
  kExpectedListCommaOrEnd,
  kExpectedObjectCommaOrEnd,
  kExpectedSomeIdent,
  kExpectedSomeValue,
  kInvalidEscape,
  kInvalidNumber,
  kNumberOutOfRange,
  kInvalidUnicodeCodePoint,
  kControlCharacterWhileParsingString,
  kKeyMustBeAString,
  kLoneLeadingSurrogateInHexEscape,
  kTrailingComma,
  kTrailingCharacters,
  kUnexpectedEndOfHexEscape,
  kRecursionLimitExceeded,
};

struct DeError {
  ErrorCategory category = ErrorCategory::kData;
  std::string message;
  // 0: not positioned yet (serde's custom errors); the enclosing container fixes it.
  size_t line = 0;
  size_t column = 0;
  // serde_path_to_error's path ("parameters.stop[1]"), set by the innermost segment.
  bool has_path = false;
  std::string path;

  // A data error (serde's de::Error::custom) without a position.
  static DeError Data(std::string message);
  // What serde_path_to_error's Error displays: "{path}: {message} at line {l} column {c}".
  std::string Display() const;
};

// A JSON number as serde_json's parser classifies it.
struct Number {
  enum class Kind { kU64, kI64, kF64 };
  Kind kind = Kind::kU64;
  uint64_t u = 0;
  int64_t i = 0;
  double f = 0;
};

// serde's Unexpected text for a number: "integer `5`", "floating point `1.5`".
std::string UnexpectedNumber(const Number& number);

class Reader {
 public:
  explicit Reader(std::string_view input) : input_(input) {}

  // Skips JSON whitespace; the next byte, or nullopt at the end.
  std::optional<uint8_t> ParseWhitespace();
  std::optional<uint8_t> Peek() const;
  uint8_t PeekOrNull() const;
  void EatChar() { ++index_; }
  size_t index() const { return index_; }

  // serde_json's error() and peek_error(): syntax errors at the read position or just after it.
  [[noreturn]] void Error(Code code) const;
  [[noreturn]] void PeekError(Code code) const;
  // Positions an unpositioned (data) error at the read position, as serde_json's fix_position.
  void FixPosition(DeError& error) const;

  // The string whose opening quote was just eaten (escapes decoded, UTF-8 checked).
  std::string ParseStr();
  // The rest of `null`, `true` or `false` after its first letter was eaten.
  void ParseIdent(std::string_view rest);
  // An integer or float; for a negative one the '-' was just eaten.
  Number ParseInteger(bool positive);
  // serde_json's peek_invalid_type: consumes the scalar ahead and throws
  // "invalid type: <what is there>, expected <expected>".
  [[noreturn]] void PeekInvalidType(std::string_view expected);
  // serde::de::IgnoredAny: skips one value, checking its syntax as serde_json does.
  void IgnoreValue();
  // IgnoreValue, returning the text of the value skipped.
  std::string_view IgnoreValueRaw();
  // serde_json::Value: one value of any shape.
  boost::json::value ParseAny();

  // serde_json's check_recursion around a nested '{' or '['; throws past 127 levels.
  void EnterNested();
  void LeaveNested() { ++remaining_depth_; }

  // MapAccess::next_key_seed: the next key, or nullopt at '}'. `first` starts true.
  std::optional<std::string> NextKey(bool& first);
  // The ':' between a key and its value.
  void ParseObjectColon();
  // SeqAccess::next_element_seed up to the element: whether one follows (false at ']').
  bool NextElement(bool& first);
  // The closing '}' / ']' of a visited container.
  void EndMap();
  void EndSeq();

  // Run `read` with a map key / sequence index appended to the path; an error escaping it
  // without a path gets the path as it is there (the innermost segment wins).
  template <typename F>
  auto InKey(std::string key, F&& read) -> decltype(read()) {
    return InSegment(Segment{false, std::move(key)}, std::forward<F>(read));
  }
  template <typename F>
  auto InIndex(size_t index, F&& read) -> decltype(read()) {
    return InSegment(Segment{true, std::to_string(index)}, std::forward<F>(read));
  }

 private:
  struct Position {
    size_t line;
    size_t column;
  };
  Position PositionOf(size_t index) const;
  [[noreturn]] void ErrorAt(Code code, size_t index) const;
  std::optional<uint8_t> NextChar();
  void ParseEscape(std::string& out);
  uint16_t DecodeHexEscape();
  Number ParseNumber(bool positive, uint64_t significand, size_t start);
  double ParseLongInteger(size_t start);
  double ParseDecimal(size_t start);
  double ParseExponent(size_t start);
  double FinishFloat(size_t start);
  void IgnoreStr();
  void IgnoreEscape();
  void IgnoreInteger();
  void IgnoreDecimal();
  void IgnoreExponent();
  std::string PathText() const;

  struct Segment {
    bool index;
    std::string text;
  };
  template <typename F>
  auto InSegment(Segment segment, F&& read) -> decltype(read());

  std::string_view input_;
  size_t index_ = 0;
  int remaining_depth_ = 128;
  std::vector<Segment> path_;
};

template <typename F>
auto Reader::InSegment(Segment segment, F&& read) -> decltype(read()) {
  path_.push_back(std::move(segment));
  try {
    if constexpr (std::is_void_v<decltype(read())>) {
      read();
      path_.pop_back();
    } else {
      auto result = read();
      path_.pop_back();
      return result;
    }
  } catch (DeError& error) {
    if (!error.has_path) {
      error.has_path = true;
      error.path = PathText();
    }
    path_.pop_back();
    throw;
  }
}

}  // namespace tgi::router::serde
