// Rotary embedding fused with the KV-cache write: for each new token, rotates its query heads in
// place (rotate-half convention of Hugging Face checkpoints) and stores its rotated key and its
// value into the token's slot of the paged cache, in the cache's dtype. Parallel over tokens.
#pragma once

#include <cstdint>

#include "shard/model/kernels/paged_kv.h"

namespace tgi::shard::kernels {

// Where one new token goes: its rotary position (its position in the sequence) and its cache slot.
struct TokenPlace {
  int64_t position = 0;
  int32_t block = 0;  // pool block holding the position
  int32_t slot = 0;   // position % kBlockSize
};

// qkv: [tokens, (heads + 2 * kv.kv_heads) * head_dim] float32, row stride ld (q heads, k heads,
// v heads). cos, sin: [max_positions, head_dim / 2] float32 tables (positions are not checked
// here). Writes layer `layer` of the cache.
void RopeAndStoreKv(float* qkv, int64_t tokens, int64_t ld, const TokenPlace* places, int64_t heads,
                    const float* cos, const float* sin, const PagedKv& kv, int64_t layer);

}  // namespace tgi::shard::kernels
