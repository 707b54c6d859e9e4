// The batch layer over the paged KV pool, through the Engine on stories260K: Concatenate and
// Filter move no K/V (each request keeps its block table), finished and filtered requests free
// their blocks at once, and a prefill the pool cannot hold is refused cleanly.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <vector>

#include "shard/batch/engine.h"
#include "shard/model/testing/oracle.h"

namespace tgi::shard {
namespace {

RequestSpec Request(uint64_t id, const std::string& prompt, uint32_t max_new_tokens) {
  RequestSpec spec;
  spec.id = id;
  spec.inputs = prompt;
  spec.truncate = 256;
  spec.stopping.max_new_tokens = max_new_tokens;
  spec.stopping.ignore_eos_token = true;
  return spec;
}

class BatchTest : public ::testing::Test {
 public:
  static std::unique_ptr<Engine> MakeEngine(int64_t blocks) {
    std::unique_ptr<LlamaModel> model = *LlamaModel::Load(testing::Stories260KDir(), {});
    std::unique_ptr<common::Tokenizer> tokenizer =
        *common::Tokenizer::FromDirectory(testing::Stories260KDir());
    EngineOptions options;
    options.buckets.max_total_tokens = 512;
    options.kv_cache_blocks = blocks;
    return std::make_unique<Engine>(std::move(model), std::move(tokenizer), options);
  }

 protected:
  void SetUp() override { engine_ = MakeEngine(64); }

  std::vector<int32_t> Blocks(uint64_t batch, uint64_t request) const {
    std::span<const int32_t> blocks = engine_->FindBatch(batch)->BlocksOf(request);
    return {blocks.begin(), blocks.end()};
  }

  std::unique_ptr<Engine> engine_;
};

TEST_F(BatchTest, ConcatenateAndFilterMoveNoKv) {
  const int64_t total = engine_->pool()->num_blocks();
  // "Once upon a time": 5 tokens with BOS; + 20 new - 1 = 24 positions -> 2 blocks each.
  ASSERT_TRUE(engine_->Prefill(1, {Request(10, "Once upon a time", 20)}).ok());
  ASSERT_TRUE(engine_->Prefill(2, {Request(20, "Zoo", 40), Request(21, "The dog", 8)}).ok());
  EXPECT_EQ(engine_->pool()->free_blocks(), total - 2 - 3 - 1);
  const std::vector<int32_t> b10 = Blocks(1, 10), b20 = Blocks(2, 20), b21 = Blocks(2, 21);

  const std::vector<uint64_t> both = {1, 2};
  absl::StatusOr<StepResult> step = engine_->Decode(both);
  ASSERT_TRUE(step.ok()) << step.status();
  ASSERT_EQ(engine_->NumCachedBatches(), 1u);
  EXPECT_EQ(step->batch->id, 1u);
  EXPECT_EQ(Blocks(1, 10), b10);  // merged: every request keeps its blocks
  EXPECT_EQ(Blocks(1, 20), b20);
  EXPECT_EQ(Blocks(1, 21), b21);

  absl::StatusOr<CachedBatchInfo> info = engine_->Filter(1, std::vector<uint64_t>{10, 21});
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(engine_->pool()->free_blocks(), total - 2 - 1);  // request 20's blocks are back
  EXPECT_EQ(Blocks(1, 10), b10);
  EXPECT_EQ(Blocks(1, 21), b21);

  // Request 21 finishes after 8 tokens: its block goes back at that step.
  const std::vector<uint64_t> one = {1};
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(engine_->Decode(one).ok());
  EXPECT_EQ(engine_->pool()->free_blocks(), total - 2);
  engine_->ClearCache(std::nullopt);
  EXPECT_EQ(engine_->pool()->free_blocks(), total);
}

TEST_F(BatchTest, MaxTokensCountsCachedAndRemainingPositions) {
  absl::StatusOr<StepResult> prefill = engine_->Prefill(1, {Request(1, "Zoo", 10)});
  ASSERT_TRUE(prefill.ok());
  // 4 prompt tokens + 10 new - 1: the last token is never fed back.
  EXPECT_EQ(prefill->batch->max_tokens, 13u);
  EXPECT_EQ(prefill->batch->size, 1u);
}

TEST(BatchAdmissionTest, RefusesWhatThePoolCannotHoldAndKeepsServing) {
  std::unique_ptr<Engine> engine = BatchTest::MakeEngine(3);
  absl::StatusOr<StepResult> big =
      engine->Prefill(1, {Request(1, "Zoo", 30), Request(2, "Zoo", 30)});
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(engine->pool()->free_blocks(), 3);  // nothing taken
  EXPECT_EQ(engine->NumCachedBatches(), 0u);
  absl::StatusOr<StepResult> fits = engine->Prefill(2, {Request(3, "Zoo", 30)});
  ASSERT_TRUE(fits.ok()) << fits.status();
}

}  // namespace
}  // namespace tgi::shard
