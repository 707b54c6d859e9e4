#include "router/scheduler/warmup.h"

#include <gtest/gtest.h>

#include "router/scheduler/testing/fake_shard_client.h"

namespace tgi::router {
namespace {

using Shapes = std::vector<WarmupShape>;

// (pass, shapes) of every step, for comparison with hand-computed lists.
std::vector<std::pair<WarmupPass, Shapes>> Steps(const WarmupPlan& plan) {
  std::vector<std::pair<WarmupPass, Shapes>> out;
  for (const WarmupStep& step : plan.steps) out.emplace_back(step.pass, step.shapes);
  return out;
}

TEST(WarmupPlanTest, DefaultBucketsWithoutMaxBatchSize) {
  WarmupOptions options;  // DB 8, PB 4, S 128
  options.max_input_tokens = 1024;
  options.max_batch_prefill_tokens = 4096;
  options.max_total_tokens = 2048;
  absl::StatusOr<WarmupPlan> plan = PlanWarmup(options);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->decode_batch_sizes, (std::vector<uint32_t>{8}));
  EXPECT_EQ(plan->prefill_batch_sizes, (std::vector<uint32_t>{4}));
  EXPECT_EQ(plan->seq_lengths, (std::vector<uint32_t>{128, 256, 384, 512, 640, 768, 896, 1024}));
  std::vector<std::pair<WarmupPass, Shapes>> expected;
  for (uint32_t len : plan->seq_lengths) {
    expected.push_back({WarmupPass::kPrefill, {{4, len}, {1, len}}});
  }
  // One decode bucket: no decode pass.
  expected.push_back({WarmupPass::kGreedy, {{4, 128}}});
  EXPECT_EQ(Steps(*plan), expected);
}

TEST(WarmupPlanTest, SmallBucketsWithSeveralDecodeBuckets) {
  WarmupOptions options;
  options.batch_bucket_size = 4;
  options.prefill_batch_bucket_size = 2;
  options.pad_sequence_to_multiple_of = 16;
  options.max_input_tokens = 40;
  options.max_batch_prefill_tokens = 100;  // maxP = min(100 / 40, 12) = 2
  options.max_total_tokens = 64;
  options.max_batch_size = 12;
  absl::StatusOr<WarmupPlan> plan = PlanWarmup(options);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->decode_batch_sizes, (std::vector<uint32_t>{4, 8, 12}));
  EXPECT_EQ(plan->prefill_batch_sizes, (std::vector<uint32_t>{2}));
  EXPECT_EQ(plan->seq_lengths, (std::vector<uint32_t>{16, 32, 40}));
  const std::vector<std::pair<WarmupPass, Shapes>> expected = {
      {WarmupPass::kPrefill, {{2, 16}, {1, 16}}},
      {WarmupPass::kPrefill, {{2, 32}, {1, 32}}},
      {WarmupPass::kPrefill, {{2, 40}, {1, 40}}},
      // Live count 2 -> 4 -> 6 -> 8 -> 10, reaching bucket 12.
      {WarmupPass::kDecode, {{2, 16}, {2, 16}, {2, 16}, {2, 16}, {2, 16}}},
      {WarmupPass::kGreedy, {{2, 16}}},
  };
  EXPECT_EQ(Steps(*plan), expected);

  // steps_per_bucket = ceil(4 / 2) = 2 -> max_new_tokens = 2 x 3 x 2 = 12 (<= 64 - 40).
  const WarmupStep& decode = plan->steps[3];
  for (const ShardBatch& batch : decode.batches) {
    for (const ShardRequest& request : batch.requests) {
      EXPECT_EQ(request.stopping_parameters.max_new_tokens, 12u);
    }
  }
}

