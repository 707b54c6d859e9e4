#include "router/scheduler/queue.h"

#include <gtest/gtest.h>

#include <random>

namespace tgi::router {
namespace {

using std::chrono::milliseconds;

struct FakeClock {
  Clock::time_point now = Clock::time_point() + std::chrono::hours(1);
  ClockFn fn() {
    return [this] { return now; };
  }
};

class QueueTest : public ::testing::Test {
 protected:
  QueueTest() : queue_(Options(), clock_.fn()) {}

  static QueueOptions Options() {
    QueueOptions options;
    options.pad_sequence_to_multiple_of = 16;
    options.threshold = milliseconds(120);
    return options;
  }

  uint64_t Add(uint32_t input_length, uint32_t max_new_tokens = 10, uint32_t truncate = 1000) {
    QueueEntry entry;
    entry.request.input_length = input_length;
    entry.request.shard.truncate = truncate;
    entry.request.shard.stopping_parameters.max_new_tokens = max_new_tokens;
    entry.stream = std::make_shared<ResponseStream>();
    entry.queue_time = clock_.now;
    streams_.push_back(entry.stream);
    return queue_.Append(std::move(entry));
  }

  std::vector<uint64_t> Next(std::optional<size_t> min_size = std::nullopt,
                             std::optional<size_t> max_size = std::nullopt,
                             uint32_t prefill_budget = 1'000'000,
                             uint32_t token_budget = 1'000'000) {
    std::optional<QueuedBatch> batch =
        queue_.NextBatch(min_size, max_size, prefill_budget, token_budget);
    std::vector<uint64_t> ids;
    if (!batch) return ids;
    for (const ShardRequest& request : batch->batch.requests) ids.push_back(request.id);
    return ids;
  }

