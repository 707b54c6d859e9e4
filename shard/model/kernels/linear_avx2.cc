// The AVX2 tiles of packed_linear: MR rows x NP panels, each panel two ymm registers of 8 lanes,
// one pass over k with FMA (float32 weights) or k pairs widened by a shift and a mask (bfloat16
// weights; for more rows than one tile, a pair is widened once into a buffer). The same
// multiply-adds in the same order for every tile shape, as on the AVX-512 path.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <new>

#include "shard/model/kernels/linear_internal.h"
#include "shard/model/kernels/vec_math.h"

namespace tgi::shard::kernels::internal {
namespace {

constexpr int64_t kPrefetchBytes = 2048;
constexpr int64_t kMaxTileRows = 3;  // 3 rows x 2 panels x 2 registers = 12 accumulators

TGI_TARGET_AVX2 inline __m256 Silu(__m256 g) {
  const __m256 one = _mm256_set1_ps(1.0f);
  return _mm256_div_ps(g, _mm256_add_ps(one, Exp256(_mm256_sub_ps(_mm256_setzero_ps(), g))));
}

// Writes 16 columns (two registers) at `out`, of which `valid` are real.
TGI_TARGET_AVX2 inline void Store16(float* out, __m256 lo, __m256 hi, int64_t valid,
                                    bool accumulate) {
  alignas(32) float values[16];
  _mm256_store_ps(values, lo);
  _mm256_store_ps(values + 8, hi);
  const int64_t n = std::min<int64_t>(valid, 16);
  for (int64_t i = 0; i < n; ++i) out[i] = accumulate ? out[i] + values[i] : values[i];
}

TGI_TARGET_AVX2 inline __m256 BiasAt(const float* bias, int64_t offset) {
  return bias ? _mm256_loadu_ps(bias + offset) : _mm256_setzero_ps();
}

template <int MR, int NP>
TGI_TARGET_AVX2 inline void Finish(__m256 (&acc)[MR][NP][2], const LinearArgs& a, int64_t pair,
                                   int64_t m0) {
  const float* bias = a.bias == nullptr ? nullptr : a.bias + pair * 32;
  for (int m = 0; m < MR; ++m) {
    float* out = a.out + (m0 + m) * a.ldo;
    if (a.epilogue == Epilogue::kSiluMul) {
      for (int i = 0; i < NP / 2; ++i) {
        const int64_t column = (pair + i) * 16;
        if (column >= a.n_out) break;
        __m256 r[2];
        for (int h = 0; h < 2; ++h) {
          const __m256 gate = _mm256_add_ps(acc[m][2 * i][h], BiasAt(bias, 32 * i + 8 * h));
          const __m256 up = _mm256_add_ps(acc[m][2 * i + 1][h], BiasAt(bias, 32 * i + 16 + 8 * h));
          r[h] = _mm256_mul_ps(Silu(gate), up);
        }
        Store16(out + column, r[0], r[1], a.n_out - column, false);
      }
      continue;
    }
    for (int j = 0; j < NP; ++j) {
      const int64_t column = pair * 32 + j * 16;
      if (column >= a.n_out) break;
      Store16(out + column, _mm256_add_ps(acc[m][j][0], BiasAt(bias, 16 * j)),
              _mm256_add_ps(acc[m][j][1], BiasAt(bias, 16 * j + 8)), a.n_out - column,
              a.epilogue == Epilogue::kAccumulate);
    }
  }
}

// float32 panels at `w` (the pair's own, or a widened copy), rows m0 .. m0 + MR - 1.
template <int MR, int NP>
TGI_TARGET_AVX2 void TileF32(const LinearArgs& a, const float* w, int64_t pair, int64_t m0,
                             bool prefetch) {
  const int64_t k_size = a.k;
  const float* x = a.x + m0 * a.ldx;
  __m256 acc[MR][NP][2];
  for (int m = 0; m < MR; ++m) {
    for (int j = 0; j < NP; ++j) acc[m][j][0] = acc[m][j][1] = _mm256_setzero_ps();
  }
  for (int64_t k = 0; k < k_size; ++k) {
    __m256 wv[NP][2];
#pragma GCC unroll 4
    for (int j = 0; j < NP; ++j) {
      const float* stream = w + F32PanelOffset(k_size, j, k);
      if (prefetch)
        _mm_prefetch(reinterpret_cast<const char*>(stream) + kPrefetchBytes, _MM_HINT_T0);
      wv[j][0] = _mm256_load_ps(stream);
      wv[j][1] = _mm256_load_ps(stream + 8);
    }
#pragma GCC unroll 4
    for (int m = 0; m < MR; ++m) {
      const __m256 xb = _mm256_broadcast_ss(x + m * a.ldx + k);
#pragma GCC unroll 4
      for (int j = 0; j < NP; ++j) {
        acc[m][j][0] = _mm256_fmadd_ps(xb, wv[j][0], acc[m][j][0]);
        acc[m][j][1] = _mm256_fmadd_ps(xb, wv[j][1], acc[m][j][1]);
      }
    }
  }
  Finish<MR, NP>(acc, a, pair, m0);
}

// bfloat16 panels of the pair: lane l of a k pair holds (W[l, k], W[l, k + 1]).
template <int MR, int NP>
TGI_TARGET_AVX2 void TileBf16(const LinearArgs& a, int64_t pair, int64_t m0) {
  const int64_t k_size = a.k;
  const uint16_t* w = static_cast<const uint16_t*>(a.w) + pair * 32 * k_size;
  const float* x = a.x + m0 * a.ldx;
  const __m256i high = _mm256_set1_epi32(static_cast<int32_t>(0xffff0000u));
  __m256 acc[MR][NP][2];
  for (int m = 0; m < MR; ++m) {
    for (int j = 0; j < NP; ++j) acc[m][j][0] = acc[m][j][1] = _mm256_setzero_ps();
  }
  for (int64_t k = 0; k < k_size; k += 2) {
#pragma GCC unroll 4
    for (int j = 0; j < NP; ++j) {
      const uint16_t* stream = w + Bf16PanelOffset(k_size, j, k);
      if (m0 == 0)
        _mm_prefetch(reinterpret_cast<const char*>(stream) + kPrefetchBytes, _MM_HINT_T0);
      for (int h = 0; h < 2; ++h) {
        const __m256i pairs = _mm256_load_si256(reinterpret_cast<const __m256i*>(stream + 16 * h));
        const __m256 even = _mm256_castsi256_ps(_mm256_slli_epi32(pairs, 16));
        const __m256 odd = _mm256_castsi256_ps(_mm256_and_si256(pairs, high));
#pragma GCC unroll 4
        for (int m = 0; m < MR; ++m) {
          acc[m][j][h] =
              _mm256_fmadd_ps(_mm256_broadcast_ss(x + m * a.ldx + k), even, acc[m][j][h]);
          acc[m][j][h] =
              _mm256_fmadd_ps(_mm256_broadcast_ss(x + m * a.ldx + k + 1), odd, acc[m][j][h]);
        }
      }
    }
  }
  Finish<MR, NP>(acc, a, pair, m0);
}

// The pair widened to a float32 pair [K][2][16] in `out`.
TGI_TARGET_AVX2 void WidenPair(const LinearArgs& a, int64_t pair, float* out) {
  const int64_t k_size = a.k;
  const uint16_t* w = static_cast<const uint16_t*>(a.w) + pair * 32 * k_size;
  const __m256i high = _mm256_set1_epi32(static_cast<int32_t>(0xffff0000u));
  for (int64_t j = 0; j < 2; ++j) {
    for (int64_t k = 0; k < k_size; k += 2) {
      const uint16_t* stream = w + Bf16PanelOffset(k_size, j, k);
      float* even_k = out + F32PanelOffset(k_size, j, k);
      float* odd_k = out + F32PanelOffset(k_size, j, k + 1);
      for (int h = 0; h < 2; ++h) {
        const __m256i pairs = _mm256_load_si256(reinterpret_cast<const __m256i*>(stream + 16 * h));
        _mm256_store_ps(even_k + 8 * h, _mm256_castsi256_ps(_mm256_slli_epi32(pairs, 16)));
        _mm256_store_ps(odd_k + 8 * h, _mm256_castsi256_ps(_mm256_and_si256(pairs, high)));
      }
    }
  }
}

float* ThreadBuffer(size_t floats) {
  struct Buffer {
    float* data = nullptr;
    size_t size = 0;
    ~Buffer() { ::operator delete (data, std::align_val_t{64}); }
  };
  thread_local Buffer buffer;
  if (buffer.size < floats) {
    ::operator delete (buffer.data, std::align_val_t{64});
    buffer.data =
        static_cast<float*>(::operator new (floats * sizeof(float), std::align_val_t{64}));
    buffer.size = floats;
  }
  return buffer.data;
}

// One tile of `rows` (1..3) rows over NP panels from `pair`.
template <int NP>
void Tile(const LinearArgs& a, const float* widened, int64_t rows, int64_t pair, int64_t m0) {
  const bool f32 = !a.bf16_weights || widened != nullptr;
  const float* w = widened != nullptr ? widened : static_cast<const float*>(a.w) + pair * 32 * a.k;
  const bool prefetch = m0 == 0 && widened == nullptr;
  switch (rows) {
    case 1:
      return f32 ? TileF32<1, NP>(a, w, pair, m0, prefetch) : TileBf16<1, NP>(a, pair, m0);
    case 2:
      return f32 ? TileF32<2, NP>(a, w, pair, m0, prefetch) : TileBf16<2, NP>(a, pair, m0);
    default:
      if constexpr (NP == 2) {
        return f32 ? TileF32<3, NP>(a, w, pair, m0, prefetch) : TileBf16<3, NP>(a, pair, m0);
      }
  }
}

void PairRange(const LinearArgs& a, int64_t first, int64_t last) {
  if (a.m == 1) {
    int64_t pair = first;
    for (; pair + 2 <= last; pair += 2) Tile<4>(a, nullptr, 1, pair, 0);
    if (pair < last) Tile<2>(a, nullptr, 1, pair, 0);
    return;
  }
  const bool widen = a.bf16_weights && a.m > kMaxTileRows;
  float* widened = widen ? ThreadBuffer(static_cast<size_t>(32 * a.k)) : nullptr;
  for (int64_t pair = first; pair < last; ++pair) {
    if (widen) WidenPair(a, pair, widened);
    for (int64_t m0 = 0; m0 < a.m; m0 += kMaxTileRows) {
      Tile<2>(a, widened, std::min(kMaxTileRows, a.m - m0), pair, m0);
    }
  }
}

}  // namespace

void LinearPairsAvx2(const LinearArgs& a, PairQueue& pairs) {
  int64_t first = 0;
  int64_t last = 0;
  while (pairs.Next(first, last)) PairRange(a, first, last);
}

}  // namespace tgi::shard::kernels::internal
