#include "shard/model/llama.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <limits>
#include <functional>
#include <memory>
#include <thread>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "shard/model/layers.h"
#include "shard/model/testing/greedy.h"
#include "shard/model/testing/oracle.h"
#include "shard/dist/communicator.h"
#include "shard/dist/testing/free_port.h"
#include "shard/kv/kv_pool.h"
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

// Greedy decoding of every case as one ragged batch: row i joins (its whole prompt as one
// chunk of the step) at step join_step[i], while the rows already running decode in the same
// forward. Each row has its own block table in one pool; rows leave when they are done.
std::vector<GreedyResult> RunRagged(const LlamaModel& model, const std::vector<OracleCase>& cases,
                                    const std::vector<int64_t>& join_step) {
  const auto n = static_cast<int64_t>(cases.size());
  std::unique_ptr<KvPool> pool = *KvPool::Create(model.CacheLayout(), 256);
  std::vector<BlockTable> tables;
  for (const OracleCase& c : cases) {
    tables.push_back(*BlockTable::Allocate(
        *pool, static_cast<int64_t>(c.prompt_tokens.size() + c.generated_tokens.size())));
  }
  std::vector<GreedyResult> results(n);
  std::vector<int64_t> context(n, 0), next(n, -1);
  std::vector<bool> done(n, false);
  for (int64_t step = 0;; ++step) {
    ForwardBatch batch;
    std::vector<int64_t> in_step;
    for (int64_t r = 0; r < n; ++r) {
      if (done[r] || join_step[r] > step) continue;
      const bool joining = next[r] < 0;
      const auto& prompt = cases[r].prompt_tokens;
      const int64_t new_tokens = joining ? static_cast<int64_t>(prompt.size()) : 1;
      if (joining) {
        batch.input_ids.insert(batch.input_ids.end(), prompt.begin(), prompt.end());
      } else {
        batch.input_ids.push_back(next[r]);
      }
      batch.rows.push_back({context[r], new_tokens, tables[r].blocks(), false});
      in_step.push_back(r);
    }
    if (in_step.empty()) {
      if (std::all_of(done.begin(), done.end(), [](bool d) { return d; })) break;
      continue;
    }
    absl::StatusOr<at::Tensor> logits = model.Forward(batch, pool->view());  // [rows, vocab]
    EXPECT_TRUE(logits.ok()) << logits.status();
    if (!logits.ok()) return results;
    EXPECT_TRUE(AllFinite(*logits)) << "step " << step;
    for (size_t i = 0; i < in_step.size(); ++i) {
      const int64_t r = in_step[i];
      at::Tensor row = (*logits)[static_cast<int64_t>(i)].contiguous();
      const int64_t token = row.argmax().item<int64_t>();
      context[r] += batch.rows[i].new_tokens;
      next[r] = token;
      results[r].tokens.push_back(token);
      results[r].logits.insert(results[r].logits.end(), row.data_ptr<float>(),
                               row.data_ptr<float>() + kVocab);
      done[r] = results[r].tokens.size() == cases[r].generated_tokens.size() || token == 1 ||
                token == 2;
      if (done[r]) tables[r].Reset();  // the row's blocks go back at once
    }
  }
  EXPECT_EQ(pool->free_blocks(), pool->num_blocks());
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

// The join steps of the ragged batch: 0 = all prefilled together (one forward of ragged
// prompts); otherwise each case joins the running batch later, its prefill in the same forward
// as the others' decode steps.
class LlamaBatchTest : public LlamaTest, public ::testing::WithParamInterface<bool> {};

TEST_P(LlamaBatchTest, RaggedBatchMatchesEachAlone) {
  std::vector<int64_t> join(cases_->size(), 0);
  if (GetParam()) {
    for (size_t i = 0; i < join.size(); ++i) join[i] = static_cast<int64_t>(3 * i);
  }
  const std::vector<GreedyResult> batched = RunRagged(*model_, *cases_, join);
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
    std::cout << "[ batch    ] " << c.name << (GetParam() ? " (joining later)" : "")
              << ": max |logit diff| vs alone = " << diff << "\n";
    // The kernels compute each row alone: batching changes nothing, bit for bit.
    EXPECT_EQ(diff, 0.0f);
  }
}

