// Building blocks shared by the decoder architectures: RMSNorm, rotary embeddings, the attention
// bias of a step, linear projections and attention of new queries over a KV-cache window. Pure
// functions of their tensors: they own no weights and no cache, never copy the cache and never
// write to their inputs. Tensors must be on one device; shapes are in the comments.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <cstdint>
#include <utility>

#include "shard/model/model_config.h"

namespace tgi::shard {

// x @ weight^T + bias (bias may be undefined). x: [N, in], weight: [out, in] -> [N, out].
// One float32 row on CPU goes through BLAS matrix-vector (gemv), which streams the weight
// instead of packing it as a one-row GEMM does (several times faster).
at::Tensor Linear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias = {});

// x * rsqrt(mean(x^2) + eps) computed in float32, cast back to x's dtype, then times weight
// (Hugging Face's LlamaRMSNorm). x: [..., hidden], weight: [hidden] -> [..., hidden].
at::Tensor RmsNorm(const at::Tensor& x, const at::Tensor& weight, double eps);

// Rotary position embeddings in the rotate-half convention of Hugging Face checkpoints, with
// cos/sin tables precomputed (in float32, stored in the working dtype) for every position.
class RotaryEmbedding {
 public:
  RotaryEmbedding() = default;
  RotaryEmbedding(int64_t head_dim, double theta, const RopeScaling& scaling, int64_t max_positions,
                  at::ScalarType dtype, at::Device device);

  // Inverse frequencies, float32 [head_dim / 2], with linear or llama3 scaling applied.
  static at::Tensor InverseFrequencies(int64_t head_dim, double theta, const RopeScaling& scaling);

  // positions: [batch, seq] int64 -> cos, sin: [batch, seq, 1, head_dim / 2] (broadcast over
  // heads). Positions outside [0, max_positions) throw (index_select).
  std::pair<at::Tensor, at::Tensor> Lookup(const at::Tensor& positions) const;

  int64_t max_positions() const { return cos_.defined() ? cos_.size(0) : 0; }

 private:
  at::Tensor cos_;  // [max_positions, head_dim / 2]
  at::Tensor sin_;  // [max_positions, head_dim / 2]
};

// x: [batch, seq, heads, head_dim] (any strides), cos/sin from Lookup -> a new contiguous
// [batch, seq, heads, head_dim]: (x1, x2) -> (x1 cos - x2 sin, x2 cos + x1 sin) on the halves.
at::Tensor ApplyRotary(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin);

// The float32 additive bias of one step over the window's slots [window_start, write_offset + T):
// key_bias [batch, W] alone when T == 1 (returned as a view [batch, 1, W]); with the causal
// mask among the T new tokens added when T > 1 ([batch, T, W], allocated).
at::Tensor StepAttentionBias(const at::Tensor& key_bias, int64_t new_tokens, int64_t write_offset,
                             int64_t window_start);

// Grouped-query attention of new queries over a cache window, without repeating K/V.
//   q:    [batch, T, heads, head_dim] (rotated; any strides)
//   k, v: [batch, kv_heads, W, head_dim] views of the cache (last dim contiguous)
//   bias: [batch, T or 1, W] float32 from StepAttentionBias
// -> [batch, T, heads * head_dim] in q's dtype. Scores and softmax are float32. A query with
// every slot masked (padding) yields zeros, never NaN, so garbage cannot reach the cache.
// Decode (T == 1) on CPU runs the in-place kernel of cpu_attention.h; otherwise batched matmuls,
// which for bfloat16 are fast only when k and v are packed ([batch * kv_heads] contiguous).
at::Tensor CachedAttention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                           const at::Tensor& bias, double scale);

}  // namespace tgi::shard
