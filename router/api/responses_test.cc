#include "router/api/responses.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "router/api/json_writer.h"

namespace tgi::router {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

GenerationOutput HelloWorld() {
  GenerationOutput output;
  output.prefill = {{1, "<s>", kNaN, false}, {15043, "Hello", -8.1f, false}};
  output.tokens = {{3186, " world", -1.2f, false}, {29991, "!", -0.7f, false}};
  output.generated_text = {" world!", 2, FinishReason::kLength, std::nullopt};
  return output;
}

TEST(GenerateResponseTest, WithoutDetails) {
  EXPECT_EQ(GenerateResponseJson(HelloWorld(), {}), R"({"generated_text":" world!"})");
}

TEST(GenerateResponseTest, WithDetailsPrefillNullLogprobAndNoTopTokens) {
  GenerateResponseOptions options;
  options.details = true;
  EXPECT_EQ(GenerateResponseJson(HelloWorld(), options),
            R"({"generated_text":" world!","details":{"finish_reason":"length",)"
            R"("generated_tokens":2,"seed":null,"prefill":[{"id":1,"text":"<s>","logprob":null},)"
            R"({"id":15043,"text":"Hello","logprob":-8.1}],"tokens":[{"id":3186,"text":" world",)"
            R"("logprob":-1.2,"special":false},{"id":29991,"text":"!","logprob":-0.7,)"
            R"("special":false}]}})");
}

TEST(GenerateResponseTest, TopTokensBestOfAndFullText) {
  GenerationOutput best = HelloWorld();
  best.prefill.clear();
  best.generated_text.seed = 42;
  best.generated_text.finish_reason = FinishReason::kEosToken;
  best.tokens = {{2, "</s>", -0.5f, true}};
  best.top_tokens = {{{2, "</s>", -0.5f, true}, {13, "\n", -1.0f, false}}};
  best.generated_text.generated_tokens = 1;
  best.generated_text.text = "";
  GenerationOutput loser;
  loser.tokens = {{29991, "!", -3.0f, false}};
  loser.generated_text = {"!", 1, FinishReason::kStopSequence, 7};
  const std::vector<GenerationOutput> losers = {loser};
  GenerateResponseOptions options;
  options.details = true;
  options.prompt = "Hi";
  EXPECT_EQ(GenerateResponseJson(best, options, &losers),
            R"({"generated_text":"Hi","details":{"finish_reason":"eos_token",)"
            R"("generated_tokens":1,"seed":42,"prefill":[],"tokens":[{"id":2,"text":"</s>",)"
            R"("logprob":-0.5,"special":true}],"best_of_sequences":[{"generated_text":"Hi!",)"
            R"("finish_reason":"stop_sequence","generated_tokens":1,"seed":7,"prefill":[],)"
            R"("tokens":[{"id":29991,"text":"!","logprob":-3.0,"special":false}]}],)"
            R"("top_tokens":[[{"id":2,"text":"</s>","logprob":-0.5,"special":true},)"
            R"({"id":13,"text":"\n","logprob":-1.0,"special":false}]]}})");
}

TEST(GenerateResponseTest, CompatIsAnArray) {
  EXPECT_EQ(CompatGenerateResponseJson(HelloWorld(), {}), R"([{"generated_text":" world!"}])");
}

TEST(StreamEventTest, IntermediateToken) {
  EXPECT_EQ(StreamTokenEventJson(1, {3186, " world", -1.2f, false}, {}),
            R"({"index":1,"token":{"id":3186,"text":" world","logprob":-1.2,"special":false},)"
            R"("generated_text":null,"details":null})");
}

TEST(StreamEventTest, IntermediateTokenWithTopTokens) {
  EXPECT_EQ(StreamTokenEventJson(3, {5, "a", -0.25f, false}, {{5, "a", -0.25f, false}}),
            R"({"index":3,"token":{"id":5,"text":"a","logprob":-0.25,"special":false},)"
            R"("top_tokens":[{"id":5,"text":"a","logprob":-0.25,"special":false}],)"
            R"("generated_text":null,"details":null})");
}

TEST(StreamEventTest, FinalTokenWithAndWithoutDetails) {
  EndEvent end;
  end.token = {2, "</s>", -0.125f, true};
  end.generated_text = {" world", 2, FinishReason::kEosToken, 42};
  EXPECT_EQ(StreamEndEventJson(2, end, true),
            R"({"index":2,"token":{"id":2,"text":"</s>","logprob":-0.125,"special":true},)"
            R"("generated_text":" world","details":{"finish_reason":"eos_token",)"
            R"("generated_tokens":2,"seed":42}})");
  EXPECT_EQ(StreamEndEventJson(2, end, false, std::string("Hello")),
            R"({"index":2,"token":{"id":2,"text":"</s>","logprob":-0.125,"special":true},)"
            R"("generated_text":"Hello world","details":null})");
}

TEST(InfoTest, TgiFieldSetAndOrder) {
  Info info;
  info.model_id = "stories260K";
  info.model_dtype = "torch.float32";
  info.model_device_type = "cpu";
  info.model_pipeline_tag = "text-generation";
  info.max_batch_total_tokens = 16000;
  EXPECT_EQ(InfoJson(info),
            R"({"model_id":"stories260K","model_sha":null,"model_dtype":"torch.float32",)"
            R"("model_device_type":"cpu","model_pipeline_tag":"text-generation",)"
            R"("max_concurrent_requests":128,"max_best_of":2,"max_stop_sequences":4,)"
            R"("max_input_length":1024,"max_total_tokens":2048,"waiting_served_ratio":1.2,)"
            R"("max_batch_total_tokens":16000,"max_waiting_tokens":20,"max_batch_size":null,)"
            R"("validation_workers":2,"max_client_batch_size":4,)"
            R"("router":"text-generation-router","version":"2.0.4","sha":null,)"
            R"("docker_label":null})");
}

TEST(TokenizeResponseTest, SplitCharacterIsLossyOnBothSides) {
  // "é!" is C3 A9 21; a byte-fallback tokenizer splits the é across two tokens.
  const std::string input = "\xc3\xa9!";
  const std::vector<TokenOffsets> tokens = {{1, 0, 0}, {198, 0, 1}, {172, 1, 2}, {33, 2, 3}};
  EXPECT_EQ(TokenizeResponseJson(input, tokens),
            "[{\"id\":1,\"text\":\"\",\"start\":0,\"stop\":0},"
            "{\"id\":198,\"text\":\"\xef\xbf\xbd\",\"start\":0,\"stop\":1},"
            "{\"id\":172,\"text\":\"\xef\xbf\xbd\",\"start\":1,\"stop\":2},"
            "{\"id\":33,\"text\":\"!\",\"start\":2,\"stop\":3}]");
}

TEST(TokenizeResponseTest, WholeCharacters) {
  EXPECT_EQ(TokenizeResponseJson("Hello world", {{1, 0, 0}, {15043, 0, 5}, {3186, 5, 11}}),
            R"([{"id":1,"text":"","start":0,"stop":0},{"id":15043,"text":"Hello","start":0,)"
            R"("stop":5},{"id":3186,"text":" world","start":5,"stop":11}])");
}

TEST(JsonWriterTest, EscapesAsSerdeJson) {
  EXPECT_EQ(JsonQuote("a\"b\\c\n\r\t\b\f\x01\x7f/\xc3\xa9"),
            "\"a\\\"b\\\\c\\n\\r\\t\\b\\f\\u0001\x7f/\xc3\xa9\"");
  EXPECT_EQ(JsonQuote("bad\xff"), "\"bad\xef\xbf\xbd\"");
  JsonWriter w;
  w.BeginArray().F32(std::numeric_limits<float>::infinity()).F64(0.5).Int(-3).EndArray();
  EXPECT_EQ(w.str(), "[null,0.5,-3]");
}

}  // namespace
}  // namespace tgi::router
