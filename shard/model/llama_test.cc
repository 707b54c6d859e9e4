#include "shard/model/llama.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <limits>
#include <memory>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "shard/model/layers.h"
#include "shard/model/testing/greedy.h"
#include "shard/model/testing/oracle.h"
#include "shard/model/threads.h"

namespace tgi::shard {
namespace {

using testing::GreedyGenerate;
using testing::GreedyResult;
using testing::OracleCase;

constexpr int64_t kVocab = 512;
constexpr float kLogitTolerance = 1e-4f;

float MaxAbsDiff(const float* a, const float* b, size_t n) {
  float diff = 0;
  for (size_t i = 0; i < n; ++i) diff = std::max(diff, std::abs(a[i] - b[i]));
  return diff;
}

bool AllFinite(const at::Tensor& t) { return at::isfinite(t).all().item<bool>(); }

// Greedy decoding of every case in one left-padded batch of prompt bucket `bucket`, plus a
// fully padded dummy row (the last). Rows that finish keep running, their outputs ignored. With
// `moving_window`, attention skips the leading slots that no unfinished row needs.
std::vector<GreedyResult> RunBatch(const LlamaModel& model, const std::vector<OracleCase>& cases,
                                   int64_t bucket, bool moving_window) {
  const auto real_rows = static_cast<int64_t>(cases.size());
  const int64_t rows = real_rows + 1;
  int64_t max_new = 0;
  for (const OracleCase& c : cases) {
    max_new = std::max<int64_t>(max_new, static_cast<int64_t>(c.generated_tokens.size()));
  }
  const int64_t max_seq = bucket + max_new;
  const float inf = std::numeric_limits<float>::infinity();
  at::Tensor bias = at::full({rows, max_seq}, -inf, at::kFloat);  // persistent, like the batch code
  at::Tensor ids = at::zeros({rows, bucket}, at::kLong);
  at::Tensor positions = at::zeros({rows, bucket}, at::kLong);
  std::vector<int64_t> lengths;
  for (int64_t r = 0; r < real_rows; ++r) {
    const auto length = static_cast<int64_t>(cases[r].prompt_tokens.size());
    lengths.push_back(length);
    ids[r].narrow(0, bucket - length, length).copy_(at::tensor(cases[r].prompt_tokens, at::kLong));
    positions[r].narrow(0, bucket - length, length).copy_(at::arange(length, at::kLong));
    bias[r].narrow(0, bucket - length, length).zero_();
  }
  KvCache cache = *model.AllocateCache(rows, max_seq);
  ForwardBatch batch{ids, positions, bias.narrow(1, 0, bucket), 0, 0, false};

  std::vector<GreedyResult> results(real_rows);
  std::vector<bool> done(real_rows, false);
  for (int64_t step = 0;; ++step) {
    absl::StatusOr<at::Tensor> logits = model.Forward(batch, cache);  // [rows, 1, vocab]
    EXPECT_TRUE(logits.ok()) << logits.status();
    if (!logits.ok()) return results;
    EXPECT_TRUE(AllFinite(*logits)) << "step " << step;  // the dummy row included
    at::Tensor next = at::zeros({rows, 1}, at::kLong);
    for (int64_t r = 0; r < real_rows; ++r) {
      at::Tensor row = (*logits)[r].reshape({-1}).contiguous();
      const int64_t token = row.argmax().item<int64_t>();
      next[r][0] = token;
      if (done[r]) continue;
      results[r].tokens.push_back(token);
      results[r].logits.insert(results[r].logits.end(), row.data_ptr<float>(),
                               row.data_ptr<float>() + kVocab);
      done[r] =
          results[r].tokens.size() == cases[r].generated_tokens.size() || token == 1 || token == 2;
    }
    if (std::all_of(done.begin(), done.end(), [](bool d) { return d; })) break;
    const int64_t write_offset = bucket + step;
    int64_t window_start = moving_window ? write_offset : 0;
    for (int64_t r = 0; r < real_rows; ++r) {
      bias[r][write_offset] = 0.0f;
      if (!done[r]) window_start = std::min(window_start, bucket - lengths[r]);
    }
    at::Tensor next_positions = at::zeros({rows, 1}, at::kLong);
    for (int64_t r = 0; r < real_rows; ++r) next_positions[r][0] = lengths[r] + step;
    batch = ForwardBatch{
        next,         next_positions, bias.narrow(1, window_start, write_offset + 1 - window_start),
        write_offset, window_start,   false};
  }
  return results;
}

class LlamaTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<std::unique_ptr<LlamaModel>> model =
        LlamaModel::Load(testing::Stories260KDir(), LoadOptions{});
    ASSERT_TRUE(model.ok()) << model.status();
    model_ = model->release();
    absl::StatusOr<std::vector<OracleCase>> oracle = testing::LoadStories260KOracle();
    ASSERT_TRUE(oracle.ok()) << oracle.status();
    ASSERT_FALSE(oracle->empty());
    cases_ = new std::vector<OracleCase>(std::move(*oracle));
  }
  static void TearDownTestSuite() {
    delete model_;
    delete cases_;
  }