TEST(WarmupPlanTest, DecodePassWithPrefillBucketSmallerThanDecodeBucket) {
  WarmupOptions options;  // DB 8, PB 4, S 128
  options.max_input_tokens = 256;
  options.max_batch_prefill_tokens = 1024;  // maxP = 4
  options.max_total_tokens = 300;
  options.max_batch_size = 16;
  absl::StatusOr<WarmupPlan> plan = PlanWarmup(options);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->decode_batch_sizes, (std::vector<uint32_t>{8, 16}));
  const std::vector<std::pair<WarmupPass, Shapes>> expected = {
      {WarmupPass::kPrefill, {{4, 128}, {1, 128}}},
      {WarmupPass::kPrefill, {{4, 256}, {1, 256}}},
      {WarmupPass::kDecode, {{4, 128}, {4, 128}, {4, 128}}},
      {WarmupPass::kGreedy, {{4, 128}}},
  };
  EXPECT_EQ(Steps(*plan), expected);
  // 2 x 2 buckets x ceil(8 / 4) = 8, within max_total - max_input = 44.
  EXPECT_EQ(plan->steps[2].batches[0].requests[0].stopping_parameters.max_new_tokens, 8u);
}

TEST(WarmupPlanTest, MaxInputBelowTheSequenceBucketIsItsOwnLength) {
  WarmupOptions options;
  options.max_input_tokens = 100;
  options.max_batch_prefill_tokens = 800;  // maxP = min(8, 8) = 8
  options.max_total_tokens = 105;
  absl::StatusOr<WarmupPlan> plan = PlanWarmup(options);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->seq_lengths, (std::vector<uint32_t>{100}));
  EXPECT_EQ(plan->prefill_batch_sizes, (std::vector<uint32_t>{4, 8}));
  const std::vector<std::pair<WarmupPass, Shapes>> expected = {
      {WarmupPass::kPrefill, {{4, 100}, {1, 100}}},
      {WarmupPass::kPrefill, {{8, 100}}},  // bs == maxD: nothing to concatenate
      {WarmupPass::kGreedy, {{4, 128}}},
      {WarmupPass::kGreedy, {{8, 128}}},
  };
  EXPECT_EQ(Steps(*plan), expected);
  // max_new_tokens = min(10, 105 - 100).
  EXPECT_EQ(plan->steps[0].batches[0].requests[0].stopping_parameters.max_new_tokens, 5u);
}

TEST(WarmupPlanTest, RequestsFollowTgiGaudi) {
  WarmupOptions options;
  options.pad_sequence_to_multiple_of = 16;
  options.max_input_tokens = 48;
  options.max_batch_prefill_tokens = 200;
  options.max_total_tokens = 64;
  absl::StatusOr<WarmupPlan> plan = PlanWarmup(options);
  ASSERT_TRUE(plan.ok()) << plan.status();
  const ShardBatch& first = plan->steps.front().batches.front();
  EXPECT_EQ(first.id, 1u);
  EXPECT_EQ(first.size, 4u);
  EXPECT_EQ(first.max_tokens, 64u);
  const ShardRequest& request = first.requests.front();
  EXPECT_EQ(request.id, 1u);
  EXPECT_EQ(request.truncate, 48u);
  EXPECT_TRUE(request.stopping_parameters.ignore_eos_token);
  EXPECT_EQ(request.stopping_parameters.max_new_tokens, 10u);
  EXPECT_TRUE(request.parameters.do_sample);
  EXPECT_FLOAT_EQ(request.parameters.temperature, 0.9f);
  EXPECT_EQ(request.parameters.top_k, 10u);
  EXPECT_FLOAT_EQ(request.parameters.repetition_penalty, 1.2f);
  EXPECT_FLOAT_EQ(request.parameters.frequency_penalty, 0.1f);
  EXPECT_FALSE(request.prefill_logprobs);
  EXPECT_EQ(request.top_n_tokens, 0u);
  // Ids keep counting across steps.
  EXPECT_EQ(plan->steps[0].batches[1].id, 2u);
  EXPECT_EQ(plan->steps[0].batches[1].requests[0].id, 5u);
  EXPECT_EQ(plan->steps[1].batches[0].id, 3u);
  // The greedy pass uses neutral parameters.
  const ShardRequest& greedy = plan->steps.back().batches[0].requests[0];
  EXPECT_FALSE(greedy.parameters.do_sample);
  EXPECT_FLOAT_EQ(greedy.parameters.temperature, 1.0f);
  EXPECT_EQ(greedy.parameters.top_k, 0u);
}

