#include "router/api/rust_format.h"

#include <gtest/gtest.h>

#include <limits>

namespace tgi::router::rust_format {
namespace {

TEST(RyuTest, F32AsSerdeJsonWritesIt) {
  EXPECT_EQ(RyuF32(-0.34f), "-0.34");
  EXPECT_EQ(RyuF32(1.0f), "1.0");
  EXPECT_EQ(RyuF32(0.0f), "0.0");
  EXPECT_EQ(RyuF32(-0.0f), "-0.0");
  EXPECT_EQ(RyuF32(-8.1f), "-8.1");
  EXPECT_EQ(RyuF32(1.2f), "1.2");
  EXPECT_EQ(RyuF32(1234567.0f), "1234567.0");
  EXPECT_EQ(RyuF32(0.000001f), "0.000001");
  EXPECT_EQ(RyuF32(1e-7f), "1e-7");
  EXPECT_EQ(RyuF32(-1.5e-7f), "-1.5e-7");
  EXPECT_EQ(RyuF32(1e13f), "1e13");
  EXPECT_EQ(RyuF32(1.5e20f), "1.5e20");
}

TEST(RyuTest, F64AsSerdeJsonWritesIt) {
  EXPECT_EQ(RyuF64(0.1), "0.1");
  EXPECT_EQ(RyuF64(1e-5), "0.00001");
  EXPECT_EQ(RyuF64(1e-6), "1e-6");
  EXPECT_EQ(RyuF64(1e15), "1000000000000000.0");
  EXPECT_EQ(RyuF64(1e16), "1e16");
  EXPECT_EQ(RyuF64(123.456), "123.456");
}

TEST(F64WithDecimalPointTest, AsSerdeUnexpectedFloat) {
  EXPECT_EQ(F64WithDecimalPoint(1.5), "1.5");
  EXPECT_EQ(F64WithDecimalPoint(1.0), "1.0");
  EXPECT_EQ(F64WithDecimalPoint(-0.0), "-0.0");
  EXPECT_EQ(F64WithDecimalPoint(1e20), "100000000000000000000.0");
  EXPECT_EQ(F64WithDecimalPoint(1.5e-7), "0.00000015");
  EXPECT_EQ(F64WithDecimalPoint(std::numeric_limits<double>::infinity()), "inf");
}

TEST(StrDebugTest, EscapesAsRust) {
  EXPECT_EQ(StrDebug("plain"), "\"plain\"");
  EXPECT_EQ(StrDebug("a\"b\\c\n\t\r"), "\"a\\\"b\\\\c\\n\\t\\r\"");
  EXPECT_EQ(StrDebug(std::string_view("\0\x01\x7f", 3)), "\"\\0\\u{1}\\u{7f}\"");
  EXPECT_EQ(StrDebug("caf\xc3\xa9 'q'"), "\"caf\xc3\xa9 'q'\"");
}

TEST(Utf8LossyTest, ReplacesMaximalSubparts) {
  EXPECT_EQ(Utf8Lossy("ok \xc3\xa9"), "ok \xc3\xa9");
  EXPECT_EQ(Utf8Lossy("a\xc3"), "a\xef\xbf\xbd");
  EXPECT_EQ(Utf8Lossy("\xa9!"), "\xef\xbf\xbd!");
  // E0 80: E0 needs A0..BF next, so each byte is its own ill-formed subsequence.
  EXPECT_EQ(Utf8Lossy("\xe0\x80"), "\xef\xbf\xbd\xef\xbf\xbd");
  // A truncated 4-byte sequence is one maximal subpart.
  EXPECT_EQ(Utf8Lossy("\xf0\x9f\x98x"), "\xef\xbf\xbdx");
  EXPECT_EQ(Utf8Lossy("\xed\xa0\x80"), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
  EXPECT_TRUE(IsValidUtf8("\xf0\x9f\x98\x80"));
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));
}

}  // namespace
}  // namespace tgi::router::rust_format
