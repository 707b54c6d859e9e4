#include "router/api/generate_request.h"

#include <gtest/gtest.h>

#include <string>

#include "router/api/errors.h"

namespace tgi::router {
namespace {

constexpr std::string_view kSyntax = "Failed to parse the request body as JSON: ";
constexpr std::string_view kData = "Failed to deserialize the JSON body into the target type: ";

struct RejectionCase {
  std::string name;
  std::string body;
  int status;
  std::string message;  // the whole plain-text body
};

class BodyRejectionTest : public testing::TestWithParam<RejectionCase> {};

TEST_P(BodyRejectionTest, MatchesAxum) {
  const RejectionCase& c = GetParam();
  const absl::StatusOr<GenerateRequest> request = ParseGenerateRequest(c.body);
  ASSERT_FALSE(request.ok());
  const HttpError error = ToHttpError(request.status());
  EXPECT_EQ(error.status, c.status);
  EXPECT_EQ(error.content_type, "text/plain; charset=utf-8");
  EXPECT_EQ(error.body, c.message);
}

std::string Syntax(std::string_view detail) { return std::string(kSyntax) + std::string(detail); }
std::string Data(std::string_view detail) { return std::string(kData) + std::string(detail); }

INSTANTIATE_TEST_SUITE_P(
    Bodies, BodyRejectionTest,
    testing::Values(
        RejectionCase{"Empty", "", 400, Syntax("EOF while parsing a value at line 1 column 0")},
        RejectionCase{"EofInValue", R"({"inputs":)", 400,
                      Syntax("inputs: EOF while parsing a value at line 1 column 10")},
        RejectionCase{"EofInObject", R"({"inputs":"a")", 400,
                      Syntax("EOF while parsing an object at line 1 column 13")},
        RejectionCase{"NotJson", "hello", 400, Syntax("expected value at line 1 column 1")},
        RejectionCase{"BadLiteral", R"({"inputs":"a","parameters":nul})", 400,
                      Syntax("parameters: expected ident at line 1 column 31")},
        RejectionCase{"MissingComma", R"({"inputs":"a" "x":1})", 400,
                      Syntax("expected `,` or `}` at line 1 column 15")},
        RejectionCase{"KeyNotString", R"({inputs:"a"})", 400,
                      Syntax("key must be a string at line 1 column 2")},
        RejectionCase{"MissingColon", R"({"inputs" "a"})", 400,
                      Syntax("expected `:` at line 1 column 11")},
        RejectionCase{"TrailingCommaInParameters", R"({"inputs":"a","parameters":{"top_k":1,}})",
                      400, Syntax("parameters: trailing comma at line 1 column 39")},
        RejectionCase{"InvalidEscape", R"({"inputs":"\q"})", 400,
                      Syntax("inputs: invalid escape at line 1 column 13")},
        RejectionCase{"ControlCharacter", "{\"inputs\":\"a\tb\"}", 400,
                      Syntax("inputs: control character (\\u0000-\\u001F) found while parsing a "
                             "string at line 1 column 13")},
        RejectionCase{"InvalidUtf8", "{\"inputs\":\"\xff\"}", 400,
                      Syntax("inputs: invalid unicode code point at line 1 column 13")},
        RejectionCase{"LeadingZero", R"({"inputs":"a","parameters":{"seed":01}})", 400,
                      Syntax("parameters.seed: invalid number at line 1 column 37")},
        RejectionCase{"SyntaxInIgnoredField", R"({"inputs":"a","extra":[1,]})", 400,
                      Syntax("extra: expected value at line 1 column 26")},
        RejectionCase{"WrongType", R"({"inputs":1})", 422,
                      Data("inputs: invalid type: integer `1`, expected a string at line 1 "
                           "column 11")},
        RejectionCase{"WrongTypeSecondLine", "{\n\"inputs\": 1\n}", 422,
                      Data("inputs: invalid type: integer `1`, expected a string at line 2 "
                           "column 11")},
        RejectionCase{"MissingInputs", R"({"parameters":{}})", 422,
                      Data("missing field `inputs` at line 1 column 17")},
        RejectionCase{"NegativeUnsigned", R"({"inputs":"a","parameters":{"max_new_tokens":-1}})",
                      422,
                      Data("parameters.max_new_tokens: invalid value: integer `-1`, expected u32 "
                           "at line 1 column 47")},
        RejectionCase{"NegativeZero", R"({"inputs":"a","parameters":{"max_new_tokens":-0}})", 422,
                      Data("parameters.max_new_tokens: invalid type: floating point `-0.0`, "
                           "expected u32 at line 1 column 47")},
        RejectionCase{"U32Overflow", R"({"inputs":"a","parameters":{"max_new_tokens":4294967296}})",
                      422,
                      Data("parameters.max_new_tokens: invalid value: integer `4294967296`, "
                           "expected u32 at line 1 column 55")},
        RejectionCase{"U64Overflow", R"({"inputs":"a","parameters":{"seed":18446744073709551616}})",
                      422,
                      Data("parameters.seed: invalid type: floating point "
                           "`18446744073709552000.0`, expected u64 at line 1 column 55")},
        RejectionCase{"StringForFloat", R"({"inputs":"a","parameters":{"temperature":"hot"}})", 422,
                      Data("parameters.temperature: invalid type: string \"hot\", expected f32 at "
                           "line 1 column 47")},
        RejectionCase{"FloatForInt", R"({"inputs":"a","parameters":{"top_k":2.5}})", 422,
                      Data("parameters.top_k: invalid type: floating point `2.5`, expected i32 at "
                           "line 1 column 39")},
        RejectionCase{"NullForBool", R"({"inputs":"a","parameters":{"do_sample":null}})", 422,
                      Data("parameters.do_sample: invalid type: null, expected a boolean at line 1 "
                           "column 44")},
        RejectionCase{"StringForStop", R"({"inputs":"a","parameters":{"stop":"x"}})", 422,
                      Data("parameters.stop: invalid type: string \"x\", expected a sequence at "
                           "line 1 column 38")},
        RejectionCase{"StopElement", R"({"inputs":"a","parameters":{"stop":["x",2]}})", 422,
                      Data("parameters.stop[1]: invalid type: integer `2`, expected a string at "
                           "line 1 column 41")},
        RejectionCase{"NullParameters", R"({"inputs":"a","parameters":null})", 422,
                      Data("parameters: invalid type: null, expected struct GenerateParameters at "
                           "line 1 column 31")},
        RejectionCase{"DuplicateField", R"({"inputs":"a","inputs":"b"})", 422,
                      Data("duplicate field `inputs` at line 1 column 22")},
        RejectionCase{"NotAnObject", R"("hello")", 422,
                      Data("invalid type: string \"hello\", expected struct GenerateRequest at "
                           "line 1 column 7")},
        RejectionCase{"EmptyArray", "[]", 422,
                      Data("invalid length 0, expected struct GenerateRequest with 2 elements at "
                           "line 1 column 2")},
        RejectionCase{"UnknownGrammarType",
                      R"({"inputs":"a","parameters":{"grammar":{"type":"xml","value":"x"}}})", 422,
                      Data("parameters.grammar.type: unknown variant `xml`, expected `json` or "
                           "`regex` at line 1 column 51")},
        RejectionCase{"GrammarWithoutType",
                      R"({"inputs":"a","parameters":{"grammar":{"value":"x"}}})", 422,
                      Data("parameters.grammar: missing field `type` at line 1 column 51")},
        RejectionCase{"RegexNotString",
                      R"({"inputs":"a","parameters":{"grammar":{"type":"regex","value":1}}})", 422,
                      Data("parameters.grammar.value: invalid type: integer `1`, expected a "
                           "string at line 1 column 63")},
        RejectionCase{"TypeErrorBeforeSyntaxError", R"({"inputs":1, garbage)", 422,
                      Data("inputs: invalid type: integer `1`, expected a string at line 1 "
                           "column 11")}),
    [](const testing::TestParamInfo<RejectionCase>& info) { return info.param.name; });

TEST(GenerateRequestTest, DoSampleDefaultsToTrueOnlyWithoutParameters) {
  absl::StatusOr<GenerateRequest> without = ParseGenerateRequest(R"({"inputs":"Hello"})");
  ASSERT_TRUE(without.ok());
  EXPECT_EQ(without->inputs, "Hello");
  EXPECT_TRUE(without->parameters.do_sample);

  absl::StatusOr<GenerateRequest> with =
      ParseGenerateRequest(R"({"inputs":"Hello","parameters":{}})");
  ASSERT_TRUE(with.ok());
  EXPECT_FALSE(with->parameters.do_sample);
}

TEST(GenerateRequestTest, MaxNewTokensAbsentIs100AndNullIsUnset) {
  absl::StatusOr<GenerateRequest> absent =
      ParseGenerateRequest(R"({"inputs":"a","parameters":{}})");
  ASSERT_TRUE(absent.ok());
  EXPECT_EQ(absent->parameters.max_new_tokens, 100u);

  absl::StatusOr<GenerateRequest> null =
      ParseGenerateRequest(R"({"inputs":"a","parameters":{"max_new_tokens":null}})");
  ASSERT_TRUE(null.ok());
  EXPECT_FALSE(null->parameters.max_new_tokens.has_value());

  absl::StatusOr<GenerateRequest> set =
      ParseGenerateRequest(R"({"inputs":"a","parameters":{"max_new_tokens":7}})");
  ASSERT_TRUE(set.ok());
  EXPECT_EQ(set->parameters.max_new_tokens, 7u);
}

TEST(GenerateRequestTest, ReadsEveryParameter) {
  absl::StatusOr<GenerateRequest> request = ParseGenerateRequest(R"({
    "inputs": "What is Deep Learning?",
    "parameters": {
      "best_of": 2, "temperature": 1, "repetition_penalty": 1.03, "frequency_penalty": -0.5,
      "top_k": 10, "top_p": 0.95, "typical_p": 0.9, "do_sample": true, "max_new_tokens": 20,
      "return_full_text": false, "stop": ["photographer", "\n"], "truncate": 512,
      "watermark": true, "details": true, "decoder_input_details": true,
      "seed": 18446744073709551615, "top_n_tokens": 5,
      "grammar": {"type": "json", "value": {"properties": {"location": {"type": "string"}}}},
      "adapter_id": "lora-1"
    }
  })");
  ASSERT_TRUE(request.ok()) << request.status();
  const GenerateParameters& p = request->parameters;
  EXPECT_EQ(p.best_of, 2u);
  EXPECT_EQ(p.temperature, 1.0f);
  EXPECT_EQ(p.repetition_penalty, 1.03f);
  EXPECT_EQ(p.frequency_penalty, -0.5f);
  EXPECT_EQ(p.top_k, 10);
  EXPECT_EQ(p.top_p, 0.95f);
  EXPECT_EQ(p.typical_p, 0.9f);
  EXPECT_TRUE(p.do_sample);
  EXPECT_EQ(p.max_new_tokens, 20u);
  EXPECT_EQ(p.return_full_text, false);
  EXPECT_EQ(p.stop, (std::vector<std::string>{"photographer", "\n"}));
  EXPECT_EQ(p.truncate, 512u);
  EXPECT_TRUE(p.watermark);
  EXPECT_TRUE(p.details);
  EXPECT_TRUE(p.decoder_input_details);
  EXPECT_EQ(p.seed, 18446744073709551615ull);
  EXPECT_EQ(p.top_n_tokens, 5u);
  ASSERT_TRUE(p.grammar.has_value());
  EXPECT_EQ(p.grammar->kind, GrammarType::Kind::kJson);
  EXPECT_EQ(p.grammar->value.at("properties").at("location").at("type"), "string");
  EXPECT_EQ(p.adapter_id, "lora-1");
}

TEST(GenerateRequestTest, IgnoresUnknownFieldsAndTrailingText) {
  absl::StatusOr<GenerateRequest> request =
      ParseGenerateRequest(R"({"inputs":"Hi","foo":{"bar":[1,2.5e3,{"x":null}]},)"
                           R"("parameters":{"unknown":true,"top_k":5}} trailing)");
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->inputs, "Hi");
  EXPECT_EQ(request->parameters.top_k, 5);
}

