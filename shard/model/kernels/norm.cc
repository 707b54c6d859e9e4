#include "shard/model/kernels/norm.h"

#include <ATen/Parallel.h>

#include <cmath>

#include "shard/model/kernels/vec_math.h"

namespace tgi::shard::kernels {
namespace {

TGI_TARGET_AVX512 void RowAvx512(const float* x, const float* weight, int64_t n, float eps,
                                 float* out) {
  __m512 sum = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512 v = _mm512_loadu_ps(x + i);
    sum = _mm512_fmadd_ps(v, v, sum);
  }
  if (i < n) {
    const __m512 v = _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << (n - i)) - 1), x + i);
    sum = _mm512_fmadd_ps(v, v, sum);
  }
  const float inv = 1.0f / std::sqrt(_mm512_reduce_add_ps(sum) / static_cast<float>(n) + eps);
  const __m512 scale = _mm512_set1_ps(inv);
  for (i = 0; i + 16 <= n; i += 16) {
    const __m512 v = _mm512_mul_ps(_mm512_loadu_ps(x + i), scale);
    _mm512_storeu_ps(out + i, _mm512_mul_ps(v, _mm512_loadu_ps(weight + i)));
  }
  if (i < n) {
    const auto mask = static_cast<__mmask16>((1u << (n - i)) - 1);
    const __m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(mask, x + i), scale);
    _mm512_mask_storeu_ps(out + i, mask, _mm512_mul_ps(v, _mm512_maskz_loadu_ps(mask, weight + i)));
  }
}

void RowGeneric(const float* x, const float* weight, int64_t n, float eps, float* out) {
  float sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += x[i] * x[i];
  const float inv = 1.0f / std::sqrt(sum / static_cast<float>(n) + eps);
  for (int64_t i = 0; i < n; ++i) out[i] = x[i] * inv * weight[i];
}

}  // namespace

void RmsNorm(const float* x, int64_t rows, int64_t ldx, const float* weight, int64_t n, float eps,
             float* out, int64_t ldo, Isa isa) {
  const bool avx512 = Supported(isa) >= Isa::kAvx512;
  at::parallel_for(0, rows, std::max<int64_t>(1, (1 << 16) / std::max<int64_t>(n, 1)),
                   [&](int64_t begin, int64_t end) {
                     for (int64_t r = begin; r < end; ++r) {
                       if (avx512) {
                         RowAvx512(x + r * ldx, weight, n, eps, out + r * ldo);
                       } else {
                         RowGeneric(x + r * ldx, weight, n, eps, out + r * ldo);
                       }
                     }
                   });
}

}  // namespace tgi::shard::kernels
