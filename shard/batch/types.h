// Plain request and result types exchanged between the gRPC service and the batch layer: the
// proto messages' content without proto types, so batch and model code never see generated code.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "shard/sampling/sampling_params.h"
#include "shard/sampling/stopping.h"

namespace tgi::shard {

// One request of a Prefill batch (generate.v2 Request).
struct RequestSpec {
  uint64_t id = 0;
  std::string inputs;
  uint32_t truncate = 0;  // keep the last `truncate` prompt tokens
  SamplingParams sampling;
  StoppingParams stopping;
  bool prefill_logprobs = false;
  uint32_t top_n_tokens = 0;
};

// generate.v2 Tokens.
struct TokenList {
  std::vector<uint32_t> ids;
  std::vector<float> logprobs;
  std::vector<std::string> texts;
  std::vector<bool> is_special;

  void Add(uint32_t id, float logprob, std::string text, bool special) {
    ids.push_back(id);
    logprobs.push_back(logprob);
    texts.push_back(std::move(text));
    is_special.push_back(special);
  }
};

struct GeneratedTextResult {
  std::string text;
  uint32_t generated_tokens = 0;
  FinishReason finish_reason = FinishReason::kLength;
  std::optional<uint64_t> seed;  // set when the request sampled
};

// One step of one request (generate.v2 Generation).
struct Generation {
  uint64_t request_id = 0;
  std::optional<TokenList> prefill_tokens;
  TokenList tokens;
  std::optional<GeneratedTextResult> generated_text;
  std::vector<TokenList> top_tokens;  // one entry per token in `tokens` when top_n_tokens > 0
};

// A batch kept between RPCs (generate.v2 CachedBatch).
struct CachedBatchInfo {
  uint64_t id = 0;
  std::vector<uint64_t> request_ids;
  uint32_t size = 0;        // live requests
  uint32_t max_tokens = 0;  // tokens the live requests will occupy at most (prompt + all new)
};

// What one step computed next to its bucket (the shape a static-shape device runs) (generate.v2
// StepStats, tgi-cpp's own).
struct StepStats {
  int64_t rows = 0;            // live rows computed
  int64_t tokens = 0;          // real positions computed
  int64_t padding_tokens = 0;  // padding positions computed (none here: the forward is ragged)
  int64_t bucket_rows = 0;     // rows rounded up to the prefill or decode batch bucket
  int64_t bucket_length = 0;   // new positions per row in the bucket (padded prompt; 1 in decode)
};

// The paged KV cache's use (generate.v2 KvUsage, tgi-cpp's own).
struct KvUsage {
  int64_t blocks_used = 0;
  int64_t blocks_reserved = 0;
  int64_t block_size = 0;  // positions per block
};

// What Prefill and Decode return (nanosecond timings).
struct StepResult {
  std::vector<Generation> generations;
  std::optional<CachedBatchInfo> batch;  // absent when every request has finished
  uint64_t forward_ns = 0;
  uint64_t decode_ns = 0;
  uint64_t total_ns = 0;
  std::optional<uint64_t> concat_ns;
  StepStats stats;
};

// The bucketing rules (tgi-gaudi environment) and limits the batch layer applies.
struct BucketConfig {
  int64_t batch_bucket_size = 8;           // decode rows: a multiple of this
  int64_t prefill_batch_bucket_size = 4;   // prefill rows: a multiple of this
  int64_t pad_sequence_to_multiple_of = 128;
  int64_t max_total_tokens = 2048;         // prompt + generated of one request, at most
};

inline int64_t RoundUp(int64_t value, int64_t multiple) {
  return (value + multiple - 1) / multiple * multiple;
}

}  // namespace tgi::shard