  static const OracleCase& Case(const std::string& name) {
    for (const OracleCase& c : *cases_) {
      if (c.name == name) return c;
    }
    ADD_FAILURE() << "no oracle case " << name;
    return cases_->front();
  }

  static LlamaModel* model_;
  static std::vector<OracleCase>* cases_;
};

LlamaModel* LlamaTest::model_ = nullptr;
std::vector<OracleCase>* LlamaTest::cases_ = nullptr;

TEST_F(LlamaTest, Accessors) {
  EXPECT_EQ(model_->dtype(), at::kFloat);
  EXPECT_TRUE(model_->device().is_cpu());
  EXPECT_EQ(model_->kv_bytes_per_token(), 5 * 2 * 4 * 8 * 4);
  EXPECT_EQ(model_->max_positions(), 512);
  absl::StatusOr<SafetensorsCheckpoint> checkpoint =
      SafetensorsCheckpoint::Open(testing::Stories260KDir());
  ASSERT_TRUE(checkpoint.ok());
  int64_t total = 0;
  for (const std::string& name : checkpoint->Names()) total += checkpoint->Get(name)->numel();
  EXPECT_EQ(model_->num_parameters(), total);
  EXPECT_EQ(model_->config().eos_token_ids, (std::vector<int64_t>{2, 1}));
}

TEST_F(LlamaTest, GreedyMatchesOracleAlone) {
  for (const OracleCase& c : *cases_) {
    SCOPED_TRACE(c.name);
    absl::StatusOr<GreedyResult> result =
        GreedyGenerate(*model_, c.prompt_tokens, static_cast<int64_t>(c.generated_tokens.size()),
                       model_->config().eos_token_ids);
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->tokens, c.generated_tokens);
    if (c.logits.empty() || result->logits.size() != c.logits.size()) continue;
    const float diff = MaxAbsDiff(result->logits.data(), c.logits.data(), c.logits.size());
    std::cout << "[ oracle   ] " << c.name << ": max |logit diff| = " << diff << "\n";
    EXPECT_LE(diff, kLogitTolerance);
  }
}

class LlamaBatchTest : public LlamaTest, public ::testing::WithParamInterface<bool> {};

TEST_P(LlamaBatchTest, LeftPaddedBatchMatchesEachAlone) {
  const std::vector<GreedyResult> batched = RunBatch(*model_, *cases_, 32, GetParam());
  ASSERT_EQ(batched.size(), cases_->size());
  for (size_t i = 0; i < cases_->size(); ++i) {
    const OracleCase& c = (*cases_)[i];
    SCOPED_TRACE(c.name);
    absl::StatusOr<GreedyResult> alone =
        GreedyGenerate(*model_, c.prompt_tokens, static_cast<int64_t>(c.generated_tokens.size()),
                       model_->config().eos_token_ids);
    ASSERT_TRUE(alone.ok()) << alone.status();
    EXPECT_EQ(batched[i].tokens, alone->tokens);
    EXPECT_EQ(batched[i].tokens, c.generated_tokens);
    ASSERT_EQ(batched[i].logits.size(), alone->logits.size());
    const float diff =
        MaxAbsDiff(batched[i].logits.data(), alone->logits.data(), alone->logits.size());
    std::cout << "[ batch    ] " << c.name << (GetParam() ? " (moving window)" : "")
              << ": max |logit diff| vs alone = " << diff << "\n";
    EXPECT_LE(diff, kLogitTolerance);
  }
}

INSTANTIATE_TEST_SUITE_P(Windows, LlamaBatchTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "MovingWindow" : "FullWindow";
                         });

