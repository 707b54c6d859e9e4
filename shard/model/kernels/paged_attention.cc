#include "shard/model/kernels/paged_attention.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "shard/model/kernels/bf16.h"
#include "shard/model/kernels/vec_math.h"

namespace tgi::shard::kernels {
namespace {

using internal::Exp512;
using internal::LoadBf16x16;

// Queries of one row and KV head handled by one task: up to this many new tokens.
constexpr int64_t kChunkTokens = 16;
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

struct Query {
  const float* q;  // [head_dim], not yet scaled
  float* out;      // [head_dim]
  int64_t position;
  const int32_t* blocks;
  int64_t head;  // KV head
};

inline float Widen(float x) { return x; }
inline float Widen(uint16_t x) { return Bf16ToFloat(x); }

template <typename T>
TGI_TARGET_AVX512 inline __m512 Load16(const T* p) {
  if constexpr (sizeof(T) == sizeof(float)) {
    return _mm512_loadu_ps(reinterpret_cast<const float*>(p));
  } else {
    return LoadBf16x16(reinterpret_cast<const uint16_t*>(p));
  }
}

// NQ queries of one row and KV head over their blocks, each with an online softmax. Each K and
// V vector is loaded once for all of them; every query runs exactly the operations it would run
// alone (its scores are computed for every block, used only up to its own position), so results
// do not depend on how queries are grouped. DV = head_dim / 16 vectors of output.
template <int DV, typename T, int NQ>
TGI_TARGET_AVX512 void QueriesAvx512(const Query* queries, float scale, const PagedKv& kv,
                                     int64_t layer) {
  constexpr int64_t kDim = DV * 16;
  const T* cache = static_cast<const T*>(kv.data);
  const int32_t* blocks = queries[0].blocks;
  const int64_t head = queries[0].head;
  float qs[NQ][kDim];
  __m512 o[NQ][DV];
  float running_max[NQ], total[NQ];
  int64_t last[NQ];
  int64_t max_last = 0;
  alignas(64) float p[NQ][kBlockSize];
  for (int i = 0; i < NQ; ++i) {
    for (int64_t d = 0; d < kDim; ++d) qs[i][d] = queries[i].q[d] * scale;
    for (int v = 0; v < DV; ++v) o[i][v] = _mm512_setzero_ps();
    running_max[i] = kNegInf;
    total[i] = 0;
    last[i] = queries[i].position / kBlockSize;
    max_last = std::max(max_last, last[i]);
  }
  for (int64_t b = 0; b <= max_last; ++b) {
    const T* kt = cache + kv.KOffset(blocks[b], layer, head);
    __m512 s[NQ][4];
    for (int i = 0; i < NQ; ++i) s[i][0] = s[i][1] = s[i][2] = s[i][3] = _mm512_setzero_ps();
    for (int64_t d = 0; d < kDim; d += 4) {
      const __m512 k0 = Load16(kt + d * kBlockSize);
      const __m512 k1 = Load16(kt + (d + 1) * kBlockSize);
      const __m512 k2 = Load16(kt + (d + 2) * kBlockSize);
      const __m512 k3 = Load16(kt + (d + 3) * kBlockSize);
#pragma GCC unroll 4
      for (int i = 0; i < NQ; ++i) {
        s[i][0] = _mm512_fmadd_ps(_mm512_set1_ps(qs[i][d]), k0, s[i][0]);
        s[i][1] = _mm512_fmadd_ps(_mm512_set1_ps(qs[i][d + 1]), k1, s[i][1]);
        s[i][2] = _mm512_fmadd_ps(_mm512_set1_ps(qs[i][d + 2]), k2, s[i][2]);
        s[i][3] = _mm512_fmadd_ps(_mm512_set1_ps(qs[i][d + 3]), k3, s[i][3]);
      }
    }
    int64_t valid[NQ];
    int64_t max_valid = 0;
    for (int i = 0; i < NQ; ++i) {
      valid[i] = b < last[i] ? kBlockSize : b == last[i] ? queries[i].position % kBlockSize + 1 : 0;
      max_valid = std::max(max_valid, valid[i]);
      if (valid[i] == 0) continue;
      const auto mask = static_cast<__mmask16>(valid[i] == 16 ? 0xffff : (1u << valid[i]) - 1);
      const __m512 scores = _mm512_mask_mov_ps(
          _mm512_set1_ps(kNegInf), mask,
          _mm512_add_ps(_mm512_add_ps(s[i][0], s[i][1]), _mm512_add_ps(s[i][2], s[i][3])));
      const float new_max = std::max(running_max[i], _mm512_reduce_max_ps(scores));
      const __m512 probs = Exp512(_mm512_sub_ps(scores, _mm512_set1_ps(new_max)));
      const float correction = std::exp(running_max[i] - new_max);
      total[i] = total[i] * correction + _mm512_reduce_add_ps(probs);
      _mm512_store_ps(p[i], probs);
      const __m512 c = _mm512_set1_ps(correction);
      for (int v = 0; v < DV; ++v) o[i][v] = _mm512_mul_ps(o[i][v], c);
      running_max[i] = new_max;
    }
    const T* values = cache + kv.VOffset(blocks[b], layer, head);
    for (int64_t j = 0; j < max_valid; ++j) {
#pragma GCC unroll 8
      for (int v = 0; v < DV; ++v) {
        const __m512 value = Load16(values + j * kDim + v * 16);
#pragma GCC unroll 4
        for (int i = 0; i < NQ; ++i) {
          if (j < valid[i]) o[i][v] = _mm512_fmadd_ps(_mm512_set1_ps(p[i][j]), value, o[i][v]);
        }
      }
    }
  }
  for (int i = 0; i < NQ; ++i) {
    const __m512 inv = _mm512_set1_ps(1.0f / total[i]);
    for (int v = 0; v < DV; ++v)
      _mm512_storeu_ps(queries[i].out + v * 16, _mm512_mul_ps(o[i][v], inv));
  }
}

template <typename T>
TGI_TARGET_AVX2 inline __m256 Load8(const T* p) {
  if constexpr (sizeof(T) == sizeof(float)) {
    return _mm256_loadu_ps(reinterpret_cast<const float*>(p));
  } else {
    const __m128i bits = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(bits), 16));
  }
}

