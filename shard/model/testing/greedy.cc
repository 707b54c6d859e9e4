#include "shard/model/testing/greedy.h"

#include <ATen/ATen.h>

#include <algorithm>

#include "absl/status/status.h"
#include "shard/kv/kv_pool.h"

namespace tgi::shard::testing {

absl::StatusOr<GreedyResult> GreedyGenerate(const LlamaModel& model,
                                            const std::vector<int64_t>& prompt,
                                            int64_t max_new_tokens,
                                            const std::vector<int64_t>& stop_ids) {
  if (prompt.empty()) return absl::InvalidArgumentError("GreedyGenerate: empty prompt");
  const auto prompt_len = static_cast<int64_t>(prompt.size());
  const int64_t max_seq = prompt_len + max_new_tokens;
  absl::StatusOr<std::unique_ptr<KvPool>> pool =
      KvPool::Create(model.CacheLayout(), BlocksFor(max_seq));
  if (!pool.ok()) return pool.status();
  absl::StatusOr<BlockTable> table = BlockTable::Allocate(**pool, max_seq);
  if (!table.ok()) return table.status();

  GreedyResult result;
  ForwardBatch batch;
  batch.input_ids = prompt;
  batch.rows = {StepRow{.context = 0, .new_tokens = prompt_len, .blocks = table->blocks()}};
  while (static_cast<int64_t>(result.tokens.size()) < max_new_tokens) {
    absl::StatusOr<at::Tensor> logits = model.Forward(batch, (*pool)->view());  // [1, vocab]
    if (!logits.ok()) return logits.status();
    at::Tensor row = logits->reshape({-1}).contiguous();
    const float* data = row.data_ptr<float>();
    result.logits.insert(result.logits.end(), data, data + row.numel());
    const int64_t token = row.argmax().item<int64_t>();
    result.tokens.push_back(token);
    if (std::find(stop_ids.begin(), stop_ids.end(), token) != stop_ids.end()) break;
    batch.rows[0].context += batch.rows[0].new_tokens;
    batch.rows[0].new_tokens = 1;
    batch.input_ids = {token};
  }
  return result;
}

}  // namespace tgi::shard::testing
