#include "shard/model/kernels/logsumexp.h"

#include <cmath>
#include <limits>

#include "shard/model/kernels/vec_math.h"

namespace tgi::shard::kernels {
namespace {

int64_t FirstIndexOf(const float* row, int64_t n, float value) {
  for (int64_t i = 0; i < n; ++i) {
    if (row[i] == value) return i;
  }
  return 0;
}

TGI_TARGET_AVX512 RowStats StatsAvx512(const float* row, int64_t n) {
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  __m512 vmax = _mm512_set1_ps(kNegInf);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) vmax = _mm512_max_ps(vmax, _mm512_loadu_ps(row + i));
  float max = _mm512_reduce_max_ps(vmax);
  for (int64_t j = i; j < n; ++j) max = std::max(max, row[j]);
  RowStats stats{FirstIndexOf(row, n, max), max, 0};
  if (std::isinf(max) && max < 0) return stats;
  const __m512 shift = _mm512_set1_ps(max);
  __m512 sum = _mm512_setzero_ps();
  for (i = 0; i + 16 <= n; i += 16) {
    sum = _mm512_add_ps(sum, internal::Exp512(_mm512_sub_ps(_mm512_loadu_ps(row + i), shift)));
  }
  float total = _mm512_reduce_add_ps(sum);
  for (int64_t j = i; j < n; ++j) total += std::exp(row[j] - max);
  stats.log_sum = std::log(total);
  return stats;
}

RowStats StatsGeneric(const float* row, int64_t n) {
  float max = row[0];
  for (int64_t i = 1; i < n; ++i) max = std::max(max, row[i]);
  RowStats stats{FirstIndexOf(row, n, max), max, 0};
  if (std::isinf(max) && max < 0) return stats;
  double total = 0;
  for (int64_t i = 0; i < n; ++i) total += std::exp(row[i] - max);
  stats.log_sum = static_cast<float>(std::log(total));
  return stats;
}

}  // namespace

RowStats RowLogSumExp(const float* row, int64_t n, Isa isa) {
  return Supported(isa) >= Isa::kAvx512 ? StatsAvx512(row, n) : StatsGeneric(row, n);
}

}  // namespace tgi::shard::kernels
