#include "launcher/limits.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "launcher/test_env.h"

namespace tgi::launcher {
namespace {

// No visible devices unless a test says so.
class LimitsTest : public ::testing::Test {
 protected:
  ScopedEnv env_{{"CUDA_VISIBLE_DEVICES", std::nullopt},
                 {"NVIDIA_VISIBLE_DEVICES", std::nullopt},
                 {"HABANA_VISIBLE_DEVICES", std::nullopt}};
};

TEST_F(LimitsTest, DefaultsComeFromMaxPositionEmbeddings) {
  absl::StatusOr<Limits> limits = ResolveLimits(LauncherOptions{}, 512);
  ASSERT_TRUE(limits.ok()) << limits.status();
  EXPECT_EQ(limits->max_input_tokens, 511);
  EXPECT_EQ(limits->max_total_tokens, 512);
  EXPECT_EQ(limits->max_batch_prefill_tokens, 561);
  EXPECT_EQ(limits->num_shard, 1);
}

TEST_F(LimitsTest, LargeContextsAreCappedAt4096) {
  absl::StatusOr<Limits> limits = ResolveLimits(LauncherOptions{}, 131072);
  ASSERT_TRUE(limits.ok());
  EXPECT_EQ(limits->max_input_tokens, 4095);
  EXPECT_EQ(limits->max_total_tokens, 4096);
  EXPECT_EQ(limits->max_batch_prefill_tokens, 4145);
}

TEST_F(LimitsTest, NoMaxPositionMeans4096) {
  absl::StatusOr<Limits> limits = ResolveLimits(LauncherOptions{}, std::nullopt);
  ASSERT_TRUE(limits.ok());
  EXPECT_EQ(limits->max_total_tokens, 4096);
  EXPECT_EQ(limits->max_input_tokens, 4095);
}

TEST_F(LimitsTest, PrefillDefaultsToBatchSizeTimesInput) {
  LauncherOptions options;
  options.max_batch_size = 4;
  options.max_input_tokens = 100;
  options.max_total_tokens = 200;
  absl::StatusOr<Limits> limits = ResolveLimits(options, 512);
  ASSERT_TRUE(limits.ok());
  EXPECT_EQ(limits->max_batch_prefill_tokens, 400);
}

TEST_F(LimitsTest, LegacyMaxInputLengthIsUsed) {
  LauncherOptions options;
  options.max_input_length = 300;
  absl::StatusOr<Limits> limits = ResolveLimits(options, 512);
  ASSERT_TRUE(limits.ok());
  EXPECT_EQ(limits->max_input_tokens, 300);
  EXPECT_EQ(limits->max_batch_prefill_tokens, 350);
}

TEST_F(LimitsTest, LmiOutputLengthAddsToTheInput) {
  LauncherOptions options;
  options.max_input_tokens = 100;
  absl::StatusOr<Limits> limits = ResolveLimits(options, 512, /*lmi_max_output_len=*/60);
  ASSERT_TRUE(limits.ok());
  EXPECT_EQ(limits->max_total_tokens, 160);
  options.max_total_tokens = 300;  // an explicit value wins
  EXPECT_EQ(ResolveLimits(options, 512, 60)->max_total_tokens, 300);
}

struct ErrorCase {
  std::string name;
  std::function<void(LauncherOptions&)> setup;
  std::string expected;
};

TEST_F(LimitsTest, ArgumentErrorsCarryTgisExactText) {
  const std::vector<ErrorCase> cases = {
      {"both input flags",
       [](LauncherOptions& o) {
         o.max_input_tokens = 10;
         o.max_input_length = 20;
       },
       "ArgumentValidation(\"Both `max_input_tokens` (10) and `max_input_length` (20) are set. "
       "Please define only `max_input_tokens` as `max_input_length is deprecated for naming "
       "consistency.\")"},
      {"input >= total",
       [](LauncherOptions& o) {
         o.max_input_tokens = 512;
         o.max_total_tokens = 512;
       },
       "ArgumentValidation(\"`max_input_tokens must be < `max_total_tokens`\")"},
      {"prefill < input",
       [](LauncherOptions& o) {
         o.max_input_tokens = 100;
         o.max_total_tokens = 200;
         o.max_batch_prefill_tokens = 10;
       },
       "ArgumentValidation(\"`max_batch_prefill_tokens` must be >= `max_input_tokens`. Given: 10 "
       "and 100\")"},
      {"validation workers", [](LauncherOptions& o) { o.validation_workers = 0; },
       "ArgumentValidation(\"`validation_workers` must be > 0\")"},
      {"sharded with one shard",
       [](LauncherOptions& o) {
         o.sharded = true;
         o.num_shard = 1;
       },
       "ArgumentValidation(\"`sharded` is true but `num_shard` <= 1\")"},
      {"zero shards", [](LauncherOptions& o) { o.num_shard = 0; },
       "ArgumentValidation(\"`num_shard` cannot be < 1\")"},
      {"sharded without devices", [](LauncherOptions& o) { o.sharded = true; },
       "ArgumentValidation(\"--num-shard and CUDA_VISIBLE_DEVICES/NVIDIA_VISIBLE_DEVICES are not "
       "set\")"},
      {"prefill > batch total", [](LauncherOptions& o) { o.max_batch_total_tokens = 520; },
       "ArgumentValidation(\"`max_batch_prefill_tokens` must be <= `max_batch_total_tokens`. "
       "Given: 561 and 520\")"},
      {"total > batch total",
       [](LauncherOptions& o) {
         o.max_batch_prefill_tokens = 511;
         o.max_batch_total_tokens = 511;
       },
       "ArgumentValidation(\"`max_total_tokens` must be <= `max_batch_total_tokens`. Given: 512 "
       "and 511\")"},
      {"ngrok without token", [](LauncherOptions& o) { o.ngrok = true; },
       "ArgumentValidation(\"`ngrok-authtoken` must be set when using ngrok tunneling\")"},
      {"ngrok without edge",
       [](LauncherOptions& o) {
         o.ngrok = true;
         o.ngrok_authtoken = "t";
       },
       "ArgumentValidation(\"`ngrok-edge` must be set when using ngrok tunneling\")"},
  };
  for (const ErrorCase& c : cases) {
    LauncherOptions options;
    c.setup(options);
    absl::StatusOr<Limits> limits = ResolveLimits(options, 512);
    ASSERT_FALSE(limits.ok()) << c.name;
    EXPECT_EQ(std::string(limits.status().message()), c.expected) << c.name;
  }
}

TEST_F(LimitsTest, ShardedWithOneVisibleDeviceIsNotEnoughCudaDevices) {
  ScopedEnv devices{{"CUDA_VISIBLE_DEVICES", "0"}};
  absl::StatusOr<int64_t> shards = FindNumShards(true, std::nullopt);
  ASSERT_FALSE(shards.ok());
  EXPECT_EQ(std::string(shards.status().message()),
            "NotEnoughCUDADevices(\"`sharded` is true but only found 1 CUDA devices\")");
}

TEST_F(LimitsTest, NumShardFollowsTgisTable) {
  EXPECT_EQ(*FindNumShards(std::nullopt, std::nullopt), 1);
  EXPECT_EQ(*FindNumShards(false, std::nullopt), 1);
  EXPECT_EQ(*FindNumShards(false, 3), 3);
  EXPECT_EQ(*FindNumShards(std::nullopt, 2), 2);
  EXPECT_EQ(*FindNumShards(true, 2), 2);
  ScopedEnv devices{{"NVIDIA_VISIBLE_DEVICES", "0,1,2"}};
  EXPECT_EQ(*FindNumShards(std::nullopt, std::nullopt), 3);
  EXPECT_EQ(*FindNumShards(true, std::nullopt), 3);
  EXPECT_EQ(*FindNumShards(false, std::nullopt), 1);
}

TEST_F(LimitsTest, DeviceAndDefaultDtype) {
  EXPECT_EQ(DetectDevice(), Device::kCpu);
  EXPECT_EQ(DefaultDtype(Device::kCpu), "float32");
  EXPECT_EQ(DefaultDtype(Device::kHpu), "bfloat16");
  EXPECT_EQ(DefaultDtype(Device::kCuda), std::nullopt);
  {
    ScopedEnv gaudi{{"HABANA_VISIBLE_DEVICES", "all"}};
    EXPECT_EQ(DetectDevice(), Device::kHpu);
  }
  ScopedEnv cuda{{"CUDA_VISIBLE_DEVICES", "0"}};
  EXPECT_EQ(DetectDevice(), Device::kCuda);
}

TEST_F(LimitsTest, ReadsTheFirstKnownMaxPositionKey) {
  const std::filesystem::path dir =
      std::filesystem::path(testing::TempDir()) / "limits_test_config";
  std::filesystem::create_directories(dir);
  auto write = [&](const std::string& text) {
    std::ofstream(dir / "config.json") << text;
    return ReadMaxPositionEmbeddings((dir / "config.json").string());
  };
  EXPECT_EQ(*write(R"({"max_position_embeddings": 2048, "n_positions": 10})"), 2048);
  EXPECT_EQ(*write(R"({"max_seq_len": 8192, "n_positions": 10})"), 8192);
  EXPECT_EQ(*write(R"({"n_positions": 1024})"), 1024);
  EXPECT_EQ(*write(R"({"hidden_size": 64})"), std::nullopt);
  EXPECT_FALSE(write("not json").ok());
  EXPECT_FALSE(ReadMaxPositionEmbeddings((dir / "missing.json").string()).ok());
}

TEST(LauncherErrorTextTest, EscapesLikeRustDebug) {
  EXPECT_EQ(LauncherErrorText("ArgumentValidation", "a \"b\" \\ c"),
            "ArgumentValidation(\"a \\\"b\\\" \\\\ c\")");
}

}  // namespace
}  // namespace tgi::launcher