TEST(WarmupPlanTest, InputsLandInTheirBucket) {
  EXPECT_EQ(WarmupInput(128, 128), "_test ");
  EXPECT_EQ(WarmupInput(16, 16), "_test ");
  std::string expected;
  for (int i = 0; i < 64; ++i) expected += "_test ";
  EXPECT_EQ(WarmupInput(256, 128), expected);
  EXPECT_EQ(WarmupInput(40, 16), WarmupInput(48, 16));  // (3 - 1) x 8 repeats
  EXPECT_EQ(WarmupInput(40, 16).size(), 16u * 6u);
}

TEST(WarmupPlanTest, SkipTokenizerSendsTokenIds) {
  WarmupOptions options;
  options.pad_sequence_to_multiple_of = 16;
  options.max_input_tokens = 40;
  options.max_batch_prefill_tokens = 160;
  options.max_total_tokens = 64;
  options.skip_tokenizer = true;
  absl::StatusOr<WarmupPlan> plan = PlanWarmup(options);
  ASSERT_TRUE(plan.ok()) << plan.status();
  // len 16 -> 16 - 8 = 8 ids; len 40 -> 40 - 8 / 2 = 36 ids.
  const std::string& at16 = plan->steps[0].batches[0].requests[0].inputs;
  const std::string& at40 = plan->steps[2].batches[0].requests[0].inputs;
  EXPECT_EQ(std::count(at16.begin(), at16.end(), ',') + 1, 8);
  EXPECT_EQ(std::count(at40.begin(), at40.end(), ',') + 1, 36);
}

TEST(WarmupPlanTest, OnCpuOneCallSizesMemory) {
  WarmupOptions options;  // tgi-gaudi's buckets would give 41 prefill shapes here
  options.batch_bucket_size = 1;
  options.prefill_batch_bucket_size = 1;
  options.pad_sequence_to_multiple_of = 16;
  options.max_input_tokens = 512;
  options.max_batch_prefill_tokens = 2048;
  options.max_total_tokens = 1024;
  options.max_batch_size = 32;
  options.every_shape = false;
  absl::StatusOr<WarmupPlan> plan = PlanWarmup(options);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(Steps(*plan), (std::vector<std::pair<WarmupPass, Shapes>>{
                              {WarmupPass::kMemory, {{4, 512}}}}));
  const ShardBatch& batch = plan->steps[0].batches.at(0);
  ASSERT_EQ(batch.requests.size(), 4u);
  for (const ShardRequest& request : batch.requests) {
    EXPECT_EQ(request.truncate, 512u);
    EXPECT_EQ(request.stopping_parameters.max_new_tokens, 2u);
    EXPECT_FALSE(request.parameters.do_sample);
    // At least 512 tokens whatever the tokenizer: "_test " 512 times, truncated by the shard.
    EXPECT_EQ(request.inputs.size(), 512u * 6u);
  }
  // The batch never exceeds max_batch_size, and holds at least one prompt.
  options.max_batch_size = 2;
  EXPECT_EQ(PlanWarmup(options)->steps[0].shapes, (Shapes{{2, 512}}));
  options.max_batch_prefill_tokens = 512;
  EXPECT_EQ(PlanWarmup(options)->steps[0].shapes, (Shapes{{1, 512}}));
}

TEST(WarmupPlanTest, WithChunkedPrefillTheMemoryCallIsOneChunk) {
  WarmupOptions options;
  options.max_input_tokens = 512;
  options.max_batch_prefill_tokens = 16384;
  options.max_total_tokens = 1024;
  options.max_batch_size = 32;
  options.every_shape = false;
  options.max_prefill_chunk_tokens = 128;
  absl::StatusOr<WarmupPlan> plan = PlanWarmup(options);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->steps.at(0).shapes, (Shapes{{1, 128}}));
  EXPECT_EQ(plan->steps[0].batches[0].requests.at(0).truncate, 128u);
  options.max_prefill_chunk_tokens = 2048;  // four whole prompts
  EXPECT_EQ(PlanWarmup(options)->steps.at(0).shapes, (Shapes{{4, 512}}));
}

