// The AVX2 tiles of packed_linear. One row (decode of one stream, memory-bound): one pass over k
// with two panel pairs in flight, each panel two ymm registers of 8 lanes. Several rows: the
// classic 6 x 16 register tile (six rows of one panel: 12 accumulators, two weight registers and
// one broadcast fill the 16 ymm registers), x copied k-major per row tile, and k in blocks so that
// a block of the pair's panels stays in L1 while every row tile uses it. bfloat16 weights are
// widened by a shift and a mask (for several rows, once per pair into a buffer). Every output is
// one accumulation over k in order, whatever the tile: a row's bits do not depend on its
// companions, and match the AVX-512 path.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>

#include "shard/model/kernels/linear_internal.h"
#include "shard/model/kernels/vec_math.h"

namespace tgi::shard::kernels::internal {
namespace {

// One-row tiles fetch each weight stream this far ahead (the hardware streamers stop at 4 KiB
// pages).
constexpr int64_t kPrefetchBytes = 2048;
// Rows per tile of the several-row path: 6 x 2 accumulators + 2 weights + 1 broadcast = 15 ymm.
constexpr int64_t kTileRows = 6;
// k per block of the several-row path: a block of the pair (kKBlock x 128 bytes) and of a tile's
// x (kKBlock x 24 bytes) stay in L1 across the row tiles.
constexpr int64_t kKBlock = 128;
// Up to this many rows (two row tiles) the several-row path is still bound by the weights' DRAM
// stream: its first tile fetches each stream kPrefetchBytes ahead into L1. More rows are bound by
// the FMAs: the first tile pulls the next pair into L2 while the other tiles compute.
constexpr int64_t kStreamRows = 2 * kTileRows;

TGI_TARGET_AVX2 inline __m256 Silu(__m256 g) {
  const __m256 one = _mm256_set1_ps(1.0f);
  return _mm256_div_ps(g, _mm256_add_ps(one, Exp256(_mm256_sub_ps(_mm256_setzero_ps(), g))));
}

// Writes 16 columns (two registers) at `out`, of which `valid` are real.
TGI_TARGET_AVX2 inline void Store16(float* out, __m256 lo, __m256 hi, int64_t valid,
                                    bool accumulate) {
  if (valid >= 16) {
    if (accumulate) {
      lo = _mm256_add_ps(_mm256_loadu_ps(out), lo);
      hi = _mm256_add_ps(_mm256_loadu_ps(out + 8), hi);
    }
    _mm256_storeu_ps(out, lo);
    _mm256_storeu_ps(out + 8, hi);
    return;
  }
  alignas(32) float values[16];
  _mm256_store_ps(values, lo);
  _mm256_store_ps(values + 8, hi);
  for (int64_t i = 0; i < valid; ++i) out[i] = accumulate ? out[i] + values[i] : values[i];
}

TGI_TARGET_AVX2 inline __m256 BiasAt(const float* bias, int64_t offset) {
  return bias ? _mm256_loadu_ps(bias + offset) : _mm256_setzero_ps();
}

// ---- One row: NP panels from `pair`, all of k in one pass.

template <int NP>
TGI_TARGET_AVX2 inline void FinishRow(__m256 (&acc)[NP][2], const LinearArgs& a, int64_t pair) {
  const float* bias = a.bias == nullptr ? nullptr : a.bias + pair * 32;
  if (a.epilogue == Epilogue::kSiluMul) {
    for (int i = 0; i < NP / 2; ++i) {
      const int64_t column = (pair + i) * 16;
      if (column >= a.n_out) break;
      __m256 r[2];
      for (int h = 0; h < 2; ++h) {
        const __m256 gate = _mm256_add_ps(acc[2 * i][h], BiasAt(bias, 32 * i + 8 * h));
        const __m256 up = _mm256_add_ps(acc[2 * i + 1][h], BiasAt(bias, 32 * i + 16 + 8 * h));
        r[h] = _mm256_mul_ps(Silu(gate), up);
      }
      Store16(a.out + column, r[0], r[1], a.n_out - column, false);
    }
    return;
  }
  for (int j = 0; j < NP; ++j) {
    const int64_t column = pair * 32 + j * 16;
    if (column >= a.n_out) break;
    Store16(a.out + column, _mm256_add_ps(acc[j][0], BiasAt(bias, 16 * j)),
            _mm256_add_ps(acc[j][1], BiasAt(bias, 16 * j + 8)), a.n_out - column,
            a.epilogue == Epilogue::kAccumulate);
  }
}

template <int NP>
TGI_TARGET_AVX2 void RowF32(const LinearArgs& a, int64_t pair) {
  const int64_t k_size = a.k;
  const float* w = static_cast<const float*>(a.w) + pair * 32 * k_size;
  __m256 acc[NP][2];
  for (int j = 0; j < NP; ++j) acc[j][0] = acc[j][1] = _mm256_setzero_ps();
  for (int64_t k = 0; k < k_size; ++k) {
    const __m256 xb = _mm256_broadcast_ss(a.x + k);
#pragma GCC unroll 4
    for (int j = 0; j < NP; ++j) {
      const float* stream = w + F32PanelOffset(k_size, j, k);
      _mm_prefetch(reinterpret_cast<const char*>(stream) + kPrefetchBytes, _MM_HINT_T0);
      acc[j][0] = _mm256_fmadd_ps(xb, _mm256_load_ps(stream), acc[j][0]);
      acc[j][1] = _mm256_fmadd_ps(xb, _mm256_load_ps(stream + 8), acc[j][1]);
    }
  }
  FinishRow<NP>(acc, a, pair);
}

// bfloat16 panels of the pair: lane l of a k pair holds (W[l, k], W[l, k + 1]).
template <int NP>
TGI_TARGET_AVX2 void RowBf16(const LinearArgs& a, int64_t pair) {
  const int64_t k_size = a.k;
  const uint16_t* w = static_cast<const uint16_t*>(a.w) + pair * 32 * k_size;
  const __m256i high = _mm256_set1_epi32(static_cast<int32_t>(0xffff0000u));
  __m256 acc[NP][2];
  for (int j = 0; j < NP; ++j) acc[j][0] = acc[j][1] = _mm256_setzero_ps();
  for (int64_t k = 0; k < k_size; k += 2) {
    const __m256 x0 = _mm256_broadcast_ss(a.x + k);
    const __m256 x1 = _mm256_broadcast_ss(a.x + k + 1);
#pragma GCC unroll 4
    for (int j = 0; j < NP; ++j) {
      const uint16_t* stream = w + Bf16PanelOffset(k_size, j, k);
      _mm_prefetch(reinterpret_cast<const char*>(stream) + kPrefetchBytes, _MM_HINT_T0);
      for (int h = 0; h < 2; ++h) {
        const __m256i pairs = _mm256_load_si256(reinterpret_cast<const __m256i*>(stream + 16 * h));
        const __m256 even = _mm256_castsi256_ps(_mm256_slli_epi32(pairs, 16));
        const __m256 odd = _mm256_castsi256_ps(_mm256_and_si256(pairs, high));
        acc[j][h] = _mm256_fmadd_ps(x0, even, acc[j][h]);
        acc[j][h] = _mm256_fmadd_ps(x1, odd, acc[j][h]);
      }
    }
  }
  FinishRow<NP>(acc, a, pair);
}

void OneRow(const LinearArgs& a, int64_t first, int64_t last) {
  int64_t pair = first;
  for (; pair + 2 <= last; pair += 2) a.bf16_weights ? RowBf16<4>(a, pair) : RowF32<4>(a, pair);
  if (pair < last) a.bf16_weights ? RowBf16<2>(a, pair) : RowF32<2>(a, pair);
}

// ---- Several rows: 6 x 16 tiles over k blocks.

// Up to this many rows one tile covers both panels (2 x 4 accumulators + 4 weights + 1
// broadcast): each 128-byte k row of the pair is read whole, one sequential stream. (For more
// rows, several such tiles re-read the block from L1 more often than the 6 x 16 tiles do: slower
// at 4, 8 and 12 rows in paired runs, faster at 2.)
constexpr int64_t kPairTileRows = 2;

int64_t MaxTileRows(int64_t m) { return m <= kPairTileRows ? kPairTileRows : kTileRows; }

// The row tiles of m rows, in order: tiles of at most MaxTileRows(m), as even as possible (base + 1
// rows for the first `extra`, base for the others).
template <typename Run>
void ForRowTiles(int64_t m, Run&& run) {
  const int64_t max_rows = MaxTileRows(m);
  const int64_t tiles = (m + max_rows - 1) / max_rows;
  const int64_t base = m / tiles;
  const int64_t extra = m % tiles;
  for (int64_t t = 0, m0 = 0; t < tiles; ++t) {
    const int64_t rows = base + (t < extra ? 1 : 0);
    run(rows, m0);
    m0 += rows;
  }
}

// Rows m0 .. m0 + rows - 1 of x, k-major ([K][rows]) at packed + m0 * K.
void PackRows(const LinearArgs& a, int64_t rows, int64_t m0, float* packed) {
  float* out = packed + m0 * a.k;
  for (int64_t m = 0; m < rows; ++m) {
    const float* row = a.x + (m0 + m) * a.ldx;
    for (int64_t k = 0; k < a.k; ++k) out[k * rows + m] = row[k];
  }
}

// What one tile computes: panel j (0 or 1) of `pair` for rows m0 .. m0 + MR - 1 over k in
// [begin, end). `w` is the pair's float32 panels ([K][2][16]: the pair itself or its widened
// copy), `x` the tile's k-major rows, `partial` the tile's sums between blocks ([MR][2][16]).
struct TileJob {
  const float* w;
  int64_t prefetch;  // bytes ahead of the weight stream that this tile prefetches; 0: none
  const float* x;
  float* partial;
  int64_t pair;
  int64_t m0;
  int j;
  int64_t begin;
  int64_t end;
};

// After the last block: the epilogue. kSiluMul: panel 0 (the gate) leaves its sums in `partial`,
// panel 1 (up) combines them.
template <int MR>
TGI_TARGET_AVX2 inline void FinishTile(__m256 (&acc)[MR][2], const LinearArgs& a,
                                       const TileJob& t) {
  const float* bias = a.bias == nullptr ? nullptr : a.bias + t.pair * 32;
  if (a.epilogue == Epilogue::kSiluMul) {
    if (t.j == 0) {
#pragma GCC unroll 6
      for (int m = 0; m < MR; ++m) {
        _mm256_store_ps(t.partial + m * 32, acc[m][0]);
        _mm256_store_ps(t.partial + m * 32 + 8, acc[m][1]);
      }
      return;
    }
    const int64_t column = t.pair * 16;
#pragma GCC unroll 6
    for (int m = 0; m < MR; ++m) {
      __m256 r[2];
      for (int h = 0; h < 2; ++h) {
        const __m256 gate =
            _mm256_add_ps(_mm256_load_ps(t.partial + m * 32 + 8 * h), BiasAt(bias, 8 * h));
        const __m256 up = _mm256_add_ps(acc[m][h], BiasAt(bias, 16 + 8 * h));
        r[h] = _mm256_mul_ps(Silu(gate), up);
      }
      Store16(a.out + (t.m0 + m) * a.ldo + column, r[0], r[1], a.n_out - column, false);
    }
    return;
  }
  const int64_t column = t.pair * 32 + t.j * 16;
  const __m256 b0 = BiasAt(bias, 16 * t.j);
  const __m256 b1 = BiasAt(bias, 16 * t.j + 8);
#pragma GCC unroll 6
  for (int m = 0; m < MR; ++m) {
    Store16(a.out + (t.m0 + m) * a.ldo + column, _mm256_add_ps(acc[m][0], b0),
            _mm256_add_ps(acc[m][1], b1), a.n_out - column, a.epilogue == Epilogue::kAccumulate);
  }
}

template <int MR>
TGI_TARGET_AVX2 void Tile(const LinearArgs& a, const TileJob& t) {
  const int64_t k_size = a.k;
  float* partial = t.partial + t.j * 16;
  __m256 acc[MR][2];
#pragma GCC unroll 6
  for (int m = 0; m < MR; ++m) {
    for (int h = 0; h < 2; ++h) {
      acc[m][h] = t.begin == 0 ? _mm256_setzero_ps() : _mm256_load_ps(partial + m * 32 + 8 * h);
    }
  }
  const float* w = t.w + F32PanelOffset(k_size, t.j, t.begin);
  const float* x = t.x + t.begin * MR;
  for (int64_t k = t.begin; k < t.end; ++k, w += 32, x += MR) {
    if (t.prefetch == kPrefetchBytes) {
      _mm_prefetch(reinterpret_cast<const char*>(w) + kPrefetchBytes, _MM_HINT_T0);
    } else if (t.prefetch != 0) {
      _mm_prefetch(reinterpret_cast<const char*>(w) + t.prefetch, _MM_HINT_T1);
    }
    const __m256 w0 = _mm256_load_ps(w);
    const __m256 w1 = _mm256_load_ps(w + 8);
#pragma GCC unroll 6
    for (int m = 0; m < MR; ++m) {
      const __m256 xb = _mm256_broadcast_ss(x + m);
      acc[m][0] = _mm256_fmadd_ps(xb, w0, acc[m][0]);
      acc[m][1] = _mm256_fmadd_ps(xb, w1, acc[m][1]);
    }
  }
  if (t.end < k_size) {
#pragma GCC unroll 6
    for (int m = 0; m < MR; ++m) {
      _mm256_store_ps(partial + m * 32, acc[m][0]);
      _mm256_store_ps(partial + m * 32 + 8, acc[m][1]);
    }
    return;
  }
  FinishTile<MR>(acc, a, t);
}

void DispatchRows(int64_t rows, const LinearArgs& a, const TileJob& t) {
  switch (rows) {
    case 1:
      return Tile<1>(a, t);
    case 2:
      return Tile<2>(a, t);
    case 3:
      return Tile<3>(a, t);
    case 4:
      return Tile<4>(a, t);
    case 5:
      return Tile<5>(a, t);
    default:
      return Tile<6>(a, t);
  }
}

// Both panels of `pair` for rows m0 .. m0 + MR - 1 (MR <= kPairTileRows) over k in
// [t.begin, t.end); t.j is unused. The same accumulation per output as Tile.
template <int MR>
TGI_TARGET_AVX2 void PairTile(const LinearArgs& a, const TileJob& t) {
  const int64_t k_size = a.k;
  __m256 acc[MR][2][2];
  for (int m = 0; m < MR; ++m) {
    for (int j = 0; j < 2; ++j) {
      for (int h = 0; h < 2; ++h) {
        acc[m][j][h] = t.begin == 0 ? _mm256_setzero_ps()
                                    : _mm256_load_ps(t.partial + m * 32 + j * 16 + 8 * h);
      }
    }
  }
  const float* w = t.w + t.begin * 32;
  const float* x = t.x + t.begin * MR;
  for (int64_t k = t.begin; k < t.end; ++k, w += 32, x += MR) {
    if (t.prefetch != 0) {
      _mm_prefetch(reinterpret_cast<const char*>(w) + kPrefetchBytes, _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(w) + kPrefetchBytes + 64, _MM_HINT_T0);
    }
    const __m256 w00 = _mm256_load_ps(w);
    const __m256 w01 = _mm256_load_ps(w + 8);
    const __m256 w10 = _mm256_load_ps(w + 16);
    const __m256 w11 = _mm256_load_ps(w + 24);
    for (int m = 0; m < MR; ++m) {
      const __m256 xb = _mm256_broadcast_ss(x + m);
      acc[m][0][0] = _mm256_fmadd_ps(xb, w00, acc[m][0][0]);
      acc[m][0][1] = _mm256_fmadd_ps(xb, w01, acc[m][0][1]);
      acc[m][1][0] = _mm256_fmadd_ps(xb, w10, acc[m][1][0]);
      acc[m][1][1] = _mm256_fmadd_ps(xb, w11, acc[m][1][1]);
    }
  }
  if (t.end < k_size) {
    for (int m = 0; m < MR; ++m) {
      for (int j = 0; j < 2; ++j) {
        for (int h = 0; h < 2; ++h) _mm256_store_ps(t.partial + m * 32 + j * 16 + 8 * h, acc[m][j][h]);
      }
    }
    return;
  }
  const float* bias = a.bias == nullptr ? nullptr : a.bias + t.pair * 32;
  for (int m = 0; m < MR; ++m) {
    float* out = a.out + (t.m0 + m) * a.ldo;
    if (a.epilogue == Epilogue::kSiluMul) {
      const int64_t column = t.pair * 16;
      __m256 r[2];
      for (int h = 0; h < 2; ++h) {
        const __m256 gate = _mm256_add_ps(acc[m][0][h], BiasAt(bias, 8 * h));
        const __m256 up = _mm256_add_ps(acc[m][1][h], BiasAt(bias, 16 + 8 * h));
        r[h] = _mm256_mul_ps(Silu(gate), up);
      }
      Store16(out + column, r[0], r[1], a.n_out - column, false);
      continue;
    }
    for (int j = 0; j < 2; ++j) {
      const int64_t column = t.pair * 32 + j * 16;
      if (column >= a.n_out) break;
      Store16(out + column, _mm256_add_ps(acc[m][j][0], BiasAt(bias, 16 * j)),
              _mm256_add_ps(acc[m][j][1], BiasAt(bias, 16 * j + 8)), a.n_out - column,
              a.epilogue == Epilogue::kAccumulate);
    }
  }
}

// bfloat16 pair `pair` widened to a float32 pair [K][2][16] in `out`.
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

// The pairs [first, last) for every row, x already packed.
void SeveralRows(const LinearArgs& a, const float* packed, int64_t first, int64_t last) {
  float* partial = ThreadBuffer(Scratch::kPartialSums, static_cast<size_t>(a.m * 32));
  float* widened = a.bf16_weights ? ThreadBuffer(Scratch::kWidenedPair, static_cast<size_t>(32 * a.k)) : nullptr;
  for (int64_t pair = first; pair < last; ++pair) {
    const float* w = static_cast<const float*>(a.w) + pair * 32 * a.k;
    if (widened != nullptr) {
      WidenPair(a, pair, widened);
      w = widened;
    }
    // The weights' first tile prefetches (a widened copy is in the caches already).
    const int64_t prefetch = widened != nullptr ? 0
                             : a.m <= kStreamRows ? kPrefetchBytes
                                                  : 32 * a.k * int64_t{sizeof(float)};
    // Panel 1 of the last pair may hold no output column (n_out not a multiple of 32).
    const int panels = a.epilogue == Epilogue::kSiluMul || pair * 32 + 16 < a.n_out ? 2 : 1;
    for (int64_t k0 = 0; k0 < a.k; k0 += kKBlock) {
      const int64_t k1 = std::min(a.k, k0 + kKBlock);
      if (a.m <= kPairTileRows) {
        const TileJob t{w, prefetch, packed, partial, pair, 0, 0, k0, k1};
        a.m == 1 ? PairTile<1>(a, t) : PairTile<2>(a, t);
        continue;
      }
      for (int j = 0; j < panels; ++j) {
        ForRowTiles(a.m, [&](int64_t rows, int64_t m0) {
          DispatchRows(rows, a,
                       TileJob{w, m0 == 0 ? prefetch : 0, packed + m0 * a.k, partial + m0 * 32,
                               pair, m0, j, k0, k1});
        });
      }
    }
  }
}

}  // namespace

void LinearPairsAvx2(const LinearArgs& a, PairQueue& pairs) {
  int64_t first = 0;
  int64_t last = 0;
  if (a.m == 1) {
    while (pairs.Next(first, last)) OneRow(a, first, last);
    return;
  }
  // The row tiles' copies of x, k-major, in this thread's buffer, once for all its chunks.
  float* packed = ThreadBuffer(Scratch::kPackedRows, static_cast<size_t>(a.m * a.k));
  ForRowTiles(a.m, [&](int64_t rows, int64_t m0) { PackRows(a, rows, m0, packed); });
  while (pairs.Next(first, last)) SeveralRows(a, packed, first, last);
}

}  // namespace tgi::shard::kernels::internal
