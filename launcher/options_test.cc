#include "launcher/options.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>

#include "launcher/test_env.h"

namespace tgi::launcher {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Every flag's variable is unset for the test (HOSTNAME and PORT are often set by the shell).
class OptionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = std::make_unique<ScopedEnv>();
    for (const std::string& name : FlagEnvironmentNames()) env_->Set(name, std::nullopt);
  }
  ParsedCommandLine Parse(std::vector<std::string> args) {
    args.insert(args.begin(), "text-generation-launcher");
    std::vector<const char*> argv;
    for (const std::string& arg : args) argv.push_back(arg.c_str());
    return ParseCommandLine(static_cast<int>(argv.size()), argv.data());
  }
  std::unique_ptr<ScopedEnv> env_;
};

TEST_F(OptionsTest, DefaultsAreTgis) {
  ParsedCommandLine parsed = Parse({});
  ASSERT_FALSE(parsed.exit_now) << parsed.err;
  const LauncherOptions& o = parsed.options;
  EXPECT_FALSE(o.model_id.has_value());
  EXPECT_EQ(o.validation_workers, 2);
  EXPECT_EQ(o.max_concurrent_requests, 128);
  EXPECT_EQ(o.max_best_of, 2);
  EXPECT_EQ(o.max_stop_sequences, 4);
  EXPECT_EQ(o.max_top_n_tokens, 5);
  EXPECT_DOUBLE_EQ(o.waiting_served_ratio, 0.3);
  EXPECT_EQ(o.max_waiting_tokens, 20);
  EXPECT_EQ(o.hostname, "0.0.0.0");
  EXPECT_EQ(o.port, 3000);
  EXPECT_EQ(o.shard_uds_path, "/tmp/text-generation-server");
  EXPECT_EQ(o.master_addr, "localhost");
  EXPECT_EQ(o.master_port, 29500);
  EXPECT_EQ(o.max_client_batch_size, 4);
  EXPECT_EQ(o.payload_limit, 2000000);
  EXPECT_EQ(o.graceful_termination_timeout, 90);
  EXPECT_EQ(o.shard_startup_timeout, 600);
  EXPECT_FALSE(o.json_output);
  EXPECT_FALSE(o.sharded.has_value());
  EXPECT_FALSE(o.cuda_graphs.has_value());
}

TEST_F(OptionsTest, FlagWinsOverItsEnvironmentVariable) {
  env_->Set("PORT", "4000");
  env_->Set("MAX_BATCH_SIZE", "8");
  ParsedCommandLine parsed = Parse({"--port", "5000"});
  ASSERT_FALSE(parsed.exit_now) << parsed.err;
  EXPECT_EQ(parsed.options.port, 5000);
  EXPECT_EQ(parsed.options.max_batch_size, 8);
}

TEST_F(OptionsTest, EnvironmentVariablesFillEveryKindOfFlag) {
  env_->Set("MODEL_ID", "/models/x");
  env_->Set("JSON_OUTPUT", "true");
  env_->Set("SHARDED", "false");
  env_->Set("HOSTNAME", "container-id");
  env_->Set("CORS_ALLOW_ORIGIN", "https://a.com");
  env_->Set("CUDA_GRAPHS", "1,2,4");
  env_->Set("WATERMARK_GAMMA", "0.5");
  ParsedCommandLine parsed = Parse({});
  ASSERT_FALSE(parsed.exit_now) << parsed.err;
  EXPECT_EQ(parsed.options.model_id, "/models/x");
  EXPECT_TRUE(parsed.options.json_output);
  EXPECT_EQ(parsed.options.sharded, false);
  EXPECT_EQ(parsed.options.hostname, "container-id");
  EXPECT_EQ(parsed.options.cors_allow_origin, std::vector<std::string>{"https://a.com"});
  EXPECT_EQ(parsed.options.cuda_graphs, (std::vector<int64_t>{1, 2, 4}));
  EXPECT_EQ(parsed.options.watermark_gamma, 0.5);
}

