// Test-only: the plainest possible use of LlamaModel — one row, prefill then one token per step,
// in a KV pool of its own — as the reference that batched runs must reproduce. Not for
// production use (it copies every step's logits).
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "shard/model/llama.h"

namespace tgi::shard::testing {

struct GreedyResult {
  std::vector<int64_t> tokens;  // generated ids; a stop id, when reached, is the last one
  std::vector<float> logits;    // row-major [tokens.size(), vocab]: the logits each came from
};

// Prefills `prompt`, then decodes greedily (argmax, lowest id on ties) until a token in
// `stop_ids` is produced or `max_new_tokens` are generated.
absl::StatusOr<GreedyResult> GreedyGenerate(const LlamaModel& model,
                                            const std::vector<int64_t>& prompt,
                                            int64_t max_new_tokens,
                                            const std::vector<int64_t>& stop_ids);

}  // namespace tgi::shard::testing
