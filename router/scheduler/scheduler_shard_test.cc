// The scheduler over GrpcShardClient and a real text-generation-shard on the bundled model:
// warmup, health, batched and late-joining requests with the greedy oracle's tokens, and a
// cancellation. Skips, saying why, when the shard is not built.
#include <gtest/gtest.h>

#include <filesystem>

#include "router/scheduler/batch_limits.h"
#include "router/scheduler/scheduler.h"
#include "router/scheduler/warmup.h"
#include "router/shard_client/grpc_shard_client.h"
#include "router/shard_client/testing/real_shard.h"

namespace tgi::router {
namespace {

namespace fs = std::filesystem;

constexpr auto kTimeout = std::chrono::seconds(120);

testing::OracleCase Oracle(const std::string& name) {
  absl::StatusOr<testing::OracleCase> oracle = testing::LoadOracleCase(
      (fs::path(TGI_TESTDATA_DIR) / "oracle" / "stories260K_greedy.json").string(), name);
  EXPECT_TRUE(oracle.ok()) << oracle.status();
  return oracle.ok() ? *oracle : testing::OracleCase{};
}

ValidRequest Greedy(const std::string& prompt, uint32_t max_new_tokens) {
  ValidRequest request;
  request.shard.inputs = prompt;
  request.input_length = 8;
  request.shard.truncate = 64;
  request.shard.stopping_parameters.max_new_tokens = max_new_tokens;
  return request;
}

// The token ids of every event up to the final one; `end` receives the End event if any.
std::vector<uint32_t> Collect(ResponseStream& stream, std::optional<EndEvent>* end,
                              size_t stop_after = SIZE_MAX) {
  std::vector<uint32_t> ids;
  while (ids.size() < stop_after) {
    std::optional<ResponseEvent> event = stream.Pop(kTimeout);
    if (!event) {
      ADD_FAILURE() << "no event after " << ids.size() << " tokens";
      break;
    }
    if (const auto* step = std::get_if<IntermediateEvent>(&*event)) ids.push_back(step->token.id);
    if (auto* last = std::get_if<EndEvent>(&*event)) {
      ids.push_back(last->token.id);
      *end = std::move(*last);
      break;
    }
    if (const auto* error = std::get_if<ErrorEvent>(&*event)) {
      ADD_FAILURE() << error->message;
      break;
    }
  }
  return ids;
}

class SchedulerShardTest : public ::testing::Test {
 protected:
  void SetUp() override {
#ifndef TGI_SHARD_BIN
    GTEST_SKIP() << "text-generation-shard is not part of this build (TGI_BUILD_SHARD=OFF)";
#else
    if (!fs::exists(TGI_SHARD_BIN)) {
      GTEST_SKIP() << "text-generation-shard has not been built: " << TGI_SHARD_BIN;
    }
    absl::StatusOr<std::unique_ptr<testing::ShardProcess>> shard = testing::ShardProcess::Start(
        TGI_SHARD_BIN, TGI_MODEL_DIR,
        {{"PAD_SEQUENCE_TO_MULTIPLE_OF", "16"}, {"MAX_TOTAL_TOKENS", "128"}});
    ASSERT_TRUE(shard.ok()) << shard.status();
    shard_ = std::move(*shard);
#endif
  }

  std::unique_ptr<testing::ShardProcess> shard_;
};

TEST_F(SchedulerShardTest, WarmupThenServeTheOraclesTokens) {
  absl::StatusOr<std::unique_ptr<GrpcShardClient>> connected =
      GrpcShardClient::Connect(shard_->socket(), std::chrono::seconds(60));
  ASSERT_TRUE(connected.ok()) << connected.status();
  std::shared_ptr<ShardClient> client = std::move(*connected);

  WarmupOptions warmup;
  warmup.pad_sequence_to_multiple_of = 16;
  warmup.max_input_tokens = 64;
  warmup.max_batch_prefill_tokens = 256;
  warmup.max_total_tokens = 128;
  warmup.max_batch_size = 16;
  absl::StatusOr<WarmupPlan> plan = PlanWarmup(warmup);
  ASSERT_TRUE(plan.ok()) << plan.status();
  absl::StatusOr<std::optional<uint32_t>> supported = RunWarmup(*client, *plan, warmup);
  ASSERT_TRUE(supported.ok()) << supported.status() << "\n" << shard_->Logs();
  absl::StatusOr<uint32_t> total = ResolveMaxBatchTotalTokens(std::nullopt, *supported, 128, 256);
  ASSERT_TRUE(total.ok()) << total.status();

  SchedulerOptions options;
  options.max_batch_prefill_tokens = 256;
  options.max_batch_total_tokens = *total;
  options.max_batch_size = 16;
  options.max_waiting_tokens = 1;  // late requests join at the next step
  options.queue.pad_sequence_to_multiple_of = 16;
  auto observer = std::make_shared<CountingObserver>();
  options.observer = observer;
  Scheduler scheduler(client, options);
  EXPECT_TRUE(scheduler.Health().ok());  // the liveness prefill
  EXPECT_TRUE(scheduler.generation_healthy());

  const testing::OracleCase zoo = Oracle("zoo_60");
  const testing::OracleCase once = Oracle("once_upon_a_time_128");
  const testing::OracleCase cafe = Oracle("byte_fallback_64");
  ASSERT_GE(zoo.generated_tokens.size(), 30u);
  ASSERT_GE(once.generated_tokens.size(), 40u);
  ASSERT_GE(cafe.generated_tokens.size(), 20u);

  auto zoo_stream = scheduler.Submit(Greedy(zoo.prompt, 30));
  auto cancelled = scheduler.Submit(Greedy(zoo.prompt, 40));
  scheduler.Start();
  std::optional<EndEvent> end;
  // The cancelled request streams a few tokens, then its client goes away.
  EXPECT_EQ(Collect(*cancelled, &end, 3),
            std::vector<uint32_t>(zoo.generated_tokens.begin(), zoo.generated_tokens.begin() + 3));
  cancelled->Close();
  auto once_stream = scheduler.Submit(Greedy(once.prompt, 40));
  auto cafe_stream = scheduler.Submit(Greedy(cafe.prompt, 20));

  std::optional<EndEvent> zoo_end, once_end, cafe_end;
  EXPECT_EQ(Collect(*zoo_stream, &zoo_end),
            std::vector<uint32_t>(zoo.generated_tokens.begin(), zoo.generated_tokens.begin() + 30));
  EXPECT_EQ(
      Collect(*once_stream, &once_end),
      std::vector<uint32_t>(once.generated_tokens.begin(), once.generated_tokens.begin() + 40));
  EXPECT_EQ(
      Collect(*cafe_stream, &cafe_end),
      std::vector<uint32_t>(cafe.generated_tokens.begin(), cafe.generated_tokens.begin() + 20));
  ASSERT_TRUE(zoo_end && once_end && cafe_end);
  EXPECT_EQ(zoo_end->generated_text.generated_tokens, 30u);
  EXPECT_EQ(once_end->generated_text.finish_reason, FinishReason::kLength);
  EXPECT_FALSE(once_end->generated_text.text.empty());

  EXPECT_TRUE(scheduler.Health().ok());  // now the cheap Health RPC
  scheduler.Stop();
  CountingObserver::Snapshot counts = observer->snapshot();
  EXPECT_EQ(counts.request_failure["dropped"], 1u);
  EXPECT_GE(counts.filters, 1u);  // the cancelled request was filtered out
  EXPECT_EQ(counts.inference_failure["decode"], 0u);
  EXPECT_TRUE(shard_->Stop()) << shard_->Logs();
}

}  // namespace
}  // namespace tgi::router
