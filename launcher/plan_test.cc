#include "launcher/plan.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace tgi::launcher {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::Not;

// The value following `flag` in `args`, or "" when the flag is absent.
std::string ArgAfter(const std::vector<std::string>& args, const std::string& flag) {
  for (size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == flag) return args[i + 1];
  }
  return "";
}

PlanInputs Inputs(int64_t num_shard) {
  PlanInputs in;
  in.model_id = "org/m";
  in.model_dir = "/cache/models--org--m/snapshots/abc";
  in.limits = Limits{.max_input_tokens = 100,
                     .max_total_tokens = 200,
                     .max_batch_prefill_tokens = 150,
                     .num_shard = num_shard};
  in.dtype = "float32";
  in.shard_binary = "/bin/shard";
  in.router_binary = "/bin/router";
  in.cpus = {0, 1, 2, 3};
  in.environment = {"PATH=/usr/bin", "LOG_LEVEL=debug", "HF_API_TOKEN=tok", "BATCH_BUCKET_SIZE=16",
                    "RANK=9"};
  return in;
}

TEST(SplitCpusTest, EqualContiguousSlicesOfAtLeastOneCpu) {
  EXPECT_THAT(SplitCpus({0, 1, 2, 3}, 2), ElementsAre(ElementsAre(0, 1), ElementsAre(2, 3)));
  EXPECT_THAT(SplitCpus({0, 1, 2, 3, 4}, 2), ElementsAre(ElementsAre(0, 1), ElementsAre(2, 3)));
  EXPECT_THAT(SplitCpus({4, 5}, 3), ElementsAre(ElementsAre(4), ElementsAre(5), ElementsAre(4)));
  EXPECT_THAT(SplitCpus({0, 1}, 1), ElementsAre(ElementsAre(0, 1)));
  EXPECT_EQ(SplitCpus({}, 2).size(), 2u);
}

TEST(BuildPlanTest, ShardsGetTgisArgumentsAndEnvironment) {
  LauncherOptions options;
  options.max_batch_size = 4;
  options.watermark_gamma = 0.5;
  options.shard_uds_path = "/tmp/sock";
  const LaunchPlan plan = BuildPlan(options, Inputs(2));
  ASSERT_EQ(plan.shards.size(), 2u);
  EXPECT_THAT(plan.socket_paths, ElementsAre("/tmp/sock-0", "/tmp/sock-1"));
  for (int rank = 0; rank < 2; ++rank) {
    const ChildSpec& shard = plan.shards[rank];
    EXPECT_EQ(shard.Label(), "shard-" + std::to_string(rank));
    EXPECT_EQ(shard.binary, "/bin/shard");
    EXPECT_EQ(shard.args[0], "/cache/models--org--m/snapshots/abc");
    EXPECT_EQ(ArgAfter(shard.args, "--uds-path"), "/tmp/sock");
    EXPECT_EQ(ArgAfter(shard.args, "--dtype"), "float32");
    EXPECT_EQ(ArgAfter(shard.args, "--max-total-tokens"), "200");
    EXPECT_EQ(ArgAfter(shard.args, "--num-threads"), "2");
    EXPECT_EQ(ArgAfter(shard.args, "--logger-level"), "debug");
    EXPECT_THAT(shard.args, Contains("--json-output"));
    EXPECT_THAT(shard.args, Contains("--sharded"));
    EXPECT_EQ(shard.cpus, (rank == 0 ? std::vector<int>{0, 1} : std::vector<int>{2, 3}));
    EXPECT_EQ(FindEnv(shard.env, "RANK"), std::to_string(rank));
    EXPECT_EQ(FindEnv(shard.env, "WORLD_SIZE"), "2");
    EXPECT_EQ(FindEnv(shard.env, "MASTER_ADDR"), "localhost");
    EXPECT_EQ(FindEnv(shard.env, "MASTER_PORT"), "29500");
    EXPECT_EQ(FindEnv(shard.env, "MAX_TOTAL_TOKENS"), "200");
    EXPECT_EQ(FindEnv(shard.env, "MAX_BATCH_SIZE"), "4");
    EXPECT_EQ(FindEnv(shard.env, "WATERMARK_GAMMA"), "0.5");
    EXPECT_EQ(FindEnv(shard.env, "BATCH_BUCKET_SIZE"), "16");  // passed through
    EXPECT_EQ(FindEnv(shard.env, "HUGGING_FACE_HUB_TOKEN"), "tok");
    EXPECT_EQ(FindEnv(shard.env, "CUDA_GRAPHS"), "1,2,4,8,16,32");
    EXPECT_EQ(FindEnv(shard.env, "LOG_LEVEL"), std::nullopt);
    EXPECT_EQ(FindEnv(shard.env, "PATH"), "/usr/bin");
  }
}

TEST(BuildPlanTest, KvCacheDtypeReachesTheShardExceptFp8) {
  LauncherOptions options;
  EXPECT_THAT(BuildPlan(options, Inputs(1)).shards[0].args, Not(Contains("--kv-cache-dtype")));
  options.kv_cache_dtype = "bfloat16";
  EXPECT_EQ(ArgAfter(BuildPlan(options, Inputs(1)).shards[0].args, "--kv-cache-dtype"), "bfloat16");
  options.kv_cache_dtype = "fp8_e5m2";  // not supported: warned about, the model's dtype is used
  EXPECT_THAT(BuildPlan(options, Inputs(1)).shards[0].args, Not(Contains("--kv-cache-dtype")));
}