// all_logits gives, at every prompt position, what feeding the prompt one token at a time gives.
TEST_F(LlamaTest, AllLogitsPrefillMatchesTokenByToken) {
  const OracleCase& c = Case("byte_fallback_64");
  const auto length = static_cast<int64_t>(c.prompt_tokens.size());
  at::Tensor ids = at::tensor(c.prompt_tokens, at::kLong).view({1, length});
  KvCache cache = *model_->AllocateCache(1, length);
  at::Tensor bias = at::zeros({1, length}, at::kFloat);
  absl::StatusOr<at::Tensor> all = model_->Forward(
      {ids, at::arange(length, at::kLong).view({1, length}), bias, 0, 0, true}, cache);
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->sizes(), (std::vector<int64_t>{1, length, kVocab}));

  KvCache step_cache = *model_->AllocateCache(1, length);
  float diff = 0;
  for (int64_t t = 0; t < length; ++t) {
    absl::StatusOr<at::Tensor> step = model_->Forward(
        {ids.narrow(1, t, 1), at::full({1, 1}, t, at::kLong), bias.narrow(1, 0, t + 1), t, 0},
        step_cache);
    ASSERT_TRUE(step.ok()) << step.status();
    diff = std::max(diff, ((*all)[0][t] - (*step)[0][0]).abs().max().item<float>());
  }
  EXPECT_LE(diff, kLogitTolerance);
  at::Tensor last = (*all)[0][length - 1].contiguous();
  EXPECT_LE(MaxAbsDiff(last.data_ptr<float>(), c.logits.data(), kVocab), kLogitTolerance);
}

class LlamaHalfTest : public LlamaTest, public ::testing::WithParamInterface<at::ScalarType> {};

TEST_P(LlamaHalfTest, LoadsAndGenerates) {
  LoadOptions options;
  options.dtype = GetParam();
  absl::StatusOr<std::unique_ptr<LlamaModel>> model =
      LlamaModel::Load(testing::Stories260KDir(), options);
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ((*model)->dtype(), at::kBFloat16);  // float16 runs as bfloat16 on CPU
  EXPECT_EQ((*model)->kv_bytes_per_token(), 5 * 2 * 4 * 8 * 2);

  const OracleCase& c = Case("once_upon_a_time_128");
  constexpr int64_t kTokens = 16;
  absl::StatusOr<GreedyResult> result =
      GreedyGenerate(**model, c.prompt_tokens, kTokens, (*model)->config().eos_token_ids);
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_FALSE(result->tokens.empty());
  int agree = 0;
  for (size_t i = 0; i < result->tokens.size(); ++i) {
    EXPECT_GE(result->tokens[i], 0);
    EXPECT_LT(result->tokens[i], kVocab);
    agree += result->tokens[i] == c.generated_tokens[i];
  }
  for (float logit : result->logits) ASSERT_TRUE(std::isfinite(logit));
  std::cout << "[ " << c10::toString(GetParam()) << " ] " << agree << "/" << result->tokens.size()
            << " greedy tokens agree with float32\n";
  EXPECT_GE(agree, static_cast<int>(result->tokens.size()) / 2);

  // A short padded batch with a dummy row stays finite in half precision too.
  std::vector<OracleCase> short_cases = *cases_;
  for (OracleCase& s : short_cases) s.generated_tokens.resize(4);
  std::vector<GreedyResult> batched = RunBatch(**model, short_cases, 32, true);
  for (const GreedyResult& row : batched) {
    for (int64_t token : row.tokens) EXPECT_TRUE(token >= 0 && token < kVocab);
  }
}

INSTANTIATE_TEST_SUITE_P(Dtypes, LlamaHalfTest, ::testing::Values(at::kBFloat16, at::kHalf),
                         [](const ::testing::TestParamInfo<at::ScalarType>& info) {
                           return std::string(c10::toString(info.param));
                         });

