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

// One query over its blocks; DV = head_dim / 16 vectors of output.
template <int DV, typename T>
TGI_TARGET_AVX512 void QueryAvx512(const Query& query, float scale, const PagedKv& kv,
                                   int64_t layer) {
  constexpr int64_t kDim = DV * 16;
  const T* cache = static_cast<const T*>(kv.data);
  float qs[kDim];
  for (int64_t d = 0; d < kDim; ++d) qs[d] = query.q[d] * scale;
  __m512 o[DV];
#pragma GCC unroll 8
  for (int i = 0; i < DV; ++i) o[i] = _mm512_setzero_ps();
  float running_max = kNegInf;
  float total = 0;
  const int64_t last = query.position / kBlockSize;
  alignas(64) float p[kBlockSize];
  for (int64_t b = 0; b <= last; ++b) {
    const int32_t block = query.blocks[b];
    const T* kt = cache + kv.KOffset(block, layer, query.head);
    __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    for (int64_t d = 0; d < kDim; d += 4) {
      s0 = _mm512_fmadd_ps(_mm512_set1_ps(qs[d]), Load16(kt + d * kBlockSize), s0);
      s1 = _mm512_fmadd_ps(_mm512_set1_ps(qs[d + 1]), Load16(kt + (d + 1) * kBlockSize), s1);
      s2 = _mm512_fmadd_ps(_mm512_set1_ps(qs[d + 2]), Load16(kt + (d + 2) * kBlockSize), s2);
      s3 = _mm512_fmadd_ps(_mm512_set1_ps(qs[d + 3]), Load16(kt + (d + 3) * kBlockSize), s3);
    }
    const int64_t valid = b == last ? query.position % kBlockSize + 1 : kBlockSize;
    const auto mask = static_cast<__mmask16>(valid == 16 ? 0xffff : (1u << valid) - 1);
    const __m512 s = _mm512_mask_mov_ps(
        _mm512_set1_ps(kNegInf), mask, _mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
    const float new_max = std::max(running_max, _mm512_reduce_max_ps(s));
    const __m512 probs = Exp512(_mm512_sub_ps(s, _mm512_set1_ps(new_max)));
    const float correction = std::exp(running_max - new_max);
    total = total * correction + _mm512_reduce_add_ps(probs);
    _mm512_store_ps(p, probs);
    const __m512 c = _mm512_set1_ps(correction);
#pragma GCC unroll 8
    for (int i = 0; i < DV; ++i) o[i] = _mm512_mul_ps(o[i], c);
    const T* v = cache + kv.VOffset(block, layer, query.head);
    for (int64_t j = 0; j < valid; ++j) {
      const __m512 pj = _mm512_set1_ps(p[j]);
#pragma GCC unroll 8
      for (int i = 0; i < DV; ++i) o[i] = _mm512_fmadd_ps(pj, Load16(v + j * kDim + i * 16), o[i]);
    }
    running_max = new_max;
  }
  const __m512 inv = _mm512_set1_ps(1.0f / total);
#pragma GCC unroll 8
  for (int i = 0; i < DV; ++i) _mm512_storeu_ps(query.out + i * 16, _mm512_mul_ps(o[i], inv));
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

template <typename T>
void RunQuery(const Query& query, float scale, const PagedKv& kv, int64_t layer, bool avx512) {
  if (avx512 && kv.head_dim == 64) {
    QueryAvx512<4, T>(query, scale, kv, layer);
  } else if (avx512 && kv.head_dim == 128) {
    QueryAvx512<8, T>(query, scale, kv, layer);
  } else {
    QueryGeneric<T>(query, scale, kv, layer);
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
  const bool avx512 = Supported(isa) >= Isa::kAvx512;
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
    for (int64_t i = begin; i < end; ++i) {
      const Task& task = tasks[i];
      const AttentionRow& row = rows[task.row];
      for (int64_t t = task.first_token; t < task.first_token + task.tokens; ++t) {
        for (int64_t h = task.head * group; h < (task.head + 1) * group; ++h) {
          const Query query{q + (row.first + t) * ldq + h * dim,
                            out + (row.first + t) * ldo + h * dim, row.context + t, row.blocks,
                            task.head};
          if (kv.dtype == at::kBFloat16) {
            RunQuery<uint16_t>(query, scale, kv, layer, avx512);
          } else {
            RunQuery<float>(query, scale, kv, layer, avx512);
          }
        }
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
