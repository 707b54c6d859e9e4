#include "launcher/lmi.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "launcher/test_env.h"

namespace tgi::launcher {
namespace {

namespace fs = std::filesystem;
using ::testing::Contains;
using ::testing::HasSubstr;

fs::path MakeDir(const std::string& name) {
  const fs::path dir = fs::path(testing::TempDir()) / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

TEST(ServingPropertiesTest, ParsesJavaPropertiesSubset) {
  const LmiProperties properties = ParseServingProperties(
      "# comment\n"
      "! another comment\n"
      "\n"
      "engine=Python\n"
      "option.model_id = org/model  \n"
      "option.Tensor_Parallel_Degree: max\n"
      "option.dtype fp16\n"
      "option.max_rolling_batch_size=\\\n"
      "   32\n"
      "option.empty=\n");
  EXPECT_EQ(properties.at("engine"), "Python");
  EXPECT_EQ(properties.at("option.model_id"), "org/model");
  EXPECT_EQ(properties.at("option.tensor_parallel_degree"), "max");
  EXPECT_EQ(properties.at("option.dtype"), "fp16");
  EXPECT_EQ(properties.at("option.max_rolling_batch_size"), "32");
  EXPECT_EQ(properties.at("option.empty"), "");
  EXPECT_EQ(properties.size(), 6u);
}

TEST(LmiEnvironmentTest, MapsLmiVariables) {
  const char* environ[] = {"HF_MODEL_ID=org/a",
                           "TENSOR_PARALLEL_DEGREE=2",
                           "OPTION_MAX_ROLLING_BATCH_SIZE=16",
                           "OPTION_DTYPE=bf16",
                           "OPTION_EMPTY=",
                           "PATH=/usr/bin",
                           nullptr};
  const LmiProperties properties = LmiEnvironment(environ);
  EXPECT_EQ(properties.at("option.model_id"), "org/a");
  EXPECT_EQ(properties.at("option.tensor_parallel_degree"), "2");
  EXPECT_EQ(properties.at("option.max_rolling_batch_size"), "16");
  EXPECT_EQ(properties.at("option.dtype"), "bf16");
  EXPECT_EQ(properties.count("option.empty"), 0u);
  EXPECT_EQ(properties.size(), 4u);
}

TEST(LmiEnvironmentTest, OptionFormsWinOverAliases) {
  const char* environ[] = {"HF_MODEL_ID=org/alias", "OPTION_MODEL_ID=org/explicit",
                           "OPTION_TENSOR_PARALLEL_DEGREE=4", "TENSOR_PARALLEL_DEGREE=2", nullptr};
  const LmiProperties properties = LmiEnvironment(environ);
  EXPECT_EQ(properties.at("option.model_id"), "org/explicit");
  EXPECT_EQ(properties.at("option.tensor_parallel_degree"), "4");
}

class ApplyLmiTest : public ::testing::Test {
 protected:
  ScopedEnv env_{{"CUDA_VISIBLE_DEVICES", std::nullopt}, {"NVIDIA_VISIBLE_DEVICES", std::nullopt}};
};

TEST_F(ApplyLmiTest, FillsUnsetOptions) {
  LauncherOptions options;
  absl::StatusOr<LmiResult> result = ApplyLmi("",
                                              {{"option.model_id", "org/model"},
                                               {"option.tensor_parallel_degree", "2"},
                                               {"option.max_rolling_batch_size", "8"},
                                               {"option.max_input_len", "1000"},
                                               {"option.max_output_len", "24"},
                                               {"option.dtype", "bf16"},
                                               {"option.revision", "v1"},
                                               {"option.trust_remote_code", "true"}},
                                              options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(options.model_id, "org/model");
  EXPECT_EQ(options.num_shard, 2);
  EXPECT_EQ(options.max_batch_size, 8);
  EXPECT_EQ(options.max_input_tokens, 1000);
  EXPECT_FALSE(options.max_total_tokens.has_value());
  EXPECT_EQ(result->max_output_len, 24);
  EXPECT_EQ(options.dtype, "bfloat16");
  EXPECT_EQ(options.revision, "v1");
  EXPECT_TRUE(options.trust_remote_code);
  EXPECT_THAT(result->applied, Contains("option.max_rolling_batch_size=8 -> --max-batch-size 8"));
  EXPECT_TRUE(result->ignored.empty());
}

TEST_F(ApplyLmiTest, FlagsAndTgiVariablesWin) {
  LauncherOptions options;
  options.model_id = "/models/local";
  options.max_batch_size = 4;
  options.max_total_tokens = 300;
  options.dtype = "float32";
  options.num_shard = 1;
  absl::StatusOr<LmiResult> result = ApplyLmi("",
                                              {{"option.model_id", "org/model"},
                                               {"option.max_rolling_batch_size", "8"},
                                               {"option.max_output_len", "24"},
                                               {"option.dtype", "fp16"},
                                               {"option.tensor_parallel_degree", "4"}},
                                              options);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(options.model_id, "/models/local");
  EXPECT_EQ(options.max_batch_size, 4);
  EXPECT_EQ(options.max_total_tokens, 300);
  EXPECT_EQ(options.dtype, "float32");
  EXPECT_EQ(options.num_shard, 1);
  EXPECT_FALSE(result->max_output_len.has_value());
  EXPECT_TRUE(result->applied.empty());
  EXPECT_EQ(result->ignored.size(), 5u);
}

TEST_F(ApplyLmiTest, DtypeNames) {
  const std::vector<std::pair<std::string, std::optional<std::string>>> cases = {
      {"fp16", "float16"},    {"float16", "float16"},   {"bf16", "bfloat16"},
      {"BF16", "bfloat16"},   {"bfloat16", "bfloat16"}, {"fp32", "float32"},
      {"float32", "float32"}, {"auto", std::nullopt}};
  for (const auto& [value, expected] : cases) {
    LauncherOptions options;
    ASSERT_TRUE(ApplyLmi("", {{"option.dtype", value}}, options).ok()) << value;
    EXPECT_EQ(options.dtype, expected) << value;
  }
  LauncherOptions options;
  absl::StatusOr<LmiResult> bad = ApplyLmi("", {{"option.dtype", "int4"}}, options);
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("option.dtype=int4"));
}

TEST_F(ApplyLmiTest, TensorParallelMaxUsesVisibleDevices) {
  LauncherOptions cpu;
  ASSERT_TRUE(ApplyLmi("", {{"option.tensor_parallel_degree", "max"}}, cpu).ok());
  EXPECT_EQ(cpu.num_shard, 1);
  ScopedEnv devices{{"CUDA_VISIBLE_DEVICES", "0,1,2,3"}};
  LauncherOptions gpus;
  ASSERT_TRUE(ApplyLmi("", {{"option.tensor_parallel_degree", "max"}}, gpus).ok());
  EXPECT_EQ(gpus.num_shard, 4);
}

TEST_F(ApplyLmiTest, BadNumbersAreErrorsNamingTheKey) {
  for (const char* key : {"option.max_rolling_batch_size", "option.tensor_parallel_degree",
                          "option.max_input_len", "option.max_output_len"}) {
    LauncherOptions options;
    absl::StatusOr<LmiResult> result = ApplyLmi("", {{key, "many"}}, options);
    ASSERT_FALSE(result.ok()) << key;
    EXPECT_THAT(std::string(result.status().message()), HasSubstr(key));
  }
}

TEST_F(ApplyLmiTest, RollingBatchAndUnknownKeysAreReportedAsIgnored) {
  LauncherOptions options;
  absl::StatusOr<LmiResult> result =
      ApplyLmi("", {{"option.rolling_batch", "lmi-dist"}, {"engine", "MPI"}}, options);
  ASSERT_TRUE(result.ok());
  ASSERT_EQ(result->ignored.size(), 2u);
  EXPECT_THAT(result->ignored[0], HasSubstr("engine=MPI"));
  EXPECT_THAT(result->ignored[1], HasSubstr("option.rolling_batch=lmi-dist"));
}

TEST_F(ApplyLmiTest, MaxModelLenSetsTheTotal) {
  LauncherOptions options;
  ASSERT_TRUE(ApplyLmi("", {{"option.max_model_len", "900"}}, options).ok());
  EXPECT_EQ(options.max_total_tokens, 900);
}

TEST_F(ApplyLmiTest, FileBesideTheWeightsNamesTheModelAndTheEnvironmentWins) {
  const fs::path dir = MakeDir("lmi_model");
  std::ofstream(dir / "config.json") << "{}";
  std::ofstream(dir / "serving.properties")
      << "option.max_rolling_batch_size=8\noption.max_input_len=100\n";
  LauncherOptions options;
  absl::StatusOr<LmiResult> result = ApplyLmi((dir / "serving.properties").string(),
                                              {{"option.max_rolling_batch_size", "16"}}, options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(options.model_id, dir.string());
  EXPECT_EQ(options.max_batch_size, 16);
  EXPECT_EQ(options.max_input_tokens, 100);
  EXPECT_EQ(result->properties_file, (dir / "serving.properties").string());
}

TEST(FindServingPropertiesTest, FlagModelDirectoryAndLmiRoot) {
  const fs::path model = MakeDir("lmi_find_model");
  std::ofstream(model / "serving.properties") << "option.dtype=fp32\n";
  const fs::path root = MakeDir("lmi_find_root");
  std::ofstream(root / "serving.properties") << "option.model_id=org/x\n";

  LauncherOptions flag;
  flag.serving_properties = (root / "serving.properties").string();
  EXPECT_EQ(*FindServingProperties(flag, {}, "/nonexistent"),
            (root / "serving.properties").string());

  LauncherOptions missing;
  missing.serving_properties = (root / "nope.properties").string();
  EXPECT_FALSE(FindServingProperties(missing, {}, "/nonexistent").ok());

  LauncherOptions by_model;
  by_model.model_id = model.string();
  EXPECT_EQ(*FindServingProperties(by_model, {}, root.string()),
            (model / "serving.properties").string());
  // The model id can come from LMI's own environment too.
  EXPECT_EQ(*FindServingProperties(LauncherOptions{}, {{"option.model_id", model.string()}},
                                   root.string()),
            (model / "serving.properties").string());

  LauncherOptions hub_model;
  hub_model.model_id = "org/hub-model";
  EXPECT_EQ(*FindServingProperties(hub_model, {}, root.string()), "");
  EXPECT_EQ(*FindServingProperties(LauncherOptions{}, {}, root.string()),
            (root / "serving.properties").string());
}

}  // namespace
}  // namespace tgi::launcher
