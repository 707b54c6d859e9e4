// GrpcShardClient against a real text-generation-shard on the bundled stories260K model: the
// tokens must be the greedy oracle's. Skips, saying why, when the shard is not built.
#include "router/shard_client/grpc_shard_client.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "router/shard_client/testing/real_shard.h"

namespace tgi::router {
namespace {

namespace fs = std::filesystem;

// The oracle's greedy continuation of case `name`, and its prompt.
std::vector<uint32_t> OracleTokens(const std::string& name, std::string* prompt) {
  absl::StatusOr<testing::OracleCase> oracle = testing::LoadOracleCase(
      (fs::path(TGI_TESTDATA_DIR) / "oracle" / "stories260K_greedy.json").string(), name);
  if (!oracle.ok()) {
    ADD_FAILURE() << oracle.status();
    return {};
  }
  *prompt = oracle->prompt;
  return oracle->generated_tokens;
}

ShardRequest GreedyRequest(uint64_t id, const std::string& inputs, uint32_t max_new_tokens) {
  ShardRequest request;
  request.id = id;
  request.inputs = inputs;
  request.truncate = 256;
  request.stopping_parameters.max_new_tokens = max_new_tokens;
  return request;
}

ShardBatch MakeBatch(uint64_t id, std::vector<ShardRequest> requests) {
  ShardBatch batch;
  batch.id = id;
  batch.size = static_cast<uint32_t>(requests.size());
  batch.requests = std::move(requests);
  return batch;
}

class GrpcShardClientTest : public ::testing::Test {
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
        {{"PAD_SEQUENCE_TO_MULTIPLE_OF", "16"}, {"MAX_TOTAL_TOKENS", "512"}});
    ASSERT_TRUE(shard.ok()) << shard.status();
    shard_ = std::move(*shard);
    socket_ = shard_->socket();
    absl::StatusOr<std::unique_ptr<GrpcShardClient>> client =
        GrpcShardClient::Connect("unix://" + socket_, std::chrono::seconds(60));
    ASSERT_TRUE(client.ok()) << client.status() << "\n" << shard_->Logs();
    client_ = std::move(*client);
#endif
  }

  void TearDown() override {
    client_.reset();
    if (shard_) {
      EXPECT_TRUE(shard_->Stop()) << shard_->Logs();
    }
  }

  // Decodes `batches` together, then the result alone, until every request has finished.
  void DecodeToEnd(std::vector<CachedBatch> batches,
                   std::map<uint64_t, std::vector<uint32_t>>* tokens,
                   uint32_t max_prompt_tokens = 0) {
    while (!batches.empty()) {
      absl::StatusOr<StepResult> step = client_->Decode(batches, max_prompt_tokens);
      ASSERT_TRUE(step.ok()) << step.status();
      for (const ShardGeneration& g : step->generations) {
        (*tokens)[g.request_id].insert((*tokens)[g.request_id].end(), g.tokens.ids.begin(),
                                       g.tokens.ids.end());
      }
      batches.clear();
      if (step->batch) batches.push_back(*step->batch);
    }
  }

  std::unique_ptr<testing::ShardProcess> shard_;
  std::string socket_;
  std::unique_ptr<GrpcShardClient> client_;
};

TEST_F(GrpcShardClientTest, InfoHealthAndDiscovery) {
  absl::StatusOr<ShardInfo> info = client_->Info();
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_TRUE(info->requires_padding);
  EXPECT_EQ(info->dtype, "torch.float32");
  EXPECT_EQ(info->device_type, "cpu");
  EXPECT_EQ(info->speculate, 0u);
  EXPECT_TRUE(client_->Health().ok());
  EXPECT_EQ(client_->shard_paths(), std::vector<std::string>{socket_});
}