TEST(BuildPlanTest, OneShardInheritsEveryCpu) {
  const LaunchPlan plan = BuildPlan(LauncherOptions{}, Inputs(1));
  ASSERT_EQ(plan.shards.size(), 1u);
  EXPECT_TRUE(plan.shards[0].cpus.empty());
  EXPECT_EQ(ArgAfter(plan.shards[0].args, "--num-threads"), "4");
  EXPECT_THAT(plan.shards[0].args, Not(Contains("--sharded")));
  EXPECT_EQ(FindEnv(plan.shards[0].env, "RANK"), "0");
}

TEST(BuildPlanTest, RouterGetsTheResolvedLimits) {
  LauncherOptions options;
  options.max_batch_size = 4;
  options.max_batch_total_tokens = 800;
  options.cors_allow_origin = {"https://a.com", "https://b.com"};
  options.api_key = "k";
  options.disable_grammar_support = true;
  options.port = 8080;
  options.hostname = "127.0.0.1";
  const LaunchPlan plan = BuildPlan(options, Inputs(1));
  const std::vector<std::string>& args = plan.router.args;
  EXPECT_EQ(plan.router.Label(), "router");
  EXPECT_EQ(ArgAfter(args, "--max-input-tokens"), "100");
  EXPECT_EQ(ArgAfter(args, "--max-total-tokens"), "200");
  EXPECT_EQ(ArgAfter(args, "--max-batch-prefill-tokens"), "150");
  EXPECT_EQ(ArgAfter(args, "--max-batch-total-tokens"), "800");
  EXPECT_EQ(ArgAfter(args, "--max-batch-size"), "4");
  EXPECT_EQ(ArgAfter(args, "--waiting-served-ratio"), "0.3");
  EXPECT_EQ(ArgAfter(args, "--master-shard-uds-path"), "/tmp/text-generation-server-0");
  EXPECT_EQ(ArgAfter(args, "--tokenizer-name"), "/cache/models--org--m/snapshots/abc");
  EXPECT_EQ(ArgAfter(args, "--port"), "8080");
  EXPECT_EQ(ArgAfter(args, "--hostname"), "127.0.0.1");
  EXPECT_EQ(ArgAfter(args, "--api-key"), "k");
  EXPECT_EQ(ArgAfter(args, "--payload-limit"), "2000000");
  EXPECT_EQ(ArgAfter(args, "--drain-timeout"), "85");
  EXPECT_EQ(ArgAfter(args, "--max-client-batch-size"), "4");
  EXPECT_EQ(ArgAfter(args, "--max-prefill-chunk-tokens"), "128");  // tgi-cpp's default
  EXPECT_EQ(std::count(args.begin(), args.end(), "--cors-allow-origin"), 2);
  EXPECT_THAT(args, Contains("--disable-grammar-support"));
  EXPECT_THAT(args, Contains("--json-output"));
  EXPECT_EQ(FindEnv(plan.router.env, "LOG_LEVEL"), "debug");
  EXPECT_EQ(FindEnv(plan.router.env, "HUGGING_FACE_HUB_TOKEN"), "tok");
}

TEST(BuildPlanTest, OptionalRouterFlagsStayOut) {
  const LaunchPlan plan = BuildPlan(LauncherOptions{}, Inputs(1));
  for (const char* flag : {"--max-batch-total-tokens", "--max-batch-size", "--api-key",
                           "--revision", "--tokenizer-config-path", "--cors-allow-origin"}) {
    EXPECT_THAT(plan.router.args, Not(Contains(flag))) << flag;
  }
}

TEST(BuildPlanTest, BitsandbytesDisablesCudaGraphs) {
  LauncherOptions options;
  options.quantize = "bitsandbytes-nf4";
  const LaunchPlan plan = BuildPlan(options, Inputs(1));
  EXPECT_EQ(FindEnv(plan.shards[0].env, "CUDA_GRAPHS"), std::nullopt);
}

TEST(BuildPlanTest, PrintConfigIsJson) {
  LauncherOptions options;
  options.max_batch_size = 4;
  options.api_key = "secret-key";
  LmiResult lmi;
  lmi.applied.push_back("option.max_rolling_batch_size=4 -> --max-batch-size 4");
  const LaunchPlan plan = BuildPlan(options, Inputs(2));
  boost::json::value config = boost::json::parse(PlanToJson(options, lmi, plan));
  EXPECT_EQ(config.at("num_shard").as_int64(), 2);
  EXPECT_EQ(config.at("max_batch_size").as_int64(), 4);
  EXPECT_TRUE(config.at("max_batch_total_tokens").is_null());
  EXPECT_EQ(config.at("dtype").as_string(), "float32");
  EXPECT_EQ(config.at("shards").as_array().size(), 2u);
  EXPECT_EQ(config.at("shards").at(1).at("env").at("RANK").as_string(), "1");
  EXPECT_EQ(config.at("lmi_applied").as_array().size(), 1u);
  EXPECT_EQ(boost::json::serialize(config).find("secret-key"), std::string::npos);
}

}  // namespace
}  // namespace tgi::launcher
