// Rotary position embeddings shared by the decoder architectures: the inverse frequencies (with
// linear or llama3 scaling) and float32 cos/sin tables for every position, in the rotate-half
// convention of Hugging Face checkpoints. Owns its tables; the kernels (rope_cache.h) apply them.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

#include "shard/model/model_config.h"

namespace tgi::shard {

class RotaryEmbedding {
 public:
  RotaryEmbedding() = default;
  RotaryEmbedding(int64_t head_dim, double theta, const RopeScaling& scaling,
                  int64_t max_positions);

  // Inverse frequencies, float32 [head_dim / 2], with linear or llama3 scaling applied.
  static at::Tensor InverseFrequencies(int64_t head_dim, double theta, const RopeScaling& scaling);

  int64_t max_positions() const { return cos_.defined() ? cos_.size(0) : 0; }
  const float* cos() const { return cos_.data_ptr<float>(); }  // [max_positions, head_dim / 2]
  const float* sin() const { return sin_.data_ptr<float>(); }  // [max_positions, head_dim / 2]

 private:
  at::Tensor cos_;  // [max_positions, head_dim / 2] float32, contiguous
  at::Tensor sin_;  // [max_positions, head_dim / 2] float32, contiguous
};

}  // namespace tgi::shard