TEST_F(GrpcShardClientTest, PrefillAndDecodeGiveTheOraclesTokens) {
  std::string zoo, once;
  const std::vector<uint32_t> zoo_tokens = OracleTokens("zoo_60", &zoo);
  const std::vector<uint32_t> once_tokens = OracleTokens("once_upon_a_time_128", &once);
  ASSERT_GE(zoo_tokens.size(), 12u);
  ASSERT_GE(once_tokens.size(), 20u);

  // Batch 7: "Zoo" alone, decoded three steps.
  absl::StatusOr<StepResult> first = client_->Prefill(MakeBatch(7, {GreedyRequest(1, zoo, 12)}), 0);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_EQ(first->generations.size(), 1u);  // the first token comes with the prefill
  ASSERT_TRUE(first->batch);
  EXPECT_EQ(first->batch->id, 7u);
  EXPECT_EQ(first->batch->request_ids, std::vector<uint64_t>{1});
  EXPECT_GT(first->timings.total_ns, 0u);
  std::map<uint64_t, std::vector<uint32_t>> tokens;
  tokens[1] = first->generations[0].tokens.ids;
  CachedBatch running = *first->batch;
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<StepResult> step = client_->Decode({running}, 0);
    ASSERT_TRUE(step.ok()) << step.status();
    ASSERT_TRUE(step->batch);
    tokens[1].push_back(step->generations.at(0).tokens.ids.at(0));
    running = *step->batch;
  }

  // Batch 8: "Once upon a time" with a request cancelled at once; then both batches decode
  // together and the result keeps the first batch's id.
  absl::StatusOr<StepResult> second =
      client_->Prefill(MakeBatch(8, {GreedyRequest(2, once, 20), GreedyRequest(3, once, 20)}), 0);
  ASSERT_TRUE(second.ok()) << second.status();
  ASSERT_TRUE(second->batch);
  for (const ShardGeneration& g : second->generations) tokens[g.request_id] = g.tokens.ids;
  absl::StatusOr<CachedBatch> filtered = client_->FilterBatch(8, {2});
  ASSERT_TRUE(filtered.ok()) << filtered.status();
  EXPECT_EQ(filtered->request_ids, std::vector<uint64_t>{2});
  EXPECT_EQ(filtered->size, 1u);

  absl::StatusOr<StepResult> merged = client_->Decode({running, *filtered}, 0);
  ASSERT_TRUE(merged.ok()) << merged.status();
  ASSERT_TRUE(merged->batch);
  EXPECT_EQ(merged->batch->id, 7u);
  EXPECT_EQ(merged->generations.size(), 2u);
  for (const ShardGeneration& g : merged->generations) {
    tokens[g.request_id].insert(tokens[g.request_id].end(), g.tokens.ids.begin(),
                                g.tokens.ids.end());
  }
  DecodeToEnd({*merged->batch}, &tokens);

  EXPECT_EQ(tokens[1], std::vector<uint32_t>(zoo_tokens.begin(), zoo_tokens.begin() + 12));
  EXPECT_EQ(tokens[2], std::vector<uint32_t>(once_tokens.begin(), once_tokens.begin() + 20));
  EXPECT_EQ(tokens[3].size(), 1u);  // only its prefill token
}

TEST_F(GrpcShardClientTest, ChunkedPrefillOverTheWire) {
  std::string zoo, once;
  const std::vector<uint32_t> zoo_tokens = OracleTokens("zoo_60", &zoo);
  const std::vector<uint32_t> once_tokens = OracleTokens("once_upon_a_time_128", &once);
  // "Zoo" runs; "Once upon a time" (5 tokens with BOS) joins two prompt tokens per step.
  absl::StatusOr<StepResult> first = client_->Prefill(MakeBatch(1, {GreedyRequest(1, zoo, 12)}), 0);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(first->batch);
  std::map<uint64_t, std::vector<uint32_t>> tokens;
  tokens[1] = first->generations.at(0).tokens.ids;
  absl::StatusOr<StepResult> joining =
      client_->Prefill(MakeBatch(2, {GreedyRequest(2, once, 20)}), 2);
  ASSERT_TRUE(joining.ok()) << joining.status();
  EXPECT_TRUE(joining->generations.empty());  // 2 of 5 prompt tokens: no token yet
  ASSERT_TRUE(joining->batch);
  EXPECT_EQ(joining->batch->request_ids, std::vector<uint64_t>{2});
  ASSERT_TRUE(joining->stats);
  EXPECT_EQ(joining->stats->tokens, 2u);
  DecodeToEnd({*first->batch, *joining->batch}, &tokens, 2);
  EXPECT_EQ(tokens[1], std::vector<uint32_t>(zoo_tokens.begin(), zoo_tokens.begin() + 12));
  EXPECT_EQ(tokens[2], std::vector<uint32_t>(once_tokens.begin(), once_tokens.begin() + 20));
}

TEST_F(GrpcShardClientTest, ErrorsCarryTheShardsMessage) {
  absl::StatusOr<StepResult> step = client_->Decode({CachedBatch{12345, {1}, 1, 10}}, 0);
  ASSERT_FALSE(step.ok());
  EXPECT_NE(std::string(step.status().message()).find("12345"), std::string::npos) << step.status();
  EXPECT_TRUE(client_->ClearCache(std::nullopt).ok());
  // The shard stays usable.
  absl::StatusOr<StepResult> prefill = client_->Prefill(MakeBatch(1, {GreedyRequest(1, "Zoo", 1)}), 0);
  ASSERT_TRUE(prefill.ok()) << prefill.status();
  EXPECT_FALSE(prefill->batch);
  ASSERT_EQ(prefill->generations.size(), 1u);
  ASSERT_TRUE(prefill->generations[0].generated_text);
  EXPECT_EQ(prefill->generations[0].generated_text->finish_reason, ShardFinishReason::kLength);
}

TEST_F(GrpcShardClientTest, WarmupReportsSupportedTokens) {
  ShardRequest request = GreedyRequest(1, "_test _test ", 4);
  request.truncate = 32;
  request.stopping_parameters.ignore_eos_token = true;
  absl::StatusOr<std::optional<uint32_t>> supported =
      client_->Warmup({MakeBatch(1, {request}), MakeBatch(2, {request})}, 32, 64, 64);
  ASSERT_TRUE(supported.ok()) << supported.status();
  ASSERT_TRUE(*supported);
  EXPECT_GT(**supported, 64u);
}

TEST(StripUnixSchemeTest, RemovesOnlyTheScheme) {
  EXPECT_EQ(StripUnixScheme("unix:///tmp/text-generation-server-0"),
            "/tmp/text-generation-server-0");
  EXPECT_EQ(StripUnixScheme("/tmp/socket"), "/tmp/socket");
}

}  // namespace
}  // namespace tgi::router