INSTANTIATE_TEST_SUITE_P(Joins, LlamaBatchTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "JoiningAtDifferentSteps" : "PrefilledTogether";
                         });

// all_logits gives, at every prompt position, what feeding the prompt one token at a time gives,
// and a prompt fed in chunks (chunked prefill) gives what one prefill gives.
TEST_F(LlamaTest, AllLogitsPrefillMatchesTokenByTokenAndChunks) {
  const OracleCase& c = Case("byte_fallback_64");
  const auto length = static_cast<int64_t>(c.prompt_tokens.size());
  std::unique_ptr<KvPool> pool = *KvPool::Create(model_->CacheLayout(), 64);
  BlockTable table = *BlockTable::Allocate(*pool, length);
  absl::StatusOr<at::Tensor> all = model_->Forward(
      {c.prompt_tokens, {StepRow{0, length, table.blocks(), true}}}, pool->view());
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->sizes(), (std::vector<int64_t>{length, kVocab}));

  BlockTable step_table = *BlockTable::Allocate(*pool, length);
  float diff = 0;
  for (int64_t t = 0; t < length; ++t) {
    absl::StatusOr<at::Tensor> step =
        model_->Forward({{c.prompt_tokens[t]}, {StepRow{t, 1, step_table.blocks(), false}}},
                        pool->view());
    ASSERT_TRUE(step.ok()) << step.status();
    diff = std::max(diff, ((*all)[t] - (*step)[0]).abs().max().item<float>());
  }
  EXPECT_EQ(diff, 0.0f);

  BlockTable chunk_table = *BlockTable::Allocate(*pool, length);
  constexpr int64_t kChunk = 7;
  for (int64_t t = 0; t < length; t += kChunk) {
    const int64_t n = std::min(kChunk, length - t);
    std::vector<int64_t> ids(c.prompt_tokens.begin() + t, c.prompt_tokens.begin() + t + n);
    absl::StatusOr<at::Tensor> chunk =
        model_->Forward({ids, {StepRow{t, n, chunk_table.blocks(), true}}}, pool->view());
    ASSERT_TRUE(chunk.ok()) << chunk.status();
    EXPECT_TRUE(at::equal(*chunk, all->narrow(0, t, n))) << "chunk at " << t;
  }
  at::Tensor last = (*all)[length - 1].contiguous();
  EXPECT_LE(MaxAbsDiff(last.data_ptr<float>(), c.logits.data(), kVocab), kLogitTolerance);
}

// bfloat16 weights (float16 runs as bfloat16): the logits of every oracle step, fed the oracle's
// tokens, stay within kBf16Tolerance of float32's, and the greedy tokens mostly agree.
constexpr float kBf16Tolerance = 0.4f;  // stories260K logits span about [-20, 20]

class LlamaHalfTest : public LlamaTest, public ::testing::WithParamInterface<at::ScalarType> {};

TEST_P(LlamaHalfTest, LogitsCloseToFloat32) {
  LoadOptions options;
  options.dtype = GetParam();
  absl::StatusOr<std::unique_ptr<LlamaModel>> model =
      LlamaModel::Load(testing::Stories260KDir(), options);
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ((*model)->dtype(), at::kBFloat16);  // float16 runs as bfloat16 on CPU
  EXPECT_EQ((*model)->kv_cache_dtype(), at::kBFloat16);
  EXPECT_EQ((*model)->kv_bytes_per_token(), 5 * 2 * 4 * 8 * 2);

  for (const OracleCase& c : *cases_) {
    SCOPED_TRACE(c.name);
    // Teacher forcing: both models read the prompt then the oracle's tokens.
    std::vector<int64_t> ids = c.prompt_tokens;
    ids.insert(ids.end(), c.generated_tokens.begin(), c.generated_tokens.end() - 1);
    const auto length = static_cast<int64_t>(ids.size());
    std::unique_ptr<KvPool> pool32 = *KvPool::Create(model_->CacheLayout(), 64);
    std::unique_ptr<KvPool> pool16 = *KvPool::Create((*model)->CacheLayout(), 64);
    BlockTable t32 = *BlockTable::Allocate(*pool32, length);
    BlockTable t16 = *BlockTable::Allocate(*pool16, length);
    at::Tensor f32 = *model_->Forward({ids, {StepRow{0, length, t32.blocks(), true}}}, pool32->view());
    at::Tensor b16 =
        *(*model)->Forward({ids, {StepRow{0, length, t16.blocks(), true}}}, pool16->view());
    const float diff = (f32 - b16).abs().max().item<float>();
    const double agree = (f32.argmax(1) == b16.argmax(1)).to(at::kFloat).mean().item<double>();
    std::cout << "[ " << c10::toString(GetParam()) << " ] " << c.name << ": max |logit diff| "
              << diff << ", argmax agreement " << agree << "\n";
    EXPECT_LE(diff, kBf16Tolerance);
    EXPECT_GE(agree, 0.9);
  }
}

