#include "shard/model/layers.h"

#include <ATen/ATen.h>

#include <cmath>
#include <limits>
#include <numbers>
#include <vector>

#include "shard/model/cpu_attention.h"

namespace tgi::shard {

at::Tensor Linear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias) {
  if (x.size(0) == 1 && x.scalar_type() == at::kFloat && x.is_cpu()) {
    at::Tensor y = at::mv(weight, x.select(0, 0));  // [out]
    if (bias.defined()) y.add_(bias);
    return y.unsqueeze(0);
  }
  return at::linear(x, weight, bias);
}

at::Tensor RmsNorm(const at::Tensor& x, const at::Tensor& weight, double eps) {
  at::Tensor x32 = x.to(at::kFloat);                                              // [..., hidden]
  at::Tensor inv_rms = x32.pow(2).mean(-1, /*keepdim=*/true).add_(eps).rsqrt_();  // [..., 1]
  return (x32 * inv_rms).to(x.scalar_type()).mul_(weight);
}

at::Tensor RotaryEmbedding::InverseFrequencies(int64_t head_dim, double theta,
                                               const RopeScaling& scaling) {
  // 1 / theta^(2i / head_dim) in float32, as transformers computes it.
  at::Tensor exponents = at::arange(0, head_dim, 2, at::kLong).to(at::kFloat).div_(head_dim);
  at::Tensor inv_freq = at::pow(theta, exponents).reciprocal_();  // [head_dim / 2]
  switch (scaling.type) {
    case RopeScaling::Type::kNone:
      return inv_freq;
    case RopeScaling::Type::kLinear:
      return inv_freq.div_(scaling.factor);
    case RopeScaling::Type::kLlama3:
      break;
  }
  // Llama 3.1: long wavelengths are divided by `factor`, short ones kept, the band between
  // interpolated smoothly (transformers' _compute_llama3_parameters).
  const double original = static_cast<double>(scaling.original_max_position_embeddings);
  const double low_freq_wavelen = original / scaling.low_freq_factor;
  const double high_freq_wavelen = original / scaling.high_freq_factor;
  float* freq = inv_freq.data_ptr<float>();
  for (int64_t i = 0; i < inv_freq.numel(); ++i) {
    const double f = freq[i];
    const double wavelen = 2 * std::numbers::pi / f;
    double scaled = f;
    if (wavelen > low_freq_wavelen) {
      scaled = f / scaling.factor;
    } else if (wavelen >= high_freq_wavelen) {
      const double smooth = (original / wavelen - scaling.low_freq_factor) /
                            (scaling.high_freq_factor - scaling.low_freq_factor);
      scaled = (1 - smooth) * f / scaling.factor + smooth * f;
    }
    freq[i] = static_cast<float>(scaled);
  }
  return inv_freq;
}

RotaryEmbedding::RotaryEmbedding(int64_t head_dim, double theta, const RopeScaling& scaling,
                                 int64_t max_positions, at::ScalarType dtype, at::Device device) {
  at::Tensor inv_freq = InverseFrequencies(head_dim, theta, scaling);  // [head_dim / 2]
  at::Tensor positions = at::arange(max_positions, at::kLong).to(at::kFloat);
  at::Tensor angles = at::outer(positions, inv_freq);  // [max_positions, head_dim / 2]
  cos_ = angles.cos().to(device, dtype);
  sin_ = angles.sin().to(device, dtype);
}

std::pair<at::Tensor, at::Tensor> RotaryEmbedding::Lookup(const at::Tensor& positions) const {
  const int64_t batch = positions.size(0);
  const int64_t seq = positions.size(1);
  at::Tensor flat = positions.reshape({-1});
  return {cos_.index_select(0, flat).view({batch, seq, 1, -1}),
          sin_.index_select(0, flat).view({batch, seq, 1, -1})};
}

at::Tensor ApplyRotary(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
  const int64_t half = x.size(-1) / 2;
  at::Tensor x1 = x.narrow(-1, 0, half);  // [batch, seq, heads, half]
  at::Tensor x2 = x.narrow(-1, half, half);
  at::Tensor out = at::empty(x.sizes(), x.options());
  at::Tensor out1 = out.narrow(-1, 0, half);
  at::Tensor out2 = out.narrow(-1, half, half);
  at::mul_out(out1, x1, cos).addcmul_(x2, sin, -1);
  at::mul_out(out2, x2, cos).addcmul_(x1, sin, 1);
  return out;
}

at::Tensor StepAttentionBias(const at::Tensor& key_bias, int64_t new_tokens, int64_t write_offset,
                             int64_t window_start) {
  if (new_tokens == 1) return key_bias.unsqueeze(1);  // [batch, 1, W]
  const int64_t window = key_bias.size(1);
  at::TensorOptions slot_options = key_bias.options().dtype(at::kLong);
  // New token t sits in slot write_offset + t and must not see later slots.
  at::Tensor key_slots = at::arange(window_start, window_start + window, slot_options);  // [W]
  at::Tensor query_slots = at::arange(write_offset, write_offset + new_tokens, slot_options);
  at::Tensor causal = at::zeros({new_tokens, window}, key_bias.options())
                          .masked_fill_(key_slots.unsqueeze(0) > query_slots.unsqueeze(1),
                                        -std::numeric_limits<float>::infinity());  // [T, W]
  return key_bias.unsqueeze(1) + causal;                                           // [batch, T, W]
}

at::Tensor CachedAttention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                           const at::Tensor& bias, double scale) {
  if (q.size(1) == 1 && CpuCachedAttentionSupports(k, v, bias)) {
    return CpuCachedAttention(q, k, v, bias, scale);
  }
  const int64_t batch = q.size(0);
  const int64_t seq = q.size(1);
  const int64_t heads = q.size(2);
  const int64_t head_dim = q.size(3);
  const int64_t kv_heads = k.size(1);
  const int64_t group = heads / kv_heads;
  const int64_t window = k.size(2);

  // Queries of one KV head side by side: [batch, kv_heads, group, T, head_dim], pre-scaled.
  at::Tensor grouped = at::empty({batch, kv_heads, group, seq, head_dim}, q.options());
  grouped.copy_(q.view({batch, seq, kv_heads, group, head_dim}).permute({0, 2, 3, 1, 4}))
      .mul_(scale);
  // [batch * kv_heads, group * T, W]; the cache window merges batch and kv_heads as a view.
  at::Tensor scores = at::bmm(grouped.view({batch * kv_heads, group * seq, head_dim}),
                              k.view({batch * kv_heads, window, head_dim}).transpose(1, 2));
  at::Tensor scores5 = scores.view({batch, kv_heads, group, seq, window});
  at::Tensor bias5 = bias.unsqueeze(1).unsqueeze(1);  // [batch, 1, 1, T or 1, W]
  // Float32 from here (a no-op for a float32 model); mixed-dtype adds are slow on CPU.
  at::Tensor probs = at::softmax(scores5.to(at::kFloat).add_(bias5), -1)
                         .to(q.scalar_type());  // [batch, kv_heads, group, T, W]
  at::Tensor out = at::bmm(probs.view({batch * kv_heads, group * seq, window}),
                           v.view({batch * kv_heads, window, head_dim}));
  // A fully masked query's softmax is 0/0: make it attend to nothing instead.
  out.nan_to_num_(0.0);  // [batch * kv_heads, group * T, head_dim]
  return out.view({batch, kv_heads, group, seq, head_dim})
      .permute({0, 3, 1, 2, 4})
      .reshape({batch, seq, heads * head_dim});
}

}  // namespace tgi::shard
