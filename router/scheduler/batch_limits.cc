#include "router/scheduler/batch_limits.h"

#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/env.h"
#include "spdlog/spdlog.h"

namespace tgi::router {
namespace {

absl::StatusOr<uint32_t> ReadPositive(const char* name, uint32_t fallback) {
  absl::StatusOr<int64_t> value = common::GetEnvInt(name, fallback);
  if (!value.ok()) return value.status();
  if (*value <= 0 || *value > UINT32_MAX) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, " must be a positive integer, got ", *value));
  }
  return static_cast<uint32_t>(*value);
}

}  // namespace

absl::StatusOr<GaudiEnv> ReadGaudiEnv() {
  GaudiEnv env;
  absl::StatusOr<uint32_t> value = ReadPositive("BATCH_BUCKET_SIZE", env.batch_bucket_size);
  if (!value.ok()) return value.status();
  env.batch_bucket_size = *value;
  value = ReadPositive("PREFILL_BATCH_BUCKET_SIZE", env.prefill_batch_bucket_size);
  if (!value.ok()) return value.status();
  env.prefill_batch_bucket_size = *value;
  value = ReadPositive("PAD_SEQUENCE_TO_MULTIPLE_OF", env.pad_sequence_to_multiple_of);
  if (!value.ok()) return value.status();
  env.pad_sequence_to_multiple_of = *value;

  absl::StatusOr<int64_t> threshold =
      common::GetEnvInt("QUEUE_THRESHOLD_MS", env.queue_threshold.count());
  if (!threshold.ok()) return threshold.status();
  if (*threshold < 0) return absl::InvalidArgumentError("QUEUE_THRESHOLD_MS must be >= 0");
  env.queue_threshold = std::chrono::milliseconds(*threshold);

  absl::StatusOr<bool> flag = common::GetEnvBool("WARMUP_ENABLED", env.warmup_enabled);
  if (!flag.ok()) return flag.status();
  env.warmup_enabled = *flag;
  flag = common::GetEnvBool("SKIP_TOKENIZER_IN_TGI", env.skip_tokenizer);
  if (!flag.ok()) return flag.status();
  env.skip_tokenizer = *flag;
  return env;
}

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
