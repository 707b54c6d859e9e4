#include "common/tokenizer/pcre_regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/tokenizer/unicode_text.h"

namespace tgi::common::tokenizer_impl {
namespace {

std::string PcreErrorMessage(int code) {
  PCRE2_UCHAR buffer[256];
  if (pcre2_get_error_message(code, buffer, sizeof(buffer)) < 0) {
    return absl::StrCat("PCRE2 error ", code);
  }
  return std::string(reinterpret_cast<const char*>(buffer));
}

struct MatchDataDeleter {
  void operator()(pcre2_match_data* data) const { pcre2_match_data_free(data); }
};

// Hugging Face's regexes run on Oniguruma (and Rust's regex crate), where \s is the Unicode
// White_Space property (U+0085 included) and \w is letters, marks, decimal digits and connector
// punctuation; PCRE2_UCP's \w has other numbers (²) but no marks. Both are spelled out.
constexpr std::string_view kSpaceClass = "\\s\\x{85}";
constexpr std::string_view kWordClass = "\\p{L}\\p{Nl}\\p{M}\\p{Nd}\\p{Pc}\\x{200C}\\x{200D}";

std::string RewriteClasses(std::string_view pattern) {
  std::string out;
  out.reserve(pattern.size() + 16);
  bool in_class = false;
  for (size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '\\' && i + 1 < pattern.size()) {
      const char next = pattern[++i];
      const std::string_view body = next == 's' || next == 'S' ? kSpaceClass : kWordClass;
      if (next == 's' || next == 'w') {
        if (in_class) {
          out.append(body);
        } else {
          out.append("[").append(body).append("]");
        }
      } else if ((next == 'S' || next == 'W') && !in_class) {
        out.append("[^").append(body).append("]");
      } else {
        out.push_back(c);
        out.push_back(next);
      }
      continue;
    }
    out.push_back(c);
    if (!in_class && c == '[') {
      in_class = true;
      // A ']' first in the class (after an optional '^') is a literal.
      if (i + 1 < pattern.size() && pattern[i + 1] == '^') out.push_back(pattern[++i]);
      if (i + 1 < pattern.size() && pattern[i + 1] == ']') out.push_back(pattern[++i]);
    } else if (in_class && c == '[' && i + 1 < pattern.size() && pattern[i + 1] == ':') {
      const size_t close = pattern.find(":]", i + 2);
      if (close != std::string_view::npos) {
        out.append(pattern.substr(i + 1, close + 1 - i));
        i = close + 1;
      }
    } else if (in_class && c == ']') {
      in_class = false;
    }
  }
  return out;
}

}  // namespace

void Regex::CodeDeleter::operator()(void* code) const {
  pcre2_code_free(static_cast<pcre2_code*>(code));
}

absl::StatusOr<Regex> Regex::Compile(std::string_view pattern, bool literal) {
  // PCRE2_LITERAL admits PCRE2_UTF but not PCRE2_UCP (which only matters to classes).
  const uint32_t options = literal ? PCRE2_UTF | PCRE2_LITERAL : PCRE2_UTF | PCRE2_UCP;
  const std::string source = literal ? std::string(pattern) : RewriteClasses(pattern);
  int error_code = 0;
  PCRE2_SIZE error_offset = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(source.data()), source.size(),
                                   options, &error_code, &error_offset, nullptr);
  if (code == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("invalid regex '", AbslView(pattern),
                                                   "' at offset ", error_offset, ": ",
                                                   PcreErrorMessage(error_code)));
  }
  // Without JIT (unsupported platform) the interpreter is used: same results, slower.
  pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
  return Regex(code);
}

absl::StatusOr<std::vector<std::pair<size_t, size_t>>> Regex::FindAll(std::string_view text) const {
  if (!IsValidUtf8(text)) return absl::InvalidArgumentError("regex subject is not valid UTF-8");
  auto* code = static_cast<pcre2_code*>(code_.get());
  std::unique_ptr<pcre2_match_data, MatchDataDeleter> data(
      pcre2_match_data_create_from_pattern(code, nullptr));
  if (data == nullptr) return absl::ResourceExhaustedError("cannot allocate regex match data");
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  std::vector<std::pair<size_t, size_t>> matches;
  size_t start = 0;
  while (start <= text.size()) {
    // The subject was validated once above; checking it again per call would be quadratic.
    int rc =
        pcre2_match(code, subject, text.size(), start, PCRE2_NO_UTF_CHECK, data.get(), nullptr);
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT) {
      rc = pcre2_match(code, subject, text.size(), start, PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT,
                       data.get(), nullptr);
    }
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) {
      return absl::ResourceExhaustedError(
          absl::StrCat("regex match failed: ", PcreErrorMessage(rc)));
    }
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(data.get());
    const size_t begin = ovector[0];
    const size_t end = ovector[1];
    if (end < begin) return absl::InternalError("regex match ends before it begins (\\K)");
    matches.emplace_back(begin, end);
    if (end > begin) {
      start = end;
    } else {
      if (end >= text.size()) break;
      char32_t cp;
      const size_t len = DecodeUtf8(text, end, &cp);
      start = end + (len == 0 ? 1 : len);
    }
  }
  return matches;
}

absl::StatusOr<std::string> Regex::ReplaceAll(std::string_view text,
                                              std::string_view content) const {
  auto matches = FindAll(text);
  if (!matches.ok()) return matches.status();
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  for (const auto& [begin, end] : *matches) {
    out.append(text.substr(pos, begin - pos));
    out.append(content);
    pos = end;
  }
  out.append(text.substr(pos));
  return out;
}

}  // namespace tgi::common::tokenizer_impl
