// Jinja2's lexer (trim_blocks=True, lstrip_blocks=True): text, tags and expression tokens.
#include "router/chat/lexer.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/utf8.h"

namespace tgi::router::chat {
namespace {

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

int CountNewlines(std::string_view s) {
  return static_cast<int>(std::count(s.begin(), s.end(), '\n'));
}

std::string_view RStrip(std::string_view s) {
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

// Appends the code point written as `digits` hex digits at body[at...]; false if malformed.
bool AppendHexEscape(std::string_view body, size_t at, size_t digits, std::string& out) {
  if (at + digits > body.size()) return false;
  uint32_t cp = 0;
  for (size_t k = at; k < at + digits; ++k) {
    const auto h = static_cast<unsigned char>(body[k]);
    if (!std::isxdigit(h)) return false;
    cp = cp * 16 + (std::isdigit(h) ? h - '0' : std::tolower(h) - 'a' + 10);
  }
  common::AppendUtf8(cp, out);
  return true;
}

// Python's "unicode-escape" decoding of a string literal's body, as Jinja2 applies it: an
// unknown escape stays as written, a truncated \x, \u or \U is an error (nullopt).
std::optional<std::string> Unescape(std::string_view body) {
  static constexpr std::pair<char, char> kSimple[] = {
      {'n', '\n'}, {'t', '\t'}, {'r', '\r'}, {'\\', '\\'}, {'\'', '\''},
      {'"', '"'},  {'a', '\a'}, {'b', '\b'}, {'f', '\f'},  {'v', '\v'}};
  std::string out;
  for (size_t i = 0; i < body.size(); ++i) {
    if (body[i] != '\\' || i + 1 == body.size()) {
      out += body[i];
      continue;
    }
    const char c = body[++i];
    const auto* simple = std::find_if(std::begin(kSimple), std::end(kSimple),
                                      [c](const auto& e) { return e.first == c; });
    if (simple != std::end(kSimple)) {
      out += simple->second;
      continue;
    }
    if (c == '\n') continue;  // a backslash-newline joins lines
    const size_t digits = c == 'x' ? 2 : c == 'u' ? 4 : c == 'U' ? 8 : 0;
    if (digits > 0) {
      if (!AppendHexEscape(body, i + 1, digits, out)) return std::nullopt;
      i += digits;
      continue;
    }
    out += '\\';
    out += c;
  }
  return out;
}

class Lexer {
 public:
  explicit Lexer(std::string_view source) : src_(source) {}

  absl::StatusOr<std::vector<Token>> Run() {
    while (pos_ < src_.size()) {
      const size_t start = FindTagStart(pos_);
      std::string_view text = src_.substr(pos_, start - pos_);
      if (start == src_.size()) {
        Emit(TokenKind::kText, std::string(text));
        line_ += CountNewlines(text);
        break;
      }
      const char type = src_[start + 1];
      const char sign = start + 2 < src_.size() ? src_[start + 2] : '\0';
      const int text_line = line_;
      line_ += CountNewlines(text);
      if (sign == '-') {
        text = RStrip(text);
      } else if (sign != '+' && type != '{') {
        const size_t l_pos = text.rfind('\n') == std::string_view::npos ? 0 : text.rfind('\n') + 1;
        if ((l_pos > 0 || line_starting_) &&
            text.substr(l_pos).find_first_not_of(" \t") == std::string_view::npos) {
          text = text.substr(0, l_pos);
        }
      }
      if (!text.empty()) tokens_.push_back({TokenKind::kText, std::string(text), text_line});
      pos_ = start + 2 + ((sign == '-' || sign == '+') ? 1 : 0);
      absl::Status status = type == '#' ? SkipComment() : LexTag(type == '%');
      if (!status.ok()) return status;
    }
    Emit(TokenKind::kEnd, "");
    return std::move(tokens_);
  }

 private:
  size_t FindTagStart(size_t from) const {
    for (size_t i = from; i + 1 < src_.size(); ++i) {
      if (src_[i] == '{' && (src_[i + 1] == '{' || src_[i + 1] == '%' || src_[i + 1] == '#')) {
        return i;
      }
    }
    return src_.size();
  }

  void Emit(TokenKind kind, std::string value) {
    if (kind == TokenKind::kText && value.empty()) return;
    tokens_.push_back({kind, std::move(value), line_});
  }

  // After a tag's closing delimiter: '-' strips all whitespace, a plain block end one newline.
  void AfterTagEnd(char sign, bool trim_newline) {
    const size_t begin = pos_;
    if (sign == '-') {
      while (pos_ < src_.size() && IsSpace(src_[pos_])) ++pos_;
    } else if (sign != '+' && trim_newline && pos_ < src_.size() && src_[pos_] == '\n') {
      ++pos_;
    }
    line_ += CountNewlines(src_.substr(begin, pos_ - begin));
    line_starting_ = src_[pos_ - 1] == '\n';
  }

  absl::Status SkipComment() {
    const size_t end = src_.find("#}", pos_);
    if (end == std::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat("unterminated comment at line ", line_));
    }
    const char sign = end > pos_ ? src_[end - 1] : '\0';
    line_ += CountNewlines(src_.substr(pos_, end - pos_));
    pos_ = end + 2;
    AfterTagEnd(sign, true);
    return absl::OkStatus();
  }

  // Returns the closing sign ('-', '+' or ' ') when a tag end starts at pos_, else '\0'.
  char MatchTagEnd(bool block) const {
    const std::string_view close = block ? "%}" : "}}";
    const std::string_view rest = src_.substr(pos_);
    if (rest.substr(0, 2) == close) return ' ';
    if (rest.size() >= 3 && rest.substr(1, 2) == close) {
      if (rest[0] == '-') return '-';
      if (rest[0] == '+' && block) return '+';
    }
    return '\0';
  }

  absl::Status LexTag(bool block) {
    Emit(block ? TokenKind::kBlockBegin : TokenKind::kVariableBegin, "");
    int depth = 0;
    while (true) {
      while (pos_ < src_.size() && IsSpace(src_[pos_])) {
        if (src_[pos_] == '\n') ++line_;
        ++pos_;
      }
      if (pos_ >= src_.size()) {
        return absl::InvalidArgumentError(absl::StrCat("unexpected end of template, expected '",
                                                       block ? "%}" : "}}", "' at line ", line_));
      }
      const char sign = depth == 0 ? MatchTagEnd(block) : '\0';
      if (sign != '\0') {
        Emit(block ? TokenKind::kBlockEnd : TokenKind::kVariableEnd, "");
        pos_ += sign == ' ' ? 2 : 3;
        AfterTagEnd(sign, block);
        return absl::OkStatus();
      }
      absl::Status status = LexExpressionToken(depth);
      if (!status.ok()) return status;
    }
  }

  absl::Status LexExpressionToken(int& depth) {
    const char c = src_[pos_];
    if (std::isdigit(static_cast<unsigned char>(c))) return LexNumber();
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      const size_t begin = pos_;
      while (pos_ < src_.size() &&
             (std::isalnum(static_cast<unsigned char>(src_[pos_])) || src_[pos_] == '_')) {
        ++pos_;
      }
      Emit(TokenKind::kName, std::string(src_.substr(begin, pos_ - begin)));
      return absl::OkStatus();
    }
    if (c == '\'' || c == '"') return LexString(c);
    static constexpr std::string_view kTwoChar[] = {"//", "**", "==", "!=", "<=", ">="};
    for (std::string_view op : kTwoChar) {
      if (src_.substr(pos_, 2) == op) {
        Emit(TokenKind::kOperator, std::string(op));
        pos_ += 2;
        return absl::OkStatus();
      }
    }
    if (std::string_view("+-*/%~<>=.:|,()[]{}").find(c) == std::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("unexpected character '", std::string(1, c), "' at line ", line_));
    }
    if (c == '(' || c == '[' || c == '{') ++depth;
    if ((c == ')' || c == ']' || c == '}') && depth > 0) --depth;
    Emit(TokenKind::kOperator, std::string(1, c));
    ++pos_;
    return absl::OkStatus();
  }

