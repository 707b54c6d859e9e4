// ParseChatRequest: the chat fields mapped onto GenerateParameters as TGI maps them, message
// contents made strings, serde-style rejections, and CheckChatRequest's n and tools rules.
#include "router/api/chat_request.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>

#include "router/api/errors.h"

namespace tgi::router {
namespace {

ChatRequest Parse(std::string_view body) {
  absl::StatusOr<ChatRequest> request = ParseChatRequest(body);
  EXPECT_TRUE(request.ok()) << request.status();
  return request.ok() ? *request : ChatRequest{};
}

constexpr char kHello[] = R"("messages":[{"role":"user","content":"Hello"}])";

TEST(ChatRequestTest, DefaultsAsTgiMapsThem) {
  const ChatRequest request = Parse(std::string("{") + kHello + "}");
  ASSERT_EQ(request.messages.size(), 1u);
  EXPECT_EQ(boost::json::serialize(request.messages[0]), R"({"role":"user","content":"Hello"})");
  EXPECT_FALSE(request.stream);
  EXPECT_FALSE(request.include_usage);
  EXPECT_FALSE(request.logprobs);
  EXPECT_FALSE(request.model.has_value());
  const GenerateParameters& p = request.parameters;
  EXPECT_EQ(p.max_new_tokens, 100u);
  // No temperature samples (TGI: only 0 means greedy), with temperature left unset.
  EXPECT_TRUE(p.do_sample);
  EXPECT_FALSE(p.temperature.has_value());
  EXPECT_TRUE(p.details);
  EXPECT_TRUE(p.decoder_input_details);
  EXPECT_EQ(p.return_full_text, false);
  EXPECT_FALSE(p.repetition_penalty.has_value());
  EXPECT_FALSE(p.best_of.has_value());
  EXPECT_TRUE(p.stop.empty());
}

TEST(ChatRequestTest, SamplingFields) {
  const ChatRequest request = Parse(std::string("{") + kHello + R"(,
      "model":"tgi","max_tokens":7,"temperature":0,"top_p":0.9,"seed":42,
      "frequency_penalty":0.5,"presence_penalty":0.25,"stop":["a","b"],"logprobs":true,
      "top_logprobs":3,"n":1,"logit_bias":{"1":2},"stream":true,
      "stream_options":{"include_usage":true}})");
  EXPECT_EQ(request.model, "tgi");
  EXPECT_TRUE(request.stream);
  EXPECT_TRUE(request.include_usage);
  EXPECT_TRUE(request.logprobs);
  EXPECT_EQ(request.n, 1u);
  const GenerateParameters& p = request.parameters;
  EXPECT_EQ(p.max_new_tokens, 7u);
  EXPECT_FALSE(p.do_sample);
  EXPECT_FALSE(p.temperature.has_value());
  EXPECT_FLOAT_EQ(*p.top_p, 0.9f);
  EXPECT_EQ(p.seed, 42u);
  EXPECT_FLOAT_EQ(*p.frequency_penalty, 0.5f);
  EXPECT_FLOAT_EQ(*p.repetition_penalty, 2.25f);
  EXPECT_EQ(p.stop, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(p.top_n_tokens, 3u);
  EXPECT_FALSE(p.decoder_input_details);  // not on streams
  EXPECT_TRUE(p.details);
}

TEST(ChatRequestTest, NonZeroTemperatureSamples) {
  const ChatRequest request = Parse(std::string("{") + kHello + R"(,"temperature":0.7})");
  EXPECT_TRUE(request.parameters.do_sample);
  EXPECT_FLOAT_EQ(*request.parameters.temperature, 0.7f);
}

TEST(ChatRequestTest, ResponseFormatIsTheGrammar) {
  const GenerateParameters p =
      Parse(std::string("{") + kHello +
            R"(,"response_format":{"type":"json_object","value":{"type":"object"}}})")
          .parameters;
  ASSERT_TRUE(p.grammar.has_value());
  EXPECT_EQ(p.grammar->kind, GrammarType::Kind::kJson);
  EXPECT_EQ(boost::json::serialize(p.grammar->value), R"({"type":"object"})");
  EXPECT_FALSE(Parse(std::string("{") + kHello + R"(,"response_format":null})")
                   .parameters.grammar.has_value());
}

TEST(ChatRequestTest, StopAsOneString) {
  EXPECT_EQ(Parse(std::string("{") + kHello + R"(,"stop":"\n"})").parameters.stop,
            (std::vector<std::string>{"\n"}));
  EXPECT_TRUE(Parse(std::string("{") + kHello + R"(,"stop":null})").parameters.stop.empty());
}

TEST(ChatRequestTest, ContentPartsAreConcatenated) {
  const ChatRequest request = Parse(R"({"messages":[
      {"role":"system","content":null},
      {"role":"user","name":"ann","content":[{"type":"text","text":"one "},
        {"type":"image_url","image_url":{"url":"http://x/a.png"}},
        {"type":"text","text":" two"}]}]})");
  ASSERT_EQ(request.messages.size(), 2u);
  EXPECT_EQ(request.messages[0].at("content"), "");
  EXPECT_EQ(request.messages[1].at("content"), "one ![](http://x/a.png) two");
  EXPECT_EQ(request.messages[1].at("name"), "ann");
}

