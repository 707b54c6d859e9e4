// Plain per-request sampling parameters (the mirror of generate.v2 NextTokenChooserParameters) and
// the rules derived from them (TGI's sampling switch). No proto types and no tensors: the service
// converts from proto, model and batch code see only these structs.
#pragma once

#include <cstdint>

namespace tgi::shard {

// Neutral values are the defaults; the router fills them when a field is not set.
struct SamplingParams {
  float temperature = 1.0f;
  uint32_t top_k = 0;  // 0 disables
  float top_p = 1.0f;
  float typical_p = 1.0f;
  bool do_sample = false;
  uint64_t seed = 0;
  float repetition_penalty = 1.0f;
  float frequency_penalty = 0.0f;
  bool watermark = false;
};

// Kirchenbauer et al. watermark settings; the caller reads WATERMARK_GAMMA / WATERMARK_DELTA.
struct WatermarkConfig {
  double gamma = 0.5;
  double delta = 2.0;
};

// TGI's hash key: the greenlist generator is seeded with kWatermarkHashKey * previous_token.
inline constexpr uint64_t kWatermarkHashKey = 15485863;

inline bool HasWarpers(const SamplingParams& p) {
  return p.temperature != 1.0f || p.top_k != 0 || p.top_p < 1.0f || p.typical_p < 1.0f;
}

// A request samples if do_sample is set or any warper is active; otherwise it is greedy.
inline bool ShouldSample(const SamplingParams& p) { return p.do_sample || HasWarpers(p); }

// Penalties read the row's token history; rows without them need none.
inline bool NeedsHistory(const SamplingParams& p) {
  return p.repetition_penalty != 1.0f || p.frequency_penalty != 0.0f;
}

}  // namespace tgi::shard
