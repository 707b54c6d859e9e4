// The CPU decode-attention kernel: a few queries per KV head against a window of the KV cache,
// read in place (libtorch's bmm copies a strided bfloat16 window, or runs one BLAS call per
// head). Float32 and bfloat16 caches; parallel over (row, KV head); vectorised by per-ISA clones.
// Owns no tensors; its scores live in grow-only per-thread buffers, so a decode step allocates
// nothing that grows with the window.
#pragma once

#include <ATen/core/Tensor.h>

namespace tgi::shard {

// Whether CpuCachedAttention handles these operands (CPU, float32/bfloat16 cache, unit stride
// in head_dim and in the bias' slot dimension).
bool CpuCachedAttentionSupports(const at::Tensor& k, const at::Tensor& v, const at::Tensor& bias);

// Same contract as CachedAttention (layers.h):
//   q: [batch, T, heads, head_dim]; k, v: [batch, kv_heads, W, head_dim];
//   bias: [batch, T or 1, W] float32 -> [batch, T, heads * head_dim] in q's dtype.
// Scores, softmax and the weighted sum of values are float32. Slots whose bias is -inf for
// every query of a row are skipped (not read). Cost grows with T * W: meant for decode.
at::Tensor CpuCachedAttention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                              const at::Tensor& bias, double scale);

}  // namespace tgi::shard
