#include "router/validation/validation.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/tokenizer/tokenizer.h"
#include "router/api/errors.h"
#include "router/api/responses.h"

namespace tgi::router {
namespace {

std::shared_ptr<const common::Tokenizer> Stories260K() {
  absl::StatusOr<std::unique_ptr<common::Tokenizer>> tokenizer =
      common::Tokenizer::FromDirectory(std::string(TGI_MODELS_DIR) + "/stories260K");
  EXPECT_TRUE(tokenizer.ok()) << tokenizer.status();
  if (!tokenizer.ok()) return nullptr;
  return std::shared_ptr<const common::Tokenizer>(std::move(*tokenizer));
}

GenerateRequest Request(std::string inputs) {
  GenerateRequest request;
  request.inputs = std::move(inputs);
  request.parameters = GenerateParameters{};
  request.parameters.max_new_tokens = 4;
  return request;
}

TEST(ValidationPoolTest, ConcurrentValidationsReportTheTokenizersLengths) {
  const std::shared_ptr<const common::Tokenizer> tokenizer = Stories260K();
  ASSERT_NE(tokenizer, nullptr);
  const std::vector<std::string> prompts = {
      "Once upon a time",
      "Lily and Tom went to the park to play with a big red ball.",
      "The cat sat.",
      "One day, a little girl named Sue found a shiny stone in the garden. She was very happy.",
      "\xc3\xa9t\xc3\xa9 \xe2\x98\x83",
  };
  std::vector<size_t> expected;
  for (const std::string& prompt : prompts) {
    absl::StatusOr<std::vector<int32_t>> ids = tokenizer->Encode(prompt, true);
    ASSERT_TRUE(ids.ok());
    expected.push_back(ids->size());
  }

  ValidationConfig config;
  config.validation_workers = 3;
  Validation validation(config, WrapTokenizer(tokenizer));
  constexpr int kThreads = 4;
  constexpr int kPerThread = 60;
  std::atomic<int> correct{0};
  std::atomic<int> done{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < kThreads; ++t) {
    clients.emplace_back([&, t] {
      std::vector<std::future<absl::StatusOr<ValidRequest>>> futures;
      std::vector<size_t> which;
      for (int i = 0; i < kPerThread; ++i) {
        const size_t p = (t + i) % prompts.size();
        which.push_back(p);
        futures.push_back(validation.Validate(Request(prompts[p])));
      }
      for (size_t i = 0; i < futures.size(); ++i) {
        const absl::StatusOr<ValidRequest> valid = futures[i].get();
        ++done;
        if (valid.ok() && valid->input_length == expected[which[i]] &&
            valid->shard.inputs == prompts[which[i]]) {
          ++correct;
        }
      }
    });
  }
  for (std::thread& client : clients) client.join();
  EXPECT_EQ(done.load(), kThreads * kPerThread);
  EXPECT_EQ(correct.load(), kThreads * kPerThread);
}

TEST(ValidationPoolTest, CallbackRunsOnceAndEarlyRejectionsRunInline) {
  ValidationConfig config;
  Validation validation(config, nullptr);
  bool called = false;
  GenerateRequest bad = Request("x");
  bad.parameters.temperature = 0.0f;
  validation.Validate(bad, [&](absl::StatusOr<ValidRequest> result) {
    called = true;
    EXPECT_EQ(result.status().message(),
              "Input validation error: `temperature` must be strictly positive");
  });
  EXPECT_TRUE(called);  // before Validate returned

  std::promise<std::thread::id> worker;
  validation.Validate(Request("x"), [&](absl::StatusOr<ValidRequest> result) {
    EXPECT_TRUE(result.ok()) << result.status();
    worker.set_value(std::this_thread::get_id());
  });
  EXPECT_NE(worker.get_future().get(), std::this_thread::get_id());
}

TEST(ValidationPoolTest, DestructionRunsWhatIsQueued) {
  std::atomic<int> finished{0};
  {
    ValidationConfig config;
    config.validation_workers = 2;
    Validation validation(config, WrapTokenizer(Stories260K()));
    for (int i = 0; i < 50; ++i) {
      validation.Validate(Request("Once upon a time"),
                          [&](absl::StatusOr<ValidRequest> result) { finished += result.ok(); });
    }
  }
  EXPECT_EQ(finished.load(), 50);
}

TEST(TokenizeTest, RealTokenizerOffsetsCoverTheInput) {
  Validation validation(ValidationConfig{}, WrapTokenizer(Stories260K()));
  const std::string input = "Once upon a time";
  std::promise<absl::StatusOr<std::vector<TokenOffsets>>> promise;
  validation.Tokenize(input, [&](absl::StatusOr<std::vector<TokenOffsets>> tokens) {
    promise.set_value(std::move(tokens));
  });
  const absl::StatusOr<std::vector<TokenOffsets>> tokens = promise.get_future().get();
  ASSERT_TRUE(tokens.ok()) << tokens.status();
  ASSERT_GE(tokens->size(), 2u);
  EXPECT_EQ((*tokens)[0].id, 1u);  // <s>, added by the post-processor: (0, 0)
  EXPECT_EQ((*tokens)[0].start, 0u);
  EXPECT_EQ((*tokens)[0].stop, 0u);
  EXPECT_EQ(tokens->back().stop, input.size());
  // The texts of the non-special tokens rebuild the input.
  std::string rebuilt;
  for (size_t i = 1; i < tokens->size(); ++i) {
    rebuilt += input.substr((*tokens)[i].start, (*tokens)[i].stop - (*tokens)[i].start);
  }
  EXPECT_EQ(rebuilt, input);
  const std::string json = TokenizeResponseJson(input, *tokens);
  const std::string bos = R"([{"id":1,"text":"","start":0,"stop":0},{)";
  EXPECT_EQ(json.substr(0, bos.size()), bos);
}

class FakeOffsetsTokenizer : public ValidationTokenizer {
 public:
  absl::StatusOr<size_t> CountTokens(std::string_view text) const override { return 1; }
  absl::StatusOr<std::vector<TokenOffsets>> EncodeWithOffsets(
      std::string_view text) const override {
    if (text == "fail") return absl::InternalError("bad input");
    return std::vector<TokenOffsets>{{1, 0, 0}, {7, 0, text.size()}};
  }
};

TEST(TokenizeTest, FakeTokenizerAndErrors) {
  Validation validation(ValidationConfig{}, std::make_shared<FakeOffsetsTokenizer>());
  std::promise<absl::StatusOr<std::vector<TokenOffsets>>> ok;
  validation.Tokenize("abc", [&](auto tokens) { ok.set_value(std::move(tokens)); });
  const absl::StatusOr<std::vector<TokenOffsets>> tokens = ok.get_future().get();
  ASSERT_TRUE(tokens.ok());
  EXPECT_EQ(TokenizeResponseJson("abc", *tokens),
            R"([{"id":1,"text":"","start":0,"stop":0},{"id":7,"text":"abc","start":0,"stop":3}])");

  std::promise<absl::StatusOr<std::vector<TokenOffsets>>> failed;
  validation.Tokenize("fail", [&](auto tokens) { failed.set_value(std::move(tokens)); });
  const absl::StatusOr<std::vector<TokenOffsets>> error = failed.get_future().get();
  EXPECT_EQ(error.status().message(), "Input validation error: tokenizer error bad input");
}

TEST(TokenizeTest, NoTokenizerIs404) {
  Validation validation(ValidationConfig{}, nullptr);
  absl::Status status;
  validation.Tokenize("abc", [&](auto tokens) { status = tokens.status(); });
  const HttpError error = ToHttpError(status);
  EXPECT_EQ(error.status, 404);
  EXPECT_EQ(error.body, R"({"error":"No fast tokenizer or tokenizer.json for this model",)"
                        R"("error_type":"no fast tokenizer"})");
}

}  // namespace
}  // namespace tgi::router
