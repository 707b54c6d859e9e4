// The text Rust prints for numbers and strings where TGI's clients can see it: serde_json's float
// output (the ryu crate), serde's "floating point `1.0`" (f64 Display with a decimal point), a
// str's Debug form (serde's `string "..."`), and String::from_utf8_lossy. Pure functions over
// values; no JSON structure and no I/O here.
#pragma once

#include <string>
#include <string_view>

namespace tgi::router::rust_format {

// serde_json's text for a finite f32 / f64 (ryu "pretty" output: 1.0, 0.001, 1e-7, 1.5e20).
std::string RyuF32(float value);
std::string RyuF64(double value);

// Rust's `{}` for an f64 (shortest round-trip digits, never an exponent: 1e20 ->
// "100000000000000000000"), with ".0" appended when there is no decimal point, as serde's
// Unexpected::Float prints it. Non-finite values print as inf, -inf, NaN.
std::string F64WithDecimalPoint(double value);

// Rust's `{:?}` for a str: quoted, with \" \\ \n \r \t \0 and \u{..} escapes.
std::string StrDebug(std::string_view text);

// Whether `bytes` is well-formed UTF-8.
bool IsValidUtf8(std::string_view bytes);

// String::from_utf8_lossy: every maximal ill-formed subsequence becomes one U+FFFD.
std::string Utf8Lossy(std::string_view bytes);

}  // namespace tgi::router::rust_format
