// RMSNorm over rows of float32 activations (Hugging Face's LlamaRMSNorm in float32:
// (x * rsqrt(mean(x^2) + eps)) * weight). The sum of squares runs in a fixed order per row, so a
// row's result never depends on the other rows. Large inputs run on ATen's pool.
#pragma once

#include <cstdint>

#include "shard/model/kernels/cpu_features.h"

namespace tgi::shard::kernels {

// x: [rows, n] (row stride ldx), weight: [n] -> out: [rows, n] (row stride ldo). out may be x.
void RmsNorm(const float* x, int64_t rows, int64_t ldx, const float* weight, int64_t n, float eps,
             float* out, int64_t ldo, Isa isa = ActiveIsa());

}  // namespace tgi::shard::kernels