TGI_TARGET_AVX2 inline float Sum256(__m256 v) {
  __m128 x = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  x = _mm_add_ps(x, _mm_movehl_ps(x, x));
  return _mm_cvtss_f32(_mm_add_ss(x, _mm_movehdup_ps(x)));
}

TGI_TARGET_AVX2 inline float Max256(__m256 v) {
  __m128 x = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  x = _mm_max_ps(x, _mm_movehl_ps(x, x));
  return _mm_cvtss_f32(_mm_max_ss(x, _mm_movehdup_ps(x)));
}

// One query over its blocks with an online softmax, on AVX2: a block's 16 scores are two
// registers (K is stored transposed), DV = head_dim / 8 registers of output. A query at a time,
// so its result cannot depend on its companions.
template <int DV, typename T>
TGI_TARGET_AVX2 void QueryAvx2(const Query& query, float scale, const PagedKv& kv, int64_t layer) {
  constexpr int64_t kDim = DV * 8;
  const T* cache = static_cast<const T*>(kv.data);
  alignas(32) float qs[kDim];
  for (int64_t d = 0; d < kDim; ++d) qs[d] = query.q[d] * scale;
  __m256 o[DV];
  for (int v = 0; v < DV; ++v) o[v] = _mm256_setzero_ps();
  float running_max = kNegInf;
  float total = 0;
  const int64_t last = query.position / kBlockSize;
  const __m256 lane_lo = _mm256_setr_ps(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256 lane_hi = _mm256_setr_ps(8, 9, 10, 11, 12, 13, 14, 15);
  alignas(32) float p[kBlockSize];
  for (int64_t b = 0; b <= last; ++b) {
    const T* kt = cache + kv.KOffset(query.blocks[b], layer, query.head);
    __m256 s[2][2] = {{_mm256_setzero_ps(), _mm256_setzero_ps()},
                      {_mm256_setzero_ps(), _mm256_setzero_ps()}};
#pragma GCC unroll 4
    for (int64_t d = 0; d < kDim; d += 2) {
      const __m256 q0 = _mm256_broadcast_ss(qs + d);
      const __m256 q1 = _mm256_broadcast_ss(qs + d + 1);
      s[0][0] = _mm256_fmadd_ps(q0, Load8(kt + d * kBlockSize), s[0][0]);
      s[0][1] = _mm256_fmadd_ps(q0, Load8(kt + d * kBlockSize + 8), s[0][1]);
      s[1][0] = _mm256_fmadd_ps(q1, Load8(kt + (d + 1) * kBlockSize), s[1][0]);
      s[1][1] = _mm256_fmadd_ps(q1, Load8(kt + (d + 1) * kBlockSize + 8), s[1][1]);
    }
    const int64_t valid = b < last ? kBlockSize : query.position % kBlockSize + 1;
    const __m256 count = _mm256_set1_ps(static_cast<float>(valid));
    const __m256 neg_inf = _mm256_set1_ps(kNegInf);
    const __m256 lo = _mm256_blendv_ps(neg_inf, _mm256_add_ps(s[0][0], s[1][0]),
                                       _mm256_cmp_ps(lane_lo, count, _CMP_LT_OQ));
    const __m256 hi = _mm256_blendv_ps(neg_inf, _mm256_add_ps(s[0][1], s[1][1]),
                                       _mm256_cmp_ps(lane_hi, count, _CMP_LT_OQ));
    const float new_max = std::max(running_max, Max256(_mm256_max_ps(lo, hi)));
    const __m256 m = _mm256_set1_ps(new_max);
    const __m256 p_lo = internal::Exp256(_mm256_sub_ps(lo, m));
    const __m256 p_hi = internal::Exp256(_mm256_sub_ps(hi, m));
    const float correction = std::exp(running_max - new_max);
    total = total * correction + Sum256(_mm256_add_ps(p_lo, p_hi));
    _mm256_store_ps(p, p_lo);
    _mm256_store_ps(p + 8, p_hi);
    const __m256 c = _mm256_set1_ps(correction);
    for (int v = 0; v < DV; ++v) o[v] = _mm256_mul_ps(o[v], c);
    running_max = new_max;
    const T* values = cache + kv.VOffset(query.blocks[b], layer, query.head);
    for (int64_t j = 0; j < valid; ++j) {
      const __m256 pj = _mm256_broadcast_ss(p + j);
#pragma GCC unroll 16
      for (int v = 0; v < DV; ++v) {
        o[v] = _mm256_fmadd_ps(pj, Load8(values + j * kDim + v * 8), o[v]);
      }
    }
  }
  const __m256 inv = _mm256_set1_ps(1.0f / total);
  for (int v = 0; v < DV; ++v) _mm256_storeu_ps(query.out + v * 8, _mm256_mul_ps(o[v], inv));
}

// The AVX2 path for head_dim 8, 16, 32, 64 or 128; false for any other.
template <typename T>
bool QueryAvx2ByDim(const Query& query, float scale, const PagedKv& kv, int64_t layer) {
  switch (kv.head_dim) {
    case 8:
      QueryAvx2<1, T>(query, scale, kv, layer);
      return true;
    case 16:
      QueryAvx2<2, T>(query, scale, kv, layer);
      return true;
    case 32:
      QueryAvx2<4, T>(query, scale, kv, layer);
      return true;
    case 64:
      QueryAvx2<8, T>(query, scale, kv, layer);
      return true;
    case 128:
      QueryAvx2<16, T>(query, scale, kv, layer);
      return true;
    default:
      return false;
  }
}

template <typename T>
void QueryGeneric(const Query& query, float scale, const PagedKv& kv, int64_t layer) {
  const int64_t dim = kv.head_dim;
  const T* cache = static_cast<const T*>(kv.data);
  std::vector<float> o(dim, 0.0f);
  float running_max = kNegInf;
  float total = 0;
  const int64_t last = query.position / kBlockSize;
  float s[kBlockSize];
  for (int64_t b = 0; b <= last; ++b) {
    const int32_t block = query.blocks[b];
    const T* kt = cache + kv.KOffset(block, layer, query.head);
    const int64_t valid = b == last ? query.position % kBlockSize + 1 : kBlockSize;
    float block_max = kNegInf;
    for (int64_t j = 0; j < valid; ++j) {
      float dot = 0;
      for (int64_t d = 0; d < dim; ++d) dot += query.q[d] * scale * Widen(kt[d * kBlockSize + j]);
      s[j] = dot;
      block_max = std::max(block_max, dot);
    }
    const float new_max = std::max(running_max, block_max);
    const float correction = std::exp(running_max - new_max);
    total *= correction;
    for (int64_t d = 0; d < dim; ++d) o[d] *= correction;
    const T* v = cache + kv.VOffset(block, layer, query.head);
    for (int64_t j = 0; j < valid; ++j) {
      const float p = std::exp(s[j] - new_max);
      total += p;
      for (int64_t d = 0; d < dim; ++d) o[d] += p * Widen(v[j * dim + d]);
    }
    running_max = new_max;
  }
  for (int64_t d = 0; d < dim; ++d) query.out[d] = o[d] / total;
}

// Queries [0, n) of one row and KV head: two at a time on the AVX-512 path, one at a time on the
// AVX2 path, else the portable loop.
template <typename T>
void RunQueries(const Query* queries, int64_t n, float scale, const PagedKv& kv, int64_t layer,
                Isa isa) {
  const bool avx512 = isa >= Isa::kAvx512 && (kv.head_dim == 64 || kv.head_dim == 128);
  if (!avx512) {
    for (int64_t i = 0; i < n; ++i) {
      if (isa >= Isa::kAvx2 && QueryAvx2ByDim<T>(queries[i], scale, kv, layer)) continue;
      QueryGeneric<T>(queries[i], scale, kv, layer);
    }
    return;
  }
  int64_t i = 0;
  for (; i + 2 <= n; i += 2) {
    if (kv.head_dim == 64) {
      QueriesAvx512<4, T, 2>(queries + i, scale, kv, layer);
    } else {
      QueriesAvx512<8, T, 2>(queries + i, scale, kv, layer);
    }
  }
  if (i < n) {
    if (kv.head_dim == 64) {
      QueriesAvx512<4, T, 1>(queries + i, scale, kv, layer);
    } else {
      QueriesAvx512<8, T, 1>(queries + i, scale, kv, layer);
    }
  }
}

struct Task {
  int64_t row;
  int64_t head;         // KV head
  int64_t first_token;  // within the row
  int64_t tokens;
};

}  // namespace

