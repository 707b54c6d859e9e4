#include "shard/model/model_config.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "shard/model/testing/oracle.h"

namespace tgi::shard {
namespace {

constexpr char kBase[] = R"({
  "model_type": "llama", "architectures": ["LlamaForCausalLM"],
  "hidden_size": 64, "intermediate_size": 172, "num_hidden_layers": 2,
  "num_attention_heads": 8, "vocab_size": 512)";

std::string Config(const std::string& extra = "") { return std::string(kBase) + extra + "}"; }

TEST(ModelConfigTest, ReadsTheBundledModel) {
  absl::StatusOr<ModelConfig> config = LoadModelConfig(testing::Stories260KDir());
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->model_type, "llama");
  EXPECT_EQ(config->hidden_size, 64);
  EXPECT_EQ(config->intermediate_size, 172);
  EXPECT_EQ(config->num_hidden_layers, 5);
  EXPECT_EQ(config->num_attention_heads, 8);
  EXPECT_EQ(config->num_key_value_heads, 4);
  EXPECT_EQ(config->head_dim, 8);
  EXPECT_EQ(config->num_query_groups(), 2);
  EXPECT_DOUBLE_EQ(config->rms_norm_eps, 1e-5);
  EXPECT_DOUBLE_EQ(config->rope_theta, 10000.0);
  EXPECT_EQ(config->rope_scaling.type, RopeScaling::Type::kNone);
  EXPECT_EQ(config->max_position_embeddings, 512);
  EXPECT_EQ(config->vocab_size, 512);
  EXPECT_TRUE(config->tie_word_embeddings);
  EXPECT_FALSE(config->attention_bias);
  EXPECT_FALSE(config->mlp_bias);
  EXPECT_EQ(config->torch_dtype, "float32");
  EXPECT_EQ(config->bos_token_id, 1);
  // generation_config.json's list wins over config.json's single id.
  EXPECT_EQ(config->eos_token_ids, (std::vector<int64_t>{2, 1}));
}

TEST(ModelConfigTest, Defaults) {
  absl::StatusOr<ModelConfig> config = ParseModelConfig(Config());
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->num_key_value_heads, 8);
  EXPECT_EQ(config->head_dim, 8);
  EXPECT_FALSE(config->tie_word_embeddings);
  EXPECT_FALSE(config->bos_token_id.has_value());
  EXPECT_TRUE(config->eos_token_ids.empty());
}

TEST(ModelConfigTest, ExplicitHeadDimBiasesAndEosList) {
  absl::StatusOr<ModelConfig> config =
      ParseModelConfig(Config(R"(, "head_dim": 16, "attention_bias": true, "mlp_bias": true,
                 "eos_token_id": [2, 7], "num_key_value_heads": 2)"));
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->head_dim, 16);
  EXPECT_TRUE(config->attention_bias);
  EXPECT_TRUE(config->mlp_bias);
  EXPECT_EQ(config->eos_token_ids, (std::vector<int64_t>{2, 7}));
  EXPECT_EQ(config->num_query_groups(), 4);
}

TEST(ModelConfigTest, RopeScalings) {
  absl::StatusOr<ModelConfig> linear =
      ParseModelConfig(Config(R"(, "rope_scaling": {"type": "linear", "factor": 4.0})"));
  ASSERT_TRUE(linear.ok()) << linear.status();
  EXPECT_EQ(linear->rope_scaling.type, RopeScaling::Type::kLinear);
  EXPECT_DOUBLE_EQ(linear->rope_scaling.factor, 4.0);

  absl::StatusOr<ModelConfig> llama3 = ParseModelConfig(Config(
      R"(, "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
           "high_freq_factor": 4.0, "original_max_position_embeddings": 8192})"));
  ASSERT_TRUE(llama3.ok()) << llama3.status();
  EXPECT_EQ(llama3->rope_scaling.type, RopeScaling::Type::kLlama3);
  EXPECT_EQ(llama3->rope_scaling.original_max_position_embeddings, 8192);
}