TEST_F(OptionsTest, ParsesValuesShortFlagsAndRepeats) {
  ParsedCommandLine parsed =
      Parse({"-p", "8080", "--sharded", "true", "--num-shard", "2", "--cors-allow-origin", "a",
             "--cors-allow-origin", "b", "--dtype", "bfloat16", "--max-input-length", "10",
             "--trust-remote-code", "--cuda-graphs", "0"});
  ASSERT_FALSE(parsed.exit_now) << parsed.err;
  EXPECT_EQ(parsed.options.port, 8080);
  EXPECT_EQ(parsed.options.sharded, true);
  EXPECT_EQ(parsed.options.num_shard, 2);
  EXPECT_EQ(parsed.options.cors_allow_origin, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(parsed.options.dtype, "bfloat16");
  EXPECT_EQ(parsed.options.max_input_length, 10);
  EXPECT_FALSE(parsed.options.max_input_tokens.has_value());
  EXPECT_TRUE(parsed.options.trust_remote_code);
  EXPECT_EQ(parsed.options.cuda_graphs, std::vector<int64_t>{0});
}

TEST_F(OptionsTest, UnknownFlagIsAClapStyleUsageError) {
  ParsedCommandLine parsed = Parse({"--model-id", "x", "--no-such-flag"});
  EXPECT_TRUE(parsed.exit_now);
  EXPECT_EQ(parsed.exit_code, 2);
  EXPECT_THAT(parsed.err, HasSubstr("error: unexpected argument '--no-such-flag' found"));
  EXPECT_THAT(parsed.err, HasSubstr("For more information, try '--help'."));
}

TEST_F(OptionsTest, BadValuesAreUsageErrors) {
  for (const std::vector<std::string>& args : {std::vector<std::string>{"--port", "abc"},
                                               {"--port", "70000"},
                                               {"--dtype", "int8"},
                                               {"--sharded", "maybe"},
                                               {"--max-total-tokens", "-1"},
                                               {"--quantize", "nf5"}}) {
    ParsedCommandLine parsed = Parse(args);
    EXPECT_TRUE(parsed.exit_now) << args[0] << " " << args[1];
    EXPECT_EQ(parsed.exit_code, 2);
    EXPECT_THAT(parsed.err, HasSubstr("error: "));
  }
}

TEST_F(OptionsTest, BadEnvironmentValueIsAUsageError) {
  env_->Set("MAX_BEST_OF", "lots");
  ParsedCommandLine parsed = Parse({});
  EXPECT_TRUE(parsed.exit_now);
  EXPECT_EQ(parsed.exit_code, 2);
}

TEST_F(OptionsTest, HelpReadsLikeTgis) {
  ParsedCommandLine parsed = Parse({"--help"});
  EXPECT_TRUE(parsed.exit_now);
  EXPECT_EQ(parsed.exit_code, 0);
  const std::string& help = parsed.out;
  EXPECT_THAT(help, HasSubstr("Usage: text-generation-launcher [OPTIONS]"));
  EXPECT_THAT(help,
              HasSubstr("      --model-id <MODEL_ID>\n          The name of the model to load."));
  EXPECT_THAT(help, HasSubstr("[env: MAX_CONCURRENT_REQUESTS=]\n          [default: 128]"));
  EXPECT_THAT(help, HasSubstr("  -p, --port <PORT>"));
  EXPECT_THAT(help, HasSubstr("[env: HOSTNAME=]"));
  EXPECT_THAT(help, HasSubstr("[possible values: float16, bfloat16, float32]"));
  EXPECT_THAT(help, HasSubstr("  -e, --env\n"));
  EXPECT_THAT(help, Not(HasSubstr("[env: ENV=")));
  EXPECT_THAT(help, Not(HasSubstr("--print-config")));
  EXPECT_EQ(Parse({"-h"}).out, help);
}

TEST_F(OptionsTest, HelpNeverShowsTheApiKey) {
  env_->Set("API_KEY", "secret-key");
  EXPECT_THAT(Parse({"--help"}).out, Not(HasSubstr("secret-key")));
}

TEST_F(OptionsTest, Version) {
  ParsedCommandLine parsed = Parse({"--version"});
  EXPECT_TRUE(parsed.exit_now);
  EXPECT_EQ(parsed.out, "text-generation-launcher 2.0.4\n");
}

}  // namespace
}  // namespace tgi::launcher