INSTANTIATE_TEST_SUITE_P(Dtypes, LlamaHalfTest, ::testing::Values(at::kBFloat16, at::kHalf),
                         [](const ::testing::TestParamInfo<at::ScalarType>& info) {
                           return std::string(c10::toString(info.param));
                         });

// --kv-cache-dtype bfloat16 on the float32 model: half the cache bytes, logits close.
TEST_F(LlamaTest, Bfloat16CacheForAFloat32Model) {
  LoadOptions options;
  options.kv_cache_dtype = at::kBFloat16;
  std::unique_ptr<LlamaModel> model = *LlamaModel::Load(testing::Stories260KDir(), options);
  EXPECT_EQ(model->dtype(), at::kFloat);
  EXPECT_EQ(model->kv_bytes_per_token(), 5 * 2 * 4 * 8 * 2);
  const OracleCase& c = Case("once_upon_a_time_128");
  absl::StatusOr<GreedyResult> result =
      GreedyGenerate(*model, c.prompt_tokens, 32, model->config().eos_token_ids);
  ASSERT_TRUE(result.ok()) << result.status();
  int agree = 0;
  for (size_t i = 0; i < result->tokens.size(); ++i) agree += result->tokens[i] == c.generated_tokens[i];
  std::cout << "[ bf16 kv  ] " << agree << "/" << result->tokens.size() << " tokens agree\n";
  EXPECT_GE(agree, 24);
}

TEST_F(LlamaTest, ForwardRejectsBadInput) {
  std::unique_ptr<KvPool> pool = *KvPool::Create(model_->CacheLayout(), 4);
  BlockTable table = *BlockTable::Allocate(*pool, 16);
  const std::vector<int64_t> ids = {1, 2, 3, 4};
  EXPECT_TRUE(model_->Forward({ids, {StepRow{0, 4, table.blocks(), false}}}, pool->view()).ok());

  auto expect_error = [&](const ForwardBatch& batch, const kernels::PagedKv& cache) {
    absl::StatusOr<at::Tensor> out = model_->Forward(batch, cache);
    ASSERT_FALSE(out.ok());
    EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
  };
  expect_error({ids, {StepRow{0, 3, table.blocks(), false}}}, pool->view());   // id count
  expect_error({ids, {StepRow{14, 4, table.blocks(), false}}}, pool->view());  // past the table
  expect_error({ids, {StepRow{-1, 4, table.blocks(), false}}}, pool->view());  // negative context
  expect_error({{}, {StepRow{0, 0, table.blocks(), false}}}, pool->view());    // no new tokens
  expect_error({ids, {}}, pool->view());                                      // no rows
  expect_error({{1, 2, 512, 3}, {StepRow{0, 4, table.blocks(), false}}}, pool->view());  // vocab
  expect_error({{1, -2, 5, 3}, {StepRow{0, 4, table.blocks(), false}}}, pool->view());
  const int32_t outside[] = {7};
  expect_error({ids, {StepRow{0, 4, outside, false}}}, pool->view());  // block outside the pool
  std::unique_ptr<KvPool> big = *KvPool::Create(model_->CacheLayout(), 64);
  BlockTable long_table = *BlockTable::Allocate(*big, 600);
  expect_error({{1}, {StepRow{512, 1, long_table.blocks(), false}}}, big->view());  // position
  kernels::PagedKv wrong = pool->view();
  wrong.dtype = at::kBFloat16;
  expect_error({ids, {StepRow{0, 4, table.blocks(), false}}}, wrong);  // cache layout
  expect_error({ids, {StepRow{0, 4, table.blocks(), false}}}, kernels::PagedKv{});
}