struct ErrorCase {
  std::string name;
  std::string json;
  std::string message;  // a substring of the error
};

// One row per rule: each rejected config and a substring of its message.
TEST(ModelConfigTest, RejectsWithClearMessages) {
  const ErrorCase cases[] = {
      ErrorCase{"DynamicRope", Config(R"(, "rope_scaling": {"type": "dynamic", "factor": 2.0})"),
                "unsupported rope_scaling type 'dynamic'"},
      ErrorCase{"YarnRope", Config(R"(, "rope_scaling": {"rope_type": "yarn", "factor": 2.0})"),
                "unsupported rope_scaling type 'yarn'"},
      ErrorCase{"RopeWithoutFactor", Config(R"(, "rope_scaling": {"type": "linear"})"),
                "positive 'factor'"},
      ErrorCase{"Llama3Incomplete",
                Config(R"(, "rope_scaling": {"rope_type": "llama3", "factor": 8.0})"),
                "low_freq_factor"},
      ErrorCase{"ModelType",
                R"({"model_type": "gpt2", "hidden_size": 64, "intermediate_size": 1,
                      "num_hidden_layers": 1, "num_attention_heads": 1, "vocab_size": 1})",
                "unsupported model_type 'gpt2'"},
      ErrorCase{"Architecture",
                R"({"model_type": "llama", "architectures": ["GPT2LMHeadModel"],
                      "hidden_size": 64, "intermediate_size": 1, "num_hidden_layers": 1,
                      "num_attention_heads": 1, "vocab_size": 1})",
                "unsupported architecture 'GPT2LMHeadModel'"},
      ErrorCase{"MissingModelType", R"({"hidden_size": 64})", "missing 'model_type'"},
      ErrorCase{"MissingHidden",
                R"({"model_type": "llama", "intermediate_size": 1, "num_hidden_layers": 1,
                      "num_attention_heads": 1, "vocab_size": 1})",
                "missing 'hidden_size'"},
      ErrorCase{"WrongType", Config(R"(, "rms_norm_eps": "small")"),
                "'rms_norm_eps' must be a number"},
      ErrorCase{"KvHeads", Config(R"(, "num_key_value_heads": 3)"),
                "multiple of num_key_value_heads"},
      ErrorCase{"Activation", Config(R"(, "hidden_act": "gelu")"), "unsupported hidden_act 'gelu'"},
      ErrorCase{"SlidingWindow",
                R"({"model_type": "mistral", "hidden_size": 64, "intermediate_size": 1,
                      "num_hidden_layers": 1, "num_attention_heads": 1, "vocab_size": 1,
                      "max_position_embeddings": 32768, "sliding_window": 4096})",
                "sliding_window 4096"},
      ErrorCase{"NotJson", "{\"model_type\": ", "invalid JSON"},
      ErrorCase{"NotObject", "[1, 2]", "not an object"},
  };
  for (const ErrorCase& c : cases) {
    SCOPED_TRACE(c.name);
    absl::StatusOr<ModelConfig> config = ParseModelConfig(c.json);
    ASSERT_FALSE(config.ok());
    EXPECT_NE(config.status().message().find(c.message), std::string::npos) << config.status();
  }
}

TEST(ModelConfigTest, MistralWithoutSlidingWindowIsLlama) {
  absl::StatusOr<ModelConfig> config = ParseModelConfig(
      R"({"model_type": "mistral", "architectures": ["MistralForCausalLM"], "hidden_size": 64,
          "intermediate_size": 1, "num_hidden_layers": 1, "num_attention_heads": 1,
          "vocab_size": 1, "sliding_window": null})");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->model_type, "mistral");
}

TEST(ModelConfigTest, MissingFileNamesIt) {
  absl::StatusOr<ModelConfig> config = LoadModelConfig("/nonexistent-dir");
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.status().message().find("/nonexistent-dir/config.json"), std::string::npos);
}

}  // namespace
}  // namespace tgi::shard
