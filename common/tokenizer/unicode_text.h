// UTF-8 and Unicode helpers for the tokenizer: validation, lossy repair with Rust's
// String::from_utf8_lossy rules, code-point iteration and the character classes the Hugging Face
// components rely on (Rust's char::is_whitespace, regex \w, char::is_numeric).
// Pure functions over bytes; no normalization here (normalizers.cc owns utf8proc's NFC/NFKC).
#pragma once

#include "common/utf8.h"

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/string_view.h"
#include "common/tokenizer/alignments.h"

namespace tgi::common::tokenizer_impl {

// Debian's absl is built with its own string_view type; this converts for absl calls.
inline absl::string_view AbslView(std::string_view text) { return {text.data(), text.size()}; }

inline constexpr char32_t kReplacementChar = 0xFFFD;
inline constexpr std::string_view kReplacementUtf8 = "\xEF\xBF\xBD";

// Length of the well-formed UTF-8 sequence starting at text[pos] and its code point in *cp, or 0
// when the bytes there are not a well-formed sequence (Unicode table 3-7).
size_t DecodeUtf8(std::string_view text, size_t pos, char32_t* cp);

bool IsValidUtf8(std::string_view text);

// Replaces every maximal ill-formed subpart with U+FFFD, exactly as Rust's from_utf8_lossy. When
// `alignments` is not null, appends for each output byte the range of `bytes` it stands for.
std::string LossyUtf8(std::string_view bytes, std::vector<Alignment>* alignments = nullptr);

using common::AppendUtf8;

// Number of code points of valid UTF-8 text.
size_t CountCodePoints(std::string_view text);

// Byte length of the first `count` code points of valid UTF-8 text (all of it if shorter).
size_t CodePointPrefixBytes(std::string_view text, size_t count);

// Rust char::is_whitespace (the Unicode White_Space property).
bool IsWhitespace(char32_t cp);
// Rust regex \w: alphabetic, marks, decimal digits, connector punctuation, join controls.
bool IsWordChar(char32_t cp);
// Rust char::is_numeric: general categories Nd, Nl and No.
bool IsNumeric(char32_t cp);
// General category Mn (what StripAccents removes).
bool IsNonSpacingMark(char32_t cp);

// The first / last code point of valid UTF-8 text; false when it is empty.
bool FirstCodePoint(std::string_view text, char32_t* cp);
bool LastCodePoint(std::string_view text, char32_t* cp);

}  // namespace tgi::common::tokenizer_impl
