#include "common/tokenizer/unicode_text.h"

#include <utf8proc.h>

namespace tgi::common::tokenizer_impl {
namespace {

// Bounds of the second byte of a sequence that starts with `lead`, and the sequence length;
// length 0 for bytes that never start a sequence.
struct LeadInfo {
  size_t length;
  unsigned char low;
  unsigned char high;
};

LeadInfo InfoForLead(unsigned char lead) {
  if (lead < 0x80) return {1, 0, 0};
  if (lead >= 0xC2 && lead <= 0xDF) return {2, 0x80, 0xBF};
  if (lead == 0xE0) return {3, 0xA0, 0xBF};
  if ((lead >= 0xE1 && lead <= 0xEC) || lead == 0xEE || lead == 0xEF) return {3, 0x80, 0xBF};
  if (lead == 0xED) return {3, 0x80, 0x9F};
  if (lead == 0xF0) return {4, 0x90, 0xBF};
  if (lead >= 0xF1 && lead <= 0xF3) return {4, 0x80, 0xBF};
  if (lead == 0xF4) return {4, 0x80, 0x8F};
  return {0, 0, 0};
}

// Number of bytes from pos that form a valid prefix of a sequence (at least 1), for the lossy
// conversion: the "maximal subpart" of an ill-formed sequence.
size_t MaximalSubpart(std::string_view text, size_t pos) {
  const LeadInfo info = InfoForLead(static_cast<unsigned char>(text[pos]));
  if (info.length == 0) return 1;
  size_t n = 1;
  while (n < info.length && pos + n < text.size()) {
    const auto byte = static_cast<unsigned char>(text[pos + n]);
    const unsigned char low = n == 1 ? info.low : 0x80;
    const unsigned char high = n == 1 ? info.high : 0xBF;
    if (byte < low || byte > high) break;
    ++n;
  }
  return n;
}

}  // namespace

size_t DecodeUtf8(std::string_view text, size_t pos, char32_t* cp) {
  if (pos >= text.size()) return 0;
  const auto lead = static_cast<unsigned char>(text[pos]);
  const LeadInfo info = InfoForLead(lead);
  if (info.length == 0 || pos + info.length > text.size()) return 0;
  if (info.length == 1) {
    *cp = lead;
    return 1;
  }
  char32_t value = lead & (0xFF >> (info.length + 1));
  for (size_t i = 1; i < info.length; ++i) {
    const auto byte = static_cast<unsigned char>(text[pos + i]);
    const unsigned char low = i == 1 ? info.low : 0x80;
    const unsigned char high = i == 1 ? info.high : 0xBF;
    if (byte < low || byte > high) return 0;
    value = (value << 6) | (byte & 0x3F);
  }
  *cp = value;
  return info.length;
}

bool IsValidUtf8(std::string_view text) {
  size_t pos = 0;
  while (pos < text.size()) {
    if (static_cast<unsigned char>(text[pos]) < 0x80) {
      ++pos;
      continue;
    }
    char32_t cp;
    const size_t len = DecodeUtf8(text, pos, &cp);
    if (len == 0) return false;
    pos += len;
  }
  return true;
}

std::string LossyUtf8(std::string_view bytes, std::vector<Alignment>* alignments) {
  std::string out;
  out.reserve(bytes.size());
  size_t pos = 0;
  while (pos < bytes.size()) {
    char32_t cp;
    const size_t len = DecodeUtf8(bytes, pos, &cp);
    const size_t consumed = len > 0 ? len : MaximalSubpart(bytes, pos);
    const std::string_view emitted = len > 0 ? bytes.substr(pos, len) : kReplacementUtf8;
    out.append(emitted);
    if (alignments != nullptr) {
      alignments->insert(alignments->end(), emitted.size(), Alignment{pos, pos + consumed});
    }
    pos += consumed;
  }
  return out;
}

size_t CountCodePoints(std::string_view text) {
  size_t count = 0;
  for (char c : text) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++count;
  }
  return count;
}

size_t CodePointPrefixBytes(std::string_view text, size_t count) {
  size_t seen = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
      if (seen == count) return i;
      ++seen;
    }
  }
  return text.size();
}

bool IsWhitespace(char32_t cp) {
  switch (cp) {
    case 0x09:
    case 0x0A:
    case 0x0B:
    case 0x0C:
    case 0x0D:
    case 0x20:
    case 0x85:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
      return true;
    default:
      return cp >= 0x2000 && cp <= 0x200A;
  }
}

bool IsWordChar(char32_t cp) {
  if (cp < 0x80) {
    return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || (cp >= '0' && cp <= '9') ||
           cp == '_';
  }
  if (cp == 0x200C || cp == 0x200D) return true;
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(cp))) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC:
    case UTF8PROC_CATEGORY_ME:
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_PC:
      return true;
    default:
      return false;
  }
}

bool IsNumeric(char32_t cp) {
  if (cp < 0x80) return cp >= '0' && cp <= '9';
  const utf8proc_category_t category = utf8proc_category(static_cast<utf8proc_int32_t>(cp));
  return category == UTF8PROC_CATEGORY_ND || category == UTF8PROC_CATEGORY_NL ||
         category == UTF8PROC_CATEGORY_NO;
}

bool IsNonSpacingMark(char32_t cp) {
  return cp >= 0x300 &&
         utf8proc_category(static_cast<utf8proc_int32_t>(cp)) == UTF8PROC_CATEGORY_MN;
}

bool FirstCodePoint(std::string_view text, char32_t* cp) {
  if (text.empty()) return false;
  return DecodeUtf8(text, 0, cp) > 0;
}

bool LastCodePoint(std::string_view text, char32_t* cp) {
  if (text.empty()) return false;
  size_t start = text.size() - 1;
  while (start > 0 && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) --start;
  return DecodeUtf8(text, start, cp) > 0;
}

}  // namespace tgi::common::tokenizer_impl
