#include "shard/model/kernels/rope_cache.h"

#include <ATen/Parallel.h>

#include "shard/model/kernels/bf16.h"

namespace tgi::shard::kernels {
namespace {

// (x1, x2) -> (x1 cos - x2 sin, x2 cos + x1 sin) on the two halves of one head, in place.
void Rotate(float* x, const float* cos, const float* sin, int64_t half) {
  for (int64_t i = 0; i < half; ++i) {
    const float x1 = x[i];
    const float x2 = x[i + half];
    x[i] = x1 * cos[i] - x2 * sin[i];
    x[i + half] = x2 * cos[i] + x1 * sin[i];
  }
}

template <typename T>
void Store(T* dst, int64_t stride, const float* src, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    if constexpr (sizeof(T) == sizeof(float)) {
      dst[i * stride] = src[i];
    } else {
      dst[i * stride] = FloatToBf16(src[i]);
    }
  }
}

template <typename T>
void Token(float* row, const TokenPlace& place, int64_t heads, const float* cos, const float* sin,
           const PagedKv& kv, int64_t layer) {
  const int64_t head_dim = kv.head_dim;
  const int64_t half = head_dim / 2;
  const float* c = cos + place.position * half;
  const float* s = sin + place.position * half;
  for (int64_t h = 0; h < heads + kv.kv_heads; ++h) Rotate(row + h * head_dim, c, s, half);
  T* cache = static_cast<T*>(kv.data);
  for (int64_t g = 0; g < kv.kv_heads; ++g) {
    const float* key = row + (heads + g) * head_dim;
    const float* value = row + (heads + kv.kv_heads + g) * head_dim;
    // K^T: element d of the slot lives at d * block_size + slot; V row `slot` is contiguous.
    Store(cache + kv.KOffset(place.block, layer, g) + place.slot, kBlockSize, key, head_dim);
    Store(cache + kv.VOffset(place.block, layer, g) + place.slot * head_dim, 1, value, head_dim);
  }
}

}  // namespace

void RopeAndStoreKv(float* qkv, int64_t tokens, int64_t ld, const TokenPlace* places, int64_t heads,
                    const float* cos, const float* sin, const PagedKv& kv, int64_t layer) {
  const bool bf16 = kv.dtype == at::kBFloat16;
  at::parallel_for(0, tokens, 64, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      if (bf16) {
        Token<uint16_t>(qkv + t * ld, places[t], heads, cos, sin, kv, layer);
      } else {
        Token<float>(qkv + t * ld, places[t], heads, cos, sin, kv, layer);
      }
    }
  });
}

}  // namespace tgi::shard::kernels