  size_t SkipDigits(size_t i) const {
    while (i < src_.size() && (std::isdigit(static_cast<unsigned char>(src_[i])) ||
                               (src_[i] == '_' && i + 1 < src_.size() &&
                                std::isdigit(static_cast<unsigned char>(src_[i + 1]))))) {
      ++i;
    }
    return i;
  }

  absl::Status LexNumber() {
    const size_t begin = pos_;
    size_t i = SkipDigits(pos_);
    bool is_float = false;
    if (i + 1 < src_.size() && src_[i] == '.' &&
        std::isdigit(static_cast<unsigned char>(src_[i + 1]))) {
      i = SkipDigits(i + 1);
      is_float = true;
    }
    if (i < src_.size() && (src_[i] == 'e' || src_[i] == 'E')) {
      size_t j = i + 1;
      if (j < src_.size() && (src_[j] == '+' || src_[j] == '-')) ++j;
      if (j < src_.size() && std::isdigit(static_cast<unsigned char>(src_[j]))) {
        i = SkipDigits(j);
        is_float = true;
      }
    }
    std::string text;
    for (size_t k = begin; k < i; ++k) {
      if (src_[k] != '_') text += src_[k];
    }
    pos_ = i;
    Emit(is_float ? TokenKind::kFloat : TokenKind::kInteger, std::move(text));
    return absl::OkStatus();
  }

  absl::Status LexString(char quote) {
    const int start_line = line_;
    size_t i = pos_ + 1;
    while (i < src_.size() && src_[i] != quote) {
      if (src_[i] == '\\') ++i;
      ++i;
    }
    if (i >= src_.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("unterminated string literal at line ", start_line));
    }
    const std::string_view body = src_.substr(pos_ + 1, i - pos_ - 1);
    std::optional<std::string> value = Unescape(body);
    if (!value.has_value()) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid escape in string literal at line ", start_line));
    }
    tokens_.push_back({TokenKind::kString, std::move(*value), start_line});
    line_ += CountNewlines(body);
    pos_ = i + 1;
    return absl::OkStatus();
  }

  std::string_view src_;
  size_t pos_ = 0;
  int line_ = 1;
  bool line_starting_ = true;
  std::vector<Token> tokens_;
};

}  // namespace

absl::StatusOr<std::vector<Token>> Tokenize(std::string_view source) {
  // As Jinja2 (keep_trailing_newline=False): \r\n and \r become \n, one final \n is dropped.
  std::string normalized;
  normalized.reserve(source.size());
  for (size_t i = 0; i < source.size(); ++i) {
    if (source[i] != '\r') {
      normalized += source[i];
      continue;
    }
    normalized += '\n';
    if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
  }
  if (!normalized.empty() && normalized.back() == '\n') normalized.pop_back();
  return Lexer(normalized).Run();
}

}  // namespace tgi::router::chat
