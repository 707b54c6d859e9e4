#include "shard/model/testing/greedy.h"

#include <ATen/ATen.h>

#include <algorithm>

#include "absl/status/status.h"

namespace tgi::shard::testing {

absl::StatusOr<GreedyResult> GreedyGenerate(const LlamaModel& model,
                                            const std::vector<int64_t>& prompt,
                                            int64_t max_new_tokens,
                                            const std::vector<int64_t>& stop_ids) {
  if (prompt.empty()) return absl::InvalidArgumentError("GreedyGenerate: empty prompt");
  const auto prompt_len = static_cast<int64_t>(prompt.size());
  const int64_t max_seq = prompt_len + max_new_tokens;
  absl::StatusOr<KvCache> cache = model.AllocateCache(1, max_seq);
  if (!cache.ok()) return cache.status();
  at::Tensor key_bias = at::zeros({1, max_seq}, at::kFloat);  // every slot is real

  GreedyResult result;
  ForwardBatch batch;
  batch.input_ids = at::tensor(prompt, at::kLong).view({1, prompt_len});
  batch.positions = at::arange(prompt_len, at::kLong).view({1, prompt_len});
  batch.write_offset = 0;
  while (static_cast<int64_t>(result.tokens.size()) < max_new_tokens) {
    const int64_t new_tokens = batch.input_ids.size(1);
    batch.key_bias = key_bias.narrow(1, 0, batch.write_offset + new_tokens);
    absl::StatusOr<at::Tensor> logits = model.Forward(batch, *cache);  // [1, 1, vocab]
    if (!logits.ok()) return logits.status();
    at::Tensor row = logits->reshape({-1}).contiguous();
    const float* data = row.data_ptr<float>();
    result.logits.insert(result.logits.end(), data, data + row.numel());
    const int64_t token = row.argmax().item<int64_t>();
    result.tokens.push_back(token);
    if (std::find(stop_ids.begin(), stop_ids.end(), token) != stop_ids.end()) break;
    const int64_t position = prompt_len + static_cast<int64_t>(result.tokens.size()) - 1;
    batch.write_offset += new_tokens;
    batch.input_ids = at::full({1, 1}, token, at::kLong);
    batch.positions = at::full({1, 1}, position, at::kLong);
  }
  return result;
}

}  // namespace tgi::shard::testing
