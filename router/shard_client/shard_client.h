// The router's view of the shards: the generate.v2 RPCs as a virtual interface over plain C++
// types, so the scheduler and its tests never see proto or gRPC. Implementations fan every call
// out to all shards and combine the answers; they hold no batching state of their own.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace tgi::router {

// generate.v2 InfoResponse.
struct ShardInfo {
  bool requires_padding = false;
  std::string dtype;
  std::string device_type;
  std::optional<uint32_t> window_size;
  uint32_t speculate = 0;
};

// generate.v2 NextTokenChooserParameters (grammar fields are not used by this server).
struct NextTokenChooserParameters {
  float temperature = 1.0f;
  uint32_t top_k = 0;
  float top_p = 1.0f;
  float typical_p = 1.0f;
  bool do_sample = false;
  uint64_t seed = 0;
  float repetition_penalty = 1.0f;
  bool watermark = false;
  float frequency_penalty = 0.0f;
};

// generate.v2 StoppingCriteriaParameters.
struct StoppingCriteriaParameters {
  uint32_t max_new_tokens = 0;
  std::vector<std::string> stop_sequences;
  bool ignore_eos_token = false;
};

// generate.v2 Request.
struct ShardRequest {
  uint64_t id = 0;
  std::string inputs;
  uint32_t truncate = 0;
  NextTokenChooserParameters parameters;
  StoppingCriteriaParameters stopping_parameters;
  bool prefill_logprobs = false;
  uint32_t top_n_tokens = 0;
};

// generate.v2 Batch.
struct ShardBatch {
  uint64_t id = 0;
  std::vector<ShardRequest> requests;
  uint32_t size = 0;
  uint32_t max_tokens = 0;
};

// generate.v2 CachedBatch: a batch the shards keep between RPCs.
struct CachedBatch {
  uint64_t id = 0;
  std::vector<uint64_t> request_ids;
  uint32_t size = 0;        // live requests
  uint32_t max_tokens = 0;  // tokens the live requests may occupy
};

// generate.v2 Tokens: parallel lists, one entry per token.
struct ShardTokens {
  std::vector<uint32_t> ids;
  std::vector<float> logprobs;
  std::vector<std::string> texts;
  std::vector<bool> is_special;
};

enum class ShardFinishReason { kLength, kEosToken, kStopSequence };

// generate.v2 GeneratedText.
struct ShardGeneratedText {
  std::string text;
  uint32_t generated_tokens = 0;
  ShardFinishReason finish_reason = ShardFinishReason::kLength;
  std::optional<uint64_t> seed;
};

// generate.v2 Generation: one step of one request.
struct ShardGeneration {
  uint64_t request_id = 0;
  std::optional<ShardTokens> prefill_tokens;  // set when the request asked for prefill logprobs
  ShardTokens tokens;
  std::optional<ShardGeneratedText> generated_text;  // set on the request's last step
  std::vector<ShardTokens> top_tokens;               // one entry per token when top_n_tokens > 0
};

// Shard-side timings of one Prefill or Decode, in nanoseconds.
struct StepTimings {
  uint64_t forward_ns = 0;
  uint64_t decode_ns = 0;
  uint64_t total_ns = 0;
  std::optional<uint64_t> concat_ns;  // Decode only
};

// tgi-cpp's StepStats (absent from other servers' shards): what a step computed next to its
// bucket.
struct ShardStepStats {
  uint32_t rows = 0;
  uint64_t tokens = 0;
  uint64_t padding_tokens = 0;
  uint32_t bucket_rows = 0;
  uint32_t bucket_length = 0;
};

// tgi-cpp's KvUsage: a shard's paged KV cache after a call.
struct ShardKvUsage {
  uint64_t blocks_used = 0;
  uint64_t blocks_reserved = 0;
  uint32_t block_size = 0;
};

// What Prefill and Decode return. `batch` is absent when every request has finished.
struct StepResult {
  std::vector<ShardGeneration> generations;
  std::optional<CachedBatch> batch;
  StepTimings timings;
  std::optional<ShardStepStats> stats;  // rank 0's, when its shard reports them
};

// Every method is safe to call from several threads at once. Errors carry the shard's gRPC status
// code and message.
class ShardClient {
 public:
  virtual ~ShardClient() = default;

  virtual absl::StatusOr<ShardInfo> Info() = 0;
  virtual absl::Status Health() = 0;
  // Drops one cached batch, or every cached batch when `batch_id` is unset.
  virtual absl::Status ClearCache(std::optional<uint64_t> batch_id) = 0;
  // Keeps only `request_ids` of the cached batch.
  virtual absl::StatusOr<CachedBatch> FilterBatch(uint64_t batch_id,
                                                  const std::vector<uint64_t>& request_ids) = 0;
  // The smallest max_supported_total_tokens over the shards; nullopt when none reports one.
  virtual absl::StatusOr<std::optional<uint32_t>> Warmup(const std::vector<ShardBatch>& batches,
                                                         uint32_t max_input_length,
                                                         uint32_t max_prefill_tokens,
                                                         uint32_t max_total_tokens) = 0;
  // `max_prompt_tokens` (0: no bound) is chunked prefill's budget: the prompt tokens one call
  // may compute. A request whose prompt is not done gets no generation yet and stays in the
  // batch; later Decode calls go on with its prompt.
  virtual absl::StatusOr<StepResult> Prefill(const ShardBatch& batch,
                                             uint32_t max_prompt_tokens) = 0;
  // Concatenates the batches on the shards (the result keeps the first id) and runs one step:
  // every generating request's next token and up to `max_prompt_tokens` of pending prompts.
  virtual absl::StatusOr<StepResult> Decode(const std::vector<CachedBatch>& batches,
                                            uint32_t max_prompt_tokens) = 0;
};

}  // namespace tgi::router
