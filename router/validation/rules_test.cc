#include "router/validation/rules.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "router/api/errors.h"
#include "router/validation/validation.h"

namespace tgi::router {
namespace {

// Counts whitespace-separated words plus a BOS; fails on "boom".
class WordTokenizer : public ValidationTokenizer {
 public:
  absl::StatusOr<size_t> CountTokens(std::string_view text) const override {
    if (text.find("boom") != std::string_view::npos) return absl::InternalError("boom");
    size_t words = 0;
    bool in_word = false;
    for (char c : text) {
      const bool space = c == ' ';
      if (!space && !in_word) ++words;
      in_word = !space;
    }
    return words + 1;
  }
  absl::StatusOr<std::vector<TokenOffsets>> EncodeWithOffsets(std::string_view) const override {
    return absl::UnimplementedError("not used");
  }
};

ValidationConfig SmallConfig() {
  ValidationConfig config;
  config.max_input_tokens = 10;
  config.max_total_tokens = 20;
  config.validation_workers = 1;
  return config;
}

GenerateRequest Parse(const std::string& body) {
  absl::StatusOr<GenerateRequest> request = ParseGenerateRequest(body);
  EXPECT_TRUE(request.ok()) << request.status();
  return request.ok() ? *request : GenerateRequest{};
}

// A request body, how to validate it, and TGI's message for it.
struct RuleCase {
  std::string name;
  std::string body;
  std::string message;  // after "Input validation error: "
  std::function<void(ValidationConfig&)> configure = nullptr;
  bool with_tokenizer = true;
};

class RuleTest : public testing::TestWithParam<RuleCase> {};

TEST_P(RuleTest, FirstBrokenRuleWins) {
  const RuleCase& c = GetParam();
  ValidationConfig config = SmallConfig();
  if (c.configure) c.configure(config);
  std::shared_ptr<const ValidationTokenizer> tokenizer;
  if (c.with_tokenizer) tokenizer = std::make_shared<WordTokenizer>();
  Validation validation(config, tokenizer);
  const absl::StatusOr<ValidRequest> result = validation.Validate(Parse(c.body)).get();
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(KindOf(result.status()), ErrorKind::kValidation);
  EXPECT_EQ(result.status().message(), "Input validation error: " + c.message);
  EXPECT_EQ(ToHttpError(result.status()).status, 422);
}

// tgi-gaudi's QUANT_CONFIG, as the FP8 examples set it.
void SetQuantConfig(ValidationConfig& config) {
  config.quant_config = std::string("./quant_config/maxabs_quant.json");
}

std::string Body(const std::string& parameters, const std::string& inputs = "a b c") {
  return R"({"inputs":")" + inputs + R"(","parameters":{)" + parameters + "}}";
}

INSTANTIATE_TEST_SUITE_P(
    Rules, RuleTest,
    testing::Values(
        RuleCase{"R01BestOfNeedsSampling", Body(R"("best_of":2)"),
                 "you must use sampling when `best_of` is > 1"},
        RuleCase{"R02Temperature", Body(R"("temperature":0)"),
                 "`temperature` must be strictly positive"},
        RuleCase{"R03RepetitionPenalty", Body(R"("repetition_penalty":-1)"),
                 "`repetition_penalty` must be strictly positive"},
        RuleCase{"R04FrequencyPenalty", Body(R"("frequency_penalty":2.5)"),
                 "`frequency_penalty` must be >= -2.0 and <= 2.0"},
        RuleCase{"R05WatermarkWithFp8", Body(R"("watermark":true)"),
                 "`watermark` = true is not allowed with FP8 quantization.", SetQuantConfig},
        RuleCase{"R06TopP", Body(R"("top_p":1.0)"), "`top_p` must be > 0.0 and < 1.0"},
        RuleCase{"R07TypicalP", Body(R"("typical_p":0)"), "`typical_p` must be > 0.0 and < 1.0"},
        RuleCase{"R08TopK", Body(R"("top_k":0)"), "`top_k` must be strictly positive"},
        RuleCase{"R09MaxNewTokens", Body(R"("max_new_tokens":0)"),
                 "`max_new_tokens` must be strictly positive"},
        RuleCase{"R10StopCount", Body(R"("stop":["a","b","c","d","e"])"),
                 "`stop` supports up to 4 stop sequences. Given: 5"},
        RuleCase{"R11SeedWithBestOf", Body(R"("best_of":2,"do_sample":true,"seed":3)"),
                 "`seed` must not be set when `best_of` > 1"},
        RuleCase{"R12TopNTokens", Body(R"("top_n_tokens":6)"),
                 "`top_n_tokens` must be >= 0 and <= 5. Given: 6"},
        RuleCase{"R13EmptyInputs", Body("", ""), "`inputs` cannot be empty"},
        RuleCase{"R14TruncateZero", Body(R"("truncate":0)"),
                 "`truncate` must be strictly positive and less than 10. Given: 0"},
        RuleCase{"R14TruncateTooLarge", Body(R"("truncate":11)"),
                 "`truncate` must be strictly positive and less than 10. Given: 11"},
        RuleCase{"R15TotalTokens", Body(R"("max_new_tokens":12)", "a b c d e f g h"),
                 "`inputs` tokens + `max_new_tokens` must be <= 20. Given: 9 `inputs` tokens and "
                 "12 `max_new_tokens`"},
        RuleCase{"R15TotalTokensFillToMax",
                 Body(R"("max_new_tokens":null)", "a b c d e f g h i j k l m n o p q r s t u"),
                 "`inputs` tokens + `max_new_tokens` must be <= 20. Given: 22 `inputs` tokens and "
                 "0 `max_new_tokens`"},
        RuleCase{"R15InputLength", Body(R"("max_new_tokens":1)", "a b c d e f g h i j k"),
                 "`inputs` must have less than 10 tokens. Given: 12"},
        RuleCase{"R15TokenizerError", Body("", "boom"), "tokenizer error boom"},
        RuleCase{"R15NoTokenizerNeedsALimit", Body(R"("max_new_tokens":null)"),
                 "one of `max_new_tokens` or `truncate` must be set if a fast tokenizer is not in "
                 "use",
                 nullptr, false},
        RuleCase{"R15NoTokenizerMaxNewTokens", Body(R"("max_new_tokens":11)"),
                 "`max_new_tokens` must be <= 10. Given: 11", nullptr, false},
        RuleCase{"R15SkipTokenizerIds", Body("", "1, 2,x"),
                 "`inputs` must be comma-separated token ids when SKIP_TOKENIZER_IN_TGI is true. "
                 "Given: `x`",
                 [](ValidationConfig& c) { c.skip_tokenizer = true; }},
        RuleCase{"R16Grammar",
                 Body(R"("max_new_tokens":1,"grammar":{"type":"regex","value":"[ab]+"})"),
                 "grammar is not supported"},
        RuleCase{"R16GrammarDisabled",
                 Body(R"("max_new_tokens":1,"grammar":{"type":"json","value":{}})"),
                 "grammar is not supported",
                 [](ValidationConfig& c) { c.disable_grammar_support = true; }},
        // Two broken rules: the earlier one's message.
        RuleCase{"Order01Before03", Body(R"("best_of":2,"repetition_penalty":0)"),
                 "you must use sampling when `best_of` is > 1"},
        RuleCase{"Order02Before06", Body(R"("temperature":-1,"top_p":1.5)"),
                 "`temperature` must be strictly positive"},
        RuleCase{"Order05Before06", Body(R"("watermark":true,"top_p":0)"),
                 "`watermark` = true is not allowed with FP8 quantization.", SetQuantConfig},
        RuleCase{"Order08Before09", Body(R"("top_k":-3,"max_new_tokens":0)"),
                 "`top_k` must be strictly positive"},
        RuleCase{"Order10Before11",
                 Body(R"("stop":["1","2","3","4","5"],"best_of":2,"do_sample":true,"seed":1)"),
                 "`stop` supports up to 4 stop sequences. Given: 5"},
        RuleCase{"Order13Before14", Body(R"("truncate":0)", ""), "`inputs` cannot be empty"},
        RuleCase{"Order15Before16",
                 Body(R"("max_new_tokens":1,"grammar":{"type":"regex","value":"a"})",
                      "a b c d e f g h i j k"),
                 "`inputs` must have less than 10 tokens. Given: 12"}),
    [](const testing::TestParamInfo<RuleCase>& info) { return info.param.name; });

TEST(BestOfRuleTest, Rule17) {
  ValidationConfig config = SmallConfig();
  EXPECT_EQ(ValidateBestOf(2, config).value(), 2u);
  EXPECT_EQ(ValidateBestOf(3, config).status().message(),
            "Input validation error: `best_of` must be > 0 and <= 2. Given: 3");
  config.max_best_of = 1;
  EXPECT_EQ(ValidateBestOf(2, config).status().message(),
            "Input validation error: `best_of` != 1 is not allowed for this endpoint");
  EXPECT_TRUE(ValidateBestOf(1, config).ok());
}

TEST(StreamRuleTest, Rule18InOrder) {
  EXPECT_TRUE(CheckStreamParameters(Parse(Body("")).parameters).ok());
  EXPECT_EQ(
      CheckStreamParameters(Parse(Body(R"("best_of":2,"decoder_input_details":true)")).parameters)
          .message(),
      "Input validation error: `best_of` != 1 is not supported when streaming tokens");
  EXPECT_EQ(CheckStreamParameters(Parse(Body(R"("best_of":0)")).parameters).message(),
            "Input validation error: `best_of` != 1 is not supported when streaming tokens");
  EXPECT_EQ(
      CheckStreamParameters(Parse(Body(R"("decoder_input_details":true)")).parameters).message(),
      "Input validation error: `decoder_input_details` == true is not supported when "
      "streaming tokens");
}

absl::StatusOr<ValidRequest> ValidateWith(const std::string& body, ValidationConfig config,
                                          bool with_tokenizer = true) {
  std::shared_ptr<const ValidationTokenizer> tokenizer;
  if (with_tokenizer) tokenizer = std::make_shared<WordTokenizer>();
  Validation validation(config, tokenizer);
  return validation.Validate(Parse(body)).get();
}

TEST(ValidRequestTest, NeutralValuesAndDefaults) {
  ValidationConfig config = SmallConfig();
  config.max_total_tokens = 200;
  const absl::StatusOr<ValidRequest> valid = ValidateWith(Body(""), config);
  ASSERT_TRUE(valid.ok()) << valid.status();
  EXPECT_EQ(valid->shard.inputs, "a b c");
  EXPECT_EQ(valid->input_length, 4u);
  EXPECT_EQ(valid->shard.truncate, 10u);
  EXPECT_EQ(valid->shard.stopping_parameters.max_new_tokens, 100u);
  EXPECT_FALSE(valid->shard.stopping_parameters.ignore_eos_token);
  EXPECT_EQ(valid->shard.parameters.temperature, 1.0f);
  EXPECT_EQ(valid->shard.parameters.top_k, 0u);
  EXPECT_EQ(valid->shard.parameters.top_p, 1.0f);
  EXPECT_EQ(valid->shard.parameters.typical_p, 1.0f);
  EXPECT_EQ(valid->shard.parameters.repetition_penalty, 1.0f);
  EXPECT_EQ(valid->shard.parameters.frequency_penalty, 0.0f);
  EXPECT_FALSE(valid->shard.parameters.do_sample);
  EXPECT_EQ(valid->shard.parameters.seed, 0u);  // greedy: no seed needed
  EXPECT_EQ(valid->shard.top_n_tokens, 0u);
  EXPECT_FALSE(valid->shard.prefill_logprobs);
}

TEST(ValidRequestTest, CarriesParameters) {
  const absl::StatusOr<ValidRequest> valid = ValidateWith(
      Body(R"("temperature":0.5,"top_k":7,"top_p":0.9,"typical_p":0.8,"repetition_penalty":1.1,)"
           R"("frequency_penalty":0.3,"watermark":true,"seed":99,"stop":["x"],"truncate":2,)"
           R"("max_new_tokens":5,"decoder_input_details":true,"top_n_tokens":3)"),
      SmallConfig());
  ASSERT_TRUE(valid.ok()) << valid.status();
  EXPECT_EQ(valid->input_length, 2u);  // min(4 tokens, truncate 2)
  EXPECT_EQ(valid->shard.truncate, 2u);
  EXPECT_EQ(valid->shard.parameters.temperature, 0.5f);
  EXPECT_EQ(valid->shard.parameters.top_k, 7u);
  EXPECT_EQ(valid->shard.parameters.top_p, 0.9f);
  EXPECT_EQ(valid->shard.parameters.typical_p, 0.8f);
  EXPECT_EQ(valid->shard.parameters.repetition_penalty, 1.1f);
  EXPECT_EQ(valid->shard.parameters.frequency_penalty, 0.3f);
  EXPECT_TRUE(valid->shard.parameters.watermark);
  EXPECT_EQ(valid->shard.parameters.seed, 99u);
  EXPECT_EQ(valid->shard.stopping_parameters.stop_sequences, std::vector<std::string>{"x"});
  EXPECT_EQ(valid->shard.stopping_parameters.max_new_tokens, 5u);
  EXPECT_TRUE(valid->shard.prefill_logprobs);
  EXPECT_EQ(valid->shard.top_n_tokens, 3u);
}

TEST(ValidRequestTest, NullMaxNewTokensFillsToMaxTotal) {
  const absl::StatusOr<ValidRequest> valid =
      ValidateWith(Body(R"("max_new_tokens":null)"), SmallConfig());
  ASSERT_TRUE(valid.ok()) << valid.status();
  EXPECT_EQ(valid->input_length, 4u);
  EXPECT_EQ(valid->shard.stopping_parameters.max_new_tokens, 16u);
}

TEST(ValidRequestTest, SamplingGetsARandomSeed) {
  // Parameters absent: do_sample defaults to true (and max_new_tokens to 100).
  ValidationConfig config = SmallConfig();
  config.max_total_tokens = 200;
  const absl::StatusOr<ValidRequest> a = ValidateWith(R"({"inputs":"x"})", config);
  const absl::StatusOr<ValidRequest> b = ValidateWith(R"({"inputs":"x"})", config);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_TRUE(a->shard.parameters.do_sample);
  EXPECT_NE(a->shard.parameters.seed, b->shard.parameters.seed);
  // A warper alone also samples.
  const absl::StatusOr<ValidRequest> warped =
      ValidateWith(Body(R"("top_k":5,"max_new_tokens":1)"), SmallConfig());
  ASSERT_TRUE(warped.ok());
  const absl::StatusOr<ValidRequest> warped2 =
      ValidateWith(Body(R"("top_k":5,"max_new_tokens":1)"), SmallConfig());
  ASSERT_TRUE(warped2.ok());
  EXPECT_NE(warped->shard.parameters.seed, warped2->shard.parameters.seed);
}

TEST(ValidRequestTest, WithoutTokenizerLengthIsTruncateOrMaxInput) {
  const absl::StatusOr<ValidRequest> truncated =
      ValidateWith(Body(R"("truncate":4,"max_new_tokens":null)"), SmallConfig(), false);
  ASSERT_TRUE(truncated.ok()) << truncated.status();
  EXPECT_EQ(truncated->input_length, 4u);
  EXPECT_EQ(truncated->shard.stopping_parameters.max_new_tokens, 16u);
  const absl::StatusOr<ValidRequest> plain =
      ValidateWith(Body(R"("max_new_tokens":10)"), SmallConfig(), false);
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_EQ(plain->input_length, 10u);
}

TEST(ValidRequestTest, SkipTokenizerCountsIds) {
  ValidationConfig config = SmallConfig();
  config.skip_tokenizer = true;
  const absl::StatusOr<ValidRequest> valid =
      ValidateWith(Body(R"("max_new_tokens":2)", "1, 22 ,333"), config, false);
  ASSERT_TRUE(valid.ok()) << valid.status();
  EXPECT_EQ(valid->input_length, 3u);
  EXPECT_EQ(valid->shard.inputs, "1, 22 ,333");
}

TEST(ValidRequestTest, BestOfZeroPassesOnGenerate) {
  const absl::StatusOr<ValidRequest> valid =
      ValidateWith(Body(R"("best_of":0,"max_new_tokens":1)"), SmallConfig());
  EXPECT_TRUE(valid.ok()) << valid.status();
}

TEST(FanOutTest, EachCopyHasItsOwnSeed) {
  ValidRequest request;
  request.shard.inputs = "x";
  request.shard.parameters.do_sample = true;
  request.shard.stopping_parameters.max_new_tokens = 3;
  const std::vector<ValidRequest> copies = FanOutBestOf(request, 3);
  ASSERT_EQ(copies.size(), 3u);
  for (const ValidRequest& copy : copies) {
    EXPECT_EQ(copy.shard.inputs, "x");
    EXPECT_EQ(copy.shard.stopping_parameters.max_new_tokens, 3u);
  }
  EXPECT_NE(copies[0].shard.parameters.seed, copies[1].shard.parameters.seed);
  EXPECT_NE(copies[1].shard.parameters.seed, copies[2].shard.parameters.seed);
}

}  // namespace
}  // namespace tgi::router