TEST(GenerateRequestTest, AdapterIdIsNeverARejection) {
  absl::StatusOr<GenerateRequest> request =
      ParseGenerateRequest(R"({"inputs":"a","parameters":{"adapter_id":5}})");
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_FALSE(request->parameters.adapter_id.has_value());
}

TEST(GenerateRequestTest, DecodesEscapes) {
  absl::StatusOr<GenerateRequest> request =
      ParseGenerateRequest(R"({"inputs":"a\"b\\c\/\n\u00e9\ud83d\ude00"})");
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->inputs, "a\"b\\c/\n\xc3\xa9\xf0\x9f\x98\x80");
}

TEST(GenerateRequestTest, AcceptsSerdeArrayForm) {
  absl::StatusOr<GenerateRequest> request = ParseGenerateRequest(R"(["hello"])");
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->inputs, "hello");
  EXPECT_TRUE(request->parameters.do_sample);
}

TEST(GenerateRequestTest, RegexGrammarWithContentFirst) {
  absl::StatusOr<GenerateRequest> request = ParseGenerateRequest(
      R"({"inputs":"a","parameters":{"grammar":{"value":"[a-z]+","type":"regex"}}})");
  ASSERT_TRUE(request.ok()) << request.status();
  ASSERT_TRUE(request->parameters.grammar.has_value());
  EXPECT_EQ(request->parameters.grammar->kind, GrammarType::Kind::kRegex);
  EXPECT_EQ(request->parameters.grammar->value, "[a-z]+");
}

