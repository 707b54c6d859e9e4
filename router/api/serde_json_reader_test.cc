#include "router/api/serde_json_reader.h"

#include <gtest/gtest.h>

#include <string>

#include "router/api/serde_typed.h"

namespace tgi::router::serde {
namespace {

// The error a whole-input read throws, as serde_path_to_error displays it.
template <typename F>
std::string ErrorOf(std::string_view input, F read) {
  Reader reader(input);
  try {
    read(reader);
  } catch (const DeError& error) {
    return error.Display();
  }
  return "no error";
}

TEST(ReaderTest, IgnoreValueSkipsAnyValue) {
  Reader reader(R"( {"a":[1,-2.5e3,true,null,{"b":"\u00e9\""}],"c":{}} ,)");
  reader.IgnoreValue();
  EXPECT_EQ(reader.ParseWhitespace(), uint8_t{','});
}

TEST(ReaderTest, IgnoreValueErrorsAsSerdeJson) {
  const auto ignore = [](Reader& r) { r.IgnoreValue(); };
  EXPECT_EQ(ErrorOf("[1,]", ignore), "expected value at line 1 column 4");
  EXPECT_EQ(ErrorOf(R"({"a":1,})", ignore), "key must be a string at line 1 column 8");
  EXPECT_EQ(ErrorOf("[1 2]", ignore), "expected `,` or `]` at line 1 column 4");
  EXPECT_EQ(ErrorOf("[1", ignore), "EOF while parsing a list at line 1 column 2");
  EXPECT_EQ(ErrorOf("tru", ignore), "EOF while parsing a value at line 1 column 3");
  EXPECT_EQ(ErrorOf("1.", ignore), "invalid number at line 1 column 2");
  EXPECT_EQ(ErrorOf(R"("ab)", ignore), "EOF while parsing a string at line 1 column 3");
}

TEST(ReaderTest, ParseAnyBuildsTheValue) {
  Reader reader(R"({"n":-3,"u":18446744073709551615,"f":0.5,"s":"x","a":[null,false]})");
  const boost::json::value value = reader.ParseAny();
  EXPECT_EQ(value.at("n").as_int64(), -3);
  EXPECT_EQ(value.at("u").as_uint64(), 18446744073709551615ull);
  EXPECT_EQ(value.at("f").as_double(), 0.5);
  EXPECT_EQ(value.at("s").as_string(), "x");
  EXPECT_TRUE(value.at("a").as_array()[0].is_null());
}

TEST(ReaderTest, ParseAnyErrorsAsSerdeJson) {
  const auto any = [](Reader& r) { r.ParseAny(); };
  EXPECT_EQ(ErrorOf("[1,]", any), "trailing comma at line 1 column 4");
  EXPECT_EQ(ErrorOf(R"({"a":1,})", any), "trailing comma at line 1 column 8");
  EXPECT_EQ(ErrorOf("1e999", any), "number out of range at line 1 column 5");
  EXPECT_EQ(ErrorOf(R"(["\ud800"])", any), "[0]: unexpected end of hex escape at line 1 column 9");
  EXPECT_EQ(ErrorOf(R"({"k":[1,x]})", any), "k[1]: expected value at line 1 column 9");
  std::string path;
  for (int i = 0; i < 127; ++i) path += "[0]";
  EXPECT_EQ(ErrorOf(std::string(200, '['), any),
            path + ": recursion limit exceeded at line 1 column 128");
}

TEST(ReaderTest, TinyExponentIsZero) {
  Reader reader("1e-999");
  EXPECT_EQ(reader.ParseAny().as_double(), 0.0);
}

TEST(TypedTest, NumbersCheckTheirRange) {
  EXPECT_EQ(ErrorOf("300000000000", [](Reader& r) { ReadI32(r); }),
            "invalid value: integer `300000000000`, expected i32 at line 1 column 12");
  EXPECT_EQ(ErrorOf("-5", [](Reader& r) { ReadUsize(r); }),
            "invalid value: integer `-5`, expected usize at line 1 column 2");
  EXPECT_EQ(ErrorOf("[1]", [](Reader& r) { ReadF32(r); }),
            "invalid type: sequence, expected f32 at line 1 column 0");
  EXPECT_EQ(ErrorOf("{}", [](Reader& r) { ReadString(r); }),
            "invalid type: map, expected a string at line 1 column 0");
  Reader reader("-7");
  EXPECT_EQ(ReadI32(reader), -7);
}

}  // namespace
}  // namespace tgi::router::serde
