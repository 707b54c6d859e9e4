// The batch limits the router derives at start-up: tgi-gaudi's max_batch_size /
// max_batch_total_tokens coupling (§7.2) and the choice of max_batch_total_tokens after warmup
// (§3.4). Pure functions over plain values; the environment is common::GaudiEnv's.
#pragma once

#include <cstdint>
#include <optional>

#include "absl/status/statusor.h"

namespace tgi::router {

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