TEST(CompatGenerateRequestTest, ReadsStream) {
  absl::StatusOr<CompatGenerateRequest> compat =
      ParseCompatGenerateRequest(R"({"inputs":"a","stream":true})");
  ASSERT_TRUE(compat.ok());
  EXPECT_TRUE(compat->stream);
  EXPECT_EQ(compat->request.inputs, "a");

  absl::StatusOr<CompatGenerateRequest> plain = ParseCompatGenerateRequest(R"({"inputs":"a"})");
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->stream);
}

TEST(CompatGenerateRequestTest, RejectsWrongStreamType) {
  absl::StatusOr<CompatGenerateRequest> compat =
      ParseCompatGenerateRequest(R"({"inputs":"a","stream":"yes"})");
  ASSERT_FALSE(compat.ok());
  EXPECT_EQ(KindOf(compat.status()), ErrorKind::kBodyData);
  EXPECT_EQ(compat.status().message(),
            Data("stream: invalid type: string \"yes\", expected a boolean at line 1 column 28"));
}

TEST(ContentTypeTest, AcceptsWhatAxumAccepts) {
  EXPECT_TRUE(IsJsonContentType("application/json"));
  EXPECT_TRUE(IsJsonContentType("application/json; charset=utf-8"));
  EXPECT_TRUE(IsJsonContentType("application/json;charset=utf-8"));
  EXPECT_TRUE(IsJsonContentType("Application/JSON"));
  EXPECT_TRUE(IsJsonContentType("application/cloudevents+json"));
  EXPECT_FALSE(IsJsonContentType(std::nullopt));
  EXPECT_FALSE(IsJsonContentType(""));
  EXPECT_FALSE(IsJsonContentType("text/json"));
  EXPECT_FALSE(IsJsonContentType("application/jsonx"));
  EXPECT_FALSE(IsJsonContentType("text/plain"));
  EXPECT_FALSE(IsJsonContentType("application/json; charset"));
}

TEST(ContentTypeTest, RejectionIs415PlainText) {
  const HttpError error = ToHttpError(UnsupportedMediaTypeError());
  EXPECT_EQ(error.status, 415);
  EXPECT_EQ(error.content_type, "text/plain; charset=utf-8");
  EXPECT_EQ(error.body, "Expected request with `Content-Type: application/json`");
}

}  // namespace
}  // namespace tgi::router
