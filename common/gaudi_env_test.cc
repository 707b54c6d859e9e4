#include "common/gaudi_env.h"

#include <gtest/gtest.h>

#include <cstdlib>

namespace tgi::common {
namespace {

constexpr const char* kVariables[] = {
    "BATCH_BUCKET_SIZE",     "PREFILL_BATCH_BUCKET_SIZE", "PAD_SEQUENCE_TO_MULTIPLE_OF",
    "QUEUE_THRESHOLD_MS",    "WARMUP_ENABLED",            "SKIP_TOKENIZER_IN_TGI",
    "TEXT_GENERATION_SERVER_IGNORE_EOS_TOKEN", "QUANT_CONFIG"};

class GaudiEnvTest : public ::testing::Test {
 protected:
  void SetUp() override { Clear(); }
  void TearDown() override { Clear(); }
  static void Clear() {
    for (const char* name : kVariables) unsetenv(name);
  }
};

TEST_F(GaudiEnvTest, DefaultsAreTgiGaudis) {
  absl::StatusOr<GaudiEnv> env = ReadGaudiEnv();
  ASSERT_TRUE(env.ok()) << env.status();
  EXPECT_EQ(env->batch_bucket_size, 8u);
  EXPECT_EQ(env->prefill_batch_bucket_size, 4u);
  EXPECT_EQ(env->pad_sequence_to_multiple_of, 128u);
  EXPECT_EQ(env->queue_threshold, std::chrono::milliseconds(120));
  EXPECT_TRUE(env->warmup_enabled);
  EXPECT_FALSE(env->skip_tokenizer);
  EXPECT_FALSE(env->ignore_eos_token);
  EXPECT_EQ(env->quant_config, "");
}

// One row per value: TGI compares the lowercased value with "true", nothing else is true.
TEST_F(GaudiEnvTest, SwitchesAreTrueOnlyForTheWordTrue) {
  const std::pair<const char*, bool> rows[] = {
      {"true", true}, {"TRUE", true}, {"True", true},  {"1", false},  {"yes", false},
      {"on", false},  {"false", false}, {"0", false}, {"", false}, {" true", false}};
  for (const auto& [text, expected] : rows) {
    setenv("SKIP_TOKENIZER_IN_TGI", text, 1);
    setenv("WARMUP_ENABLED", text, 1);
    setenv("TEXT_GENERATION_SERVER_IGNORE_EOS_TOKEN", text, 1);
    absl::StatusOr<GaudiEnv> env = ReadGaudiEnv();
    ASSERT_TRUE(env.ok()) << text;
    EXPECT_EQ(env->skip_tokenizer, expected) << "'" << text << "'";
    EXPECT_EQ(env->warmup_enabled, expected) << "'" << text << "'";
    EXPECT_EQ(env->ignore_eos_token, expected) << "'" << text << "'";
  }
}

TEST_F(GaudiEnvTest, ReadsNumbersAndQuantConfig) {
  setenv("BATCH_BUCKET_SIZE", "1", 1);
  setenv("PREFILL_BATCH_BUCKET_SIZE", "2", 1);
  setenv("PAD_SEQUENCE_TO_MULTIPLE_OF", "16", 1);
  setenv("QUEUE_THRESHOLD_MS", "0", 1);
  setenv("QUANT_CONFIG", "/q.json", 1);
  absl::StatusOr<GaudiEnv> env = ReadGaudiEnv();
  ASSERT_TRUE(env.ok()) << env.status();
  EXPECT_EQ(env->batch_bucket_size, 1u);
  EXPECT_EQ(env->prefill_batch_bucket_size, 2u);
  EXPECT_EQ(env->pad_sequence_to_multiple_of, 16u);
  EXPECT_EQ(env->queue_threshold, std::chrono::milliseconds(0));
  EXPECT_EQ(env->quant_config, "/q.json");
}

TEST_F(GaudiEnvTest, BadNumbersNameTheVariable) {
  const std::pair<const char*, const char*> rows[] = {
      {"BATCH_BUCKET_SIZE", "0"}, {"PREFILL_BATCH_BUCKET_SIZE", "-4"},
      {"PAD_SEQUENCE_TO_MULTIPLE_OF", "x"}, {"QUEUE_THRESHOLD_MS", "-1"}};
  for (const auto& [name, text] : rows) {
    Clear();
    setenv(name, text, 1);
    absl::StatusOr<GaudiEnv> env = ReadGaudiEnv();
    ASSERT_FALSE(env.ok()) << name << "=" << text;
    EXPECT_NE(env.status().message().find(name), std::string::npos) << env.status();
  }
}

}  // namespace
}  // namespace tgi::common
