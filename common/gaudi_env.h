// The TGI / tgi-gaudi environment variables that the router and the shard both read (tgi.md §7.1),
// each parsed once, here, with TGI's own rule, so the two processes can never disagree about a
// value. Callers read GaudiEnv once at start-up and pass the values down; nothing below main
// reads these variables again.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace tgi::common {

struct GaudiEnv {
  uint32_t batch_bucket_size = 8;                  // BATCH_BUCKET_SIZE
  uint32_t prefill_batch_bucket_size = 4;          // PREFILL_BATCH_BUCKET_SIZE
  uint32_t pad_sequence_to_multiple_of = 128;      // PAD_SEQUENCE_TO_MULTIPLE_OF
  std::chrono::milliseconds queue_threshold{120};  // QUEUE_THRESHOLD_MS
  bool warmup_enabled = true;                      // WARMUP_ENABLED
  bool skip_tokenizer = false;                     // SKIP_TOKENIZER_IN_TGI
  bool ignore_eos_token = false;                   // TEXT_GENERATION_SERVER_IGNORE_EOS_TOKEN
  std::string quant_config;                        // QUANT_CONFIG (FP8; rejects watermark)
};

// TGI's rule for its boolean switches: unset -> `fallback`; set -> true exactly when the value,
// lowercased, is "true" (so "1" and "yes" are false, as in tgi-gaudi's router and server).
bool TgiSwitch(const char* name, bool fallback);

// Reads GaudiEnv from the process environment. A bucket that is not a positive integer, or a
// negative QUEUE_THRESHOLD_MS, is an error naming the variable (tgi-gaudi panics instead).
absl::StatusOr<GaudiEnv> ReadGaudiEnv();

}  // namespace tgi::common