TEST(KvPoolTest, AllocatesFreesAndRefusesCleanly) {
  kernels::PagedKv layout{.dtype = at::kFloat, .layers = 2, .kv_heads = 2, .head_dim = 8};
  std::unique_ptr<KvPool> pool = *KvPool::Create(layout, 5);
  EXPECT_EQ(pool->block_bytes(), 2 * 2 * 2 * 16 * 8 * 4);
  absl::StatusOr<BlockTable> a = BlockTable::Allocate(*pool, 33);  // 3 blocks
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->blocks().size(), 3u);
  EXPECT_EQ(a->capacity(), 48);
  EXPECT_EQ(pool->free_blocks(), 2);
  absl::StatusOr<BlockTable> b = BlockTable::Allocate(*pool, 40);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(pool->free_blocks(), 2);  // a refusal takes nothing
  BlockTable moved = std::move(*a);
  EXPECT_EQ(pool->free_blocks(), 2);
  moved.Reset();
  EXPECT_EQ(pool->free_blocks(), 5);
  EXPECT_FALSE(KvPool::Create(layout, 0).ok());
}

TEST(LlamaLoadTest, ParseDtype) {
  EXPECT_EQ(*ParseDtype("float32"), at::kFloat);
  EXPECT_EQ(*ParseDtype("bfloat16"), at::kBFloat16);
  EXPECT_EQ(*ParseDtype("float16"), at::kHalf);
  EXPECT_FALSE(ParseDtype("int8").ok());
  EXPECT_EQ(*ParseKvCacheDtype("auto"), std::nullopt);
  EXPECT_EQ(*ParseKvCacheDtype("bfloat16"), at::kBFloat16);
  EXPECT_EQ(*ParseKvCacheDtype("float32"), at::kFloat);
  EXPECT_FALSE(ParseKvCacheDtype("fp8").ok());
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

// Tensor parallelism: stories260K (8 heads, 4 KV heads) split over 2 ranks (heads and KV heads
// split) and 4 (one KV head per rank), one
// thread per rank, the ranks joined through Gloo.
class TensorParallelTest : public LlamaTest, public ::testing::WithParamInterface<int> {
 protected:
  // Runs body(rank, model) on one thread per rank, each with its share of stories260K.
  static void OnRanks(int world_size,
                      const std::function<void(int, const LlamaModel&)>& body) {
    const int port = dist::testing::FreeLoopbackPort();
    std::vector<std::thread> threads;
    for (int rank = 0; rank < world_size; ++rank) {
      threads.emplace_back([&, rank] {
        // One thread per rank (an OpenMP setting of this thread only): the ranks share 2 cores.
        omp_set_num_threads(1);
        absl::StatusOr<std::unique_ptr<dist::Communicator>> comm = dist::Communicator::Connect(
            {.rank = rank, .world_size = world_size, .master_addr = "127.0.0.1",
             .master_port = port, .timeout = std::chrono::seconds(60)});
        ASSERT_TRUE(comm.ok()) << comm.status();
        LoadOptions options;
        options.rank = rank;
        options.world_size = world_size;
        options.communicator = std::move(*comm);
        absl::StatusOr<std::unique_ptr<LlamaModel>> model =
            LlamaModel::Load(testing::Stories260KDir(), options);
        ASSERT_TRUE(model.ok()) << model.status();
        body(rank, **model);
      });
    }
    for (std::thread& t : threads) t.join();
  }
};

TEST_P(TensorParallelTest, EveryRankGivesOneShardsTokensAndLogits) {
  const int world_size = GetParam();
  std::vector<GreedyResult> single;
  for (const OracleCase& c : *cases_) {
    single.push_back(*GreedyGenerate(*model_, c.prompt_tokens,
                                     static_cast<int64_t>(c.generated_tokens.size()),
                                     model_->config().eos_token_ids));
  }
  std::vector<float> worst(static_cast<size_t>(world_size), 0.0f);
  OnRanks(world_size, [&](int rank, const LlamaModel& model) {
    // 4 KV heads: 4 / world_size of them per rank, or one replicated head.
    const int64_t local_kv_heads = world_size <= 4 ? 4 / world_size : 1;
    EXPECT_EQ(model.kv_bytes_per_token(), model_->kv_bytes_per_token() / 4 * local_kv_heads);
    std::vector<int64_t> join(cases_->size());
    for (size_t i = 0; i < join.size(); ++i) join[i] = static_cast<int64_t>(3 * i);
    const std::vector<GreedyResult> batched = RunRagged(model, *cases_, join);
    for (size_t i = 0; i < cases_->size(); ++i) {
      const OracleCase& c = (*cases_)[i];
      SCOPED_TRACE(absl::StrCat(c.name, ", rank ", rank, " of ", world_size));
      absl::StatusOr<GreedyResult> alone =
          GreedyGenerate(model, c.prompt_tokens, static_cast<int64_t>(c.generated_tokens.size()),
                         model.config().eos_token_ids);
      ASSERT_TRUE(alone.ok()) << alone.status();
      EXPECT_EQ(alone->tokens, c.generated_tokens);
      EXPECT_EQ(batched[i].tokens, c.generated_tokens);
      ASSERT_EQ(alone->logits.size(), single[i].logits.size());
      const float diff =
          MaxAbsDiff(alone->logits.data(), single[i].logits.data(), single[i].logits.size());
      worst[static_cast<size_t>(rank)] = std::max(worst[static_cast<size_t>(rank)], diff);
      EXPECT_LE(diff, kLogitTolerance);
      // Batch invariance holds across ranks too: the all-reduce adds in rank order.
      ASSERT_EQ(batched[i].logits.size(), alone->logits.size());
      EXPECT_EQ(MaxAbsDiff(batched[i].logits.data(), alone->logits.data(), alone->logits.size()),
                0.0f);
    }
  });
  std::cout << "[ sharded  ] " << world_size << " ranks: max |logit diff| vs one shard = "
            << *std::max_element(worst.begin(), worst.end()) << "\n";
}

INSTANTIATE_TEST_SUITE_P(Ranks, TensorParallelTest, ::testing::Values(2, 4),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return absl::StrCat(info.param, "Ranks");
                         });