TEST(WarmupPlanTest, DefaultFlagsStillSizeMemory) {
  // The launcher's defaults: max_batch_prefill_tokens = max_input_tokens + 50 gives tgi-gaudi no
  // prefill bucket (4 x 1024 > 1074); the memory call keeps the plan from being empty.
  WarmupOptions options;
  options.max_input_tokens = 1024;
  options.max_batch_prefill_tokens = 1074;
  options.max_total_tokens = 2048;
  absl::StatusOr<WarmupPlan> plan = PlanWarmup(options);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_TRUE(plan->prefill_batch_sizes.empty());
  EXPECT_EQ(Steps(*plan), (std::vector<std::pair<WarmupPass, Shapes>>{
                              {WarmupPass::kMemory, {{1, 1024}}}}));
}

TEST(WarmupPlanTest, SkipTokenizerMemoryCallSendsExactIds) {
  WarmupOptions options;
  options.max_input_tokens = 40;
  options.max_batch_prefill_tokens = 100;
  options.max_total_tokens = 64;
  options.skip_tokenizer = true;
  options.every_shape = false;
  absl::StatusOr<WarmupPlan> plan = PlanWarmup(options);
  ASSERT_TRUE(plan.ok()) << plan.status();
  ASSERT_EQ(plan->steps[0].batches[0].requests.size(), 2u);
  const std::string& ids = plan->steps[0].batches[0].requests[0].inputs;
  EXPECT_EQ(std::count(ids.begin(), ids.end(), ',') + 1, 40);
}

TEST(WarmupPlanTest, RejectsImpossibleSettings) {
  WarmupOptions options;
  options.max_input_tokens = 1024;
  options.max_batch_prefill_tokens = 512;
  options.max_total_tokens = 2048;
  EXPECT_FALSE(PlanWarmup(options).ok());
  options.max_batch_prefill_tokens = 4096;
  options.batch_bucket_size = 0;
  EXPECT_FALSE(PlanWarmup(options).ok());
}

TEST(RunWarmupTest, OneCallPerStepAndTheSmallestSupportedTotal) {
  WarmupOptions options;
  options.max_input_tokens = 256;
  options.max_batch_prefill_tokens = 1024;
  options.max_total_tokens = 512;
  options.max_batch_size = 16;
  absl::StatusOr<WarmupPlan> plan = PlanWarmup(options);
  ASSERT_TRUE(plan.ok()) << plan.status();
  testing::FakeShardClient client;
  client.SetWarmupResult(30000);
  absl::StatusOr<std::optional<uint32_t>> result = RunWarmup(client, *plan, options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(*result, 30000u);
  std::vector<testing::FakeShardClient::Call> calls = client.calls("Warmup");
  ASSERT_EQ(calls.size(), plan->steps.size());
  EXPECT_EQ(calls[0].batch_ids, (std::vector<uint64_t>{1, 2}));

  client.SetWarmupResult(std::nullopt);
  result = RunWarmup(client, *plan, options);
  ASSERT_TRUE(result.ok());
  EXPECT_FALSE(*result);

  client.FailNext("Warmup", "out of memory");
  result = RunWarmup(client, *plan, options);
  EXPECT_EQ(result.status().message(), "out of memory");
}

TEST(RunWarmupTest, AStopEndsItBetweenCalls) {
  WarmupOptions options;
  options.max_input_tokens = 256;
  options.max_batch_prefill_tokens = 1024;
  options.max_total_tokens = 512;
  options.max_batch_size = 16;
  absl::StatusOr<WarmupPlan> plan = PlanWarmup(options);
  ASSERT_TRUE(plan.ok()) << plan.status();
  ASSERT_GT(plan->steps.size(), 2u);
  testing::FakeShardClient client;
  size_t asked = 0;
  absl::StatusOr<std::optional<uint32_t>> result =
      RunWarmup(client, *plan, options, [&] { return ++asked > 2; });
  EXPECT_TRUE(absl::IsCancelled(result.status())) << result.status();
  EXPECT_EQ(client.calls("Warmup").size(), 2u);
}

}  // namespace
}  // namespace tgi::router