void PagedAttention(const float* q, int64_t ldq, const AttentionRow* rows, int64_t num_rows,
                    int64_t heads, float scale, const PagedKv& kv, int64_t layer, float* out,
                    int64_t ldo, Isa isa) {
  isa = Supported(isa);
  const int64_t group = heads / kv.kv_heads;
  const int64_t dim = kv.head_dim;
  std::vector<Task> tasks;
  int64_t work = 0;  // query-blocks, to decide whether to wake the pool
  for (int64_t r = 0; r < num_rows; ++r) {
    for (int64_t g = 0; g < kv.kv_heads; ++g) {
      for (int64_t t = 0; t < rows[r].count; t += kChunkTokens) {
        tasks.push_back({r, g, t, std::min(kChunkTokens, rows[r].count - t)});
      }
    }
    work += rows[r].count * (rows[r].context + rows[r].count) / kBlockSize + rows[r].count;
  }
  work *= heads;
  auto run = [&](int64_t begin, int64_t end) {
    std::vector<Query> queries;
    for (int64_t i = begin; i < end; ++i) {
      const Task& task = tasks[i];
      const AttentionRow& row = rows[task.row];
      queries.clear();
      for (int64_t t = task.first_token; t < task.first_token + task.tokens; ++t) {
        for (int64_t h = task.head * group; h < (task.head + 1) * group; ++h) {
          queries.push_back({q + (row.first + t) * ldq + h * dim,
                             out + (row.first + t) * ldo + h * dim, row.context + t, row.blocks,
                             task.head});
        }
      }
      const auto n = static_cast<int64_t>(queries.size());
      if (kv.dtype == at::kBFloat16) {
        RunQueries<uint16_t>(queries.data(), n, scale, kv, layer, isa);
      } else {
        RunQueries<float>(queries.data(), n, scale, kv, layer, isa);
      }
    }
  };
  const auto count = static_cast<int64_t>(tasks.size());
  if (work < 256) {
    run(0, count);
  } else {
    at::parallel_for(0, count, 1, run);
  }
}

}  // namespace tgi::shard::kernels