struct RejectionCase {
  std::string name;
  std::string body;
  int status;
  std::string message;
};

class ChatRejectionTest : public testing::TestWithParam<RejectionCase> {};

TEST_P(ChatRejectionTest, PlainTextLikeAxum) {
  const RejectionCase& c = GetParam();
  const absl::StatusOr<ChatRequest> request = ParseChatRequest(c.body);
  ASSERT_FALSE(request.ok());
  const HttpError error = ToHttpError(request.status());
  EXPECT_EQ(error.status, c.status);
  EXPECT_EQ(error.content_type, "text/plain; charset=utf-8");
  EXPECT_EQ(error.body, c.message);
}

constexpr char kData[] = "Failed to deserialize the JSON body into the target type: ";

INSTANTIATE_TEST_SUITE_P(
    Bodies, ChatRejectionTest,
    testing::Values(
        RejectionCase{"NotJson", "hello", 400,
                      "Failed to parse the request body as JSON: expected value at line 1 "
                      "column 1"},
        RejectionCase{"NoMessages", R"({"model":"x"})", 422,
                      std::string(kData) + "missing field `messages` at line 1 column 13"},
        RejectionCase{"NegativeMaxTokens", std::string("{") + kHello + R"(,"max_tokens":-1})", 422,
                      std::string(kData) +
                          "max_tokens: invalid value: integer `-1`, expected u32 at line 1 "
                          "column 63"},
        // A message's own errors are positioned at the end of `messages` (the list is read whole
        // before its entries are checked), not inside it as serde would.
        RejectionCase{"MessageWithoutRole", R"({"messages":[{"content":"x"}]})", 422,
                      std::string(kData) + "messages: missing field `role` at line 1 column 30"}),
    [](const testing::TestParamInfo<RejectionCase>& info) { return info.param.name; });

TEST(CheckChatRequestTest, OnlyOneChoice) {
  EXPECT_TRUE(CheckChatRequest(Parse(std::string("{") + kHello + R"(,"n":1})")).ok());
  const absl::Status status = CheckChatRequest(Parse(std::string("{") + kHello + R"(,"n":2})"));
  const HttpError error = ToHttpError(status);
  EXPECT_EQ(error.status, 422);
  EXPECT_EQ(error.body, R"({"error":"Input validation error: `n` must be 1. Given: 2",)"
                        R"("error_type":"validation"})");
}

TEST(CheckChatRequestTest, ToolsAreAToolError) {
  const absl::Status status =
      CheckChatRequest(Parse(std::string("{") + kHello + R"(,"tools":[{"type":"function"}]})"));
  EXPECT_EQ(ToHttpError(status).status, 422);
  EXPECT_EQ(KindOf(status), ErrorKind::kTool);
  EXPECT_TRUE(CheckChatRequest(Parse(std::string("{") + kHello + R"(,"tools":null})")).ok());
}

}  // namespace
}  // namespace tgi::router
