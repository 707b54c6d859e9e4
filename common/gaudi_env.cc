#include "common/gaudi_env.h"

#include <algorithm>
#include <cctype>
#include <optional>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/env.h"

namespace tgi::common {
namespace {

absl::StatusOr<uint32_t> ReadPositive(const char* name, uint32_t fallback) {
  absl::StatusOr<int64_t> value = GetEnvInt(name, fallback);
  if (!value.ok()) return value.status();
  if (*value <= 0 || *value > UINT32_MAX) {
    return absl::InvalidArgumentError(
        absl::StrCat("environment variable ", name, " must be a positive integer, got ", *value));
  }
  return static_cast<uint32_t>(*value);
}

}  // namespace

bool TgiSwitch(const char* name, bool fallback) {
  std::optional<std::string> value = GetEnv(name);
  if (!value) return fallback;
  std::string lower = *value;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lower == "true";
}

absl::StatusOr<GaudiEnv> ReadGaudiEnv() {
  GaudiEnv env;
  for (auto [name, field] : {std::pair{"BATCH_BUCKET_SIZE", &env.batch_bucket_size},
                             std::pair{"PREFILL_BATCH_BUCKET_SIZE", &env.prefill_batch_bucket_size},
                             std::pair{"PAD_SEQUENCE_TO_MULTIPLE_OF",
                                       &env.pad_sequence_to_multiple_of}}) {
    absl::StatusOr<uint32_t> value = ReadPositive(name, *field);
    if (!value.ok()) return value.status();
    *field = *value;
  }
  absl::StatusOr<int64_t> threshold = GetEnvInt("QUEUE_THRESHOLD_MS", env.queue_threshold.count());
  if (!threshold.ok()) return threshold.status();
  if (*threshold < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("environment variable QUEUE_THRESHOLD_MS must be >= 0, got ", *threshold));
  }
  env.queue_threshold = std::chrono::milliseconds(*threshold);
  env.warmup_enabled = TgiSwitch("WARMUP_ENABLED", env.warmup_enabled);
  env.skip_tokenizer = TgiSwitch("SKIP_TOKENIZER_IN_TGI", env.skip_tokenizer);
  env.ignore_eos_token = TgiSwitch("TEXT_GENERATION_SERVER_IGNORE_EOS_TOKEN", env.ignore_eos_token);
  env.quant_config = GetEnv("QUANT_CONFIG").value_or("");
  return env;
}

}  // namespace tgi::common
