#include "router/scheduler/batch_limits.h"

#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "spdlog/spdlog.h"

namespace tgi::router {

BatchLimits CoupleBatchLimits(std::optional<uint32_t> max_batch_size,
                              std::optional<uint32_t> max_batch_total_tokens,
                              uint32_t max_total_tokens) {
  BatchLimits limits{max_batch_size, max_batch_total_tokens};
  if (max_batch_size && max_batch_total_tokens) {
    if (max_total_tokens > 0 && *max_batch_total_tokens / max_total_tokens != *max_batch_size) {
      spdlog::warn(
          "max_batch_size was set to {} while max_batch_total_tokens to {}; "
          "max_batch_total_tokens was overridden to {} (max_batch_size x max_total_tokens)",
          *max_batch_size, *max_batch_total_tokens, *max_batch_size * max_total_tokens);
      limits.max_batch_total_tokens = *max_batch_size * max_total_tokens;
    }
  } else if (max_batch_size) {
    limits.max_batch_total_tokens = *max_batch_size * max_total_tokens;
  } else if (max_batch_total_tokens && max_total_tokens > 0) {
    limits.max_batch_size = *max_batch_total_tokens / max_total_tokens;
  }
  return limits;
}

absl::StatusOr<uint32_t> ResolveMaxBatchTotalTokens(std::optional<uint32_t> configured,
                                                    std::optional<uint32_t> supported,
                                                    uint32_t max_total_tokens,
                                                    uint32_t max_batch_prefill_tokens) {
  if (configured) return *configured;
  if (supported) {
    if (max_total_tokens > *supported) {
      return absl::InvalidArgumentError(absl::StrCat(
          "`max_total_tokens` must be <= `max_batch_total_tokens`. Given: ", max_total_tokens,
          " and ", *supported));
    }
    spdlog::info("Setting max batch total tokens to {}", *supported);
    return *supported;
  }
  spdlog::warn("Model does not support automatic max batch total tokens");
  return std::max({16000u, max_total_tokens, max_batch_prefill_tokens});
}

}  // namespace tgi::router
