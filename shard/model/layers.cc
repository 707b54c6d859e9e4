#include "shard/model/layers.h"

#include <ATen/ATen.h>

#include <cmath>
#include <numbers>

namespace tgi::shard {

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
                                 int64_t max_positions) {
  at::Tensor inv_freq = InverseFrequencies(head_dim, theta, scaling);  // [head_dim / 2]
  at::Tensor positions = at::arange(max_positions, at::kLong).to(at::kFloat);
  at::Tensor angles = at::outer(positions, inv_freq);  // [max_positions, head_dim / 2]
  cos_ = angles.cos().contiguous();
  sin_ = angles.sin().contiguous();
}

}  // namespace tgi::shard