TEST_F(LlamaTest, ForwardRejectsBadInput) {
  KvCache cache = *model_->AllocateCache(2, 8);
  const at::Tensor ids = at::ones({2, 4}, at::kLong);
  const at::Tensor positions = at::zeros({2, 4}, at::kLong);
  const at::Tensor bias = at::zeros({2, 4}, at::kFloat);
  EXPECT_TRUE(model_->Forward({ids, positions, bias, 0, 0}, cache).ok());

  auto expect_error = [&](const ForwardBatch& batch, KvCache& c) {
    absl::StatusOr<at::Tensor> out = model_->Forward(batch, c);
    EXPECT_FALSE(out.ok());
    return out.status().code();
  };
  expect_error({ids, positions, at::zeros({2, 3}, at::kFloat), 0, 0}, cache);  // bias width
  expect_error({ids, positions, bias.to(at::kDouble), 0, 0}, cache);           // bias dtype
  expect_error({ids.to(at::kInt), positions, bias, 0, 0}, cache);              // ids dtype
  expect_error({ids, positions, at::zeros({2, 6}, at::kFloat), 6, 0}, cache);  // past max_seq
  expect_error({ids, positions, at::zeros({2, 2}, at::kFloat), 2, 3}, cache);  // window > offset
  expect_error({ids.narrow(0, 0, 1), positions, bias, 0, 0}, cache);           // batch size
  KvCache empty;
  expect_error({ids, positions, bias, 0, 0}, empty);
  // Out-of-range values are caught at the border, not crashes.
  EXPECT_EQ(expect_error({at::full({2, 4}, kVocab, at::kLong), positions, bias, 0, 0}, cache),
            absl::StatusCode::kInternal);
  expect_error({ids, at::full({2, 4}, 512, at::kLong), bias, 0, 0}, cache);

  EXPECT_FALSE(model_->AllocateCache(0, 8).ok());
}

// The batch code runs a bucket's first rows on a view of its cache.
TEST_F(LlamaTest, AcceptsACacheViewOfTheFirstRows) {
  const at::Tensor ids = at::tensor({1, 403, 407, 1, 261, 378}, at::kLong).view({2, 3});
  const ForwardBatch batch{ids, at::arange(3, at::kLong).repeat({2, 1}), at::zeros({2, 3}), 0, 0};
  KvCache full = *model_->AllocateCache(4, 6);
  KvCache view{full.kv.narrow(2, 0, 2)};
  KvCache exact = *model_->AllocateCache(2, 6);
  absl::StatusOr<at::Tensor> a = model_->Forward(batch, view);
  absl::StatusOr<at::Tensor> b = model_->Forward(batch, exact);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_TRUE(at::equal(*a, *b));
  EXPECT_TRUE(at::equal(full.kv.narrow(2, 0, 2), exact.kv));
  EXPECT_TRUE(at::equal(full.kv.narrow(2, 2, 2), at::zeros_like(exact.kv)));  // rows untouched
}

TEST(LlamaLoadTest, TensorParallelIsNotYetSupported) {
  LoadOptions options;
  options.world_size = 2;
  absl::StatusOr<std::unique_ptr<LlamaModel>> model =
      LlamaModel::Load(testing::Stories260KDir(), options);
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().code(), absl::StatusCode::kUnimplemented);
}

TEST(LlamaLoadTest, ParseDtype) {
  EXPECT_EQ(*ParseDtype("float32"), at::kFloat);
  EXPECT_EQ(*ParseDtype("bfloat16"), at::kBFloat16);
  EXPECT_EQ(*ParseDtype("float16"), at::kHalf);
  EXPECT_FALSE(ParseDtype("int8").ok());
}

// GQA without repeated K/V over strided cache windows equals the textbook computation, for the
// decode kernel (T = 1) and the batched-matmul path (T > 1); a fully masked query yields zeros.
class CachedAttentionTest : public ::testing::TestWithParam<std::tuple<int64_t, at::ScalarType>> {};

