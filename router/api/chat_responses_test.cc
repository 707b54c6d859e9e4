// The chat.completion object, its stream chunks and /v1/models, byte for byte.
#include "router/api/chat_responses.h"

#include <gtest/gtest.h>

#include <cmath>

namespace tgi::router {
namespace {

ChatContext Context(bool logprobs = false) {
  return {.model = "m", .system_fingerprint = "2.0.4-native", .created = 17, .logprobs = logprobs};
}

GenerationOutput Output(FinishReason reason) {
  GenerationOutput output;
  output.tokens = {{.id = 5, .text = " a", .logprob = -0.5f},
                   {.id = 2, .text = "</s>", .logprob = -1.0f, .special = true}};
  output.generated_text = {.text = " a", .generated_tokens = 2, .finish_reason = reason};
  return output;
}

TEST(ChatResponsesTest, FinishReasonsAsTgi23) {
  EXPECT_EQ(ChatFinishReason(FinishReason::kEosToken), "stop");
  EXPECT_EQ(ChatFinishReason(FinishReason::kLength), "length");
  EXPECT_EQ(ChatFinishReason(FinishReason::kStopSequence), "stop_sequence");
}

TEST(ChatResponsesTest, Completion) {
  EXPECT_EQ(ChatCompletionJson(Context(), Output(FinishReason::kEosToken), 9),
            R"({"id":"","object":"chat.completion","created":17,"model":"m",)"
            R"("system_fingerprint":"2.0.4-native","choices":[{"index":0,)"
            R"("message":{"role":"assistant","content":" a"},"logprobs":null,)"
            R"("finish_reason":"stop"}],)"
            R"("usage":{"prompt_tokens":9,"completion_tokens":2,"total_tokens":11}})");
}

TEST(ChatResponsesTest, CompletionWithLogprobs) {
  GenerationOutput output = Output(FinishReason::kLength);
  output.top_tokens = {{{.id = 5, .text = " a", .logprob = -0.5f}}, {}};
  EXPECT_EQ(ChatCompletionJson(Context(true), output, 1),
            R"({"id":"","object":"chat.completion","created":17,"model":"m",)"
            R"("system_fingerprint":"2.0.4-native","choices":[{"index":0,)"
            R"("message":{"role":"assistant","content":" a"},"logprobs":{"content":[)"
            R"({"token":" a","logprob":-0.5,"top_logprobs":[{"token":" a","logprob":-0.5}]},)"
            R"({"token":"</s>","logprob":-1.0,"top_logprobs":[]}]},"finish_reason":"length"}],)"
            R"("usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}})");
}

TEST(ChatResponsesTest, Chunks) {
  const Token token{.id = 5, .text = " a", .logprob = -0.5f};
  EXPECT_EQ(ChatCompletionChunkJson(Context(), token, {}, std::nullopt, std::nullopt),
            R"({"id":"","object":"chat.completion.chunk","created":17,"model":"m",)"
            R"("system_fingerprint":"2.0.4-native","choices":[{"index":0,)"
            R"("delta":{"role":"assistant","content":" a"},"logprobs":null,)"
            R"("finish_reason":null}],"usage":null})");
  const Token eos{.id = 2, .text = "</s>", .logprob = -1.0f, .special = true};
  EXPECT_EQ(ChatCompletionChunkJson(Context(true), eos, {}, FinishReason::kEosToken,
                                    Usage{.prompt_tokens = 4, .completion_tokens = 3}),
            R"({"id":"","object":"chat.completion.chunk","created":17,"model":"m",)"
            R"("system_fingerprint":"2.0.4-native","choices":[{"index":0,)"
            R"("delta":{"role":"assistant","content":""},"logprobs":{"content":[)"
            R"({"token":"</s>","logprob":-1.0,"top_logprobs":[]}]},"finish_reason":"stop"}],)"
            R"("usage":{"prompt_tokens":4,"completion_tokens":3,"total_tokens":7}})");
}

TEST(ChatResponsesTest, Models) {
  EXPECT_EQ(ModelsJson("org/model"),
            R"({"object":"list","data":[{"id":"org/model","object":"model","created":0,)"
            R"("owned_by":"org/model"}]})");
}

TEST(ChatResponsesTest, SystemFingerprint) {
  Info info;
  EXPECT_EQ(SystemFingerprint(info), "2.0.4-native");
  info.docker_label = "sha-abc";
  EXPECT_EQ(SystemFingerprint(info), "2.0.4-sha-abc");
}

}  // namespace
}  // namespace tgi::router