  FakeClock clock_;
  Queue queue_;
  std::vector<std::shared_ptr<ResponseStream>> streams_;
};

TEST(PaddedPromptLengthTest, RoundsUpToTheBucketCappedAtTruncate) {
  EXPECT_EQ(PaddedPromptLength(5, 100, 16), 16u);
  EXPECT_EQ(PaddedPromptLength(16, 100, 16), 16u);
  EXPECT_EQ(PaddedPromptLength(17, 100, 16), 32u);
  EXPECT_EQ(PaddedPromptLength(5, 8, 16), 8u);     // the shard never pads past truncate
  EXPECT_EQ(PaddedPromptLength(20, 20, 16), 20u);  // a prompt at max_input stays as is
  EXPECT_EQ(PaddedPromptLength(0, 100, 16), 16u);
  EXPECT_EQ(PaddedPromptLength(129, 1024, 128), 256u);
}

TEST_F(QueueTest, ShortestFirstThenFifoAmongEqualLengths) {
  Add(30);  // 0
  Add(10);  // 1
  Add(20);  // 2
  Add(10);  // 3
  EXPECT_EQ(Next(), (std::vector<uint64_t>{1, 3, 2, 0}));
  EXPECT_TRUE(queue_.empty());
}

TEST_F(QueueTest, RequestAndBatchIdsCountFromZero) {
  EXPECT_EQ(Add(5), 0u);
  EXPECT_EQ(Add(5), 1u);
  std::optional<QueuedBatch> first = queue_.NextBatch(std::nullopt, 1, 1000, 1000);
  std::optional<QueuedBatch> second = queue_.NextBatch(std::nullopt, 1, 1000, 1000);
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->batch.id, 0u);
  EXPECT_EQ(second->batch.id, 1u);
  EXPECT_EQ(second->batch.requests.at(0).id, 1u);
  EXPECT_EQ(Add(5), 2u);
}

TEST_F(QueueTest, OverdueEntriesAreServedFirstShortestAmongThem) {
  Add(40);  // 0
  Add(20);  // 1
  clock_.now += milliseconds(150);
  Add(5);  // 2, fresh and shortest
  EXPECT_EQ(Next(), (std::vector<uint64_t>{1, 0, 2}));
}

TEST_F(QueueTest, AgeEqualToTheThresholdIsNotOverdue) {
  Add(40);  // 0
  clock_.now += milliseconds(120);
  Add(5);  // 1
  EXPECT_EQ(Next(std::nullopt, 1), (std::vector<uint64_t>{1}));
  clock_.now += milliseconds(1);
  Add(1);  // 2: shorter, but 0 is now overdue
  EXPECT_EQ(Next(std::nullopt, 1), (std::vector<uint64_t>{0}));
}

TEST_F(QueueTest, AnEntryOldOnArrivalGoesStraightToOverdue) {
  Add(5);  // 0
  QueueEntry old;
  old.request.input_length = 50;
  old.request.shard.stopping_parameters.max_new_tokens = 1;
  old.stream = std::make_shared<ResponseStream>();
  old.queue_time = clock_.now - milliseconds(500);
  queue_.Append(std::move(old));  // 1
  EXPECT_EQ(Next(std::nullopt, 1), (std::vector<uint64_t>{1}));
}

TEST_F(QueueTest, PrefillBudgetCountsBatchSizeTimesThePaddedLongestPrompt) {
  Add(5);   // bucket 16
  Add(5);   // bucket 16
  Add(20);  // bucket 32: three rows of 32 = 96
  std::optional<QueuedBatch> batch = queue_.NextBatch(std::nullopt, std::nullopt, 64, 100000);
  ASSERT_TRUE(batch);
  EXPECT_EQ(batch->batch.size, 2u);
  EXPECT_EQ(batch->prefill_tokens, 32u);
  EXPECT_EQ(queue_.size(), 1u);
  batch = queue_.NextBatch(std::nullopt, std::nullopt, 64, 100000);
  ASSERT_TRUE(batch);
  EXPECT_EQ(batch->prefill_tokens, 32u);
}

TEST_F(QueueTest, TokenBudgetAddsMaxNewTokens) {
  Add(10, 20);
  Add(10, 20);
  Add(10, 20);
  // n=1: 16 + 20 = 36; n=2: 32 + 40 = 72; n=3: 48 + 60 = 108.
  std::optional<QueuedBatch> batch = queue_.NextBatch(std::nullopt, std::nullopt, 1000, 80);
  ASSERT_TRUE(batch);
  EXPECT_EQ(batch->batch.size, 2u);
  EXPECT_EQ(batch->batch.max_tokens, 72u);
  EXPECT_EQ(batch->decode_tokens, 40u);
}

TEST_F(QueueTest, AnOverBudgetEntryGoesBackAndLeadsTheNextBatch) {
  Add(10);  // 0: 16
  Add(60);  // 1: 2 x 64 = 128 > 100
  Add(70);  // 2
  EXPECT_EQ(Next(std::nullopt, std::nullopt, 100), (std::vector<uint64_t>{0}));
  EXPECT_EQ(Next(std::nullopt, std::nullopt, 100), (std::vector<uint64_t>{1}));
  EXPECT_EQ(Next(std::nullopt, std::nullopt, 100), (std::vector<uint64_t>{2}));
}

TEST_F(QueueTest, NothingFitsYieldsNone) {
  Add(100, 10);
  EXPECT_FALSE(queue_.NextBatch(std::nullopt, std::nullopt, 50, 1000));
  EXPECT_FALSE(queue_.NextBatch(std::nullopt, std::nullopt, 1000, 50));
  EXPECT_EQ(queue_.size(), 1u);
}

TEST_F(QueueTest, MinSizeNeedsEnoughEntriesAndPutsASmallBatchBack) {
  Add(10);
  Add(10);
  EXPECT_TRUE(Next(3).empty());
  EXPECT_EQ(queue_.size(), 2u);
  // Only one fits the budget: the batch of one is put back whole.
  EXPECT_TRUE(Next(2, std::nullopt, 16).empty());
  EXPECT_EQ(queue_.size(), 2u);
  EXPECT_EQ(Next(2), (std::vector<uint64_t>{0, 1}));
}

TEST_F(QueueTest, MaxSizeCapsTheBatchAndZeroMeansNone) {
  for (int i = 0; i < 5; ++i) Add(10);
  EXPECT_TRUE(Next(std::nullopt, 0).empty());
  EXPECT_EQ(queue_.size(), 5u);
  EXPECT_EQ(Next(std::nullopt, 2), (std::vector<uint64_t>{0, 1}));
  EXPECT_EQ(Next(std::nullopt, 2), (std::vector<uint64_t>{2, 3}));
  EXPECT_EQ(Next(), (std::vector<uint64_t>{4}));
}

TEST_F(QueueTest, ClosedStreamsAreDiscarded) {
  int dropped = 0;
  queue_.set_on_dropped([&] { ++dropped; });
  Add(10);  // 0
  Add(11);  // 1
  Add(12);  // 2
  streams_[0]->Close();
  streams_[2]->Close();
  EXPECT_EQ(Next(), (std::vector<uint64_t>{1}));
  EXPECT_EQ(dropped, 2);
  EXPECT_TRUE(queue_.empty());
}

TEST_F(QueueTest, BatchCarriesTheRequestAndSetsBatchTime) {
  QueueEntry entry;
  entry.request.shard.inputs = "Hello";
  entry.request.input_length = 3;
  entry.request.shard.truncate = 7;
  entry.request.shard.parameters.temperature = 0.5f;
  entry.request.shard.parameters.do_sample = true;
  entry.request.shard.parameters.seed = 9;
  entry.request.shard.stopping_parameters.max_new_tokens = 4;
  entry.request.shard.stopping_parameters.stop_sequences = {"\n"};
  entry.request.shard.prefill_logprobs = true;
  entry.request.shard.top_n_tokens = 2;
  entry.stream = std::make_shared<ResponseStream>();
  entry.queue_time = clock_.now;
  queue_.Append(std::move(entry));
  clock_.now += milliseconds(5);
  std::optional<QueuedBatch> batch = queue_.NextBatch(std::nullopt, std::nullopt, 100, 100);
  ASSERT_TRUE(batch);
  const ShardRequest& request = batch->batch.requests.at(0);
  EXPECT_EQ(request.inputs, "Hello");
  EXPECT_EQ(request.truncate, 7u);
  EXPECT_FLOAT_EQ(request.parameters.temperature, 0.5f);
  EXPECT_TRUE(request.parameters.do_sample);
  EXPECT_EQ(request.parameters.seed, 9u);
  EXPECT_EQ(request.stopping_parameters.max_new_tokens, 4u);
  EXPECT_EQ(request.stopping_parameters.stop_sequences, std::vector<std::string>{"\n"});
  EXPECT_TRUE(request.prefill_logprobs);
  EXPECT_EQ(request.top_n_tokens, 2u);
  // Padded to truncate (7), not to the bucket (16).
  EXPECT_EQ(batch->batch.max_tokens, 7u + 4u);
  EXPECT_EQ(batch->entries.at(0).batch_time, clock_.now);
}

TEST_F(QueueTest, BudgetsAreNeverExceeded) {
  std::mt19937 random(7);
  std::uniform_int_distribution<uint32_t> length(1, 200), new_tokens(1, 300);
  std::uniform_int_distribution<uint32_t> budget(100, 2000), size(0, 6);
  for (int i = 0; i < 300; ++i) Add(length(random), new_tokens(random), 256);
  int batches = 0;
  for (int round = 0; round < 2000 && !queue_.empty(); ++round) {
    const uint32_t prefill_budget = budget(random);
    const uint32_t token_budget = prefill_budget + budget(random);
    const size_t max_size = size(random) + 1;
    std::optional<QueuedBatch> batch =
        queue_.NextBatch(std::nullopt, max_size, prefill_budget, token_budget);
    clock_.now += milliseconds(40);
    if (!batch) continue;
    ++batches;
    uint32_t longest = 0, decode = 0;
    for (const auto& [id, entry] : batch->entries) {
      longest = std::max(longest, entry.request.input_length);
      decode += entry.request.shard.stopping_parameters.max_new_tokens;
    }
    const uint32_t prefill = batch->batch.size * PaddedPromptLength(longest, 256, 16);
    EXPECT_EQ(batch->prefill_tokens, prefill);
    EXPECT_LE(prefill, prefill_budget);
    EXPECT_LE(prefill + decode, token_budget);
    EXPECT_LE(batch->batch.size, max_size);
  }
  EXPECT_GT(batches, 50);
}

}  // namespace
}  // namespace tgi::router
