// Chunked prefill through the Engine on stories260K: a prompt computed a few tokens per step
// (alone, or inside a running batch's decode steps) gives exactly the tokens, logprobs and prompt
// logprobs of the whole prompt at once and of the oracle; no step computes more prompt tokens than
// its budget; requests whose prompt is pending get no Generation and still count their positions.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <memory>
#include <vector>

#include <algorithm>

#include "absl/strings/str_join.h"
#include "shard/batch/engine.h"
#include "shard/model/testing/oracle.h"

namespace tgi::shard {
namespace {

RequestSpec Request(uint64_t id, const std::vector<int64_t>& prompt, uint32_t max_new_tokens,
                    bool prefill_logprobs = false) {
  RequestSpec spec;
  spec.id = id;
  spec.inputs = absl::StrJoin(prompt, ",");
  spec.truncate = 512;
  spec.stopping.max_new_tokens = max_new_tokens;
  spec.stopping.ignore_eos_token = true;
  spec.prefill_logprobs = prefill_logprobs;
  return spec;
}

std::unique_ptr<Engine> MakeEngine() {
  std::unique_ptr<LlamaModel> model = *LlamaModel::Load(testing::Stories260KDir(), {});
  EngineOptions options;
  options.skip_tokenizer = true;  // token ids in, as the oracle gives them
  options.buckets.max_total_tokens = 512;
  options.kv_cache_blocks = 256;
  return std::make_unique<Engine>(std::move(model), nullptr, options);
}

// Every Generation of a request, in order.
struct Transcript {
  std::vector<uint32_t> ids;
  std::vector<float> logprobs;
  std::optional<TokenList> prefill;
  bool finished = false;
};

void Collect(const StepResult& step, std::map<uint64_t, Transcript>& out) {
  for (const Generation& g : step.generations) {
    Transcript& t = out[g.request_id];
    if (g.prefill_tokens) {
      ASSERT_FALSE(t.prefill) << "prefill tokens twice for request " << g.request_id;
      ASSERT_TRUE(t.ids.empty()) << "prefill tokens after the first token";
      t.prefill = g.prefill_tokens;
    }
    ASSERT_FALSE(t.finished);
    t.ids.insert(t.ids.end(), g.tokens.ids.begin(), g.tokens.ids.end());
    t.logprobs.insert(t.logprobs.end(), g.tokens.logprobs.begin(), g.tokens.logprobs.end());
    t.finished = g.generated_text.has_value();
  }
}

// Runs `requests` as one batch to the end, `budget` prompt tokens a step (0: whole prompts),
// checking every step's prompt work against the budget.
std::map<uint64_t, Transcript> RunToTheEnd(Engine& engine, uint64_t batch_id,
                                   std::vector<RequestSpec> requests, uint32_t budget) {
  std::map<uint64_t, Transcript> out;
  absl::StatusOr<StepResult> step = engine.Prefill(batch_id, std::move(requests), budget);
  EXPECT_TRUE(step.ok()) << step.status();
  if (!step.ok()) return out;
  if (budget > 0) {
    EXPECT_LE(step->stats.tokens, budget);
  }
  Collect(*step, out);
  std::optional<CachedBatchInfo> batch = step->batch;
  while (batch) {
    const std::vector<uint64_t> ids = {batch->id};
    step = engine.Decode(ids, budget);
    EXPECT_TRUE(step.ok()) << step.status();
    if (!step.ok()) return out;
    // Each live row contributes one token, or a chunk from the shared budget.
    if (budget > 0) {
      EXPECT_LE(step->stats.tokens, budget + step->stats.rows);
    }
    Collect(*step, out);
    batch = step->batch;
  }
  return out;
}

void ExpectSame(const Transcript& chunked, const Transcript& whole) {
  EXPECT_EQ(chunked.ids, whole.ids);
  ASSERT_EQ(chunked.logprobs.size(), whole.logprobs.size());
  for (size_t i = 0; i < whole.logprobs.size(); ++i) {
    EXPECT_NEAR(chunked.logprobs[i], whole.logprobs[i], 1e-5) << "token " << i;
  }
  ASSERT_EQ(chunked.prefill.has_value(), whole.prefill.has_value());
  if (!whole.prefill) return;
  EXPECT_EQ(chunked.prefill->ids, whole.prefill->ids);
  ASSERT_EQ(chunked.prefill->logprobs.size(), whole.prefill->logprobs.size());
  EXPECT_TRUE(std::isnan(chunked.prefill->logprobs[0]));
  for (size_t i = 1; i < whole.prefill->logprobs.size(); ++i) {
    EXPECT_NEAR(chunked.prefill->logprobs[i], whole.prefill->logprobs[i], 1e-5) << "prompt " << i;
  }
}

TEST(ChunkedPrefillTest, OracleTokensAtEveryChunkSize) {
  absl::StatusOr<std::vector<testing::OracleCase>> oracle = testing::LoadStories260KOracle();
  ASSERT_TRUE(oracle.ok()) << oracle.status();
  std::unique_ptr<Engine> engine = MakeEngine();
  uint64_t batch_id = 1;
  for (const testing::OracleCase& c : *oracle) {
    const auto n = static_cast<uint32_t>(c.generated_tokens.size());
    const std::map<uint64_t, Transcript> whole =
        RunToTheEnd(*engine, batch_id++, {Request(1, c.prompt_tokens, n, true)}, 0);
    const std::vector<uint32_t> expected(c.generated_tokens.begin(), c.generated_tokens.end());
    ASSERT_EQ(whole.at(1).ids, expected) << c.name;
    for (uint32_t budget : {1u, 2u, 3u, 7u}) {
      SCOPED_TRACE(c.name + ", " + std::to_string(budget) + " prompt tokens a step");
      const std::map<uint64_t, Transcript> chunked =
          RunToTheEnd(*engine, batch_id++, {Request(1, c.prompt_tokens, n, true)}, budget);
      ExpectSame(chunked.at(1), whole.at(1));
    }
  }
  EXPECT_EQ(engine->pool()->free_blocks(), engine->pool()->num_blocks());
}

TEST(ChunkedPrefillTest, SeveralPromptsShareTheBudgetInOrder) {
  std::unique_ptr<Engine> engine = MakeEngine();
  const std::vector<int64_t> a = {1, 403, 407, 261, 378}, b = {1, 68, 500, 261, 378, 400, 401};
  std::vector<RequestSpec> requests = {Request(1, a, 6), Request(2, b, 6)};
  absl::StatusOr<StepResult> first = engine->Prefill(1, requests, 4);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(first->generations.empty());  // 4 of 5 tokens of the first prompt
  EXPECT_EQ(first->stats.tokens, 4);
  EXPECT_EQ(first->stats.rows, 1);
  ASSERT_TRUE(first->batch);
  EXPECT_EQ(first->batch->size, 2u);
  // Pending prompts count their positions: (5 + 6 - 1) + (7 + 6 - 1).
  EXPECT_EQ(first->batch->max_tokens, 22u);

  const std::vector<uint64_t> ids = {1};
  absl::StatusOr<StepResult> second = engine->Decode(ids, 4);  // a's last token, 3 of b's
  ASSERT_TRUE(second.ok());
  ASSERT_EQ(second->generations.size(), 1u);
  EXPECT_EQ(second->generations[0].request_id, 1u);
  EXPECT_EQ(second->stats.tokens, 4);

  std::map<uint64_t, Transcript> chunked;
  Collect(*second, chunked);
  std::optional<CachedBatchInfo> batch = second->batch;
  while (batch) {
    absl::StatusOr<StepResult> step = engine->Decode(ids, 4);
    ASSERT_TRUE(step.ok());
    Collect(*step, chunked);
    batch = step->batch;
  }
  const std::map<uint64_t, Transcript> whole =
      RunToTheEnd(*engine, 2, {Request(1, a, 6), Request(2, b, 6)}, 0);
  ExpectSame(chunked.at(1), whole.at(1));
  ExpectSame(chunked.at(2), whole.at(2));
}

TEST(ChunkedPrefillTest, ALongPromptJoinsARunningBatchWithoutChangingIt) {
  absl::StatusOr<std::vector<testing::OracleCase>> oracle = testing::LoadStories260KOracle();
  ASSERT_TRUE(oracle.ok()) << oracle.status();
  const testing::OracleCase& running = oracle->front();
  const testing::OracleCase& joining = oracle->back();
  std::unique_ptr<Engine> engine = MakeEngine();
  const auto n = static_cast<uint32_t>(running.generated_tokens.size());

  absl::StatusOr<StepResult> step = engine->Prefill(1, {Request(1, running.prompt_tokens, n)});
  ASSERT_TRUE(step.ok());
  std::map<uint64_t, Transcript> got;
  Collect(*step, got);
  step = engine->Decode(std::vector<uint64_t>{1});
  ASSERT_TRUE(step.ok());
  Collect(*step, got);
  // The joining prompt's first chunk is its own Prefill; then every decode step carries one more.
  const auto m = static_cast<uint32_t>(joining.generated_tokens.size());
  step = engine->Prefill(2, {Request(2, joining.prompt_tokens, m)}, 2);
  ASSERT_TRUE(step.ok());
  Collect(*step, got);
  std::vector<uint64_t> ids = {1, 2};
  std::optional<CachedBatchInfo> batch;
  do {
    const bool running_pending = !got[1].finished;
    step = engine->Decode(ids, 2);
    ASSERT_TRUE(step.ok()) << step.status();
    Collect(*step, got);
    batch = step->batch;
    if (batch) ids = {batch->id};
    // Request 1 gets its token at every step while the other prompt goes on.
    if (running_pending) {
      EXPECT_TRUE(std::any_of(step->generations.begin(), step->generations.end(),
                              [](const Generation& g) { return g.request_id == 1; }));
    }
  } while (batch);
  EXPECT_EQ(got[1].ids, std::vector<uint32_t>(running.generated_tokens.begin(),
                                               running.generated_tokens.end()));
  EXPECT_EQ(got[2].ids, std::vector<uint32_t>(joining.generated_tokens.begin(),
                                               joining.generated_tokens.end()));
}

TEST(ChunkedPrefillTest, FilterDropsAPendingPromptAndFreesItsBlocks) {
  std::unique_ptr<Engine> engine = MakeEngine();
  const int64_t total = engine->pool()->num_blocks();
  const std::vector<int64_t> a = {1, 403, 407}, b(40, 261);
  absl::StatusOr<StepResult> step = engine->Prefill(1, {Request(1, a, 4), Request(2, b, 4)}, 8);
  ASSERT_TRUE(step.ok());
  ASSERT_EQ(step->generations.size(), 1u);  // request 2 is 5 of 40 tokens in
  ASSERT_TRUE(engine->Filter(1, std::vector<uint64_t>{1}).ok());
  EXPECT_EQ(engine->pool()->free_blocks(), total - 1);
  engine->ClearCache(std::nullopt);
  EXPECT_EQ(engine->pool()->free_blocks(), total);
}

}  // namespace
}  // namespace tgi::shard
