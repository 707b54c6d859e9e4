// The batch limits the router derives at start-up: tgi-gaudi's bucketing environment, its
// max_batch_size / max_batch_total_tokens coupling (§7.2) and the choice of max_batch_total_tokens
// after warmup (§3.4). Pure functions over plain values; they only read the environment when asked.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

#include "absl/status/statusor.h"

namespace tgi::router {

// The tgi-gaudi environment variables the router reads (§7.1).
struct GaudiEnv {
  uint32_t batch_bucket_size = 8;                  // BATCH_BUCKET_SIZE
  uint32_t prefill_batch_bucket_size = 4;          // PREFILL_BATCH_BUCKET_SIZE
  uint32_t pad_sequence_to_multiple_of = 128;      // PAD_SEQUENCE_TO_MULTIPLE_OF
  std::chrono::milliseconds queue_threshold{120};  // QUEUE_THRESHOLD_MS
  bool warmup_enabled = true;                      // WARMUP_ENABLED
  bool skip_tokenizer = false;                     // SKIP_TOKENIZER_IN_TGI
};

// Reads GaudiEnv from the process environment; an error names a malformed or zero bucket.
absl::StatusOr<GaudiEnv> ReadGaudiEnv();

struct BatchLimits {
  std::optional<uint32_t> max_batch_size;
  std::optional<uint32_t> max_batch_total_tokens;
};

// tgi-gaudi's coupling: both given and inconsistent -> warning, total = size x max_total_tokens;
// only size -> total = size x max_total_tokens; only total -> size = total / max_total_tokens;
// neither -> both unset.
BatchLimits CoupleBatchLimits(std::optional<uint32_t> max_batch_size,
                              std::optional<uint32_t> max_batch_total_tokens,
                              uint32_t max_total_tokens);

// max_batch_total_tokens once warmup has run: the configured value when set; otherwise the
// shards' max_supported_total_tokens (an error when max_total_tokens exceeds it); otherwise
// max(16000, max_total_tokens, max_batch_prefill_tokens) with TGI's warning.
absl::StatusOr<uint32_t> ResolveMaxBatchTotalTokens(std::optional<uint32_t> configured,
                                                    std::optional<uint32_t> supported,
                                                    uint32_t max_total_tokens,
                                                    uint32_t max_batch_prefill_tokens);

}  // namespace tgi::router