TEST_P(CachedAttentionTest, MatchesReference) {
  const auto [seq, dtype] = GetParam();
  at::manual_seed(0);
  const int64_t batch = 3, heads = 4, kv_heads = 2, head_dim = 8, slots = 7;
  at::Tensor q = at::randn({batch, seq, heads, head_dim}).to(dtype);
  // Windows of a larger cache, as the model passes them: [batch, kv_heads, slots, head_dim].
  at::Tensor cache = at::randn({2, batch, kv_heads, slots + 5, head_dim}).to(dtype);
  at::Tensor k = cache[0].narrow(2, 2, slots);
  at::Tensor v = cache[1].narrow(2, 2, slots);
  const float inf = std::numeric_limits<float>::infinity();
  at::Tensor bias = at::zeros({batch, seq, slots});
  bias[0].narrow(1, 0, 2).fill_(-inf);  // row 0: two padding slots
  bias[1][seq - 1].fill_(-inf);         // row 1, last query: everything masked
  bias[2].narrow(1, 3, 1).fill_(-inf);  // row 2: a hole
  const double scale = 1.0 / std::sqrt(8.0);
  at::Tensor out = CachedAttention(q, k, v, bias, scale);  // [batch, seq, heads * head_dim]
  ASSERT_EQ(out.scalar_type(), dtype);

  at::Tensor k_full = k.to(at::kFloat).repeat_interleave(heads / kv_heads, 1);
  at::Tensor v_full = v.to(at::kFloat).repeat_interleave(heads / kv_heads, 1);
  at::Tensor scores = at::matmul(q.to(at::kFloat).transpose(1, 2), k_full.transpose(2, 3)) * scale;
  at::Tensor probs = at::softmax(scores + bias.unsqueeze(1), -1).nan_to_num(0.0);
  at::Tensor expected = at::matmul(probs, v_full).transpose(1, 2).reshape({batch, seq, -1});
  const double tolerance = dtype == at::kFloat ? 1e-5 : 2e-2;
  EXPECT_TRUE(at::allclose(out.to(at::kFloat), expected, tolerance, tolerance))
      << (out.to(at::kFloat) - expected).abs().max();
  EXPECT_TRUE(at::equal(out[1][seq - 1].to(at::kFloat), at::zeros({heads * head_dim})));
}

INSTANTIATE_TEST_SUITE_P(
    Paths, CachedAttentionTest,
    ::testing::Combine(::testing::Values(1, 3), ::testing::Values(at::kFloat, at::kBFloat16)),
    [](const ::testing::TestParamInfo<std::tuple<int64_t, at::ScalarType>>& info) {
      return absl::StrCat(std::get<0>(info.param) == 1 ? "Decode" : "Prefill",
                          c10::toString(std::get<1>(info.param)));
    });

TEST(LayersTest, StepAttentionBiasIsCausalAmongNewTokens) {
  const float inf = std::numeric_limits<float>::infinity();
  at::Tensor key_bias = at::zeros({1, 4});
  key_bias[0][0] = -inf;
  // Window slots 2..5, new tokens at slots 3, 4, 5.
  at::Tensor bias = StepAttentionBias(key_bias, 3, 3, 2);
  at::Tensor expected =
      at::tensor({-inf, 0.f, -inf, -inf, -inf, 0.f, 0.f, -inf, -inf, 0.f, 0.f, 0.f})
          .view({1, 3, 4});
  EXPECT_TRUE(at::equal(bias, expected));
  EXPECT_EQ(StepAttentionBias(key_bias, 1, 5, 2).sizes(), (std::vector<int64_t>{1, 1, 4}));
}

TEST(ThreadsTest, UsesTheAffinityMask) {
  const int before = at::get_num_threads();
  EXPECT_GE(AffinityCpuCount(), 1);
  EXPECT_EQ(ConfigureTorchThreads(), AffinityCpuCount());
  EXPECT_EQ(ConfigureTorchThreads(1), 1);  // callable again: the inter-op setting is guarded
  at::set_num_threads(before);
}

TEST(LayersTest, Llama3InverseFrequencies) {
  RopeScaling none;
  RopeScaling llama3{RopeScaling::Type::kLlama3, 8.0, 1.0, 4.0, 8192};
  at::Tensor base = RotaryEmbedding::InverseFrequencies(128, 500000.0, none);
  at::Tensor scaled = RotaryEmbedding::InverseFrequencies(128, 500000.0, llama3);
  ASSERT_EQ(scaled.numel(), 64);
  for (int64_t i = 0; i < 64; ++i) {
    const double f = base[i].item<double>();
    const double s = scaled[i].item<double>();
    const double wavelen = 2 * M_PI / f;
    if (wavelen < 8192 / 4.0) {
      EXPECT_FLOAT_EQ(s, f) << i;  // high frequencies untouched
    } else if (wavelen > 8192 / 1.0) {
      EXPECT_FLOAT_EQ(s, f / 8.0) << i;  // low frequencies divided by the factor
    } else {
      EXPECT_LE(s, f) << i;
      EXPECT_GE(s, f / 8.0) << i;
    }
  }
  RopeScaling linear{RopeScaling::Type::kLinear, 2.0};
  at::Tensor halved = RotaryEmbedding::InverseFrequencies(8, 10000.0, linear);
  EXPECT_TRUE(at::allclose(halved, RotaryEmbedding::InverseFrequencies(8, 10000.0, none) / 2));
}

}  // namespace
}  // namespace tgi::shard