// A communicator that is never used: the split is refused before any collective.
class NoPeers final : public dist::Communicator {
 public:
  NoPeers(int rank, int world_size) : Communicator(rank, world_size) {}
  std::string backend() const override { return "test"; }
  absl::Status AllReduceSum(float*, int64_t) override { return absl::InternalError("unused"); }
  absl::Status AllGather(const float*, int64_t, float*) override {
    return absl::InternalError("unused");
  }
  absl::StatusOr<int64_t> AllReduceMin(int64_t) override { return absl::InternalError("unused"); }
};

TEST(TensorParallelLoadTest, AnUnevenSplitNamesTheDimensionAndTheRanks) {
  absl::StatusOr<ModelConfig> config = LoadModelConfig(testing::Stories260KDir());
  ASSERT_TRUE(config.ok());
  absl::StatusOr<SafetensorsCheckpoint> checkpoint =
      SafetensorsCheckpoint::Open(testing::Stories260KDir());
  ASSERT_TRUE(checkpoint.ok());
  auto load = [&](const ModelConfig& c, int world_size) {
    LoadOptions options;
    options.world_size = world_size;
    options.communicator = std::make_shared<NoPeers>(0, world_size);
    return LlamaModel::Load(c, *checkpoint, options).status();
  };
  absl::Status heads = load(*config, 3);
  EXPECT_EQ(heads.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(heads.message().find("num_attention_heads (8) do not split evenly across 3 shards"),
            std::string::npos)
      << heads;
  ModelConfig odd_vocab = *config;
  odd_vocab.vocab_size = 511;
  absl::Status vocab = load(odd_vocab, 2);
  EXPECT_NE(vocab.message().find("vocab_size (511) do not split evenly across 2 shards"),
            std::string::npos)
      << vocab;
  // Without a communicator a rank other than 0 of 1 is refused.
  LoadOptions alone;
  alone.rank = 1;
  alone.world_size = 2;
  EXPECT_EQ(LlamaModel::Load(*config, *checkpoint, alone).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace tgi::shard
