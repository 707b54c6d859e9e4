#include "router/api/rust_format.h"

#include "common/utf8.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace tgi::router::rust_format {
namespace {

using common::AppendUtf8;

// A finite non-zero value as `digits` x 10^`exponent`, with the shortest digits that round-trip.
struct ShortestDecimal {
  bool negative = false;
  std::string digits;
  int exponent = 0;
};

template <typename Float>
ShortestDecimal Shortest(Float value) {
  char buffer[64];
  auto [end, ec] =
      std::to_chars(buffer, buffer + sizeof(buffer), value, std::chars_format::scientific);
  std::string_view text(buffer, end - buffer);
  ShortestDecimal result;
  if (!text.empty() && text.front() == '-') {
    result.negative = true;
    text.remove_prefix(1);
  }
  const size_t e = text.find('e');
  for (char c : text.substr(0, e)) {
    if (c != '.') result.digits.push_back(c);
  }
  const int scientific_exponent = std::atoi(std::string(text.substr(e + 1)).c_str());
  result.exponent = scientific_exponent - static_cast<int>(result.digits.size() - 1);
  return result;
}

// ryu's pretty formatting; `max_fixed` is 16 for f64 and 13 for f32, `min_fixed` -5 and -6.
std::string RyuPretty(const ShortestDecimal& d, int max_fixed, int min_fixed) {
  std::string out;
  if (d.negative) out.push_back('-');
  const int length = static_cast<int>(d.digits.size());
  const int k = d.exponent;
  const int kk = length + k;  // 10^(kk-1) <= |value| < 10^kk
  if (k >= 0 && kk <= max_fixed) {
    out += d.digits;
    out.append(k, '0');
    out += ".0";
  } else if (kk > 0 && kk <= max_fixed) {
    out += d.digits.substr(0, kk);
    out += '.';
    out += d.digits.substr(kk);
  } else if (kk > min_fixed && kk <= 0) {
    out += "0.";
    out.append(-kk, '0');
    out += d.digits;
  } else {
    out += d.digits[0];
    if (length > 1) {
      out += '.';
      out += d.digits.substr(1);
    }
    out += 'e';
    out += std::to_string(kk - 1);
  }
  return out;
}

template <typename Float>
std::string Ryu(Float value, int max_fixed, int min_fixed) {
  if (value == 0) return std::signbit(value) ? "-0.0" : "0.0";
  return RyuPretty(Shortest(value), max_fixed, min_fixed);
}

// Length of the well-formed UTF-8 sequence at `i` (1..4), or 0 when it is ill-formed; then
// `*valid_prefix` is the length of its maximal valid prefix (at least 1 byte is consumed).
size_t DecodeAt(std::string_view s, size_t i, uint32_t* cp, size_t* valid_prefix) {
  const auto byte = [&](size_t j) { return static_cast<uint8_t>(s[j]); };
  const uint8_t b0 = byte(i);
  *valid_prefix = 1;
  if (b0 < 0x80) {
    *cp = b0;
    return 1;
  }
  size_t need;
  uint8_t lo = 0x80, hi = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    need = 1;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    need = 2;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    need = 3;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  uint32_t value = b0 & (0x3F >> need);
  for (size_t n = 1; n <= need; ++n) {
    if (i + n >= s.size()) return 0;
    const uint8_t b = byte(i + n);
    const uint8_t low = n == 1 ? lo : 0x80;
    const uint8_t high = n == 1 ? hi : 0xBF;
    if (b < low || b > high) return 0;
    value = (value << 6) | (b & 0x3F);
    *valid_prefix = n + 1;
  }
  *cp = value;
  return need + 1;
}

}  // namespace

std::string RyuF32(float value) { return Ryu(value, 13, -6); }

std::string RyuF64(double value) { return Ryu(value, 16, -5); }

std::string F64WithDecimalPoint(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value < 0 ? "-inf" : "inf";
  std::string out;
  if (value == 0) {
    if (std::signbit(value)) out.push_back('-');
    out.push_back('0');
  } else {
    const ShortestDecimal d = Shortest(value);
    const int length = static_cast<int>(d.digits.size());
    const int kk = length + d.exponent;
    if (d.negative) out.push_back('-');
    if (d.exponent >= 0) {
      out += d.digits;
      out.append(d.exponent, '0');
    } else if (kk > 0) {
      out += d.digits.substr(0, kk);
      out += '.';
      out += d.digits.substr(kk);
    } else {
      out += "0.";
      out.append(-kk, '0');
      out += d.digits;
    }
  }
  if (out.find('.') == std::string::npos) out += ".0";
  return out;
}

std::string StrDebug(std::string_view text) {
  std::string out = "\"";
  size_t i = 0;
  while (i < text.size()) {
    uint32_t cp = 0;
    size_t prefix = 0;
    const size_t length = DecodeAt(text, i, &cp, &prefix);
    if (length == 0) {  // not reachable for Rust strings; keep the output valid
      out += "\\u{fffd}";
      i += prefix;
      continue;
    }
    switch (cp) {
      case '\0':
        out += "\\0";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      default:
        if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0xAD) {
          char buffer[16];
          std::snprintf(buffer, sizeof(buffer), "\\u{%x}", cp);
          out += buffer;
        } else {
          out.append(text.substr(i, length));
        }
    }
    i += length;
  }
  out += '"';
  return out;
}

bool IsValidUtf8(std::string_view bytes) {
  size_t i = 0;
  while (i < bytes.size()) {
    uint32_t cp = 0;
    size_t prefix = 0;
    const size_t length = DecodeAt(bytes, i, &cp, &prefix);
    if (length == 0) return false;
    i += length;
  }
  return true;
}

std::string Utf8Lossy(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  size_t i = 0;
  while (i < bytes.size()) {
    uint32_t cp = 0;
    size_t prefix = 0;
    const size_t length = DecodeAt(bytes, i, &cp, &prefix);
    if (length == 0) {
      AppendUtf8(0xFFFD, out);
      i += prefix;
    } else {
      out.append(bytes.substr(i, length));
      i += length;
    }
  }
  return out;
}

}  // namespace tgi::router::rust_format
