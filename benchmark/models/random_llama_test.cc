#include "benchmark/models/random_llama.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>

#include "benchmark/roofline/model_cost.h"
#include "boost/json.hpp"

namespace tgi::benchmark {
namespace {

namespace fs = std::filesystem;

class RandomLlamaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("random-llama-test-" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A small untied shape: every tensor kind, a small file.
  static LlamaShape Small() {
    return LlamaShape{.name = "small", .hidden = 32, .layers = 2, .heads = 4, .kv_heads = 2,
                      .intermediate = 48, .vocab = 32000, .max_positions = 256,
                      .tied_embeddings = false};
  }
  RandomLlamaOptions Options(LlamaShape shape, Dtype dtype) {
    RandomLlamaOptions options;
    options.shape = std::move(shape);
    options.dtype = dtype;
    options.seed = 7;
    options.tokenizer_dir = fs::path(TGI_TESTDATA_DIR) / "llama2-tokenizer";
    return options;
  }

  fs::path dir_;
};

TEST_F(RandomLlamaTest, NamedShapesAreTheIssuesShapes) {
  const LlamaShape bench = *FindShape("bench-110m");
  EXPECT_EQ(bench.hidden, 768);
  EXPECT_EQ(bench.layers, 12);
  EXPECT_EQ(bench.heads, 12);
  EXPECT_EQ(bench.kv_heads, 12);
  EXPECT_EQ(bench.intermediate, 2048);
  EXPECT_EQ(bench.vocab, 32000);
  EXPECT_TRUE(bench.tied_embeddings);
  EXPECT_EQ(bench.max_positions, 2048);
  const LlamaShape tiny_llama = *FindShape("tinyllama-1b");
  EXPECT_EQ(tiny_llama.hidden, 2048);
  EXPECT_EQ(tiny_llama.layers, 22);
  EXPECT_EQ(tiny_llama.heads, 32);
  EXPECT_EQ(tiny_llama.kv_heads, 4);
  EXPECT_EQ(tiny_llama.intermediate, 5632);
  EXPECT_FALSE(tiny_llama.tied_embeddings);
  EXPECT_FALSE(FindShape("gpt-5").ok());

  // bench-110m is the 110M-parameter model its name says (438 MB in float32).
  const roofline::LlamaDims dims =
      *roofline::ParseLlamaDims(LlamaConfigJson(bench, Dtype::kFloat32));
  EXPECT_NEAR(roofline::TotalParameters(dims) / 1e6, 109.5, 0.1);
  int64_t elements = 0;
  for (const TensorSpec& tensor : LlamaTensors(bench, Dtype::kFloat32)) elements += tensor.elements();
  EXPECT_EQ(elements, roofline::TotalParameters(dims));
}

TEST_F(RandomLlamaTest, WritesAHuggingFaceLayoutWithTheRightShapesAndDtypes) {
  for (Dtype dtype : {Dtype::kFloat32, Dtype::kBFloat16}) {
    const fs::path model = dir_ / TorchDtypeName(dtype);
    ASSERT_TRUE(WriteRandomLlama(Options(Small(), dtype), model).ok());
    for (const char* file : {"config.json", "generation_config.json", "model.safetensors",
                             "tokenizer.json", "tokenizer.model", "tokenizer_config.json",
                             "special_tokens_map.json"}) {
      EXPECT_TRUE(fs::exists(model / file)) << file;
    }
    absl::StatusOr<SafetensorsHeader> header = ReadSafetensorsHeader(model / "model.safetensors");
    ASSERT_TRUE(header.ok()) << header.status();
    const std::vector<TensorSpec> expected = LlamaTensors(Small(), dtype);
    ASSERT_EQ(header->tensors.size(), expected.size());
    uint64_t end = 0;
    for (const TensorSpec& tensor : expected) {
      const HeaderEntry& entry = header->tensors.at(tensor.name);
      EXPECT_EQ(entry.dtype, dtype == Dtype::kFloat32 ? "F32" : "BF16");
      EXPECT_EQ(entry.shape, tensor.shape) << tensor.name;
      EXPECT_EQ(entry.end - entry.begin, tensor.elements() * DtypeSize(dtype));
      end = std::max(end, entry.end);
    }
    EXPECT_EQ(header->tensors.at("model.layers.1.self_attn.k_proj.weight").shape,
              (std::vector<int64_t>{16, 32}));  // 2 KV heads × head_dim 8
    EXPECT_TRUE(header->tensors.contains("lm_head.weight"));
    EXPECT_EQ(fs::file_size(model / "model.safetensors"), 8 + header->header_bytes + end);
    EXPECT_FALSE(fs::exists(model.string() + ".partial-" + std::to_string(getpid())));

    std::ifstream config_file(model / "config.json");
    const boost::json::value config = boost::json::parse(
        std::string(std::istreambuf_iterator<char>(config_file), std::istreambuf_iterator<char>()));
    EXPECT_EQ(config.at("torch_dtype").as_string(), TorchDtypeName(dtype));
    EXPECT_EQ(config.at("num_key_value_heads").to_number<int>(), 2);
    EXPECT_FALSE(config.at("tie_word_embeddings").as_bool());
  }
}

TEST_F(RandomLlamaTest, TiedShapesHaveNoLmHead) {
  std::vector<std::string> names;
  for (const TensorSpec& tensor : LlamaTensors(*FindShape("tiny"), Dtype::kFloat32)) {
    names.push_back(tensor.name);
  }
  EXPECT_EQ(std::count(names.begin(), names.end(), "lm_head.weight"), 0);
  EXPECT_EQ(names.front(), "model.embed_tokens.weight");
  EXPECT_EQ(names.back(), "model.norm.weight");
}

TEST_F(RandomLlamaTest, WeightsAreNormalWithStd002AndNormsAreOne) {
  const fs::path model = dir_ / "m";
  ASSERT_TRUE(WriteRandomLlama(Options(Small(), Dtype::kFloat32), model).ok());
  const SafetensorsHeader header = *ReadSafetensorsHeader(model / "model.safetensors");
  std::ifstream in(model / "model.safetensors", std::ios::binary);
  const auto read = [&](const std::string& name) {
    const HeaderEntry& entry = header.tensors.at(name);
    std::vector<float> values((entry.end - entry.begin) / 4);
    in.seekg(static_cast<std::streamoff>(8 + header.header_bytes + entry.begin));
    in.read(reinterpret_cast<char*>(values.data()), static_cast<std::streamsize>(values.size() * 4));
    return values;
  };
  for (float value : read("model.layers.0.input_layernorm.weight")) EXPECT_EQ(value, 1.0f);
  const std::vector<float> embed = read("model.embed_tokens.weight");
  double sum = 0, squares = 0;
  for (float v : embed) {
    sum += v;
    squares += static_cast<double>(v) * v;
  }
  const double mean = sum / embed.size();
  EXPECT_NEAR(mean, 0.0, 1e-4);
  EXPECT_NEAR(std::sqrt(squares / embed.size() - mean * mean), 0.02, 2e-4);
}

TEST_F(RandomLlamaTest, WeightsArePureFunctionsOfSeedTensorAndElement) {
  EXPECT_EQ(StandardNormal(1, 2, 3), StandardNormal(1, 2, 3));
  EXPECT_NE(StandardNormal(1, 2, 3), StandardNormal(2, 2, 3));
  EXPECT_NE(StandardNormal(1, 2, 3), StandardNormal(1, 3, 3));
  EXPECT_NE(StandardNormal(1, 2, 2), StandardNormal(1, 2, 3));  // the two halves of a pair differ
}

TEST_F(RandomLlamaTest, EnsureWritesOnceIntoTheCache) {
  RandomLlamaOptions options = Options(*FindShape("tiny"), Dtype::kBFloat16);
  absl::StatusOr<fs::path> first = EnsureRandomLlama(options, dir_);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->filename(), "tiny-bfloat16-seed7");
  const auto written = fs::last_write_time(*first / "model.safetensors");
  absl::StatusOr<fs::path> second = EnsureRandomLlama(options, dir_);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(fs::last_write_time(*second / "model.safetensors"), written);
  EXPECT_FALSE(WriteRandomLlama(options, *first).ok());  // never over an existing model
}

}  // namespace
}  // namespace tgi::benchmark
